#include "quantize.h"

#include "mcuq_fixedpoint.h"

#define MCUQ_REQUANTIZE(name, in_t, out_t, lo, hi)                                         \
  void name(const mcuq_requantize_params_t *p, const in_t *input, out_t *output) {         \
    for (int32_t i = 0; i < p->size; ++i) {                                                 \
      const int32_t v = mcuq_add_wrap(                                                      \
          mcuq_mbqm((int32_t)input[i] - p->input_zero_point, p->multiplier, p->shift),      \
          p->output_zero_point);                                                            \
      output[i] = (out_t)mcuq_clamp(v, lo, hi);                                             \
    }                                                                                       \
  }

MCUQ_REQUANTIZE(mcuq_requantize_s8_s8, int8_t, int8_t, -128, 127)
MCUQ_REQUANTIZE(mcuq_requantize_s8_u8, int8_t, uint8_t, 0, 255)
MCUQ_REQUANTIZE(mcuq_requantize_u8_s8, uint8_t, int8_t, -128, 127)

/* std::round on float for |v| <= 1024 (callers clamp first): ties away from zero.
 * v - trunc(v) is exact in float, so the tie test is exact. */
static inline int32_t round_away_f32(float v) {
  const int32_t t = (int32_t)v;
  const float frac = v - (float)t;
  if (frac >= 0.5f) return t + 1;
  if (frac <= -0.5f) return t - 1;
  return t;
}

void mcuq_quantize_f32_s8(const mcuq_quantize_params_t *p, const float *input, int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    float v = input[i] / p->scale;
    if (v != v) v = 0.0f; /* NaN */
    if (v > 1024.0f) v = 1024.0f;
    if (v < -1024.0f) v = -1024.0f;
    output[i] = (int8_t)mcuq_clamp(round_away_f32(v) + p->zero_point, -128, 127);
  }
}

void mcuq_dequantize_s8_f32(const mcuq_dequantize_params_t *p, const int8_t *input,
                            float *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    output[i] = p->scale * (float)((int32_t)input[i] - p->zero_point);
  }
}

void mcuq_dequantize_u8_f32(const mcuq_dequantize_params_t *p, const uint8_t *input,
                            float *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    output[i] = p->scale * (float)((int32_t)input[i] - p->zero_point);
  }
}
