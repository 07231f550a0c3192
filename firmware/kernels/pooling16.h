/* AVERAGE_POOL_2D and MAX_POOL_2D, int16 NHWC (mirrors mcuq/reference/ops/pooling16.py). */
#ifndef MCUQ_POOLING16_H
#define MCUQ_POOLING16_H

#include <stdint.h>

typedef struct {
  int32_t batches;
  int32_t in_h, in_w, channels;
  int32_t out_h, out_w;
  int32_t filter_h, filter_w, stride_h, stride_w, pad_h, pad_w;
  int32_t act_min, act_max;
} mcuq_pool16_params_t;

void mcuq_avg_pool_s16(const mcuq_pool16_params_t *p, const int16_t *input, int16_t *output);
void mcuq_max_pool_s16(const mcuq_pool16_params_t *p, const int16_t *input, int16_t *output);

#endif
