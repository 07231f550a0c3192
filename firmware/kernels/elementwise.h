/* Elementwise binary ops on int8 with TFLite broadcasting: ADD, SUB, MUL (requantizing, fused
 * activation) and MAXIMUM, MINIMUM (raw int8 comparison). Mirrors
 * mcuq/reference/ops/elementwise.py; the parameters are the reference's prepared values.
 *
 * Broadcasting: the emitter merges adjacent dimensions that can be walked together and
 * passes the output extents with one element stride per input and dimension (0 where that
 * input is broadcast). Equal shapes collapse to rank 1 with unit strides (the fast path). */
#ifndef MCUQ_ELEMENTWISE_H
#define MCUQ_ELEMENTWISE_H

#include <stdint.h>

#define MCUQ_ELEMENTWISE_MAX_RANK 6

typedef struct {
  int32_t input1_offset, input2_offset; /* minus the input zero points */
  int32_t output_offset;                /* output zero point */
  int32_t left_shift;                   /* ADD/SUB: 20 */
  int32_t input1_multiplier, input1_shift; /* ADD/SUB: shifts <= 0 */
  int32_t input2_multiplier, input2_shift;
  int32_t output_multiplier, output_shift; /* MUL: shift may be > 0 */
  int32_t act_min, act_max;
  int32_t rank;                          /* 1..MCUQ_ELEMENTWISE_MAX_RANK dims in use */
  int32_t shape[MCUQ_ELEMENTWISE_MAX_RANK];   /* output extents, outermost first */
  int32_t stride1[MCUQ_ELEMENTWISE_MAX_RANK]; /* input1 element stride per dim (0: broadcast) */
  int32_t stride2[MCUQ_ELEMENTWISE_MAX_RANK]; /* input2 element stride per dim */
  /* ADD/SUB on many elements: each input's scaled value per int8 (index q + 128), made at
   * generation time from the same arithmetic (mcuq/codegen/c_ops/elementwise.py), or NULL. */
  const int32_t *lut1, *lut2;
} mcuq_elementwise_params_t;

void mcuq_add_s8(const mcuq_elementwise_params_t *p, const int8_t *input1,
                 const int8_t *input2, int8_t *output);
void mcuq_sub_s8(const mcuq_elementwise_params_t *p, const int8_t *input1,
                 const int8_t *input2, int8_t *output);
void mcuq_mul_s8(const mcuq_elementwise_params_t *p, const int8_t *input1,
                 const int8_t *input2, int8_t *output);
void mcuq_maximum_s8(const mcuq_elementwise_params_t *p, const int8_t *input1,
                     const int8_t *input2, int8_t *output);
void mcuq_minimum_s8(const mcuq_elementwise_params_t *p, const int8_t *input1,
                     const int8_t *input2, int8_t *output);

#endif
