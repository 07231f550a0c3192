/* TRANSPOSE_CONV, int8 (mirrors mcuq/reference/ops/transpose_conv.py). NHWC tensors, weights
 * OHWI. TFLite Micro scatters every input pixel into an int32 scratch the size of the
 * output; this kernel gathers instead (each output sums the taps that reach it), which
 * needs no scratch and gives the same int32 sums. */
#ifndef MCUQ_TRANSPOSE_CONV_H
#define MCUQ_TRANSPOSE_CONV_H

#include <stdint.h>

typedef struct {
  int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w;
  int32_t stride_h, stride_w, pad_h, pad_w;
  int32_t input_offset, output_offset, act_min, act_max;
  const int32_t *multiplier; /* out_c entries */
  const int32_t *shift;      /* out_c entries */
} mcuq_transpose_conv_params_t;

/* bias: out_c int32 values, or NULL. */
void mcuq_transpose_conv_s8(const mcuq_transpose_conv_params_t *p, const int8_t *input,
                            const int8_t *weights, const int32_t *bias, int8_t *output);

#endif
