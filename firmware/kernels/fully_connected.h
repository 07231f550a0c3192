/* FULLY_CONNECTED, int8 (mirrors mcuq/reference/ops/fully_connected.py). */
#ifndef MCUQ_FULLY_CONNECTED_H
#define MCUQ_FULLY_CONNECTED_H

#include <stdint.h>

typedef struct {
  int32_t output_offset;  /* output zero point */
  int32_t act_min, act_max;
  int32_t batches;        /* rows of the input */
  int32_t accum_depth;    /* weights columns */
  int32_t out_depth;      /* weights rows */
  const int32_t *multiplier; /* out_depth entries (per-tensor models repeat one value) */
  const int32_t *shift;      /* out_depth entries */
} mcuq_fully_connected_params_t;

/* bias: out_depth entries, already holding bias + input_offset * sum(weights row), so that
 * acc = bias[o] + sum(x * w) equals TFLM's sum((x + input_offset) * w) + bias exactly. */
void mcuq_fully_connected_s8(const mcuq_fully_connected_params_t *p,
                             const int8_t *restrict input, const int8_t *restrict weights,
                             const int32_t *restrict bias, int8_t *restrict output);

#endif
