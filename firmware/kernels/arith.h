/* PRELU, SQUARED_DIFFERENCE, RSQRT, L2_NORMALIZATION on int8 (mirrors
 * mcuq/reference/ops/arith.py). The binary ops walk a broadcast planned by the code generator
 * (merged output extents, one element stride per input and dimension, 0 = broadcast). */
#ifndef MCUQ_ARITH_H
#define MCUQ_ARITH_H

#include <stdint.h>

#define MCUQ_ARITH_MAX_RANK 6

typedef struct {
  int32_t rank;                           /* 1..MCUQ_ARITH_MAX_RANK */
  int32_t shape[MCUQ_ARITH_MAX_RANK];     /* output extents, outermost first */
  int32_t stride1[MCUQ_ARITH_MAX_RANK];   /* input (PRELU) / input1 strides */
  int32_t stride2[MCUQ_ARITH_MAX_RANK];   /* alpha (PRELU) / input2 strides */
} mcuq_walk_t;

typedef struct {
  mcuq_walk_t walk;
  int32_t input_offset, alpha_offset, output_offset;
  int32_t multiplier1, shift1; /* x >= 0: s_in / s_out */
  int32_t multiplier2, shift2; /* x < 0: s_in * s_alpha / s_out */
} mcuq_prelu_params_t;

void mcuq_prelu_s8(const mcuq_prelu_params_t *p, const int8_t *input, const int8_t *alpha,
                   int8_t *output);

typedef struct {
  mcuq_walk_t walk;
  int32_t input1_offset, input2_offset, output_offset, left_shift;
  int32_t input1_multiplier, input1_shift, input2_multiplier, input2_shift;
  int32_t output_multiplier, output_shift;
} mcuq_squared_difference_params_t;

void mcuq_squared_difference_s8(const mcuq_squared_difference_params_t *p,
                                const int8_t *input1, const int8_t *input2, int8_t *output);

typedef struct {
  int32_t size;
  int32_t input_zero_point, output_zero_point;
  int32_t multiplier, shift; /* 1 / (sqrt(s_in) * s_out) */
} mcuq_rsqrt_params_t;

/* Returns 1 at the first input below the zero point (TFLite Micro's Eval fails there). */
int mcuq_rsqrt_s8(const mcuq_rsqrt_params_t *p, const int8_t *input, int8_t *output);

typedef struct {
  int32_t outer, depth, input_zero_point;
} mcuq_l2norm_params_t;

/* Output q / 128 (scale 1/128, zero point 0). */
void mcuq_l2_normalization_s8(const mcuq_l2norm_params_t *p, const int8_t *input,
                              int8_t *output);

/* TFLite's GetInvSqrtQuantizedMultiplierExp(input, kReverseShift = -1): 1/sqrt(input) as a
 * multiplier and a left shift (gemmlowp Newton-Raphson in Q3.28, 5 steps). */
void mcuq_inv_sqrt_multiplier_exp(int32_t input, int32_t *multiplier, int32_t *shift);

#endif
