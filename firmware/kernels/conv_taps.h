/* CONV_2D with short patches ("taps"): at most MCUQ_TAPS_WORDS int16 pairs per output pixel,
 * e.g. the 3x3 filter on one input channel of grayscale and audio first layers (9 taps), and
 * DEPTHWISE_CONV_2D on one input channel x multiplier M (the same as a conv with one input
 * channel and M outputs: the generator routes it here). Chosen at generation time
 * (mcuq/codegen/c_ops/conv_taps.py: is_taps). */
#ifndef MCUQ_CONV_TAPS_H
#define MCUQ_CONV_TAPS_H

#include <stdint.h>

#include "conv.h"

/* Words of int16 pairs per patch (10 taps), held in registers across all output channels. */
#define MCUQ_TAPS_WORDS 5
/* The tallest filter (a table of row pointers) and the largest ring of int16 input rows
 * (bytes, on the stack). */
#define MCUQ_TAPS_ROWS 10
#define MCUQ_TAPS_RING_MAX 1024

/* Per output channel the table (conv_taps.py: taps_table) holds MCUQ_TAPS_FULL_WORDS words
 * for a layer whose activation clamps to the whole int8 range (act_min -128, act_max 127):
 *   2 * folded bias (wrapping), the 5 words of doubled int16 weight pairs in the patch order,
 *   mcuq_rqc's (m, ra, e) for a doubled accumulator (mcuq_rqc2; e < 0: an exotic channel,
 *   requantized afterwards from p->multiplier/shift and `bias`);
 * and two more words otherwise: cap = act_max - act_min and lo = act_min.
 * The patch order, per output pixel (no dilation): every filter row's floor(k_w * in_c / 2)
 * pairs of neighbouring taps, row by row; then, when k_w * in_c is odd, every row's last tap,
 * two rows per word (the unused high half of the last word meets a zero weight).
 * Pixels are computed one by one from a ring of the input rows the filter reads, unpacked to
 * int16 and padded with the zero point (no border case). reverse = 0: the output rows first to
 * last; 1: last to first (input rows are copied into the ring when an output row starts: with
 * input == output the generator proves that order safe, conv_taps.py: taps_order). bias: the
 * folded biases (read for exotic channels only; NULL when there are none). */
#define MCUQ_TAPS_FULL_WORDS 9
#define MCUQ_TAPS_CLAMP_WORDS 11
void mcuq_conv_taps_s8(const mcuq_conv_params_t *p, const int8_t *input, const int32_t *table,
                       const int32_t *bias, int8_t *output, int reverse);
/* The same for filter rows of 3 taps (3x3 on one channel, 3x1 on three), k_h == 3 and no
 * exotic channel: output row by output row in assembly (the generator's choice, so that a
 * project links only the loop it runs). */
void mcuq_conv_taps3_s8(const mcuq_conv_params_t *p, const int8_t *input, const int32_t *table,
                        int8_t *output, int reverse);

#endif
