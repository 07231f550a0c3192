/* Pointwise int8 activations: RELU, RELU6, LEAKY_RELU, HARD_SWISH
 * (mirrors mcuq/reference/ops/activations.py; every function handles `size` elements). */
#ifndef MCUQ_ACTIVATIONS_H
#define MCUQ_ACTIVATIONS_H

#include <stdint.h>

typedef struct {
  int32_t input_offset;   /* input zero point (subtracted) */
  int32_t output_offset;  /* output zero point */
  int32_t multiplier, shift; /* input scale / output scale */
  int32_t act_min, act_max;
  int32_t size;
} mcuq_relu_params_t;

/* out = clamp(output_offset + mbqm(x - input_offset), act_min, act_max) */
void mcuq_relu_s8(const mcuq_relu_params_t *p, const int8_t *input, int8_t *output);

typedef struct {
  int32_t lower;  /* input zero point */
  int32_t upper;  /* 6.0 in the input's quantization */
  int32_t size;
} mcuq_relu6_params_t;

/* TFLM clamps in the input's quantization (the output's is not used). */
void mcuq_relu6_s8(const mcuq_relu6_params_t *p, const int8_t *input, int8_t *output);

typedef struct {
  int32_t input_offset, output_offset;
  int32_t multiplier_identity, shift_identity; /* x >= 0 */
  int32_t multiplier_alpha, shift_alpha;       /* x < 0: |multiplier| */
  int32_t alpha_negative;                      /* nonzero: negate the scaled value */
  int32_t size;
} mcuq_leaky_relu_params_t;

void mcuq_leaky_relu_s8(const mcuq_leaky_relu_params_t *p, const int8_t *input,
                        int8_t *output);

typedef struct {
  int32_t input_zero_point, output_zero_point;
  int32_t output_multiplier;  /* int16 fixed point */
  int32_t output_exponent;    /* <= 0 */
  int32_t reluish_multiplier; /* int16 fixed point */
  int32_t reluish_exponent;
  int32_t size;
} mcuq_hard_swish_params_t;

/* TFLM reference_ops::HardSwish: int16 fixed point with gemmlowp's int16 helpers. */
void mcuq_hard_swish_s8(const mcuq_hard_swish_params_t *p, const int8_t *input,
                        int8_t *output);

#endif
