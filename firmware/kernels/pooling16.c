#include "pooling16.h"

#include <stddef.h>

#include "mcuq_fixedpoint.h"

/* Halfword-wise signed max of two packed int16 pairs (SSUB16 + SEL). */
/* Per output pixel, the window's valid taps (ky0..ky1, kx0..kx1) walked once per pair of
 * channels (contiguous in NHWC): max as packed int16 pairs, averages as int32 sums. */
static void pool16(const mcuq_pool16_params_t *p, const int16_t *input, int16_t *output,
                   int average) {
  const int32_t c = p->channels, pairs = c >> 1;
  const uint32_t lo2 = (uint32_t)(uint16_t)p->act_min * 0x10001u;
  const uint32_t hi2 = (uint32_t)(uint16_t)p->act_max * 0x10001u;
  const size_t row_step = (size_t)p->in_w * (size_t)c;
  for (int32_t n = 0; n < p->batches; ++n) {
    const int16_t *img = input + (size_t)n * (size_t)p->in_h * row_step;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      const int32_t ky0 = y0 < 0 ? -y0 : 0;
      const int32_t ky1 = p->in_h - y0 < p->filter_h ? p->in_h - y0 : p->filter_h;
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t x0 = ox * p->stride_w - p->pad_w;
        const int32_t kx0 = x0 < 0 ? -x0 : 0;
        const int32_t kx1 = p->in_w - x0 < p->filter_w ? p->in_w - x0 : p->filter_w;
        int16_t *out = output + (((size_t)n * p->out_h + oy) * p->out_w + ox) * c;
        const int32_t count = (ky1 > ky0 && kx1 > kx0) ? (ky1 - ky0) * (kx1 - kx0) : 0;
        if (count == 0) { /* the window is all padding */
          const int32_t v = average ? 0 : -32768;
          for (int32_t ch = 0; ch < c; ++ch) out[ch] = (int16_t)mcuq_clamp(v, p->act_min, p->act_max);
          continue;
        }
        const int16_t *win = img + (size_t)(y0 + ky0) * row_step + (size_t)(x0 + kx0) * c;
        int32_t ch = 0;
        if (!average) {
          for (; ch < 2 * pairs; ch += 2) {
            uint32_t acc = 0x80008000u; /* -32768 in both halves */
            /* no step after the last row / tap: the pointers would leave the image */
            const int16_t *r = win + ch;
            for (int32_t ky = ky0;;) {
              const int16_t *t = r;
              for (int32_t kx = kx0;;) {
                acc = mcuq_max_s16x2(acc, mcuq_load4((const int8_t *)(const void *)t));
                if (++kx == kx1) break;
                t += c;
              }
              if (++ky == ky1) break;
              r += row_step;
            }
            mcuq_store4((int8_t *)(void *)(out + ch), mcuq_min_s16x2(mcuq_max_s16x2(acc, lo2), hi2));
          }
        }
        for (; ch < c; ++ch) {
          int32_t acc = average ? 0 : -32768;
          const int16_t *r = win + ch;
          for (int32_t ky = ky0;;) { /* as above: no step past the last row / tap */
            const int16_t *t = r;
            for (int32_t kx = kx0;;) {
              const int32_t v = *t;
              if (average) {
                acc += v;
              } else if (v > acc) {
                acc = v;
              }
              if (++kx == kx1) break;
              t += c;
            }
            if (++ky == ky1) break;
            r += row_step;
          }
          if (average) {
            acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          }
          out[ch] = (int16_t)mcuq_clamp(acc, p->act_min, p->act_max);
        }
      }
    }
  }
}

void mcuq_avg_pool_s16(const mcuq_pool16_params_t *p, const int16_t *input, int16_t *output) {
  pool16(p, input, output, 1);
}

void mcuq_max_pool_s16(const mcuq_pool16_params_t *p, const int16_t *input, int16_t *output) {
  pool16(p, input, output, 0);
}
