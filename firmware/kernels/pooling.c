#include "pooling.h"

#include "mcuq_fixedpoint.h"

/* Channels processed together: a fixed-size block on the stack keeps the contiguous channel
 * axis innermost without a scratch buffer. */
#define MCUQ_POOL_BLOCK 32

/* The window of output (oy, ox) clipped to the image: rows [y0, y1), columns [x0, x1). */
typedef struct {
  int32_t y0, y1, x0, x1;
} mcuq_window_t;

static inline mcuq_window_t mcuq_pool_window(const mcuq_pool_params_t *p, int32_t oy,
                                             int32_t ox) {
  const int32_t iy = oy * p->stride_h - p->pad_h;
  const int32_t ix = ox * p->stride_w - p->pad_w;
  mcuq_window_t w;
  w.y0 = iy < 0 ? 0 : iy;
  w.y1 = iy + p->filter_h < p->in_h ? iy + p->filter_h : p->in_h;
  w.x0 = ix < 0 ? 0 : ix;
  w.x1 = ix + p->filter_w < p->in_w ? ix + p->filter_w : p->in_w;
  return w;
}

void mcuq_avg_pool_s8(const mcuq_pool_params_t *p, const int8_t *input,
                      int8_t *output) {
  const int32_t ch = p->channels;
  int32_t acc[MCUQ_POOL_BLOCK];
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in_b = input + b * p->in_h * p->in_w * ch;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const mcuq_window_t w = mcuq_pool_window(p, oy, ox);
        /* 0 < count <= filter_h * filter_w <= 2^23 (checked at generation): |acc| <= 2^30 and
         * acc +- count / 2 stay inside int32 */
        const int32_t count = (w.y1 - w.y0) * (w.x1 - w.x0);
        int8_t *out = output + ((b * p->out_h + oy) * p->out_w + ox) * ch;
        for (int32_t c0 = 0; c0 < ch; c0 += MCUQ_POOL_BLOCK) {
          const int32_t n = ch - c0 < MCUQ_POOL_BLOCK ? ch - c0 : MCUQ_POOL_BLOCK;
          for (int32_t j = 0; j < n; ++j) acc[j] = 0;
          for (int32_t y = w.y0; y < w.y1; ++y) {
            for (int32_t x = w.x0; x < w.x1; ++x) {
              const int8_t *px = in_b + (y * p->in_w + x) * ch + c0;
              for (int32_t j = 0; j < n; ++j) acc[j] += px[j];
            }
          }
          for (int32_t j = 0; j < n; ++j) {
            /* TFLM's rounding: half away from zero with C's truncating division */
            const int32_t a = acc[j];
            const int32_t avg = a > 0 ? (a + count / 2) / count : (a - count / 2) / count;
            out[c0 + j] = (int8_t)mcuq_clamp(avg, p->act_min, p->act_max);
          }
        }
      }
    }
  }
}

/* channels % 4 == 0: four channels per packed word (SSUB8 + SEL), no per-channel loop. */
static void mcuq_max_pool_x4(const mcuq_pool_params_t *p, const int8_t *input,
                             int8_t *output) {
  const int32_t ch = p->channels;
  const uint32_t lo4 = (uint32_t)(uint8_t)(int8_t)p->act_min * 0x01010101u;
  const uint32_t hi4 = (uint32_t)(uint8_t)(int8_t)p->act_max * 0x01010101u;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in_b = input + b * p->in_h * p->in_w * ch;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const mcuq_window_t w = mcuq_pool_window(p, oy, ox);
        int8_t *out = output + ((b * p->out_h + oy) * p->out_w + ox) * ch;
        for (int32_t c = 0; c < ch; c += 4) {
          uint32_t mx = 0x80808080u;
          for (int32_t y = w.y0; y < w.y1; ++y) {
            const int8_t *px = in_b + (y * p->in_w + w.x0) * ch + c;
            for (int32_t x = w.x0; x < w.x1; ++x, px += ch) mx = mcuq_max_s8x4(mx, mcuq_load4(px));
          }
          mcuq_store4(out + c, mcuq_min_s8x4(mcuq_max_s8x4(mx, lo4), hi4));
        }
      }
    }
  }
}

void mcuq_max_pool_s8(const mcuq_pool_params_t *p, const int8_t *input,
                      int8_t *output) {
  const int32_t ch = p->channels;
  if (ch % 4 == 0 && p->act_min >= -128 && p->act_max <= 127) {
    mcuq_max_pool_x4(p, input, output);
    return;
  }
  int8_t mx[MCUQ_POOL_BLOCK];
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in_b = input + b * p->in_h * p->in_w * ch;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const mcuq_window_t w = mcuq_pool_window(p, oy, ox);
        int8_t *out = output + ((b * p->out_h + oy) * p->out_w + ox) * ch;
        for (int32_t c0 = 0; c0 < ch; c0 += MCUQ_POOL_BLOCK) {
          const int32_t n = ch - c0 < MCUQ_POOL_BLOCK ? ch - c0 : MCUQ_POOL_BLOCK;
          for (int32_t j = 0; j < n; ++j) mx[j] = INT8_MIN;
          for (int32_t y = w.y0; y < w.y1; ++y) {
            for (int32_t x = w.x0; x < w.x1; ++x) {
              const int8_t *px = in_b + (y * p->in_w + x) * ch + c0;
              for (int32_t j = 0; j < n; ++j) mx[j] = px[j] > mx[j] ? px[j] : mx[j];
            }
          }
          for (int32_t j = 0; j < n; ++j)
            out[c0 + j] = (int8_t)mcuq_clamp(mx[j], p->act_min, p->act_max);
        }
      }
    }
  }
}
