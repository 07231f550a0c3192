/* DEPTHWISE_CONV_2D (depth multiplier 1, int8) in place, TinyEngine's way: for each channel,
 * its input plane is copied to a temporary (plane_h * plane_w bytes: the plane with the padding
 * the windows reach, filled with the input zero point), then that channel's outputs are written
 * over the input tensor. Output channel c occupies only the bytes of input channel
 * c (NHWC, out_h * out_w <= in_h * in_w), so the other channels' inputs stay intact.
 * Mirrors mcuq/reference/ops/conv.py (TFLM DepthwiseConvPerChannel); used when the arena plan
 * runs the op in place (mcuq/codegen/c_ops/depthwise_inplace.py). */
#ifndef MCUQ_DEPTHWISE_INPLACE_H
#define MCUQ_DEPTHWISE_INPLACE_H

#include <stdint.h>

typedef struct {
  int32_t in_h, in_w, channels;
  int32_t out_h, out_w;
  int32_t plane_h, plane_w; /* the temporary: rows/columns from -pad_h / -pad_w the windows read */
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
  int32_t input_offset; /* added to every input value inside the image (TFLM's -zero point) */
  int32_t output_offset, act_min, act_max;
  const int32_t *multiplier; /* per channel */
  const int32_t *shift;      /* per channel */
} mcuq_dw_inplace_params_t;

/* data: the input (in_h x in_w x channels), overwritten by the output (out_h x out_w x
 * channels); weights 1 x k_h x k_w x channels; bias per channel; temp: plane_h * plane_w
 * bytes. */
void mcuq_depthwise_inplace_s8(const mcuq_dw_inplace_params_t *p, int8_t *restrict data,
                               const int8_t *restrict weights, const int32_t *restrict bias,
                               int8_t *restrict temp);

#endif
