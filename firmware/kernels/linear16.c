#include "linear16.h"

#include <stddef.h>

#include "mcuq_fixedpoint.h"

static inline int16_t clamp16(int32_t v, int32_t lo, int32_t hi) {
  return (int16_t)mcuq_clamp(v, lo, hi);
}

void mcuq_fully_connected_s16(const mcuq_fully_connected16_params_t *p, const int16_t *input,
                              const int8_t *weights, const int64_t *bias, int16_t *output) {
  for (int32_t b = 0; b < p->batches; ++b) {
    const int16_t *x = input + (size_t)b * (size_t)p->accum_depth;
    for (int32_t o = 0; o < p->out_depth; ++o) {
      const int8_t *w = weights + (size_t)o * (size_t)p->accum_depth;
      int64_t acc = 0;
      for (int32_t d = 0; d < p->accum_depth; ++d) acc += (int32_t)x[d] * (int32_t)w[d];
      if (bias != NULL) acc += bias[o];
      output[(size_t)b * (size_t)p->out_depth + (size_t)o] =
          clamp16(mcuq_mbqm64(acc, p->multiplier[o], p->shift[o]), p->act_min, p->act_max);
    }
  }
}

void mcuq_conv_s16(const mcuq_conv16_params_t *p, const int16_t *input, const int8_t *weights,
                   const int64_t *bias64, const int32_t *bias32, int16_t *output) {
  const int32_t groups = p->in_c / p->filter_in_c;
  const int32_t per_group = p->out_c / groups;
  for (int32_t n = 0; n < p->batches; ++n) {
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t x0 = ox * p->stride_w - p->pad_w;
        int16_t *out = output + (((size_t)n * p->out_h + oy) * p->out_w + ox) * p->out_c;
        for (int32_t oc = 0; oc < p->out_c; ++oc) {
          const int32_t c0 = (oc / per_group) * p->filter_in_c;
          int64_t acc64 = 0;
          uint32_t acc32 = 0; /* int32 sums wrap as compiled in TFLM */
          for (int32_t ky = 0; ky < p->k_h; ++ky) {
            const int32_t iy = y0 + ky * p->dil_h;
            if (iy < 0 || iy >= p->in_h) continue;
            for (int32_t kx = 0; kx < p->k_w; ++kx) {
              const int32_t ix = x0 + kx * p->dil_w;
              if (ix < 0 || ix >= p->in_w) continue;
              const int16_t *x = input + (((size_t)n * p->in_h + iy) * p->in_w + ix) * p->in_c + c0;
              const int8_t *w = weights + (((size_t)oc * p->k_h + ky) * p->k_w + kx) * p->filter_in_c;
              for (int32_t c = 0; c < p->filter_in_c; ++c) {
                const int32_t prod = (int32_t)x[c] * (int32_t)w[c];
                acc64 += prod;
                acc32 += (uint32_t)prod;
              }
            }
          }
          int32_t v;
          if (bias64 != NULL) {
            v = mcuq_mbqm64(acc64 + bias64[oc], p->multiplier[oc], p->shift[oc]);
          } else {
            acc32 += (uint32_t)bias32[oc];
            v = mcuq_mbqm((int32_t)acc32, p->multiplier[oc], p->shift[oc]);
          }
          out[oc] = clamp16(v, p->act_min, p->act_max);
        }
      }
    }
  }
}

void mcuq_depthwise_conv_s16(const mcuq_conv16_params_t *p, const int16_t *input,
                             const int8_t *weights, const int64_t *bias, int16_t *output) {
  const int32_t m = p->depth_multiplier;
  for (int32_t n = 0; n < p->batches; ++n) {
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t x0 = ox * p->stride_w - p->pad_w;
        int16_t *out = output + (((size_t)n * p->out_h + oy) * p->out_w + ox) * p->out_c;
        for (int32_t oc = 0; oc < p->out_c; ++oc) {
          const int32_t ic = oc / m;
          int64_t acc = 0;
          for (int32_t ky = 0; ky < p->k_h; ++ky) {
            const int32_t iy = y0 + ky * p->dil_h;
            if (iy < 0 || iy >= p->in_h) continue;
            for (int32_t kx = 0; kx < p->k_w; ++kx) {
              const int32_t ix = x0 + kx * p->dil_w;
              if (ix < 0 || ix >= p->in_w) continue;
              acc += (int32_t)input[(((size_t)n * p->in_h + iy) * p->in_w + ix) * p->in_c + ic] *
                     (int32_t)weights[((size_t)ky * p->k_w + kx) * p->out_c + oc];
            }
          }
          out[oc] = clamp16(mcuq_mbqm64(acc + bias[oc], p->multiplier[oc], p->shift[oc]),
                            p->act_min, p->act_max);
        }
      }
    }
  }
}
