/* REDUCE_MAX, ARG_MAX, ARG_MIN on int8 (mirrors mcuq/reference/ops/reductions.py; SUM runs
 * reduce.c's mcuq_mean_s8 with an unfolded multiplier). */
#ifndef MCUQ_REDUCTIONS_H
#define MCUQ_REDUCTIONS_H

#include <stdint.h>

#define MCUQ_REDUCE_MAX_DIMS 6

typedef struct {
  int32_t kept;                             /* kept dimensions (0..MCUQ_REDUCE_MAX_DIMS) */
  int32_t kept_size[MCUQ_REDUCE_MAX_DIMS];  /* in input order: the output is row-major */
  int32_t kept_stride[MCUQ_REDUCE_MAX_DIMS];/* input element strides */
  int32_t red;                              /* reduced dimensions (0..MCUQ_REDUCE_MAX_DIMS) */
  int32_t red_size[MCUQ_REDUCE_MAX_DIMS];
  int32_t red_stride[MCUQ_REDUCE_MAX_DIMS];
} mcuq_reduce_max_params_t;

/* The largest raw int8 over the reduced dimensions (TFLM: ReduceGeneric, init INT8_MIN). */
void mcuq_reduce_max_s8(const mcuq_reduce_max_params_t *p, const int8_t *input,
                        int8_t *output);

typedef struct {
  int32_t outer, axis_size, inner;
} mcuq_arg_params_t;

/* int32 index of the first maximum (minimum) along the axis; `output` needs no alignment. */
void mcuq_arg_max_s8(const mcuq_arg_params_t *p, const int8_t *input, void *output);
void mcuq_arg_min_s8(const mcuq_arg_params_t *p, const int8_t *input, void *output);

#endif
