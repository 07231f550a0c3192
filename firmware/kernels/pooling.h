/* AVERAGE_POOL_2D and MAX_POOL_2D, int8 NHWC (mirrors mcuq/reference/ops/pooling.py).
 * Input and output share their quantization; windows are clipped to the image.
 * In place (output == input) when stride >= filter and padding < stride on both axes: each
 * output pixel's channel block is written after its window was read, and its bytes hold input
 * pixels no later window reads (mcuq/codegen/c_ops/pooling.py). Hence no `restrict`. */
#ifndef MCUQ_POOLING_H
#define MCUQ_POOLING_H

#include <stdint.h>

typedef struct {
  int32_t batches;
  int32_t in_h, in_w, channels;
  int32_t out_h, out_w;
  int32_t filter_h, filter_w, stride_h, stride_w, pad_h, pad_w;
  int32_t act_min, act_max;
} mcuq_pool_params_t;

void mcuq_avg_pool_s8(const mcuq_pool_params_t *p, const int8_t *input, int8_t *output);
void mcuq_max_pool_s8(const mcuq_pool_params_t *p, const int8_t *input, int8_t *output);

#endif
