/* LOGISTIC (output 1/256, -128) and TANH (output 1/128, 0), int8 in and out
 * (mirrors mcuq/reference/ops/sigmoid_tanh.py: TFLite Micro's fixed-point kernels). */
#ifndef MCUQ_SIGMOID_TANH_H
#define MCUQ_SIGMOID_TANH_H

#include <stdint.h>

typedef struct {
  int32_t input_zero_point;
  int32_t input_range_radius;  /* |x - zero_point| >= radius saturates */
  int32_t input_multiplier;    /* input_scale * 2^27 = multiplier * 2^(shift - 31) */
  int32_t input_left_shift;
  int32_t size;                /* number of elements */
} mcuq_sigmoid_tanh_params_t;

void mcuq_logistic_s8(const mcuq_sigmoid_tanh_params_t *p, const int8_t *input, int8_t *output);
void mcuq_tanh_s8(const mcuq_sigmoid_tanh_params_t *p, const int8_t *input, int8_t *output);

#endif
