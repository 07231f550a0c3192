/* MEAN, int8 (mirrors mcuq/reference/ops/reduce.py): TFLM's QuantizedMeanOrSum. */
#ifndef MCUQ_REDUCE_H
#define MCUQ_REDUCE_H

#include <stdint.h>

#define MCUQ_MEAN_MAX_KEPT 5

typedef struct {
  int32_t out_count;                          /* output elements */
  int32_t kept;                               /* kept (not reduced) input dimensions */
  int32_t kept_size[MCUQ_MEAN_MAX_KEPT];      /* in input order; output index = row-major */
  int32_t kept_stride[MCUQ_MEAN_MAX_KEPT];    /* input strides of the kept dimensions */
  int32_t red_size[2], red_stride[2];         /* reduced dimensions (size 1 when unused) */
  int32_t count;                              /* elements per output = red_size product */
  int32_t input_zero_point, output_zero_point;
  int32_t multiplier, shift;                  /* input_scale / output_scale with 1/count */
} mcuq_mean_params_t;

/* MEAN over consecutive axes whose kept inner axes are contiguous: (outer, rows, channels) ->
 * (outer, channels), rows <= MCUQ_MEAN_ROWS_MAX (reduce.c: halfword sums). */
#define MCUQ_MEAN_ROWS_MAX 256

typedef struct {
  int32_t outer, rows, channels;
  int32_t input_zero_point, output_zero_point;
  int32_t multiplier, shift;
} mcuq_mean_rows_params_t;

void mcuq_mean_rows_s8(const mcuq_mean_rows_params_t *p, const int8_t *restrict input,
                       int8_t *restrict output);

void mcuq_mean_s8(const mcuq_mean_params_t *p, const int8_t *restrict input,
                  int8_t *restrict output);

#endif
