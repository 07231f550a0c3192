/* SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND on int8 NHWC (3-D NHC tensors as NH1C), mirroring
 * mcuq/reference/ops/space.py (TFLite Micro's reference_ops loops). DEPTH_TO_SPACE and
 * SPACE_TO_DEPTH are pure permutations: the code generator emits them as shape.c's
 * mcuq_copy_nd. */
#ifndef MCUQ_SPACE_H
#define MCUQ_SPACE_H

#include <stdint.h>

typedef struct {
  int32_t in_n, in_h, in_w, depth;    /* input NHWC (depth = C) */
  int32_t out_n, out_h, out_w;        /* output NHW (same depth) */
  int32_t block_h, block_w;
  int32_t pad_top, pad_left;          /* SPACE_TO_BATCH_ND: paddings; BATCH_TO_SPACE_ND: crops */
  int32_t pad_value;                  /* SPACE_TO_BATCH_ND: the output zero point */
} mcuq_batch_space_params_t;

void mcuq_space_to_batch_nd_s8(const mcuq_batch_space_params_t *p, const int8_t *input,
                               int8_t *output);
void mcuq_batch_to_space_nd_s8(const mcuq_batch_space_params_t *p, const int8_t *input,
                               int8_t *output);

#endif
