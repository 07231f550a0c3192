/* Look-up-table (packed) weights: k-bit indices in flash, int8 tables, decoded inside the
 * kernels (`mcuq generate --target c --pack`). Mirrors the plain kernels of conv.c,
 * fully_connected.c, transpose_conv.c and batch_matmul.c (and so mcuq/reference/ops/) with the
 * weight operand stored as mcuq_lut_t; the layout is written by mcuq/packing.py (encode_lut).
 *
 * A weight tensor is cut into segments, the unit one decode fills: one output channel's
 * filter (CONV_2D, TRANSPOSE_CONV: KH*KW*Cin in OHWI order; FULLY_CONNECTED: one row),
 * one channel's KH*KW taps (DEPTHWISE_CONV_2D), or one column of a constant BATCH_MATMUL
 * right-hand side (its depth values). Segment s holds segment_len k-bit indices, least
 * significant bit first, in segment_bytes = ceil(segment_len * k / 8) bytes from
 * indices + s * segment_bytes (the last byte may be part-filled: nothing past it is read).
 * Its table is tables + (s % channels) * stride (channels == 1: one table for the tensor).
 *
 * Each kernel decodes one segment at a time into `scratch` (at most one output channel's
 * filter: the largest segment_len of the model, a static buffer in model.c) and uses it for
 * every output pixel / batch row of that channel: no decoded copy of a whole tensor exists.
 * The folded bias (bias + input_offset * sum of the channel's weights) is computed at
 * generation time from the decoded values, exactly as for the plain kernels. */
#ifndef MCUQ_PACKED_H
#define MCUQ_PACKED_H

#include <stdint.h>

/* Widest index the decoders read (mcuq/packing.py C_MAX_BITS reads it from here). */
#define MCUQ_LUT_MAX_BITS 6
/* CONV_2D mode 2: the patches of a block of output pixels, on the stack (as conv.c's im2col). */
#define MCUQ_LUT_COL_BYTES 2048
/* Filters of at most this many taps keep per-tap weight sums on the stack: a pixel in the
 * padding costs one addition per tap outside the image instead of one per weight. */
#define MCUQ_LUT_TAPS_MAX 64

/* n indices of k bits (one decoder per width; the struct names the one it needs, so a build
 * links only the widths its model uses): dst[i] = tab[index i]. */
typedef void (*mcuq_lut_decoder_t)(const uint8_t *src, const int8_t *tab, int8_t *dst,
                                   int32_t n);
void mcuq_lut_decode_1(const uint8_t *src, const int8_t *tab, int8_t *dst, int32_t n);
void mcuq_lut_decode_2(const uint8_t *src, const int8_t *tab, int8_t *dst, int32_t n);
void mcuq_lut_decode_3(const uint8_t *src, const int8_t *tab, int8_t *dst, int32_t n);
void mcuq_lut_decode_4(const uint8_t *src, const int8_t *tab, int8_t *dst, int32_t n);
void mcuq_lut_decode_5(const uint8_t *src, const int8_t *tab, int8_t *dst, int32_t n);
void mcuq_lut_decode_6(const uint8_t *src, const int8_t *tab, int8_t *dst, int32_t n);

typedef struct {
  const uint8_t *indices; /* segments * segment_bytes */
  const int8_t *tables;   /* channels * stride */
  mcuq_lut_decoder_t decode; /* mcuq_lut_decode_<bits> */
  int32_t bits;           /* 1 .. MCUQ_LUT_MAX_BITS */
  int32_t segment_len;    /* values per segment */
  int32_t segment_bytes;  /* ceil(segment_len * bits / 8) */
  int32_t stride;         /* entries per table */
  int32_t channels;       /* tables; segment s uses table s % channels */
} mcuq_lut_t;

/* The segment_len int8 values of segment `segment` into dst. */
void mcuq_lut_decode(const mcuq_lut_t *w, int32_t segment, int8_t *dst);

/* CONV_2D and DEPTHWISE_CONV_2D (NHWC; the conv filter OHWI, groups = in_c / filter_in_c;
 * depthwise out_c = in_c * depth_multiplier). */
