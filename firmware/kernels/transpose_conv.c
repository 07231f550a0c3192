#include "transpose_conv.h"

#include <stddef.h>

#include "mcuq_fixedpoint.h"

void mcuq_transpose_conv_s8(const mcuq_transpose_conv_params_t *p, const int8_t *input,
                            const int8_t *weights, const int32_t *bias, int8_t *output) {
  const int32_t ci = p->in_c;
  int8_t *out = output;
  for (int32_t n = 0; n < p->batches; ++n) {
    const int8_t *image = input + (size_t)n * (size_t)p->in_h * (size_t)p->in_w * (size_t)ci;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        for (int32_t oc = 0; oc < p->out_c; ++oc) {
          uint32_t acc = 0; /* int32 sums wrapping like TFLM's scratch */
          for (int32_t fy = 0; fy < p->k_h; ++fy) {
            const int32_t ty = oy + p->pad_h - fy; /* = iy * stride_h for a contributing iy */
            if (ty < 0 || ty % p->stride_h != 0) continue;
            const int32_t iy = ty / p->stride_h;
            if (iy >= p->in_h) continue;
            for (int32_t fx = 0; fx < p->k_w; ++fx) {
              const int32_t tx = ox + p->pad_w - fx;
              if (tx < 0 || tx % p->stride_w != 0) continue;
              const int32_t ix = tx / p->stride_w;
              if (ix >= p->in_w) continue;
              const int8_t *px = image + ((size_t)iy * (size_t)p->in_w + (size_t)ix) * (size_t)ci;
              const int8_t *wt = weights + (((size_t)oc * (size_t)p->k_h + (size_t)fy) *
                                                (size_t)p->k_w + (size_t)fx) * (size_t)ci;
              for (int32_t c = 0; c < ci; ++c) {
                acc += (uint32_t)((px[c] + p->input_offset) * wt[c]); /* |.| <= 255 * 128 */
              }
            }
          }
          if (bias) acc += (uint32_t)bias[oc];
          const int32_t v = mcuq_mbqm((int32_t)acc, p->multiplier[oc], p->shift[oc]) +
                            p->output_offset;
          *out++ = (int8_t)mcuq_clamp(v, p->act_min, p->act_max);
        }
      }
    }
  }
}
