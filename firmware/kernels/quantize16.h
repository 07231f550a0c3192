/* QUANTIZE / DEQUANTIZE with int16 tensors (mirrors mcuq/reference/ops/quantize16.py).
 * Single-precision float only: build without -ffast-math. */
#ifndef MCUQ_QUANTIZE16_H
#define MCUQ_QUANTIZE16_H

#include <stdint.h>

typedef struct {
  int32_t input_zero_point, output_zero_point;
  int32_t multiplier, shift; /* input scale / output scale */
  int32_t size;
} mcuq_requantize16_params_t;

/* clamp(mbqm(x - input_zero_point) + output_zero_point) to the output type's range. */
void mcuq_requantize_s16_s8(const mcuq_requantize16_params_t *p, const int16_t *input,
                            int8_t *output);
void mcuq_requantize_s8_s16(const mcuq_requantize16_params_t *p, const int8_t *input,
                            int16_t *output);
void mcuq_requantize_s16_s16(const mcuq_requantize16_params_t *p, const int16_t *input,
                             int16_t *output);

typedef struct {
  float scale; /* output scale (QUANTIZE) or input scale (DEQUANTIZE) */
  int32_t zero_point;
  int32_t size;
} mcuq_quantize16_params_t;

/* round(x / scale) (float32 division, ties away from zero) + zero point, clamped to int16;
 * NaN gives the zero point. */
void mcuq_quantize_f32_s16(const mcuq_quantize16_params_t *p, const float *input,
                           int16_t *output);
/* scale * (float)(q - zero_point). */
void mcuq_dequantize_s16_f32(const mcuq_quantize16_params_t *p, const int16_t *input,
                             float *output);

#endif