typedef struct {
  int32_t batches;
  int32_t in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w;
  int32_t filter_in_c, depth_multiplier;
  int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
  int32_t input_zero_point; /* = -input_offset */
  int32_t output_offset, act_min, act_max;
  int32_t fast_rq; /* every shift in [-31, -2], no multiplier INT32_MIN: mcuq_requant_rshift */
  /* CONV_2D path, chosen at generation time (mcuq/codegen/c_ops/packed.py):
   *   0: per pixel, any geometry (groups);
   *   1: direct: one channel's filter at a time over every pixel, read from the input rows
   *      (one group, no horizontal dilation, filter rows of >= 16 bytes): interior pixels four
   *      at a time, pixels in the padding one at a time;
   *   2: blocked: the patches of MCUQ_LUT_COL_BYTES / k_padded output pixels gathered once
   *      (taps in the padding read the zero point), then every channel's filter decoded and
   *      applied to the block (small filters: first layers, dilations).
   * DEPTHWISE_CONV_2D ignores it: with depth_multiplier 1 and at most MCUQ_LUT_TAPS_MAX taps
   * it runs 4 channels at a time (their filters decoded one by one through scratch, then held
   * interleaved on the stack: 2 x 4 x taps bytes), the channels after the last 4 and every
   * other depthwise one channel at a time. */
  int32_t mode;
  int32_t k_padded; /* mode 2: k_h * k_w * in_c rounded up to 4 */
  const int32_t *multiplier; /* out_c entries */
  const int32_t *shift;      /* out_c entries */
} mcuq_lut_conv_params_t;

/* bias: out_c entries holding bias + input_offset * sum(channel's weights) (taps in the
 * padding read the input zero point, as in conv.c). scratch: k_h * k_w * filter_in_c bytes
 * (conv; mode 2: k_padded) or k_h * k_w bytes (depthwise). */
void mcuq_conv_lut_s8(const mcuq_lut_conv_params_t *p, const int8_t *input,
                      const mcuq_lut_t *weights, const int32_t *bias, int8_t *output,
                      int8_t *scratch);
void mcuq_depthwise_conv_lut_s8(const mcuq_lut_conv_params_t *p, const int8_t *input,
                                const mcuq_lut_t *weights, const int32_t *bias,
                                int8_t *output, int8_t *scratch);

/* FULLY_CONNECTED: rows of accum_depth values. bias folded as above; scratch: accum_depth. */
typedef struct {
  int32_t output_offset, act_min, act_max;
  int32_t batches, accum_depth, out_depth;
  int32_t fast_rq;
  const int32_t *multiplier; /* out_depth entries */
  const int32_t *shift;
} mcuq_lut_fc_params_t;

void mcuq_fully_connected_lut_s8(const mcuq_lut_fc_params_t *p, const int8_t *input,
                                 const mcuq_lut_t *weights, const int32_t *bias,
                                 int8_t *output, int8_t *scratch);

/* TRANSPOSE_CONV (weights OHWI, gathered per output as transpose_conv.c); bias: out_c int32
 * values or NULL (not folded: the input offset is added per tap there too). scratch:
 * k_h * k_w * in_c. */
typedef struct {
  int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w;
  int32_t stride_h, stride_w, pad_h, pad_w;
  int32_t input_offset, output_offset, act_min, act_max;
  const int32_t *multiplier; /* out_c entries */
  const int32_t *shift;
} mcuq_lut_transpose_conv_params_t;

void mcuq_transpose_conv_lut_s8(const mcuq_lut_transpose_conv_params_t *p,
                                const int8_t *input, const mcuq_lut_t *weights,
                                const int32_t *bias, int8_t *output, int8_t *scratch);

/* BATCH_MATMUL with a constant right-hand side (batch_matmul.c's strides for the LHS; the
 * RHS as segments: matrix r, column j is segment r * cols + j, r = the dot of the output
 * batch index with rhs_matrix_stride). scratch: depth bytes. */
typedef struct {
  int32_t batch[3];
  int32_t lhs_batch_stride[3];
  int32_t rhs_matrix_stride[3]; /* in matrices, 0 where the RHS broadcasts */
  int32_t rows, cols, depth;
  int32_t lhs_row_stride, lhs_depth_stride;
  int32_t lhs_offset, rhs_offset, output_offset;
  int32_t multiplier, shift;
} mcuq_lut_batch_matmul_params_t;

void mcuq_batch_matmul_lut_s8(const mcuq_lut_batch_matmul_params_t *p, const int8_t *lhs,
                              const mcuq_lut_t *rhs, int8_t *output, int8_t *scratch);

#endif
