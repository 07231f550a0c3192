#include "pooling16.h"

#include <stddef.h>

#include "mcuq_fixedpoint.h"

static void pool16(const mcuq_pool16_params_t *p, const int16_t *input, int16_t *output,
                   int average) {
  for (int32_t n = 0; n < p->batches; ++n) {
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      const int32_t ky0 = y0 < 0 ? -y0 : 0;
      const int32_t ky1 = p->in_h - y0 < p->filter_h ? p->in_h - y0 : p->filter_h;
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t x0 = ox * p->stride_w - p->pad_w;
        const int32_t kx0 = x0 < 0 ? -x0 : 0;
        const int32_t kx1 = p->in_w - x0 < p->filter_w ? p->in_w - x0 : p->filter_w;
        for (int32_t c = 0; c < p->channels; ++c) {
          int32_t acc = average ? 0 : -32768;
          int32_t count = 0;
          for (int32_t ky = ky0; ky < ky1; ++ky) {
            for (int32_t kx = kx0; kx < kx1; ++kx) {
              const int32_t v = input[(((size_t)n * p->in_h + y0 + ky) * p->in_w + x0 + kx) *
                                      p->channels + c];
              if (average) {
                acc += v;
              } else if (v > acc) {
                acc = v;
              }
              ++count;
            }
          }
          if (average && count > 0) {
            acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          }
          output[(((size_t)n * p->out_h + oy) * p->out_w + ox) * p->channels + c] =
              (int16_t)mcuq_clamp(acc, p->act_min, p->act_max);
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
