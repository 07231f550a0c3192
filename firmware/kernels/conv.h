/* CONV_2D and DEPTHWISE_CONV_2D, int8 (mirrors mcuq/reference/ops/conv.py). NHWC tensors,
 * conv weights OHWI, depthwise weights 1HW(C*M) (the fast paths take them rearranged, below). */
#ifndef MCUQ_CONV_H
#define MCUQ_CONV_H

#include <stdint.h>

/* Largest k_padded of the packed conv paths: two patches, unpacked to int16, live on the stack
 * (4 * MCUQ_CONV_COL_MAX bytes). */
#define MCUQ_CONV_COL_MAX 768
/* Packed conv mode 3: bytes of its ring of padded input rows (stack) and the tallest filter. */
#define MCUQ_CONV_RING_MAX 1024
#define MCUQ_CONV_RING_ROWS 16
/* ... and the most whole words of filter rows it reads through a table of addresses. */
#define MCUQ_CONV_RING_CHUNKS 32
/* Depthwise fast paths: filter taps (k_h * k_w: a table of tap pointers), channels of mode 1
 * (a row of zero points) and bytes of mode 2's ring of unpacked input rows, all on the
 * stack. */
#define MCUQ_DW_TAPS_MAX 96
#define MCUQ_DW_CH_MAX 512
#define MCUQ_DW_ROWS_MAX 2048

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
  /* Kernel path, chosen at generation time (mcuq/codegen/c_ops/conv.py):
   * CONV_2D
   *   0: generic (weights OHWI as in the model; grouped convolutions, patches over
   *      MCUQ_CONV_COL_MAX);
   *   1: im2col: two output pixels' patches (taps in the padding read the zero point) are
   *      gathered and unpacked to int16 on the stack, then 2 pixels x 2 output channels per
   *      pass over the patch;
   *   2: direct: 1x1 filter, no padding, in_c % 4 == 0: the input pixels are the patches.
   *   3: as 1 for first layers (the generator's choice: 1-4 input channels), the patches
   *      built from a ring of the input rows the filter reads, padded with the zero point (at
   *      most MCUQ_CONV_RING_MAX bytes, k_h <= MCUQ_CONV_RING_ROWS): no border case, the
   *      filter rows' whole words unpacked straight from the ring, their tails gathered (the
   *      weights in that order: conv.py, ring_weights).
   *   Paths 1, 2 and 3 take the weights as 32-bit words (mcuq/codegen/c_ops/conv.py:
   *   pair_weights): per pair of output channels, per 4 patch bytes, one word of each (rows
   *   zero-padded to k_padded bytes); an odd last channel's words follow alone.
   * DEPTHWISE_CONV_2D
   *   0: generic (any depth multiplier, filter, shapes);
   *   1: depth_multiplier 1, channels <= MCUQ_DW_CH_MAX: pixel by pixel, a table of tap
   *      pointers (padding: a row of zero points), blocks of 4 channels; takes, instead of
   *      weights, bias and rq, one stream per block: its 4 biases, its weights unpacked to
   *      int16 pairs (2 words per tap) and its 4 mcuq_rq entries (conv.py: px_stream; bias
   *      argument unused);
   *   2: depth_multiplier a multiple of 4 (every block of 4 output channels reads one input
   *      channel): block by block, a ring of input rows unpacked to int16 and padded with the
   *      zero point (at most MCUQ_DW_ROWS_MAX bytes), neighbouring taps paired for SMLAD;
   *      weights unpacked to int16 pairs (block_weights in mcuq/codegen/c_ops/conv.py).
   *   Both take filters of at most MCUQ_DW_TAPS_MAX taps.
   *   3: depth_multiplier 1, a multiple of 4 channels, 3x3 without dilation, stride_w 1,
   *      output rows wide enough (conv.py: is_planar): groups of k_padded blocks of 4
   *      channels, the input rows unpacked into a ring of 3 rows x 4 int16 planes per block,
   *      two output pixels of one channel per pass sharing their loads (SMLAD on neighbouring
   *      taps). Takes, instead of weights, bias and rq, one table of 12 words per channel
   *      (conv.py: planar_table; bias argument unused).
   *   4: the same with stride_w 2 (conv.py: is_s2): groups of k_padded blocks, a ring of 3
   *      input rows unpacked once per pixel to (c0, c2), (c1, c3) int16 words, pixel by pixel;
   *      takes one stream per block (conv.py: s2_stream; bias argument unused).
   *   Modes 3 and 4 also run in place over the whole tensor (mcuq_depthwise_planar_inplace).
   * The fast paths (conv 1, 2; depthwise 1, 2, 3, 4) requantize with mcuq_rq's table; the
   * channels it cannot express (`exotic`: shift >= -1, shifts below the folded offset's
   * range) are computed again afterwards by the generic path with multiplier/shift. */
  int32_t mode;
  int32_t k_padded; /* conv 1, 2: patch bytes; depthwise 3, 4: blocks of 4 channels per group */
  const int32_t *multiplier; /* generic path / exotic channels: out_c entries (or NULL) */
  const int32_t *shift;      /* out_c entries (or NULL) */
  const int32_t *rq;         /* fast paths: MCUQ_RQ_WORDS per channel (blocks padded to 4);
                              * the packed conv's (modes 1, 2): mcuq_rqc's (m, ra, e), the
                              * weights as conv.c's mcuq_conv_channels reads them */
  int32_t n_exotic;          /* how many channels `rq` cannot express (rq[2] < 0); the packed
                              * conv: how many `exotic` lists */
  const int32_t *exotic;     /* the packed conv: the channels its pair loops may leave to the
                              * rest loop (exotic and hot ones, conv.py: packed_requant), in
                              * order; otherwise unused (NULL) */
  int32_t pair_bytes;        /* the packed conv: bytes of its weight stream's pairs of channels
                              * (conv.py: pair_weights; the pair loops' end) */
} mcuq_conv_params_t;

