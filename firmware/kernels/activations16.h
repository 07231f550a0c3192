/* RELU, RELU6, LEAKY_RELU on int16, zero point 0 (mirrors mcuq/reference/ops/activations16.py). */
#ifndef MCUQ_ACTIVATIONS16_H
#define MCUQ_ACTIVATIONS16_H

#include <stdint.h>

typedef struct {
  int32_t multiplier, shift;   /* RELU: s_in / s_out; LEAKY_RELU: identity */
  int32_t alpha_multiplier, alpha_shift; /* LEAKY_RELU: |alpha| * s_in / s_out */
  int32_t alpha_negative;      /* LEAKY_RELU: alpha < 0 (the product is negated) */
  int32_t lower, upper;        /* RELU/RELU6 clamp */
  int32_t size;
} mcuq_activation16_params_t;

void mcuq_relu_s16(const mcuq_activation16_params_t *p, const int16_t *input, int16_t *output);
void mcuq_relu6_s16(const mcuq_activation16_params_t *p, const int16_t *input, int16_t *output);
void mcuq_leaky_relu_s16(const mcuq_activation16_params_t *p, const int16_t *input,
                         int16_t *output);

#endif
