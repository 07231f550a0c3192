#include "quantize16.h"

#include "mcuq_fixedpoint.h"

#define MCUQ_REQUANTIZE16(name, in_t, out_t, lo, hi)                                       \
  void name(const mcuq_requantize16_params_t *p, const in_t *input, out_t *output) {       \
    for (int32_t i = 0; i < p->size; ++i) {                                                 \
      const int32_t v = mcuq_add_wrap(                                                      \
          mcuq_mbqm((int32_t)input[i] - p->input_zero_point, p->multiplier, p->shift),      \
          p->output_zero_point);                                                            \
      output[i] = (out_t)mcuq_clamp(v, lo, hi);                                             \
    }                                                                                       \
  }

MCUQ_REQUANTIZE16(mcuq_requantize_s16_s8, int16_t, int8_t, -128, 127)
MCUQ_REQUANTIZE16(mcuq_requantize_s8_s16, int8_t, int16_t, -32768, 32767)
MCUQ_REQUANTIZE16(mcuq_requantize_s16_s16, int16_t, int16_t, -32768, 32767)

void mcuq_quantize_f32_s16(const mcuq_quantize16_params_t *p, const float *input,
                           int16_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    float v = input[i] / p->scale;
    if (v != v) v = 0.0f; /* NaN */
    if (v > 1048576.0f) v = 1048576.0f;
    if (v < -1048576.0f) v = -1048576.0f;
    /* |v| <= 2^20: v - trunc(v) is exact in float, so the tie test is exact */
    int32_t t = (int32_t)v;
    const float frac = v - (float)t;
    if (frac >= 0.5f) t += 1;
    if (frac <= -0.5f) t -= 1;
    output[i] = (int16_t)mcuq_clamp(t + p->zero_point, -32768, 32767);
  }
}

void mcuq_dequantize_s16_f32(const mcuq_quantize16_params_t *p, const int16_t *input,
                             float *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    output[i] = p->scale * (float)((int32_t)input[i] - p->zero_point);
  }
}
