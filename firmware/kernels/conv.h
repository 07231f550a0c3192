/* CONV_2D and DEPTHWISE_CONV_2D, int8 (mirrors mcuq/reference/ops/conv.py). NHWC tensors,
 * conv weights OHWI, depthwise weights 1HW(C*M). */
#ifndef MCUQ_CONV_H
#define MCUQ_CONV_H

#include <stdint.h>

/* Largest k_padded of the im2col path (two patches live on the stack). */
#define MCUQ_CONV_COL_MAX 1024
/* Depthwise mode 1 limits: filter taps (k_h * k_w) and channels (a row of zero points). */
#define MCUQ_DW_TAPS_MAX 25
#define MCUQ_DW_CH_MAX 256

typedef struct {
  int32_t batches;
  int32_t in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w;
  int32_t filter_in_c;      /* conv: weights' input depth (groups = in_c / filter_in_c) */
  int32_t depth_multiplier; /* depthwise: out_c = in_c * depth_multiplier */
  int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
  int32_t input_zero_point; /* = -input_offset */
  int32_t output_offset, act_min, act_max;
  /* CONV_2D kernel path, chosen at generation time (mcuq/codegen/c_ops/conv.py):
   *   0: generic (weights OHWI as in the model);
   *   1: im2col: each output pixel's patch (taps in the padding read the zero point) is
   *      gathered into a stack buffer of k_padded bytes, then a packed int8 dot product;
   *   2: direct: 1x1 filter, no padding, in_c % 4 == 0: the input pixel is the patch.
   * Paths 1 and 2 take weights as out_c rows of k_padded bytes (OHWI rows zero-padded to a
   * multiple of 4). DEPTHWISE_CONV_2D: 0 generic, 1 depth_multiplier == 1 fast path (within the
   * MCUQ_DW_* limits).
   * Modes != 0 need every shift in [-31, -2] (mcuq_requant_rshift). */
  int32_t mode;
  int32_t k_padded;
  const int32_t *multiplier; /* out_c entries (per-tensor models repeat one value) */
  const int32_t *shift;      /* out_c entries */
} mcuq_conv_params_t;

/* bias: out_c entries, already holding bias + input_offset * sum(all weights of the channel).
 * TFLM accumulates (x + input_offset) * w over the taps inside the image only; a tap in the
 * padding is the same as one reading x = input_zero_point, which the kernels do, so the
 * folded bias is exact for SAME padding too. */
void mcuq_conv_s8(const mcuq_conv_params_t *p, const int8_t *restrict input,
                  const int8_t *restrict weights, const int32_t *restrict bias,
                  int8_t *restrict output);

void mcuq_depthwise_conv_s8(const mcuq_conv_params_t *p, const int8_t *restrict input,
                            const int8_t *restrict weights, const int32_t *restrict bias,
                            int8_t *restrict output);

#endif
