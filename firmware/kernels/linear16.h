/* 16x8 FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D: int16 activations (zero point 0), int8
 * weights, int64 bias (CONV_2D also int32). Mirrors mcuq/reference/ops/linear16.py. */
#ifndef MCUQ_LINEAR16_H
#define MCUQ_LINEAR16_H

#include <stdint.h>

/* TFLM's MultiplyByQuantizedMultiplier(int64_t x, q, shift): the multiplier reduced to 16 bits
 * ((q + 2^15) >> 16, 0x7FFF from 0x7FFF0000), one rounding shift by 15 - shift (shift <= 14,
 * |x| < 2^47: checked by the reference's prepare), cast to int32 (wrapping). */
static inline int32_t mcuq_mbqm64(int64_t x, int32_t multiplier, int32_t shift) {
  const int64_t reduced = multiplier < 0x7FFF0000 ? (((int64_t)multiplier + 32768) >> 16)
                                                  : 0x7FFF;
  const int32_t total = 15 - shift;
  const int64_t r = (x * reduced + ((int64_t)1 << (total - 1))) >> total;
  return (int32_t)(uint32_t)(uint64_t)r;
}

typedef struct {
  int32_t act_min, act_max;
  int32_t batches;     /* rows of the input */
  int32_t accum_depth; /* weights columns */
  int32_t out_depth;   /* weights rows */
  const int32_t *multiplier; /* out_depth entries */
  const int32_t *shift;
} mcuq_fully_connected16_params_t;

/* bias: out_depth int64 values, or NULL. */
void mcuq_fully_connected_s16(const mcuq_fully_connected16_params_t *p, const int16_t *input,
                              const int8_t *weights, const int64_t *bias, int16_t *output);

typedef struct {
  int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
  int32_t filter_in_c;      /* CONV_2D: input channels per group */
  int32_t depth_multiplier; /* DEPTHWISE_CONV_2D */
  int32_t act_min, act_max;
  const int32_t *multiplier; /* out_c entries */
  const int32_t *shift;
} mcuq_conv16_params_t;

/* CONV_2D with an int64 bias (int64 sums) or an int32 bias (int32 sums, wrapping, and the
 * int8 kernels' double-rounding requantization); exactly one of bias64/bias32 is non-NULL. */
void mcuq_conv_s16(const mcuq_conv16_params_t *p, const int16_t *input, const int8_t *weights,
                   const int64_t *bias64, const int32_t *bias32, int16_t *output);

/* DEPTHWISE_CONV_2D, int64 bias; weights (1, KH, KW, C * M). */
void mcuq_depthwise_conv_s16(const mcuq_conv16_params_t *p, const int16_t *input,
                             const int8_t *weights, const int64_t *bias, int16_t *output);

#endif
