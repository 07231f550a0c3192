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

/* Small layers (mcuq/codegen/c_ops/fully_connected.py: small_stream decides and builds): one
 * stream of 32-bit words per layer holding, per pair of rows, the doubled folded biases, the
 * doubled weights as int16 pairs and the two mcuq_rqc entries, so that the kernel walks one
 * pointer and its per-call set-up is a few loads. Layout, rows in pairs (a, b):
 *   2 bias_a, 2 bias_b, per chunk of 4 columns (a: (w0, w2), (w1, w3); b: the same),
 *   m_a, ra_a, e_a, m_b, ra_b, e_b
 * and an odd last row: 2 bias, per chunk (w0, w2), (w1, w3), m, ra, e. Weights doubled (2 w in
 * int16), biases doubled (2 * folded bias): the sum is the doubled accumulator mcuq_rqc2 takes.
 * Only for layers whose every row is fast in mcuq_rqc's table (|accumulator| < 2^30) and whose
 * weights have no zero point. */
typedef struct {
  int32_t batches;     /* rows of the input */
  int32_t accum_depth; /* weights columns */
  int32_t out_depth;   /* weights rows */
  uint32_t cap4, lo4;  /* act_max - act_min and act_min in every byte (not read: full range) */
  const uint32_t *stream;
} mcuq_fc_small_params_t;

/* act_min -128, act_max 127: the table folds the output offset alone and SSAT #8 clamps. */
void mcuq_fc_small_full_s8(const mcuq_fc_small_params_t *p, const int8_t *restrict input,
                           int8_t *restrict output);
/* any other activation range: the table folds output_offset - act_min, USAT #8 then the clamp */
void mcuq_fc_small_s8(const mcuq_fc_small_params_t *p, const int8_t *restrict input,
                      int8_t *restrict output);

#endif
