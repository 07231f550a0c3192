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
  const int32_t *multiplier; /* out_c entries (the generic kernels) */
  const int32_t *shift;
  /* the fast kernels (int32 sums): */
  int32_t k_pad;  /* CONV_2D: patch length (k_h * k_w * in_c) rounded up to 4 */
  int32_t direct; /* CONV_2D: 1x1, no padding, in_c % 4 == 0: patches read in place */
  int32_t rq_mode;   /* the table's form: 0 every post 0, 1 posts, 2 wrapped (below) */
  const int32_t *rq; /* MCUQ_RQ16_WORDS words per output channel (mcuq_rq16) */
} mcuq_conv16_params_t;

/* CONV_2D with an int64 bias (int64 sums) or an int32 bias (int32 sums, wrapping, and the
 * int8 kernels' double-rounding requantization); exactly one of bias64/bias32 is non-NULL. */
void mcuq_conv_s16(const mcuq_conv16_params_t *p, const int16_t *input, const int8_t *weights,
                   const int64_t *bias64, const int32_t *bias32, int16_t *output);

/* DEPTHWISE_CONV_2D, int64 bias; weights (1, KH, KW, C * M). */
void mcuq_depthwise_conv_s16(const mcuq_conv16_params_t *p, const int16_t *input,
                             const int8_t *weights, const int64_t *bias, int16_t *output);

/* -- fast kernels: int32 sums, proved exact at generation time ----------------------------
 * mcuq/codegen/c_ops/int16.py takes these only for a layer whose every output channel has
 * 32768 * sum|w| <= 2^31 - 1: no partial sum of products of int16 inputs and that channel's
 * weights can leave int32, so TFLM's int64 sum equals the int32 one (SMLAD). The int64 bias
 * and TFLM's MultiplyByQuantizedMultiplier(int64_t) are folded into a per-channel table:
 *   rq = {K lo, K hi, m, post}:  v = (int32)(hi32(K + acc * m) >> post)
 * with red = the 16-bit reduced multiplier, total = 15 - shift and, for total <= 32,
 * m = red << (32 - total), K = (bias * red + 2^(total - 1)) << (32 - total) mod 2^64, post 0
 * (hi32 of the 64-bit sum mod 2^64 is TFLM's result mod 2^32, the int32 cast it does); for
 * total > 32, m = red, K = bias * red + 2^(total - 1), post = total - 32 (no wrap: |K| < 2^62).
 * One SMLAL and one shift per output. A layer where some red << (32 - total) leaves int32
 * (effective scales from about 0.5 up, e.g. dead channels of tiny weights) takes the wrapped
 * form (rq_wrap): m = red << (32 - total) mod 2^32 as int32, q = the part above 2^32 (in the
 * fourth word) and v = hi32(K + acc * m) + acc * q mod 2^32 (post 0 in every channel; a layer
 * that would also need post > 0 runs on the generic kernels). */
#define MCUQ_RQ16_WORDS 4

/* The longest patch (k_pad int16 values) the fast kernels copy: their stack buffer holds two
 * (4 * MCUQ_CONV16_COL_MAX bytes; mcuq_buffers.h's MCUQ_CONV16_COL_BUF, a project's copy sized
 * to its layers). Longer ones take the generic kernels. */
#define MCUQ_CONV16_COL_MAX 1024

/* CONV_2D (one group) with the table: weights per pair of output channels (the last alone
 * when out_c is odd), per 4 patch values (ky, kx, c order, zero-padded to k_pad) one word per
 * channel, the pair's words interleaved, bytes (w0, w2, w1, w3): SXTB16 gives (w0, w1) and
 * SXTB16 ROR #8 (w2, w3), matching two int16 words of the patch. Also FULLY_CONNECTED (a 1x1
 * conv over batches x 1 pixels). */
void mcuq_conv_s16_fast(const mcuq_conv16_params_t *p, const int16_t *input,
                        const int8_t *weights, int16_t *output);

/* CONV_2D (one group, int64 bias) / FULLY_CONNECTED whose sums may leave int32: the same
 * weights and patches as mcuq_conv_s16_fast, 64-bit sums (SMLALD), then TFLM's
 * mcuq_mbqm64(sum + bias) per channel (p->multiplier, p->shift; bias: out_c values). */
void mcuq_conv_s16_wide(const mcuq_conv16_params_t *p, const int16_t *input,
                        const int8_t *weights, const int64_t *bias, int16_t *output);

/* DEPTHWISE_CONV_2D with the table: weights per block of 4 output channels (the last
 * zero-padded), per tap (ky, kx) one word, bytes (w[c], w[c+2], w[c+1], w[c+3]). Per output
 * pixel it lists the taps inside the image (a stack array of MCUQ_DW16_TAPS_BUF entries,
 * 8 bytes each; filters of at most MCUQ_DW16_TAPS_MAX taps), then per block of 4 channels
 * runs over that list: depth_multiplier 1 (4 channels from two words) or a multiple of 4 (one
 * input channel per block); other multipliers in C. */
#define MCUQ_DW16_TAPS_MAX 1024
void mcuq_depthwise_conv_s16_fast(const mcuq_conv16_params_t *p, const int16_t *input,
                                  const int8_t *weights, int16_t *output);

#endif