/* bias: out_c entries (padded to a multiple of 4 for depthwise path 2), already holding
 * bias + input_offset * sum(all weights of the channel). TFLM accumulates
 * (x + input_offset) * w over the taps inside the image only; a tap in the padding is the same
 * as one reading x = input_zero_point, which the kernels do, so the folded bias is exact for
 * SAME padding too. */
void mcuq_conv_s8(const mcuq_conv_params_t *p, const int8_t *restrict input,
                  const int8_t *restrict weights, const int32_t *restrict bias,
                  int8_t *restrict output);

/* In place: `data` holds the input and receives the output from its first byte on. Mode 2
 * with stride 1 (a 1x1 filter, no padding): pixels in pairs, each pair's input unpacked to the
 * stack before its outputs are written. Mode 3: the pixels in pairs too, the input rows copied
 * into the ring when an output row starts. reverse = 0: first pixel to last; 1: last to first.
 * The code generator takes the method only where mcuq/memory.py's replay of this order
 * (inplace_steps) finds every input byte read before it is overwritten (check_reads replays
 * it again on the arena plan). */
void mcuq_conv_s8_inplace(const mcuq_conv_params_t *p, int8_t *data, const int8_t *weights,
                          const int32_t *bias, int reverse);

void mcuq_depthwise_conv_s8(const mcuq_conv_params_t *p, const int8_t *restrict input,
                            const int8_t *restrict weights, const int32_t *restrict bias,
                            int8_t *restrict output);

/* Depthwise mode 3 in place: data holds the input (in_h x in_w x in_c, batch 1) and receives
 * the output (out_h x out_w x out_c, out_c == in_c), one call over the whole tensor; only for
 * layers whose order the generator proved (mcuq/codegen/c_ops/planar_inplace.py). */
void mcuq_depthwise_planar_inplace(const mcuq_conv_params_t *p, int8_t *data,
                                   const int8_t *restrict table);

#endif
