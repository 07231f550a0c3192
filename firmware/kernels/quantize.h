/* QUANTIZE and DEQUANTIZE (mirrors mcuq/reference/ops/quantize.py). Single-precision float
 * only (no double, no libm): build without -ffast-math. */
#ifndef MCUQ_QUANTIZE_H
#define MCUQ_QUANTIZE_H

#include <stdint.h>

typedef struct {
  int32_t input_zero_point, output_zero_point;
  int32_t multiplier, shift; /* input scale / output scale */
  int32_t size;
} mcuq_requantize_params_t;

/* clamp(mbqm(x - input_zero_point) + output_zero_point) to the output type's range. */
void mcuq_requantize_s8_s8(const mcuq_requantize_params_t *p, const int8_t *input,
                           int8_t *output);
void mcuq_requantize_s8_u8(const mcuq_requantize_params_t *p, const int8_t *input,
                           uint8_t *output);
void mcuq_requantize_u8_s8(const mcuq_requantize_params_t *p, const uint8_t *input,
                           int8_t *output);

typedef struct {
  float scale;  /* output scale */
  int32_t zero_point;
  int32_t size;
} mcuq_quantize_params_t;

/* TFLM AffineQuantize: round(x / scale) (float32 division, ties away from zero) + zero point,
 * clamped; |x / scale| beyond the int8 range saturates, NaN gives the zero point. */
void mcuq_quantize_f32_s8(const mcuq_quantize_params_t *p, const float *input, int8_t *output);

typedef struct {
  float scale;  /* input scale */
  int32_t zero_point;
  int32_t size;
} mcuq_dequantize_params_t;

/* scale * (float)(q - zero_point): one float32 product. */
void mcuq_dequantize_s8_f32(const mcuq_dequantize_params_t *p, const int8_t *input,
                            float *output);
void mcuq_dequantize_u8_f32(const mcuq_dequantize_params_t *p, const uint8_t *input,
                            float *output);

#endif
