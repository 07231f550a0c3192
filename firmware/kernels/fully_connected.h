/* FULLY_CONNECTED, int8 (mirrors mcuq/reference/ops/fully_connected.py). */
#ifndef MCUQ_FULLY_CONNECTED_H
#define MCUQ_FULLY_CONNECTED_H

#include <stdint.h>

/* Bytes of the input row unpacked to int16 on the stack (depths up to half of it: 2 bytes per
 * input value); deeper rows are unpacked chunk by chunk instead. */
#define MCUQ_FC_SCRATCH_MAX 2048

typedef struct {
  int32_t output_offset;  /* output zero point */
  int32_t act_min, act_max;
  int32_t batches;        /* rows of the input */
  int32_t accum_depth;    /* weights columns */
  int32_t out_depth;      /* weights rows */
  const int32_t *multiplier; /* exotic rows (rq[2] < 0): out_depth entries, else NULL */
  const int32_t *shift;
  const int32_t *rq;         /* MCUQ_RQ_WORDS per row (mcuq_fixedpoint.h: mcuq_rq) */
  int32_t filter_offset;     /* -weights zero point (per-tensor weights; 0 per-channel) */
} mcuq_fully_connected_params_t;

/* weights: 32-bit words (mcuq/codegen/c_ops/fully_connected.py: group_weights): rows in groups
 * of 4, per group and per 4 input columns one word of each row; the last out_depth % 4 rows
 * follow one by one, a word per 4 columns; rows zero-padded to a multiple of 4 columns.
 * bias: out_depth entries, already holding bias + input_offset * sum(weights row)
 * + filter_offset * input_offset * accum_depth, so that acc = bias[o] + sum(x * w)
 * + filter_offset * sum(x) equals TFLM's sum((x + input_offset) * (w + filter_offset)) + bias
 * exactly (int32, wrapping). */
void mcuq_fully_connected_s8(const mcuq_fully_connected_params_t *p,
                             const int8_t *restrict input, const int8_t *restrict weights,
                             const int32_t *restrict bias, int8_t *restrict output);

#endif
