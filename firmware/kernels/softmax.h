/* SOFTMAX, int8 in, int8 out (scale 1/256, zero point -128), over the last axis
 * (mirrors mcuq/reference/ops/softmax.py: TFLite Micro's gemmlowp softmax). */
#ifndef MCUQ_SOFTMAX_H
#define MCUQ_SOFTMAX_H

#include <stdint.h>

typedef struct {
  int32_t input_multiplier;  /* beta * input_scale * 2^26, quantized (> 1) */
  int32_t input_left_shift;  /* >= 0 */
  int32_t diff_min;          /* inputs below max + diff_min give -128 */
  int32_t outer;             /* number of rows */
  int32_t depth;             /* size of the last axis */
} mcuq_softmax_params_t;

/* input and output may be the same buffer: every row is read fully before it is written. */
void mcuq_softmax_s8(const mcuq_softmax_params_t *p, const int8_t *input, int8_t *output);

#endif
