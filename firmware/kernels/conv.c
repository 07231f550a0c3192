#include "conv.h"

#include <stddef.h>

#include "mcuq_buffers.h"
#include "mcuq_fixedpoint.h"

/* The generic paths stay out of line: inlined into the dispatcher they would give it (and every
 * fast path through it) their stack frame. */
#if defined(__GNUC__)
#define MCUQ_NOINLINE __attribute__((noinline))
#else
#define MCUQ_NOINLINE
#endif

/* Depthwise output channels accumulated together by the generic path (a fixed-size block on
 * the stack keeps the contiguous channel axis innermost without a scratch buffer). */
#define MCUQ_DW_BLOCK 32

/* Generic requantization: any shift, so the offset addition can wrap (as TFLM's does). */
static inline int8_t mcuq_conv_out(int32_t acc, int32_t multiplier, int32_t shift,
                                   const mcuq_conv_params_t *p) {
  const int32_t v = mcuq_add_wrap(mcuq_mbqm(acc, multiplier, shift), p->output_offset);
  return (int8_t)mcuq_clamp(v, p->act_min, p->act_max);
}

/* Output channel c of a fast path: the table (mcuq_rq) unless the emitter marked the channel
 * exotic (rq[2] < 0: shift >= -1 or outside the folded offset's range). */
static inline int8_t mcuq_conv_one(int32_t acc, const int32_t *rq, int32_t c,
                                   const mcuq_conv_params_t *p) {
  if (rq[2] < 0) return mcuq_conv_out(acc, p->multiplier[c], p->shift[c], p);
  return mcuq_out_byte(mcuq_rq(acc, rq), p->act_max - p->act_min, p->act_min);
}

/* First and one-past-last filter tap k with 0 <= origin + k * dil < size. */
static inline void mcuq_valid_taps(int32_t origin, int32_t dil, int32_t size, int32_t taps,
                                   int32_t *lo, int32_t *hi) {
  int32_t a = origin < 0 ? (-origin + dil - 1) / dil : 0;
  int32_t b = size - origin <= 0 ? 0 : (size - origin + dil - 1) / dil;
  if (b > taps) b = taps;
  if (a > b) a = b;
  *lo = a;
  *hi = b;
}

/* sum x[i] * w[i] modulo 2^32 (each product fits int32; the sum may wrap, as in TFLM). */
static inline int32_t mcuq_dot_s8(const int8_t *restrict x, const int8_t *restrict w,
                                  int32_t n) {
  uint32_t acc = 0;
  for (int32_t i = 0; i < n; ++i) acc += (uint32_t)((int32_t)x[i] * (int32_t)w[i]);
  return (int32_t)acc;
}

/* Small copies and fills, word by word (no library call: newlib-nano's are bytewise). */
static inline void mcuq_copy_bytes(int8_t *restrict d, const int8_t *restrict s, int32_t n) {
  for (; n >= 4; n -= 4, d += 4, s += 4) mcuq_store4(d, mcuq_load4(s));
  if (n & 2) {
    d[0] = s[0];
    d[1] = s[1];
    d += 2;
    s += 2;
  }
  if (n & 1) d[0] = s[0];
}

static inline void mcuq_fill_bytes(int8_t *d, uint32_t v4, int32_t n) {
  for (; n >= 4; n -= 4, d += 4) mcuq_store4(d, v4);
  if (n & 2) {
    d[0] = (int8_t)v4;
    d[1] = (int8_t)v4;
    d += 2;
  }
  if (n & 1) d[0] = (int8_t)v4;
}

/* 4 int8 -> 2 words of int16 pairs: (b0, b2) and (b1, b3), the order SXTB16 gives. */
static inline void mcuq_unpack4(uint32_t *d, uint32_t v) {
  d[0] = mcuq_sxtb16(v);
  d[1] = mcuq_sxtb16_ror8(v);
}

/* ===== CONV_2D ============================================================================= */

/* The patch of output pixel (oy, ox) in OHWI tap order; taps in the padding hold the zero
 * point, the k_padded - K tail holds zeros (its weights are zero). */
static void mcuq_im2col(const mcuq_conv_params_t *p, const int8_t *in_b, int32_t oy,
                        int32_t ox, int8_t *col) {
  const int32_t in_c = p->in_c, k_w = p->k_w;
  const int32_t row_bytes = k_w * in_c;
  const uint32_t zp4 = mcuq_rep4(p->input_zero_point);
  const int32_t iy0 = oy * p->stride_h - p->pad_h;
  const int32_t ix0 = ox * p->stride_w - p->pad_w;
  const int32_t tail = p->k_padded - p->k_h * row_bytes;
  int8_t *d = col;
  if (p->dil_w == 1 && iy0 >= 0 && ix0 >= 0 && ix0 + k_w <= p->in_w &&
      iy0 + (p->k_h - 1) * p->dil_h < p->in_h) { /* interior: whole filter rows, no checks */
    const int32_t step = p->dil_h * p->in_w * in_c;
    const int8_t *s = in_b + (iy0 * p->in_w + ix0) * in_c;
    for (int32_t ky = 0; ky < p->k_h; ++ky, d += row_bytes, s += step)
      mcuq_copy_bytes(d, s, row_bytes);
    mcuq_fill_bytes(d, 0, tail);
    return;
  }
  int32_t kx0, kx1;
  mcuq_valid_taps(ix0, p->dil_w, p->in_w, k_w, &kx0, &kx1);
  for (int32_t ky = 0; ky < p->k_h; ++ky, d += row_bytes) {
    const int32_t iy = iy0 + ky * p->dil_h;
    if (iy < 0 || iy >= p->in_h || kx0 == kx1) {
      mcuq_fill_bytes(d, zp4, row_bytes);
      continue;
    }
    mcuq_fill_bytes(d, zp4, kx0 * in_c);
    const int8_t *row = in_b + iy * p->in_w * in_c;
    if (p->dil_w == 1) {
      mcuq_copy_bytes(d + kx0 * in_c, row + (ix0 + kx0) * in_c, (kx1 - kx0) * in_c);
    } else {
      for (int32_t kx = kx0; kx < kx1; ++kx)
        mcuq_copy_bytes(d + kx * in_c, row + (ix0 + kx * p->dil_w) * in_c, in_c);
    }
    mcuq_fill_bytes(d + kx1 * in_c, zp4, (k_w - kx1) * in_c);
  }
  mcuq_fill_bytes(d, 0, tail);
}

/* The patch of output pixel (oy, ox), unpacked to int16 pairs, into the interleaved buffer x:
 * chunk j (4 patch bytes) of pixel a is x[4j], x[4j + 1], of pixel b x[4j + 2], x[4j + 3]
 * (slot 0 or 2). Path 2 reads the input pixel itself, path 1 gathers the patch into col. */
static inline void mcuq_patch(const mcuq_conv_params_t *p, const int8_t *in_b, int32_t oy,
                              int32_t ox, uint32_t *x, int8_t *col) {
  const int32_t kp = p->k_padded;
  const int8_t *s;
  if (p->mode == 2) {
    s = in_b + (oy * p->stride_h * p->in_w + ox * p->stride_w) * p->in_c;
  } else {
    mcuq_im2col(p, in_b, oy, ox, col);
    s = col;
  }
  for (int32_t k = 0; k < kp; k += 4, x += 4) mcuq_unpack4(x, mcuq_load4(s + k));
}

/* -- the channel loop: every output channel of two pixels --------------------------------- */

/* Two patches (x interleaved, 4 words per chunk) times the weight words of two channels (w: 2
 * words per chunk): 16 multiply-accumulates per chunk. */
static inline void mcuq_mac_2x2(const uint32_t *x, const uint32_t *w, int32_t chunks,
                                int32_t *a00, int32_t *a01, int32_t *a10, int32_t *a11) {
  int32_t s00 = *a00, s01 = *a01, s10 = *a10, s11 = *a11;
  for (int32_t j = 0; j < chunks; ++j, w += 2, x += 4) {
    uint32_t e = mcuq_sxtb16(w[0]);
    s00 = mcuq_smlad(x[0], e, s00);
    s01 = mcuq_smlad(x[2], e, s01);
    e = mcuq_sxtb16_ror8(w[0]);
    s00 = mcuq_smlad(x[1], e, s00);
    s01 = mcuq_smlad(x[3], e, s01);
    e = mcuq_sxtb16(w[1]);
    s10 = mcuq_smlad(x[0], e, s10);
    s11 = mcuq_smlad(x[2], e, s11);
    e = mcuq_sxtb16_ror8(w[1]);
    s10 = mcuq_smlad(x[1], e, s10);
    s11 = mcuq_smlad(x[3], e, s11);
  }
  *a00 = s00;
  *a01 = s01;
  *a10 = s10;
  *a11 = s11;
}

/* The same with the weights as doubled int16 pairs (wide layout: per chunk channel c's words
 * (w0, w2), (w1, w3), then channel c + 1's). */
static inline void mcuq_mac_2x2_16(const uint32_t *x, const uint32_t *w, int32_t chunks,
                                   int32_t *a00, int32_t *a01, int32_t *a10, int32_t *a11) {
  int32_t s00 = *a00, s01 = *a01, s10 = *a10, s11 = *a11;
  for (int32_t j = 0; j < chunks; ++j, w += 4, x += 4) {
    s00 = mcuq_smlad(x[0], w[0], s00);
    s01 = mcuq_smlad(x[2], w[0], s01);
    s00 = mcuq_smlad(x[1], w[1], s00);
    s01 = mcuq_smlad(x[3], w[1], s01);
    s10 = mcuq_smlad(x[0], w[2], s10);
    s11 = mcuq_smlad(x[2], w[2], s11);
    s10 = mcuq_smlad(x[1], w[3], s10);
    s11 = mcuq_smlad(x[3], w[3], s11);
  }
  *a00 = s00;
  *a01 = s01;
  *a10 = s10;
  *a11 = s11;
}

/* Both int16 halves of v halved (they are even: a doubled weight pair back to the weights). */
static inline uint32_t mcuq_half16x2(uint32_t v) {
  const int32_t lo = (int32_t)(int16_t)(v & 0xffffu) / 2, hi = (int32_t)(int16_t)(v >> 16) / 2;
  return ((uint32_t)lo & 0xffffu) | (((uint32_t)hi & 0xffffu) << 16);
}

/* One channel of two patches from its weight words, every step-th word: int8 (wide 0: one
 * word per chunk) or doubled int16 (wide 1: two words per chunk, halved back), undoubled. */
static inline void mcuq_mac_2x1_any(const uint32_t *x, const uint32_t *w, int32_t step,
                                    int wide, int32_t chunks, int32_t *a00, int32_t *a01) {
  int32_t s00 = *a00, s01 = *a01;
  for (int32_t j = 0; j < chunks; ++j, w += step, x += 4) {
    const uint32_t e = wide ? mcuq_half16x2(w[0]) : mcuq_sxtb16(w[0]);
    const uint32_t o = wide ? mcuq_half16x2(w[1]) : mcuq_sxtb16_ror8(w[0]);
    s00 = mcuq_smlad(x[0], e, s00);
    s00 = mcuq_smlad(x[1], o, s00);
    s01 = mcuq_smlad(x[2], e, s01);
    s01 = mcuq_smlad(x[3], o, s01);
  }
  *a00 = s00;
  *a01 = s01;
}

/* Whether the packed conv requantizes a channel of mcuq_rqc's table (e = rq[2]) with TFLM's
 * arithmetic, channel by channel (mcuq_conv_rest): an exotic one (e < 0); with single rounding
 * also a hot one (e = 0: a left shift L >= 0 folded into its weights and bias, stored times
 * 2^L; requant.py: rqc_table's hot entries), which the pair loops requantize in double rounding
 * only (SMMLAR's rounding is TFLM's SaturatingRoundingDoublingHighMul, no right shift). */
#if MCUQ_SINGLE_ROUNDING
#define MCUQ_RQC_GENERIC(e) ((e) <= 0)
#else
#define MCUQ_RQC_GENERIC(e) ((e) < 0)
#endif

/* The header word of the weight stream (pair_weights in mcuq/codegen/c_ops/conv.py): bit 0, the
 * wide layout; bit 1, a full-range layer (act_min -128, act_max 127: the table folds the output
 * offset alone and SSAT #8 is the whole clamp). */
#define MCUQ_CONV_WIDE 1u
#define MCUQ_CONV_FULL 2u

/* Words per pair of channels in the weight stream: int8 (one word per chunk and channel) or
 * wide (the doubled biases b0, b0, b1, b1, two words per chunk and channel, the two mcuq_rqc
 * entries). */
static inline int32_t mcuq_pair_words(int wide, int32_t chunks) {
  return wide ? 4 + 4 * chunks + 2 * MCUQ_RQ_WORDS : 2 * chunks;
}

/* x clamped to [-128, 127] (SSAT #8), as a byte. */
static inline uint32_t mcuq_ssat8_byte(int32_t x) {
#if MCUQ_DSP
  return (uint32_t)__ssat(x, 8) & 0xffu;
#else
  return (uint32_t)(x < -128 ? -128 : (x > 127 ? 127 : x)) & 0xffu;
#endif
}

/* One output byte of mcuq_rqc's value v: full range, SSAT; else clamped to [0, cap] + lo. */
static inline uint32_t mcuq_conv_byte(int32_t v, int full, uint32_t cap4, uint32_t lo4) {
  if (full) return mcuq_ssat8_byte(v);
  return mcuq_out_bytes(mcuq_usat8(v), cap4, lo4) & 0xffu;
}

#if MCUQ_ASM && !(MCUQ_SINGLE_ROUNDING && MCUQ_SR_TIE_ADJUST)
#define MCUQ_CONV_PAIRS_ASM 1
#else
#define MCUQ_CONV_PAIRS_ASM 0
#endif

#if MCUQ_CONV_PAIRS_ASM
/* The pair loops in assembly, one function per layout (int8 / wide) and clamp (general / full
 * range), all taking mcuq_conv_pairs' arguments and state in registers (mcuq_conv_pairs below is
 * the same arithmetic in C: the host tests prove it, QEMU proves these). Per pair of channels:
 * the biases (wide: doubled, one per accumulator, from the stream), then per chunk LDM of both
 * patches' 4 words, the pair's weights (int8: LDRD of 2 words, 4 SXTB16; wide: LDM of 4 int16
 * words) and 8 SMLAD (four chunks per iteration, entered where count % 4 chunks remain before
 * the first test), then the pair's two table entries (one LDM) requantize both pixels
 * (mcuq_rqc: ADD of the sign, the doubling (int8 only), SMMLAR, ASR, USAT / SSAT), the 4 bytes
 * (channel c, c + 1 of pixel a, then of pixel b) are clamped (general: USUB8, SEL, UADD8) and
 * stored as two halfwords (full range: as four bytes), pixel b's first (no pixel b: ob_off is
 * 0 and pixel a's overwrites it).
 * Registers in the chunk loop: r0 patch cursor, r1 weights, r3-r6 patch words, r9-r12
 * accumulators (channel c / c + 1 x pixel a / b); int8: r2 end of the patches, r7 r8 weight
 * words, lr an SXTB16 result; wide: r2 r7 r8 lr weight words (the end of the patches read from
 * the frame). Frame (10 words): end of the patches, bias, oa, ob_off, rq, lo4, cap4, x, w_end,
 * the chunk loop's entry. mcuq_conv_params_t's offsets are checked here. */
typedef char mcuq_conv_offsets_check[offsetof(mcuq_conv_params_t, out_c) == 24 &&
                                             offsetof(mcuq_conv_params_t, act_min) == 76 &&
                                             offsetof(mcuq_conv_params_t, act_max) == 80 &&
                                             offsetof(mcuq_conv_params_t, k_padded) == 88 &&
                                             offsetof(mcuq_conv_params_t, rq) == 100 &&
                                             offsetof(mcuq_conv_params_t, pair_bytes) == 112
                                         ? 1
                                         : -1];
#define MCUQ_CP_HEAD_8                                                                       \
  "ldr r0, [sp, #4]\n\t"                                                                     \
  "ldrd r9, r11, [r0], #8\n\t"                                                               \
  "str r0, [sp, #4]\n\t"                                                                     \
  "mov r10, r9\n\t"                                                                          \
  "mov r12, r11\n\t"
#define MCUQ_CP_HEAD_16 "ldm r1!, {r9, r10, r11, r12}\n\t" /* 2 b0, 2 b0, 2 b1, 2 b1 */
#define MCUQ_CP_CHUNK_8                                                                      \
  "ldm r0!, {r3, r4, r5, r6}\n\t"                                                            \
  "ldrd r7, r8, [r1], #8\n\t"                                                                \
  "sxtb16 lr, r7\n\t"                                                                        \
  "smlad r9, r3, lr, r9\n\t"                                                                 \
  "smlad r10, r5, lr, r10\n\t"                                                               \
  "sxtb16 r7, r7, ror #8\n\t"                                                                \
  "smlad r9, r4, r7, r9\n\t"                                                                 \
  "smlad r10, r6, r7, r10\n\t"                                                               \
  "sxtb16 lr, r8\n\t"                                                                        \
  "smlad r11, r3, lr, r11\n\t"                                                               \
  "smlad r12, r5, lr, r12\n\t"                                                               \
  "sxtb16 r8, r8, ror #8\n\t"                                                                \
  "smlad r11, r4, r8, r11\n\t"                                                               \
  "smlad r12, r6, r8, r12\n\t"
#define MCUQ_CP_CHUNK_16                                                                     \
  "ldm r0!, {r3, r4, r5, r6}\n\t"                                                            \
  "ldm r1!, {r2, r7, r8, lr}\n\t"                                                            \
  "smlad r9, r3, r2, r9\n\t"                                                                 \
  "smlad r10, r5, r2, r10\n\t"                                                               \
  "smlad r9, r4, r7, r9\n\t"                                                                 \
  "smlad r10, r6, r7, r10\n\t"                                                               \
  "smlad r11, r3, r8, r11\n\t"                                                               \
  "smlad r12, r5, r8, r12\n\t"                                                               \
  "smlad r11, r4, lr, r11\n\t"                                                               \
  "smlad r12, r6, lr, r12\n\t"
#define MCUQ_CP_LOOP_8                                                                       \
  "2:\n\t" MCUQ_CP_CHUNK_8 "3:\n\t" MCUQ_CP_CHUNK_8                                          \
  "4:\n\t" MCUQ_CP_CHUNK_8 "5:\n\t" MCUQ_CP_CHUNK_8                                          \
  "cmp r0, r2\n\t"                                                                           \
  "bne 2b\n\t"
#define MCUQ_CP_LOOP_16                                                                      \
  "2:\n\t" MCUQ_CP_CHUNK_16 "3:\n\t" MCUQ_CP_CHUNK_16                                        \
  "4:\n\t" MCUQ_CP_CHUNK_16 "5:\n\t" MCUQ_CP_CHUNK_16                                        \
  "ldr r3, [sp, #0]\n\t"                                                                     \
  "cmp r0, r3\n\t"                                                                           \
  "bne 2b\n\t"
/* the chunk loop's entry (with the Thumb bit) into r11, from k_padded (r0): where chunks % 4
 * chunks remain before the first test (the table at 9) */
#define MCUQ_CP_ENTRY                                                                        \
  "and r11, r0, #12\n\t" /* 4 * (chunks % 4) */                                              \
  "adr r12, 9f\n\t"                                                                          \
  "ldr r11, [r12, r11]\n\t"
#define MCUQ_CP_TABLE                                                                        \
  ".balign 4\n"                                                                              \
  "9:\n\t"                                                                                   \
  ".word 2b + 1, 5b + 1, 4b + 1, 3b + 1\n\t"
#define MCUQ_CP_RQP_8                                                                        \
  "ldr r0, [sp, #16]\n\t"                                                                    \
  "ldm r0!, {r3, r4, r5, r6, r7, r8}\n\t"                                                    \
  "str r0, [sp, #16]\n\t"
#define MCUQ_CP_RQP_16 "ldm r1!, {r3, r4, r5, r6, r7, r8}\n\t"
/* mcuq_rqc (D: the doubling of an int8 accumulator; wide ones are doubled already) into SAT. */
#if MCUQ_SINGLE_ROUNDING
#define MCUQ_CP_RQ(D, SAT, ACC, M, RA, S)                                                    \
  D "smmla r0, " ACC ", " M ", " RA "\n\t"                                                    \
  "asr r0, r0, " S "\n\t" SAT " " ACC ", #8, r0\n\t"
#elif defined(MCUQ_TEST_ROUNDING_FAULT)
#define MCUQ_CP_RQ(D, SAT, ACC, M, RA, S) /* test-only: no sign term (as mcuq_rqc's C) */     \
  D "smmlar r0, " ACC ", " M ", " RA "\n\t"                                                   \
  "asr r0, r0, " S "\n\t" SAT " " ACC ", #8, r0\n\t"
#else
#define MCUQ_CP_RQ(D, SAT, ACC, M, RA, S)                                                    \
  "add r0, " RA ", " ACC ", asr #31\n\t" D "smmlar r0, " ACC ", " M ", r0\n\t"               \
  "asr r0, r0, " S "\n\t" SAT " " ACC ", #8, r0\n\t"
#endif
#define MCUQ_CP_DBL_8(ACC) "lsl " ACC ", " ACC ", #1\n\t"
#define MCUQ_CP_DBL_16(ACC) ""
#define MCUQ_CP_RQ4(L, SAT)                                                                  \
  MCUQ_CP_RQ(MCUQ_CP_DBL_##L("r9"), SAT, "r9", "r3", "r4", "r5")                             \
  MCUQ_CP_RQ(MCUQ_CP_DBL_##L("r10"), SAT, "r10", "r3", "r4", "r5")                           \
  MCUQ_CP_RQ(MCUQ_CP_DBL_##L("r11"), SAT, "r11", "r6", "r7", "r8")                           \
  MCUQ_CP_RQ(MCUQ_CP_DBL_##L("r12"), SAT, "r12", "r6", "r7", "r8")
#define MCUQ_CP_PACK_U                                                                       \
  "orr r9, r9, r11, lsl #8\n\t"                                                              \
  "orr r10, r10, r12, lsl #8\n\t"                                                            \
  "orr r9, r9, r10, lsl #16\n\t"                                                             \
  "ldrd r3, r4, [sp, #20]\n\t" /* lo4, cap4 */                                               \
  "usub8 r5, r9, r4\n\t"                                                                     \
  "sel r9, r4, r9\n\t"                                                                       \
  "uadd8 r9, r9, r3\n\t"
#define MCUQ_CP_STORE                                                                        \
  "ldrd r3, r4, [sp, #8]\n\t" /* oa, ob_off */                                               \
  "lsr r10, r9, #16\n\t"                                                                     \
  "strh r10, [r3, r4]\n\t"                                                                   \
  "strh r9, [r3], #2\n\t"                                                                    \
  "str r3, [sp, #8]\n\t"
/* general clamp: the 4 bytes packed and clamped as one word, stored as two halfwords */
#define MCUQ_CP_STORE_U MCUQ_CP_PACK_U MCUQ_CP_STORE
/* full range: the SSAT results stored as bytes, pixel b's first (no pixel b: ob_off is 0 and
 * pixel a's overwrite them) */
#define MCUQ_CP_STORE_S                                                                      \
  "ldrd r3, r4, [sp, #8]\n\t" /* oa, ob_off */                                               \
  "add r4, r4, r3\n\t"                                                                       \
  "strb r10, [r4]\n\t"                                                                       \
  "strb r12, [r4, #1]\n\t"                                                                   \
  "strb r11, [r3, #1]\n\t"                                                                   \
  "strb r9, [r3], #2\n\t"                                                                    \
  "str r3, [sp, #8]\n\t"
#define MCUQ_CP_SAT_U "usat"
#define MCUQ_CP_SAT_S "ssat"
/* the general clamp's constants (full range: none) */
#define MCUQ_CP_CLAMP_U                                                                      \
  "ldrd r7, r8, [r0, #76]\n\t" /* act_min, act_max */                                        \
  "sub r8, r8, r7\n\t"                                                                       \
  "uxtb r7, r7\n\t"                                                                          \
  "mov r11, #0x01010101\n\t"                                                                 \
  "mul r8, r8, r11\n\t" /* cap4 */                                                           \
  "mul r7, r7, r11\n\t" /* lo4 */
#define MCUQ_CP_CLAMP_S
#define MCUQ_CP_FN(NAME, L, C)                                                               \
  void NAME(const mcuq_conv_params_t *p, const uint32_t *x, const uint32_t *w,              \
            const int32_t *bias, int8_t *oa, int8_t *ob);                                    \
  __asm__(MCUQ_ASM_FUNC_BEGIN(NAME)                                                          \
          "push {r4-r11, lr}\n\t"                                                            \
          "ldrd r4, r5, [sp, #36]\n\t" /* oa, ob */                                          \
          "cbz r5, 0f\n\t"                                                                   \
          "sub r5, r5, r4\n"                                                                 \
          "0:\n\t"                                                                           \
          "ldr r6, [r0, #100]\n\t" /* rq */                                                  \
          MCUQ_CP_CLAMP_##C                                                                  \
          "mov r9, r1\n\t"                                                                   \
          "ldr r10, [r0, #112]\n\t" /* pair_bytes */                                         \
          "ldr r0, [r0, #88]\n\t" /* k_padded */                                             \
          "add r1, r2, #4\n\t" /* past the header word */                                    \
          "add r10, r10, r1\n\t"                                                             \
          MCUQ_CP_ENTRY                                                                      \
          "add r2, r9, r0, lsl #2\n\t" /* end of the patches: 16 bytes per chunk */          \
          "push {r2-r11}\n"                                                                  \
          "1:\n\t" MCUQ_CP_HEAD_##L                                                          \
          "ldr r0, [sp, #28]\n\t"                                                            \
          "ldr pc, [sp, #36]\n"                                                              \
          ".balign 4\n\t" MCUQ_CP_LOOP_##L MCUQ_CP_RQP_##L MCUQ_CP_RQ4(L, MCUQ_CP_SAT_##C)   \
          MCUQ_CP_STORE_##C                                                                  \
          "ldr r3, [sp, #32]\n\t"                                                            \
          "cmp r1, r3\n\t"                                                                   \
          "bne 1b\n\t"                                                                       \
          "add sp, sp, #40\n\t"                                                              \
          "pop {r4-r11, pc}\n\t" MCUQ_CP_TABLE                                               \
          MCUQ_ASM_FUNC_END(NAME));
/* Their stack (mcuq/footprint.py reads these lines; 9 registers saved, the 10-word frame):
 * mcuq-asm-frame: mcuq_conv_pairs8_m4 76
 * mcuq-asm-frame: mcuq_conv_pairs8s_m4 76
 * mcuq-asm-frame: mcuq_conv_pairs16_m4 76
 * mcuq-asm-frame: mcuq_conv_pairs16s_m4 76 */
MCUQ_CP_FN(mcuq_conv_pairs8_m4, 8, U)
MCUQ_CP_FN(mcuq_conv_pairs8s_m4, 8, S)
MCUQ_CP_FN(mcuq_conv_pairs16_m4, 16, U)
MCUQ_CP_FN(mcuq_conv_pairs16s_m4, 16, S)
#else
/* Every pair of output channels of two pixels (what the mcuq_conv_pairs*_m4 do). */
static void mcuq_conv_pairs(const mcuq_conv_params_t *p, const uint32_t *x, const uint32_t *w,
                            const int32_t *bias, int8_t *oa, int8_t *ob) {
  const int32_t chunks = p->k_padded >> 2, pairs = p->out_c >> 1;
  const int wide = (int)(w[0] & MCUQ_CONV_WIDE), full = (int)(w[0] & MCUQ_CONV_FULL);
  const uint32_t cap4 = mcuq_rep4(p->act_max - p->act_min), lo4 = mcuq_rep4(p->act_min);
  const int32_t ob_off = ob ? (int32_t)(ob - oa) : 0;
  const int32_t *rq = p->rq;
  w += 1;
  for (int32_t k = 0; k < pairs; ++k, oa += 2) {
    int32_t a00, a01, a10, a11;
    const int32_t *t;
    if (wide) { /* doubled biases, doubled weights: doubled accumulators */
      a00 = (int32_t)w[0];
      a01 = (int32_t)w[1];
      a10 = (int32_t)w[2];
      a11 = (int32_t)w[3];
      mcuq_mac_2x2_16(x, w + 4, chunks, &a00, &a01, &a10, &a11);
      t = (const int32_t *)(const void *)(w + 4 + 4 * chunks);
    } else {
      a00 = a01 = bias[2 * k];
      a10 = a11 = bias[2 * k + 1];
      mcuq_mac_2x2(x, w, chunks, &a00, &a01, &a10, &a11);
      t = rq + 2 * k * MCUQ_RQ_WORDS;
    }
    w += mcuq_pair_words(wide, chunks);
    /* a channel requantized one by one (MCUQ_RQC_GENERIC): a placeholder, mcuq_conv_rest
     * writes it afterwards */
    const int32_t *t1 = t + MCUQ_RQ_WORDS;
    int32_t v00 = 0, v01 = 0, v10 = 0, v11 = 0;
    if (!MCUQ_RQC_GENERIC(t[2])) {
      v00 = wide ? mcuq_rqc2(a00, t) : mcuq_rqc(a00, t);
      v01 = wide ? mcuq_rqc2(a01, t) : mcuq_rqc(a01, t);
    }
    if (!MCUQ_RQC_GENERIC(t1[2])) {
      v10 = wide ? mcuq_rqc2(a10, t1) : mcuq_rqc(a10, t1);
      v11 = wide ? mcuq_rqc2(a11, t1) : mcuq_rqc(a11, t1);
    }
    uint32_t v;
    if (full) {
      v = mcuq_ssat8_byte(v00) | mcuq_ssat8_byte(v10) << 8 | mcuq_ssat8_byte(v01) << 16 |
          mcuq_ssat8_byte(v11) << 24;
    } else {
      v = mcuq_out_bytes(mcuq_usat8(v00) | mcuq_usat8(v10) << 8 | mcuq_usat8(v01) << 16 |
                             mcuq_usat8(v11) << 24,
                         cap4, lo4);
    }
    mcuq_store2(oa + ob_off, v >> 16);
    mcuq_store2(oa, v);
  }
}
#endif

/* Output channel c of two pixels from its weight words alone (the odd last channel, or one
 * requantized one by one: MCUQ_RQC_GENERIC, again with TFLM's arithmetic; a hot channel's
 * weights are stored times 2^L, L its left shift, so its sums are 2^L acc: requantized with
 * shift 0, the same value). w: the stream past its header word. */
static void mcuq_conv_rest_one(const mcuq_conv_params_t *p, const uint32_t *x,
                               const uint32_t *w, const int32_t *bias, int8_t *oa, int8_t *ob,
                               int32_t c, uint32_t header) {
  const int32_t out_c = p->out_c, chunks = p->k_padded >> 2;
  const int wide = (int)(header & MCUQ_CONV_WIDE), full = (int)(header & MCUQ_CONV_FULL);
  const int32_t *rq = p->rq + c * MCUQ_RQ_WORDS;
  const int last = (out_c & 1) && c == out_c - 1; /* an odd last channel's words alone */
  const int generic = MCUQ_RQC_GENERIC(rq[2]);
  const uint32_t *wc = w + (c >> 1) * mcuq_pair_words(wide, chunks);
  if (!last) wc += wide ? 4 + 2 * (c & 1) : (c & 1);
  int32_t a = bias[c], b = bias[c], shift = generic ? p->shift[c] : 0;
  if (rq[2] == 0) { /* hot (never the odd last channel): 2^L acc, then shift 0 */
    a = b = (int32_t)((uint32_t)bias[c] << shift);
    shift = 0;
  }
  mcuq_mac_2x1_any(x, wc, (wide ? 2 : 1) * (last ? 1 : 2), wide, chunks, &a, &b);
  if (generic) {
    oa[c] = mcuq_conv_out(a, p->multiplier[c], shift, p);
    if (ob) ob[c] = mcuq_conv_out(b, p->multiplier[c], shift, p);
  } else {
    const uint32_t cap4 = mcuq_rep4(p->act_max - p->act_min), lo4 = mcuq_rep4(p->act_min);
    oa[c] = (int8_t)mcuq_conv_byte(mcuq_rqc(a, rq), full, cap4, lo4);
    if (ob) ob[c] = (int8_t)mcuq_conv_byte(mcuq_rqc(b, rq), full, cap4, lo4);
  }
}

/* The channels requantized one by one (exotic: some are; the emitter lists the candidates,
 * exotic and hot channels, in p->exotic) and the odd last channel. w: the stream with its
 * header word. */
MCUQ_NOINLINE static void mcuq_conv_rest(const mcuq_conv_params_t *p, const uint32_t *x,
                                         const uint32_t *w, const int32_t *bias, int8_t *oa,
                                         int8_t *ob, int exotic) {
  const int32_t out_c = p->out_c, odd = out_c & 1;
  if (exotic) {
    for (int32_t i = 0; i < p->n_exotic; ++i) {
      const int32_t c = p->exotic[i];
      if (MCUQ_RQC_GENERIC(p->rq[c * MCUQ_RQ_WORDS + 2]) && !(odd && c == out_c - 1))
        mcuq_conv_rest_one(p, x, w + 1, bias, oa, ob, c, w[0]);
    }
  }
  if (odd) mcuq_conv_rest_one(p, x, w + 1, bias, oa, ob, out_c - 1, w[0]);
}

/* Every pair of output channels of two pixels: the assembly loop of the stream's layout and
 * clamp, or mcuq_conv_pairs. */
static inline void mcuq_conv_pairs_any(const mcuq_conv_params_t *p, const uint32_t *x,
                                       const uint32_t *w, const int32_t *bias, int8_t *oa,
                                       int8_t *ob) {
#if MCUQ_CONV_PAIRS_ASM
  switch (w[0] & 3u) {
    case 0: mcuq_conv_pairs8_m4(p, x, w, bias, oa, ob); break;
    case MCUQ_CONV_FULL: mcuq_conv_pairs8s_m4(p, x, w, bias, oa, ob); break;
    case MCUQ_CONV_WIDE: mcuq_conv_pairs16_m4(p, x, w, bias, oa, ob); break;
    default: mcuq_conv_pairs16s_m4(p, x, w, bias, oa, ob); break;
  }
#else
  mcuq_conv_pairs(p, x, w, bias, oa, ob);
#endif
}

/* mcuq_conv_channels with an odd channel count or exotic channels: the pairs, then the rest. */
MCUQ_NOINLINE static void mcuq_conv_channels_rest(const mcuq_conv_params_t *p,
                                                  const uint32_t *x, const uint32_t *w,
                                                  const int32_t *bias, int8_t *oa, int8_t *ob,
                                                  int exotic) {
  if (p->out_c >= 2) mcuq_conv_pairs_any(p, x, w, bias, oa, ob);
  mcuq_conv_rest(p, x, w, bias, oa, ob, exotic);
}

/* Every output channel of two pixels (oa, ob; ob == NULL: the last pixel of an odd count) from
 * their interleaved patches x. w: the stream of pair_weights (mcuq/codegen/c_ops/conv.py), a
 * header word (MCUQ_CONV_WIDE, MCUQ_CONV_FULL) then the pairs, then an odd last channel's
 * words. exotic: some channel is requantized one by one (MCUQ_RQC_GENERIC). An even channel
 * count without such channels (the usual layer) goes straight to its pair loop (tail calls, no
 * frame). */
MCUQ_NOINLINE static void mcuq_conv_channels(const mcuq_conv_params_t *p, const uint32_t *x,
                                             const uint32_t *w, const int32_t *bias,
                                             int8_t *oa, int8_t *ob, int exotic) {
  if ((p->out_c & 1) || exotic) {
    mcuq_conv_channels_rest(p, x, w, bias, oa, ob, exotic);
    return;
  }
  mcuq_conv_pairs_any(p, x, w, bias, oa, ob);
}

MCUQ_NOINLINE static void mcuq_conv_packed(const mcuq_conv_params_t *p,
                                           const int8_t *restrict input,
                             const int8_t *restrict weights, const int32_t *restrict bias,
                             int8_t *restrict output) {
  const int32_t out_c = p->out_c;
  const int32_t out_w = p->out_w, pixels = p->out_h * out_w;
  const uint32_t *const w_all = (const uint32_t *)(const void *)weights;
  uint32_t x[MCUQ_CONV_COL_BUF]; /* two patches, interleaved per chunk (kp words) */
  int8_t col[MCUQ_CONV_COL_BUF]; /* path 1: one gathered int8 patch */
  int exotic = 0; /* any channel the table cannot requantize */
  for (int32_t c = 0; c < out_c; ++c) exotic |= MCUQ_RQC_GENERIC(p->rq[c * MCUQ_RQ_WORDS + 2]);
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in_b = input + b * p->in_h * p->in_w * p->in_c;
    int8_t *out_b = output + b * pixels * out_c;
    int32_t oy = 0, ox = 0;
    for (int32_t pix = 0; pix < pixels; pix += 2) {
      const int two = pix + 1 < pixels;
      mcuq_patch(p, in_b, oy, ox, x, col);
      if (two && ++ox == out_w) ox = 0, ++oy;
      mcuq_patch(p, in_b, oy, ox, x + 2, col); /* the last pixel of an odd count: again */
      if (++ox == out_w) ox = 0, ++oy;
      int8_t *oa = out_b + pix * out_c;
      mcuq_conv_channels(p, x, w_all, bias, oa, two ? oa + out_c : 0, exotic);
    }
  }
}

#if MCUQ_CONV_RING_BUF > 4 /* a project with no mode-3 conv (mcuq_buffers.h) leaves it out */
/* -- mode 3: patches from a ring of padded input rows -----------------------------------------
 * The input rows the filter reads are copied once each into a ring of R = (k_h - 1) * dil_h + 1
 * rows of the padded width W = (out_w - 1) * stride_w + (k_w - 1) * dil_w + 1 pixels (the
 * image's columns from pad_w on, the zero point around them; rows `stride` bytes apart, at least
 * 4 bytes past W * in_c so that a word read at a row's end stays inside it), followed by one
 * row of zero points for the filter rows above and below the image. Every patch is then
 * uniform: its k_h filter rows are k_w * in_c bytes at the same offset of k_h ring rows, with
 * no border case. Filter rows of a multiple of 4 bytes (without horizontal dilation) are
 * unpacked straight from the ring; others are gathered into col with word copies first. */
/* Builders of the patch at byte offset `off` of the ring rows, unpacked into x (slot 0 or 2):
 * each its own function (no indirect call: the stack stays measurable). */
typedef struct {
  const int8_t *rows[MCUQ_CONV_RING_ROWS];   /* the current output row's k_h filter rows */
  const int8_t *chunks[MCUQ_CONV_RING_CHUNKS]; /* their whole words (column 0), row by row */
  int32_t k_h, rb, rw, kp, k_w, in_c, col_step, cw; /* filter rows: bytes, words; patch; taps */
  int32_t tail, tail_chunks; /* bytes past each filter row's words, their chunks */
  int32_t col2;              /* mcuq_ring_table2: the second patch's tails at col + col2 */
  int8_t *col;               /* gathered bytes (+ a word) */
} mcuq_ring_patch_t;

/* The gathered bytes (col, n chunks) unpacked into x. */
static inline void mcuq_ring_unpack(const int8_t *c, int32_t n, uint32_t *x) {
  for (; n > 0; --n, c += 4, x += 4) mcuq_unpack4(x, mcuq_load4(c));
}

/* The patch order (conv.py: ring_weights; no horizontal dilation): filter rows of 4q + r bytes
 * (r = 1..3) whose padding to whole words adds no chunk (k_padded == k_h * 4 * (q + 1), e.g.
 * 3x3 on one channel) are read as q + 1 words (the bytes past a row meet zero weights);
 * otherwise every row's q words come first, unpacked straight from the ring, then every row's
 * last r bytes, gathered (one word copy per row into col: the bytes past a row's tail are
 * overwritten by the next one, the last by the zero padding of k_padded) and unpacked. */
static inline void mcuq_ring_tails(const mcuq_ring_patch_t *P, int32_t off, uint32_t *x) {
  const int8_t *const *r = P->rows;
  const int32_t tail = P->tail, at = off + 4 * P->rw;
  int8_t *t = P->col;
  for (int32_t n = P->k_h; n > 0; --n, ++r, t += tail) mcuq_store4(t, mcuq_load4(*r + at));
  mcuq_store4(t, 0);
  mcuq_ring_unpack(P->col, P->tail_chunks, x);
}

/* The words through a table of their ring addresses (rebuilt per output row): one loop over
 * the k_h * q words of the patch (at most MCUQ_CONV_RING_CHUNKS), then the tails. */
MCUQ_NOINLINE static void mcuq_ring_table(const mcuq_ring_patch_t *P, int32_t off, uint32_t *x) {
  const int8_t *const *c = P->chunks;
  for (int32_t n = P->k_h * P->rw; n > 0; --n, ++c, x += 4) mcuq_unpack4(x, mcuq_load4(*c + off));
  if (P->tail) mcuq_ring_tails(P, off, x);
}

/* Two patches of one output row (byte offsets oa, ob) in one pass over the word addresses:
 * slot 0 and slot 2 of x; their tails gathered side by side (col, col + col2). */
MCUQ_NOINLINE static void mcuq_ring_table2(const mcuq_ring_patch_t *P, int32_t oa, int32_t ob,
                                           uint32_t *x) {
  const int8_t *const *c = P->chunks;
  for (int32_t n = P->k_h * P->rw; n > 0; --n, ++c, x += 4) {
    const int8_t *s = *c;
    mcuq_unpack4(x, mcuq_load4(s + oa));
    mcuq_unpack4(x + 2, mcuq_load4(s + ob));
  }
  if (!P->tail) return;
  const int8_t *const *r = P->rows;
  const int32_t tail = P->tail, at = 4 * P->rw;
  int8_t *t = P->col, *u = P->col + P->col2;
  for (int32_t n = P->k_h; n > 0; --n, ++r, t += tail, u += tail) {
    const int8_t *s = *r + at;
    mcuq_store4(t, mcuq_load4(s + oa));
    mcuq_store4(u, mcuq_load4(s + ob));
  }
  mcuq_store4(t, 0);
  mcuq_store4(u, 0);
  t = P->col;
  for (int32_t n = P->tail_chunks; n > 0; --n, t += 4, x += 4) {
    mcuq_unpack4(x, mcuq_load4(t));
    mcuq_unpack4(x + 2, mcuq_load4(t + P->col2));
  }
}

/* Longer filter rows: row by row. */
MCUQ_NOINLINE static void mcuq_ring_long(const mcuq_ring_patch_t *P, int32_t off, uint32_t *x) {
  const int8_t *const *r = P->rows;
  for (int32_t n = P->k_h; n > 0; --n, ++r) {
    const int8_t *s = *r + off;
    for (int32_t j = P->rw; j > 0; --j, s += 4, x += 4) mcuq_unpack4(x, mcuq_load4(s));
  }
  if (P->tail) mcuq_ring_tails(P, off, x);
}

/* Horizontal dilation: one tap (in_c bytes, whole words) at a time, then unpacked. */
MCUQ_NOINLINE static void mcuq_ring_taps(const mcuq_ring_patch_t *P, int32_t off, uint32_t *x) {
  int8_t *d = P->col;
  for (int32_t ky = 0; ky < P->k_h; ++ky) {
    const int8_t *s = P->rows[ky] + off;
    for (int32_t kx = 0; kx < P->k_w; ++kx, s += P->col_step, d += P->in_c)
      for (int32_t j = 0; j < P->cw; ++j) mcuq_store4(d + 4 * j, mcuq_load4(s + 4 * j));
  }
  mcuq_store4(d, 0);
  mcuq_ring_unpack(P->col, P->kp >> 2, x);
}

/* Mode 3 over every pixel, first to last or (reverse) last to first, pairs of pixels in that
 * order crossing output rows. The ring rows a new output row needs are copied when it starts;
 * a pair's outputs are written after both its patches are unpacked. In place (input ==
 * output), mcuq/memory.py (inplace_steps: "ring") replays this order to prove it safe. */
MCUQ_NOINLINE static void mcuq_conv_ring(const mcuq_conv_params_t *p, const int8_t *input,
                                         const int8_t *weights, const int32_t *bias,
                                         int8_t *output, int reverse) {
  const int32_t in_c = p->in_c, in_w = p->in_w, out_c = p->out_c, out_w = p->out_w;
  const int32_t k_h = p->k_h, k_w = p->k_w, dh = p->dil_h, sh = p->stride_h;
  const int32_t pixels = p->out_h * out_w, kp = p->k_padded;
  const int32_t R = (k_h - 1) * dh + 1;
  const int32_t W = (out_w - 1) * p->stride_w + (k_w - 1) * p->dil_w + 1;
  const int32_t stride = ((W * in_c + 3) & ~3) + 4;
  const int32_t x0 = p->pad_w < W ? p->pad_w : W;
  const int32_t cols = (p->pad_w + in_w < W ? p->pad_w + in_w : W) - x0;
  const int32_t step = reverse ? -p->stride_w * in_c : p->stride_w * in_c;
  const int32_t first_ox = reverse ? out_w - 1 : 0, dpix = reverse ? -1 : 1;
  const uint32_t *const w_all = (const uint32_t *)(const void *)weights;
  uint32_t x[MCUQ_CONV_RING_KP_BUF];             /* two patches, interleaved (kp words) */
  uint32_t col_w[MCUQ_CONV_RING_KP_BUF / 2 + 2]; /* gathered bytes of two patches */
  uint32_t ring_w[MCUQ_CONV_RING_BUF / 4];
  int8_t *const ring = (int8_t *)ring_w, *const col = (int8_t *)col_w;
  const int8_t *const zrow = ring + R * stride;
  mcuq_ring_patch_t P;
  P.k_h = k_h;
  P.rb = k_w * in_c;
  P.kp = kp;
  P.k_w = k_w;
  P.in_c = in_c;
  P.col_step = p->dil_w * in_c;
  P.cw = (in_c + 3) >> 2;
  P.col = col;
  if ((P.rb & 3) && kp == k_h * ((P.rb + 3) & ~3)) { /* rows padded to whole words for free */
    P.rw = (P.rb + 3) >> 2;
    P.tail = 0;
  } else {
    P.rw = P.rb >> 2;
    P.tail = P.rb & 3;
  }
  P.tail_chunks = (k_h * P.tail + 3) >> 2;
  P.col2 = 4 * P.tail_chunks + 4;
  /* the builder: 0 table of word addresses, 1 long rows, 2 dilated taps */
  const int kind = p->dil_w > 1 ? 2 : k_h * P.rw <= MCUQ_CONV_RING_CHUNKS ? 0 : 1;
  mcuq_fill_bytes(ring, mcuq_rep4(p->input_zero_point), (R + 1) * stride);
  int exotic = 0; /* any channel the table cannot requantize (as mcuq_conv_packed) */
  for (int32_t c = 0; c < out_c; ++c) exotic |= MCUQ_RQC_GENERIC(p->rq[c * MCUQ_RQ_WORDS + 2]);
  for (int32_t bb = 0; bb < p->batches; ++bb) {
    const int32_t b = reverse ? p->batches - 1 - bb : bb;
    const int8_t *in_b = input + b * p->in_h * in_w * in_c;
    int8_t *out_b = output + b * pixels * out_c;
    /* padded rows [lo, hi) are in the ring (none yet: the first row copies all its rows) */
    int32_t lo = reverse ? INT32_MAX : 0, hi = lo;
    int32_t pix = reverse ? pixels - 1 : 0;
    int32_t oy = reverse ? p->out_h - 1 : 0, ox = first_ox;
    int32_t off = ox * p->stride_w * in_c;
    for (int32_t n = 0; n < pixels;) {
      if (ox == first_ox) { /* a new output row: its padded rows [top, top + R) in the ring */
        const int32_t top = oy * sh, end = top + R;
        /* the rows not in the ring yet: below it going forward, above it going back */
        const int32_t r0 = reverse ? top : hi > top ? hi : top;
        const int32_t r1 = reverse ? (lo < end ? lo : end) : end;
        for (int32_t r = r0; r < r1; ++r) {
          const int32_t iy = r - p->pad_h;
          if (iy >= 0 && iy < p->in_h && cols > 0)
            mcuq_copy_bytes(ring + (r % R) * stride + x0 * in_c, in_b + iy * in_w * in_c,
                            cols * in_c);
        }
        lo = top;
        hi = end;
        for (int32_t ky = 0, slot = top % R, iy = top - p->pad_h; ky < k_h; ++ky) {
          P.rows[ky] = iy >= 0 && iy < p->in_h ? ring + slot * stride : zrow;
          slot += dh;
          if (slot >= R) slot -= R;
          iy += dh;
        }
        if (kind == 0) {
          const int8_t **c = P.chunks;
          for (int32_t ky = 0; ky < k_h; ++ky)
            for (int32_t j = 0; j < P.rw; ++j) *c++ = P.rows[ky] + 4 * j;
        }
      }
      if (kind == 0 && !(n & 1)) { /* the pairs left in this output row, two pixels a pass */
        int32_t left = reverse ? ox + 1 : out_w - ox;
        if (left > pixels - n) left = pixels - n;
        const int32_t pairs = left >> 1;
        if (pairs > 0) {
          int8_t *oa = out_b + pix * out_c;
          const int32_t o2 = dpix * out_c;
          for (int32_t k = 0; k < pairs; ++k, off += 2 * step, oa += 2 * o2) {
            mcuq_ring_table2(&P, off, off + step, x);
            mcuq_conv_channels(p, x, w_all, bias, oa, oa + o2, exotic);
          }
          n += 2 * pairs;
          pix += 2 * pairs * dpix;
          ox += 2 * pairs * dpix;
          if (ox < 0 || ox >= out_w) { /* the row is done */
            ox = first_ox;
            off = first_ox * p->stride_w * in_c;
            oy += dpix;
          }
          continue;
        }
      }
      uint32_t *const slot = n & 1 ? x + 2 : x;
      if (kind == 0) {
        mcuq_ring_table(&P, off, slot);
      } else if (kind == 1) {
        mcuq_ring_long(&P, off, slot);
      } else {
        mcuq_ring_taps(&P, off, slot);
      }
      if (ox == out_w - 1 - first_ox) { /* the row's last pixel in this order */
        ox = first_ox;
        off = first_ox * p->stride_w * in_c;
        oy += dpix;
      } else {
        ox += dpix;
        off += step;
      }
      if (n & 1) {
        mcuq_conv_channels(p, x, w_all, bias, out_b + (pix - dpix) * out_c,
                           out_b + pix * out_c, exotic);
      } else if (n + 1 == pixels) { /* the last pixel of an odd count: alone */
        for (int32_t k = 0; k < kp; k += 4) {
          x[k + 2] = x[k];
          x[k + 3] = x[k + 1];
        }
        mcuq_conv_channels(p, x, w_all, bias, out_b + pix * out_c, 0, exotic);
      }
      ++n;
      pix += dpix;
    }
  }
}
#endif

/* Mode 2 with stride 1 in place (conv.h): the input pixels are the patches, taken in pairs in
 * one flat sequence over the batches; both pixels of a pair are unpacked into x before their
 * outputs are written, so a pair writes only bytes of pixels already read when the walk goes
 * forward with out_c <= in_c, or backward (the last pair first, a lone pixel 0 of an odd count
 * last) with out_c >= in_c. No `restrict`: input and output are the same bytes. */
/* Two pixels' patches (sa, sb: kp bytes each, kp a multiple of 4) unpacked to int16 pairs into
 * x, interleaved per chunk as mcuq_patch does. fast (kp a multiple of 8, word-aligned pixels):
 * the assembly, two chunks a pass (LDRD of each pixel's 8 bytes, STRD of the words). */
static inline void mcuq_unpack_pair(uint32_t *x, const int8_t *sa, const int8_t *sb,
                                    int32_t kp, int fast) {
#if MCUQ_ASM
  if (fast) {
    const int8_t *const end = sa + kp;
    uint32_t a0, a1, b0, b1, t;
    __asm__ volatile(
        "1:\n\t"
        "ldrd %[a0], %[a1], [%[sa]], #8\n\t"
        "ldrd %[b0], %[b1], [%[sb]], #8\n\t"
        "sxtb16 %[t], %[a0], ror #8\n\t"
        "sxtb16 %[a0], %[a0]\n\t"
        "strd %[a0], %[t], [%[x]], #32\n\t"
        "sxtb16 %[t], %[b0], ror #8\n\t"
        "sxtb16 %[b0], %[b0]\n\t"
        "strd %[b0], %[t], [%[x], #-24]\n\t"
        "sxtb16 %[t], %[a1], ror #8\n\t"
        "sxtb16 %[a1], %[a1]\n\t"
        "strd %[a1], %[t], [%[x], #-16]\n\t"
        "sxtb16 %[t], %[b1], ror #8\n\t"
        "sxtb16 %[b1], %[b1]\n\t"
        "strd %[b1], %[t], [%[x], #-8]\n\t"
        "cmp %[sa], %[end]\n\t"
        "bne 1b\n\t"
        : [a0] "=&r"(a0), [a1] "=&r"(a1), [b0] "=&r"(b0), [b1] "=&r"(b1), [t] "=&r"(t),
          [sa] "+r"(sa), [sb] "+r"(sb), [x] "+r"(x)
        : [end] "r"(end)
        : "cc", "memory");
    return;
  }
#else
  (void)fast;
#endif
  for (int32_t k = 0; k < kp; k += 4, x += 4) {
    const uint32_t va = mcuq_load4(sa + k), vb = mcuq_load4(sb + k);
    x[0] = mcuq_sxtb16(va);
    x[1] = mcuq_sxtb16_ror8(va);
    x[2] = mcuq_sxtb16(vb);
    x[3] = mcuq_sxtb16_ror8(vb);
  }
}

/* The pairs of mcuq_conv_pixels, each unpacked (FAST: mcuq_unpack_pair's fast argument), then
 * `CALL` (oa, ob: its two outputs); the offsets of pixel a (in the input and in the output)
 * step by d_in, d_out. */
#define MCUQ_PIXEL_PAIRS(FAST, CALL)                                                        \
  for (int32_t k = 0, ia = first * in_c, io = first * out_c; k < pairs;                     \
       ++k, ia += d_in, io += d_out) {                                                      \
    int8_t *const oa = data + io, *const ob = oa + out_c;                                   \
    mcuq_unpack_pair(x, data + ia, data + ia + in_c, kp, FAST);                             \
    CALL;                                                                                   \
  }

MCUQ_NOINLINE static void mcuq_conv_pixels(const mcuq_conv_params_t *p, int8_t *data,
                                           const int8_t *weights, const int32_t *bias,
                                           int reverse) {
  const int32_t in_c = p->in_c, out_c = p->out_c, kp = p->k_padded;
  const int32_t pixels = p->batches * p->out_h * p->out_w, pairs = pixels >> 1;
  const uint32_t *const w_all = (const uint32_t *)(const void *)weights;
  uint32_t x[MCUQ_CONV_COL_BUF]; /* two patches, interleaved per chunk (kp words) */
  int exotic = 0; /* any channel the table cannot requantize (as mcuq_conv_packed) */
  for (int32_t c = 0; c < out_c; ++c) exotic |= MCUQ_RQC_GENERIC(p->rq[c * MCUQ_RQ_WORDS + 2]);
  const int fast = !(kp & 7) && !((uintptr_t)data & 3u); /* in_c == kp: every pixel aligned */
  /* pair k: pixels (2k, 2k + 1) forward; backward (pixels - 2 - 2k, pixels - 1 - 2k), then a
   * lone pixel 0 of an odd count */
  const int32_t first = reverse ? pixels - 2 : 0;
  const int32_t d_in = (reverse ? -2 : 2) * in_c, d_out = (reverse ? -2 : 2) * out_c;
  if ((out_c & 1) || exotic || !fast) { /* (rare: the C unpack, less code) */
    MCUQ_PIXEL_PAIRS(0, mcuq_conv_channels_rest(p, x, w_all, bias, oa, ob, exotic))
  } else { /* the usual layer: its pair loop straight away, chosen once */
#if MCUQ_CONV_PAIRS_ASM
    switch (w_all[0] & 3u) {
      case 0: MCUQ_PIXEL_PAIRS(1, mcuq_conv_pairs8_m4(p, x, w_all, bias, oa, ob)) break;
      case MCUQ_CONV_FULL:
        MCUQ_PIXEL_PAIRS(1, mcuq_conv_pairs8s_m4(p, x, w_all, bias, oa, ob)) break;
      case MCUQ_CONV_WIDE:
        MCUQ_PIXEL_PAIRS(1, mcuq_conv_pairs16_m4(p, x, w_all, bias, oa, ob)) break;
      default: MCUQ_PIXEL_PAIRS(1, mcuq_conv_pairs16s_m4(p, x, w_all, bias, oa, ob)) break;
    }
#else
    MCUQ_PIXEL_PAIRS(1, mcuq_conv_pairs(p, x, w_all, bias, oa, ob))
#endif
  }
  if (pixels & 1) {
    const int32_t a = reverse ? 0 : pixels - 1;
    mcuq_unpack_pair(x, data + a * in_c, data + a * in_c, kp, fast);
    mcuq_conv_channels(p, x, w_all, bias, data + a * out_c, 0, exotic);
  }
}
#undef MCUQ_PIXEL_PAIRS

void mcuq_conv_s8_inplace(const mcuq_conv_params_t *p, int8_t *data, const int8_t *weights,
                          const int32_t *bias, int reverse) {
#if MCUQ_CONV_RING_BUF > 4
  if (p->mode == 3) {
    mcuq_conv_ring(p, data, weights, bias, data, reverse);
    return;
  }
#endif
  mcuq_conv_pixels(p, data, weights, bias, reverse);
}

/* -- generic path (mode 0) ------------------------------------------------------------------ */

MCUQ_NOINLINE static void mcuq_conv_generic(const mcuq_conv_params_t *p,
                                            const int8_t *restrict input,
                                            const int8_t *restrict weights,
                                            const int32_t *restrict bias,
                                            int8_t *restrict output) {
  const int32_t in_h = p->in_h, in_w = p->in_w, in_c = p->in_c;
  const int32_t out_c = p->out_c, k_h = p->k_h, k_w = p->k_w;
  const int32_t fic = p->filter_in_c;
  const int32_t per_group = out_c / (in_c / fic);
  const int32_t w_per_out = k_h * k_w * fic;
  const int32_t zp = p->input_zero_point;
  /* one group and no horizontal dilation: the taps of a filter row read one contiguous run */
  const int rows_contiguous = fic == in_c && p->dil_w == 1;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in_b = input + b * in_h * in_w * in_c;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      int32_t ky0, ky1;
      mcuq_valid_taps(iy0, p->dil_h, in_h, k_h, &ky0, &ky1);
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        int32_t kx0, kx1;
        mcuq_valid_taps(ix0, p->dil_w, in_w, k_w, &kx0, &kx1);
        const int border = ky0 > 0 || ky1 < k_h || kx0 > 0 || kx1 < k_w;
        int8_t *out = output + ((b * p->out_h + oy) * p->out_w + ox) * out_c;
        for (int32_t o = 0; o < out_c; ++o) {
          const int8_t *w = weights + o * w_per_out;
          const int32_t group_off = (o / per_group) * fic;
          int32_t acc = bias[o];
          for (int32_t ky = ky0; ky < ky1; ++ky) {
            const int32_t iy = iy0 + ky * p->dil_h;
            const int8_t *x_row = in_b + iy * in_w * in_c + group_off;
            const int8_t *w_row = w + ky * k_w * fic;
            if (rows_contiguous) {
              acc = mcuq_add_wrap(acc, mcuq_dot_s8(x_row + (ix0 + kx0) * in_c,
                                                   w_row + kx0 * fic, (kx1 - kx0) * fic));
            } else {
              for (int32_t kx = kx0; kx < kx1; ++kx)
                acc = mcuq_add_wrap(acc, mcuq_dot_s8(x_row + (ix0 + kx * p->dil_w) * in_c,
                                                     w_row + kx * fic, fic));
            }
          }
          if (border) { /* taps in the padding read the zero point (cancel the folded offset) */
            uint32_t s = 0;
            for (int32_t ky = 0; ky < k_h; ++ky) {
              const int row_out = ky < ky0 || ky >= ky1;
              for (int32_t kx = 0; kx < k_w; ++kx) {
                if (row_out || kx < kx0 || kx >= kx1) {
                  const int8_t *wt = w + (ky * k_w + kx) * fic;
                  for (int32_t c = 0; c < fic; ++c) s += (uint32_t)(int32_t)wt[c];
                }
              }
            }
            acc = mcuq_add_wrap(acc, (int32_t)((uint32_t)zp * s)); /* modulo 2^32 */
          }
          out[o] = mcuq_conv_out(acc, p->multiplier[o], p->shift[o], p);
        }
      }
    }
  }
}

/* One dispatcher per op, each path its own function: the fast paths' register allocation does
 * not depend on the generic code, and the dispatcher's tail calls keep no frame of their own. */
void mcuq_conv_s8(const mcuq_conv_params_t *p, const int8_t *restrict input,
                  const int8_t *restrict weights, const int32_t *restrict bias,
                  int8_t *restrict output) {
#if MCUQ_CONV_RING_BUF > 4
  if (p->mode == 3) {
    mcuq_conv_ring(p, input, weights, bias, output, 0);
    return;
  }
#endif
  if (p->mode != 0) {
    mcuq_conv_packed(p, input, weights, bias, output);
  } else {
    mcuq_conv_generic(p, input, weights, bias, output);
  }
}

/* ===== DEPTHWISE_CONV_2D =================================================================== */

/* Fast paths. Both take blocks of 4 output channels and weights unpacked to int16 pairs
 * (conv.py: block_weights, 2 words per tap). Mode 1 (depth multiplier 1) goes pixel by pixel
 * (mcuq_depthwise_px below); mode 2 (a multiplier that is a multiple of 4: the block's 4
 * outputs read one input channel, e.g. the 1 x 8 first layer of audio and grayscale models)
 * goes block by block over the whole image: the input rows the taps read are unpacked once
 * per block into a ring of R = (k_h - 1) * dil_h + 1 rows of the padded width
 * W = (out_w - 1) * stride_w + (k_w - 1) * dil_w + 1 (one int16 per pixel, padding holding the
 * zero point), so that every tap is uniform and two neighbouring taps are one 32-bit load. */

/* Ring row `dst` (mode 2) from input row iy of channel ic (the zero point outside the image). */
static void mcuq_dw_ring_row(const mcuq_conv_params_t *p, const int8_t *in_b, int32_t iy,
                             int32_t ic, int32_t width, uint32_t *dst) {
  const int32_t in_w = p->in_w, in_c = p->in_c, pad_w = p->pad_w;
  const int16_t z = (int16_t)p->input_zero_point;
  int32_t x0 = width, x1 = width;
  if (iy >= 0 && iy < p->in_h) {
    x0 = pad_w < width ? pad_w : width;
    x1 = pad_w + in_w < width ? pad_w + in_w : width;
  }
  const int8_t *s = in_b + (iy >= 0 && iy < p->in_h ? iy * in_w * in_c : 0) + ic;
  uint8_t *d = (uint8_t *)dst;
  int32_t x = 0;
  for (; x < x0; ++x) memcpy(d + 2 * x, &z, 2);
  for (; x < x1; ++x, s += in_c) {
    const int16_t v = *s;
    memcpy(d + 2 * x, &v, 2);
  }
  for (; x < width; ++x) memcpy(d + 2 * x, &z, 2);
}

/* What one output row of one block needs. */
typedef struct {
  const uint32_t *rows[MCUQ_DW_TAPS_BUF]; /* the k_h ring rows the taps read */
  const uint32_t *w;                       /* the block's unpacked weights */
  const int32_t *rq;                       /* the block's table entries */
  const mcuq_conv_params_t *p;
  int8_t *out;                             /* output pixel 0 of the row, channel c */
  int32_t bias[4];
  int32_t c, n, exotic;                    /* first channel, channels, any exotic one */
  uint32_t cap4, lo4;
} mcuq_dw_line_t;

/* Requantizes and stores the block's channels of one pixel. */
static inline void mcuq_dw_store(const mcuq_dw_line_t *L, int8_t *out, int32_t a0, int32_t a1,
                                 int32_t a2, int32_t a3) {
  const int32_t *rq = L->rq;
  if (L->exotic) {
    const int32_t a[4] = {a0, a1, a2, a3};
    for (int32_t j = 0; j < L->n; ++j)
      out[j] = mcuq_conv_one(a[j], rq + j * MCUQ_RQ_WORDS, L->c + j, L->p);
    return;
  }
  mcuq_store4(out, mcuq_rq4(a0, a1, a2, a3, rq, L->cap4, L->lo4));
}

/* -- mode 1: depth multiplier 1, pixel by pixel ------------------------------------------
 * Per output pixel a table of the taps' input pixels (a tap in the padding points at a row of
 * zero points), then block by block (4 channels) over the taps: one input word per tap,
 * unpacked to (c0, c2), (c1, c3), against the block's unpacked weight words. */

/* a[0..3] += taps of channels c .. c + 3; tab: the pixel's taps, w: 2 words per tap. The
 * Cortex-M build runs the loop in assembly (post-incremented loads; three taps per iteration
 * when the count allows): 9 instructions per tap and 2 per iteration instead of GCC's 12. */
static inline void mcuq_dw_taps_px(const int8_t *const *tab, int32_t taps, int32_t c,
                                   const uint32_t *w, int32_t *acc0, int32_t *acc1,
                                   int32_t *acc2, int32_t *acc3) {
  int32_t a0 = *acc0, a1 = *acc1, a2 = *acc2, a3 = *acc3;
#if MCUQ_ASM
  const int8_t *ptr;
  uint32_t x, xe, w0, w1;
#define MCUQ_DW_ASM_TAP                                                                      \
  "ldr %[ptr], [%[tab]], #4\n\t"                                                             \
  "ldr %[x], [%[ptr], %[c]]\n\t"                                                             \
  "ldrd %[w0], %[w1], [%[w]], #8\n\t"                                                        \
  "sxtb16 %[xe], %[x]\n\t"                                                                   \
  "sxtb16 %[x], %[x], ror #8\n\t"                                                            \
  "smlabb %[a0], %[xe], %[w0], %[a0]\n\t"                                                    \
  "smlatt %[a2], %[xe], %[w0], %[a2]\n\t"                                                    \
  "smlabb %[a1], %[x], %[w1], %[a1]\n\t"                                                     \
  "smlatt %[a3], %[x], %[w1], %[a3]\n\t"
  int32_t n = taps;
  if (n % 3 == 0) {
    n /= 3;
    __asm__ volatile("1:\n\t" MCUQ_DW_ASM_TAP MCUQ_DW_ASM_TAP MCUQ_DW_ASM_TAP
                     "subs %[n], %[n], #1\n\t"
                     "bne 1b\n\t"
                     : [tab] "+r"(tab), [w] "+r"(w), [n] "+r"(n), [a0] "+r"(a0),
                       [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [ptr] "=&r"(ptr),
                       [x] "=&r"(x), [xe] "=&r"(xe), [w0] "=&r"(w0), [w1] "=&r"(w1)
                     : [c] "r"(c), "m"(*(const int8_t *const(*)[MCUQ_DW_TAPS_BUF])tab)
                     : "cc");
  } else {
    __asm__ volatile("1:\n\t" MCUQ_DW_ASM_TAP
                     "subs %[n], %[n], #1\n\t"
                     "bne 1b\n\t"
                     : [tab] "+r"(tab), [w] "+r"(w), [n] "+r"(n), [a0] "+r"(a0),
                       [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [ptr] "=&r"(ptr),
                       [x] "=&r"(x), [xe] "=&r"(xe), [w0] "=&r"(w0), [w1] "=&r"(w1)
                     : [c] "r"(c), "m"(*(const int8_t *const(*)[MCUQ_DW_TAPS_BUF])tab)
                     : "cc");
  }
#undef MCUQ_DW_ASM_TAP
#else
  for (int32_t t = 0; t < taps; ++t, w += 2) {
    const uint32_t x = mcuq_load4(tab[t] + c);
    const uint32_t xe = mcuq_sxtb16(x), xo = mcuq_sxtb16_ror8(x);
    a0 = mcuq_smlabb(xe, w[0], a0);
    a2 = mcuq_smlatt(xe, w[0], a2);
    a1 = mcuq_smlabb(xo, w[1], a1);
    a3 = mcuq_smlatt(xo, w[1], a3);
  }
#endif
  *acc0 = a0;
  *acc1 = a1;
  *acc2 = a2;
  *acc3 = a3;
}

#if MCUQ_RQ_ASM
/* Mode 1 on Cortex-M4: every full block of 4 channels of one pixel in one loop (GCC keeps the
 * block loop's pointers and the layer constants on the stack: about 30 instructions per block
 * of bookkeeping, here 7): the block's stream (bias, the taps 3 per iteration as
 * mcuq_dw_taps_px, mcuq_rq4's requantization and packed clamp), one word store. Only without
 * exotic channels and with a multiple of 3 taps. */
typedef struct {
  const int8_t *const *tab; /* 0: the pixel's tap pointers */
  int8_t *out;              /* 4: the pixel's output + full (channel offsets count up to 0) */
  int32_t full;             /* 8: minus the channels in full blocks */
  uint32_t cap4, lo4;       /* 12, 16 */
  int32_t n3;               /* 20: taps / 3 */
} mcuq_dw_px_ctx_t;
typedef char mcuq_dw_px_ctx_check[offsetof(mcuq_dw_px_ctx_t, out) == 4 &&
                                  offsetof(mcuq_dw_px_ctx_t, cap4) == 12 &&
                                  offsetof(mcuq_dw_px_ctx_t, n3) == 20 ? 1 : -1];

/* w: the first block's stream (mcuq_depthwise_px); returns the stream after the full blocks */
static inline const uint32_t *mcuq_dw_px_blocks(const mcuq_dw_px_ctx_t *ctx,
                                                const uint32_t *w) {
  const int8_t *const *tp;
  int32_t c = ctx->full, a0, a1, a2, a3;
  uint32_t m, h, s, t, v;
#define MCUQ_DW_PX_TAP                                                                       \
  "ldr %[v], [%[tp]], #4\n\t"                                                                \
  "ldr %[v], [%[v], %[c]]\n\t"                                                               \
  "ldrd %[s], %[t], [%[rq]], #8\n\t"                                                         \
  "sxtb16 %[h], %[v]\n\t"                                                                    \
  "sxtb16 %[v], %[v], ror #8\n\t"                                                            \
  "smlabb %[a0], %[h], %[s], %[a0]\n\t"                                                      \
  "smlatt %[a2], %[h], %[s], %[a2]\n\t"                                                      \
  "smlabb %[a1], %[v], %[t], %[a1]\n\t"                                                      \
  "smlatt %[a3], %[v], %[t], %[a3]\n\t"
#define MCUQ_DW_PX_HEAD                                                                      \
  "1:\n\t"                                                                                   \
  "ldrd %[a0], %[a1], [%[rq]], #8\n\t"                                                       \
  "ldrd %[a2], %[a3], [%[rq]], #8\n\t"                                                       \
  "ldr %[tp], [%[ctx]]\n\t"
#define MCUQ_DW_PX_END                                                                       \
  MCUQ_RQ_ASM_ONE("a0", "0", "v")                                                            \
  MCUQ_RQ_ASM_ONE("a1", "12", "h") "orr %[v], %[v], %[h], lsl #8\n\t"                        \
  MCUQ_RQ_ASM_ONE("a2", "24", "h") "orr %[v], %[v], %[h], lsl #16\n\t"                       \
  MCUQ_RQ_ASM_ONE("a3", "36", "h") "orr %[v], %[v], %[h], lsl #24\n\t"                       \
  "add %[rq], %[rq], #48\n\t"                                                                \
  "ldrd %[m], %[h], [%[ctx], #12]\n\t"                                                       \
  "usub8 %[t], %[v], %[m]\n\t"                                                               \
  "sel %[v], %[m], %[v]\n\t"                                                                 \
  "uadd8 %[v], %[v], %[h]\n\t"                                                               \
  "ldr %[t], [%[ctx], #4]\n\t"                                                              \
  "str %[v], [%[t], %[c]]\n\t"                                                               \
  "adds %[c], %[c], #4\n\t"                                                                  \
  "bne 1b\n\t"
#define MCUQ_DW_PX_OPERANDS                                                                  \
  : [tp] "=&r"(tp), [rq] "+r"(w), [c] "+r"(c), [a0] "=&r"(a0), [a1] "=&r"(a1),              \
    [a2] "=&r"(a2), [a3] "=&r"(a3), [m] "=&r"(m), [h] "=&r"(h), [s] "=&r"(s), [t] "=&r"(t), \
    [v] "=&r"(v)                                                                             \
  : [ctx] "r"(ctx)                                                                           \
  : "cc", "memory"
  if (ctx->n3 == 3) { /* 3x3 filters: the 9 taps unrolled */
    __asm__ volatile(MCUQ_DW_PX_HEAD MCUQ_DW_PX_TAP MCUQ_DW_PX_TAP MCUQ_DW_PX_TAP MCUQ_DW_PX_TAP
                     MCUQ_DW_PX_TAP MCUQ_DW_PX_TAP MCUQ_DW_PX_TAP MCUQ_DW_PX_TAP MCUQ_DW_PX_TAP
                     MCUQ_DW_PX_END MCUQ_DW_PX_OPERANDS);
  } else {
    __asm__ volatile(MCUQ_DW_PX_HEAD
                     "ldr %[m], [%[ctx], #20]\n\t"
                     "2:\n\t" MCUQ_DW_PX_TAP MCUQ_DW_PX_TAP MCUQ_DW_PX_TAP
                     "subs %[m], %[m], #1\n\t"
                     "bne 2b\n\t"
                     MCUQ_DW_PX_END MCUQ_DW_PX_OPERANDS);
  }
#undef MCUQ_DW_PX_OPERANDS
#undef MCUQ_DW_PX_END
#undef MCUQ_DW_PX_HEAD
#undef MCUQ_DW_PX_TAP
  return w;
}
#endif

MCUQ_NOINLINE static void mcuq_depthwise_px(const mcuq_conv_params_t *p,
                                            const int8_t *restrict input,
                                            const int8_t *restrict weights,
                                            const int32_t *restrict bias,
                                            int8_t *restrict output) {
  const int32_t in_h = p->in_h, in_w = p->in_w, ch = p->out_c;
  const int32_t k_h = p->k_h, k_w = p->k_w, taps = k_h * k_w;
  const int32_t full = ch & ~3, tail = ch - full;
  const uint32_t cap4 = mcuq_rep4(p->act_max - p->act_min), lo4 = mcuq_rep4(p->act_min);
  /* per block of 4 channels: bias (4 words), the taps' weights (2 words per tap), mcuq_rq's
   * 12 words (conv.py: px_stream) */
  const uint32_t *const w_all = (const uint32_t *)(const void *)weights;
  const int32_t block_words = 16 + 2 * taps;
  (void)bias;
  const int8_t *tab[MCUQ_DW_TAPS_BUF];
  uint32_t zp_row[MCUQ_DW_CH_BUF / 4 + 1];
  const uint32_t zp4 = mcuq_rep4(p->input_zero_point);
  for (int32_t k = 0; k <= ch >> 2; ++k) zp_row[k] = zp4;
  const int exotic = p->n_exotic != 0; /* any channel the table cannot requantize */
#if MCUQ_RQ_ASM
  /* the assembly counts its channel offset from -full up to 0: the table's pointers (and the
   * output) are then `full` bytes ahead (at most one past the end) */
  const int fast_blocks = !exotic && full > 0 && taps % 3 == 0;
  const int32_t tb = fast_blocks ? full : 0;
#else
  const int32_t tb = 0;
#endif
  const int8_t *const zp = (const int8_t *)zp_row + tb;
#if MCUQ_RQ_ASM
  mcuq_dw_px_ctx_t ctx;
  ctx.tab = tab;
  ctx.full = -full;
  ctx.cap4 = cap4;
  ctx.lo4 = lo4;
  ctx.n3 = taps / 3;
#endif
#if MCUQ_DW_TAPS_BUF >= 9
  const int k3 = k_h == 3 && k_w == 3 && p->dil_h == 1 && p->dil_w == 1;
#else
  const int k3 = 0; /* no 3x3 mode-1 op in the project: its table holds fewer taps */
#endif
  /* the taps' byte offsets from the window's first pixel (3x3 windows: unrolled below) */
  int32_t off[MCUQ_DW_TAPS_BUF];
  if (!k3)
    for (int32_t ky = 0, t = 0; ky < k_h; ++ky)
      for (int32_t kx = 0; kx < k_w; ++kx, ++t)
        off[t] = (ky * p->dil_h * in_w + kx * p->dil_w) * ch;
  const int32_t span_h = (k_h - 1) * p->dil_h, span_w = (k_w - 1) * p->dil_w;
  const int32_t row_b = in_w * ch;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in_b = input + b * in_h * in_w * ch + tb;
    int8_t *out = output + b * p->out_h * p->out_w * ch;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      const int rows_in = iy0 >= 0 && iy0 + span_h < in_h;
      for (int32_t ox = 0; ox < p->out_w; ++ox, out += ch) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        const int32_t o = (iy0 * in_w + ix0) * ch; /* may be negative: only valid taps use it */
        if (rows_in && ix0 >= 0 && ix0 + span_w < in_w) { /* interior: no checks */
          const int8_t *first = in_b + o;
#if MCUQ_DW_TAPS_BUF >= 9
          if (k3) { /* 3x3 without dilation: unrolled */
            const int8_t *r = first;
            tab[0] = r, tab[1] = r + ch, tab[2] = r + 2 * ch, r += row_b;
            tab[3] = r, tab[4] = r + ch, tab[5] = r + 2 * ch, r += row_b;
            tab[6] = r, tab[7] = r + ch, tab[8] = r + 2 * ch;
          } else
#endif
          {
            for (int32_t t = 0; t < taps; ++t) tab[t] = first + off[t];
          }
        } else if (k3) { /* a 3x3 window reaching the padding: unrolled */
          const int l = (uint32_t)ix0 < (uint32_t)in_w, m = (uint32_t)(ix0 + 1) < (uint32_t)in_w;
          const int r = (uint32_t)(ix0 + 2) < (uint32_t)in_w;
          for (int32_t ky = 0, q = o; ky < 3; ++ky, q += row_b) {
            const int inside = (uint32_t)(iy0 + ky) < (uint32_t)in_h;
            tab[3 * ky] = inside && l ? in_b + q : zp;
            tab[3 * ky + 1] = inside && m ? in_b + (q + ch) : zp;
            tab[3 * ky + 2] = inside && r ? in_b + (q + 2 * ch) : zp;
          }
        } else {
          uint8_t col_in[MCUQ_DW_TAPS_BUF]; /* column kx inside the image */
          for (int32_t kx = 0, ix = ix0; kx < k_w; ++kx, ix += p->dil_w)
            col_in[kx] = (uint32_t)ix < (uint32_t)in_w;
          for (int32_t ky = 0, iy = iy0, t = 0; ky < k_h; ++ky, iy += p->dil_h) {
            if ((uint32_t)iy >= (uint32_t)in_h) {
              for (int32_t kx = 0; kx < k_w; ++kx, ++t) tab[t] = zp;
              continue;
            }
            for (int32_t kx = 0; kx < k_w; ++kx, ++t)
              tab[t] = col_in[kx] ? in_b + (o + off[t]) : zp;
          }
        }
        const uint32_t *w = w_all;
#if MCUQ_RQ_ASM
        if (fast_blocks) {
          ctx.out = out + full;
          w = mcuq_dw_px_blocks(&ctx, w);
        } else
#endif
        for (int32_t c = 0; c < full; c += 4, w += block_words) {
          const int32_t *const bb = (const int32_t *)(const void *)w;
          const int32_t *const rq = bb + 4 + 2 * taps;
          int32_t a0 = bb[0], a1 = bb[1], a2 = bb[2], a3 = bb[3];
          mcuq_dw_taps_px(tab, taps, c, w + 4, &a0, &a1, &a2, &a3);
          if (exotic && (rq[2] | rq[MCUQ_RQ_WORDS + 2] | rq[2 * MCUQ_RQ_WORDS + 2] |
                         rq[3 * MCUQ_RQ_WORDS + 2]) < 0) {
            const int32_t a[4] = {a0, a1, a2, a3};
            for (int32_t j = 0; j < 4; ++j)
              out[c + j] = mcuq_conv_one(a[j], rq + j * MCUQ_RQ_WORDS, c + j, p);
          } else {
            mcuq_store4(out + c, mcuq_rq4(a0, a1, a2, a3, rq, cap4, lo4));
          }
        }
        if (tail) { /* the last channels of a count that is not a multiple of 4: bytewise */
          const int32_t *const bb = (const int32_t *)(const void *)w;
          const int32_t *const rq = bb + 4 + 2 * taps;
          for (int32_t j = 0; j < tail; ++j) {
            const int32_t c = full + j;
            const uint32_t *wt = w + 4 + (j & 1); /* (c0, c2) or (c1, c3) */
            uint32_t acc = (uint32_t)bb[j];
            for (int32_t k = 0; k < taps; ++k, wt += 2) {
              const int32_t wv = (int16_t)(j & 2 ? *wt >> 16 : *wt & 0xffffu);
              acc += (uint32_t)((int32_t)tab[k][c - tb] * wv);
            }
            out[c] = mcuq_conv_one((int32_t)acc, rq + j * MCUQ_RQ_WORDS, c, p);
          }
        }
      }
    }
  }
}

/* Mode 2, one output row. Ring rows hold one int16 per pixel; without horizontal dilation two
 * neighbouring taps are one 32-bit load (x[kx], x[kx + 1]) against weight words holding the
 * two taps' weights of one channel ((w[kx], w[kx + 1]) per channel: SMLAD); an odd last tap of
 * a filter row uses the words (c0, c2), (c1, c3) and SMLABB/SMLABT. */
/* Pair of taps (x[kx], x[kx + 1]) against the 4 channels' weight pairs. */
#define MCUQ_DW_PAIR(xp, w)                                                                  \
  do {                                                                                       \
    uint32_t xx_;                                                                            \
    memcpy(&xx_, (xp), 4);                                                                   \
    a0 = mcuq_smlad(xx_, (w)[0], a0);                                                        \
    a1 = mcuq_smlad(xx_, (w)[1], a1);                                                        \
    a2 = mcuq_smlad(xx_, (w)[2], a2);                                                        \
    a3 = mcuq_smlad(xx_, (w)[3], a3);                                                        \
  } while (0)

/* Single tap x against words (c0, c2), (c1, c3). */
#define MCUQ_DW_SINGLE(xp, w)                                                                \
  do {                                                                                       \
    int16_t h_;                                                                              \
    memcpy(&h_, (xp), 2);                                                                    \
    const uint32_t xv_ = (uint32_t)(int32_t)h_;                                              \
    a0 = mcuq_smlabb(xv_, (w)[0], a0);                                                       \
    a2 = mcuq_smlabt(xv_, (w)[0], a2);                                                       \
    a1 = mcuq_smlabb(xv_, (w)[1], a1);                                                       \
    a3 = mcuq_smlabt(xv_, (w)[1], a3);                                                       \
  } while (0)

MCUQ_NOINLINE static void mcuq_dw_line_m4(const mcuq_dw_line_t *L) {
  const mcuq_conv_params_t *p = L->p;
  const int32_t k_h = p->k_h, k_w = p->k_w, dw = p->dil_w, sw = p->stride_w;
  const int32_t out_c = p->out_c, pairs = dw == 1 ? k_w >> 1 : 0, singles = k_w - 2 * pairs;
  const int k3 = k_w == 3 && dw == 1; /* the common 3-wide filter: unrolled */
  int8_t *out = L->out;
  for (int32_t ox = p->out_w, col = 0; ox > 0; --ox, col += 2 * sw, out += out_c) {
    int32_t a0 = L->bias[0], a1 = L->bias[1], a2 = L->bias[2], a3 = L->bias[3];
    const uint32_t *w = L->w;
    for (int32_t ky = 0; ky < k_h; ++ky) {
      const uint8_t *x = (const uint8_t *)L->rows[ky] + col;
      if (k3) {
        MCUQ_DW_PAIR(x, w);
        MCUQ_DW_SINGLE(x + 4, w + 4);
        w += 6;
        continue;
      }
      if (pairs) {
#if MCUQ_ASM
        /* the pairs of a filter row: 9 instructions per pair (GCC: about twice that) */
        uint32_t xx, w0, w1;
        int32_t n = pairs;
        __asm__("1:\n\t"
                "ldr %[xx], [%[x]], #4\n\t"
                "ldrd %[w0], %[w1], [%[w]], #8\n\t"
                "smlad %[a0], %[xx], %[w0], %[a0]\n\t"
                "smlad %[a1], %[xx], %[w1], %[a1]\n\t"
                "ldrd %[w0], %[w1], [%[w]], #8\n\t"
                "smlad %[a2], %[xx], %[w0], %[a2]\n\t"
                "smlad %[a3], %[xx], %[w1], %[a3]\n\t"
                "subs %[n], %[n], #1\n\t"
                "bne 1b\n\t"
                : [x] "+r"(x), [w] "+r"(w), [n] "+r"(n), [a0] "+r"(a0), [a1] "+r"(a1),
                  [a2] "+r"(a2), [a3] "+r"(a3), [xx] "=&r"(xx), [w0] "=&r"(w0), [w1] "=&r"(w1)
                : "m"(*(const uint8_t(*)[MCUQ_DW_ROWS_BUF])L->rows[ky])
                : "cc");
#else
        for (int32_t k = 0; k < pairs; ++k, x += 4, w += 4) MCUQ_DW_PAIR(x, w);
#endif
      }
      for (int32_t k = 0; k < singles; ++k, x += 2 * dw, w += 2) MCUQ_DW_SINGLE(x, w);
    }
    mcuq_dw_store(L, out, a0, a1, a2, a3);
  }
}

MCUQ_NOINLINE static void mcuq_depthwise_rows(const mcuq_conv_params_t *p,
                                              const int8_t *restrict input,
                                              const int8_t *restrict weights,
                                              const int32_t *restrict bias,
                                              int8_t *restrict output) {
  const int32_t in_c = p->in_c, out_c = p->out_c, m = p->depth_multiplier;
  const int32_t k_h = p->k_h, taps = k_h * p->k_w, out_h = p->out_h, out_w = p->out_w;
  const int32_t dh = p->dil_h, sh = p->stride_h;
  const int32_t rows = (k_h - 1) * dh + 1;
  const int32_t width = (out_w - 1) * p->stride_w + (p->k_w - 1) * p->dil_w + 1;
  const int32_t row_words = (width + 1) >> 1;
  uint32_t ring[MCUQ_DW_ROWS_BUF / 4];
  mcuq_dw_line_t L;
  L.p = p;
  L.cap4 = mcuq_rep4(p->act_max - p->act_min);
  L.lo4 = mcuq_rep4(p->act_min);
  L.n = 4; /* out_c is a multiple of 4 */
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in_b = input + b * p->in_h * p->in_w * in_c;
    int8_t *out_b = output + b * out_h * out_w * out_c;
    for (int32_t c = 0; c < out_c; c += 4) {
      L.c = c;
      L.rq = p->rq + c * MCUQ_RQ_WORDS;
      L.w = (const uint32_t *)(const void *)weights + (c >> 2) * 2 * taps;
      L.exotic = 0;
      for (int32_t j = 0; j < 4; ++j) {
        L.bias[j] = bias[c + j];
        L.exotic |= L.rq[j * MCUQ_RQ_WORDS + 2] < 0;
      }
      const int32_t ic = c / m;
      /* ring row r holds input row r - pad_h at slot r mod rows; rows below `built` exist */
      int32_t built = 0, slot = 0;
      for (int32_t oy = 0, top = 0; oy < out_h; ++oy, top += sh) {
        if (built < top) { /* rows skipped by a stride larger than the ring */
          slot = (slot + (top - built)) % rows;
          built = top;
        }
        for (; built < top + rows; ++built, slot = slot + 1 == rows ? 0 : slot + 1)
          mcuq_dw_ring_row(p, in_b, built - p->pad_h, ic, width, ring + slot * row_words);
        /* ring row top + ky * dh sits at slot (slot + ky * dh) mod rows (slot: row `top`) */
        for (int32_t ky = 0, s = slot; ky < k_h; ++ky, s += dh) {
          if (s >= rows) s -= rows;
          L.rows[ky] = ring + s * row_words;
        }
        L.out = out_b + oy * out_w * out_c + c;
        mcuq_dw_line_m4(&L);
      }
    }
  }
}

#if MCUQ_DW_PLANAR_BUF > 4 /* a project with no mode-3 op (mcuq_buffers.h) leaves it out */
/* -- mode 3: depth multiplier 1, a multiple of 4 channels, 3x3 filter, no dilation, stride_w 1:
 * blocks of 4 channels, each channel's rows unpacked to int16 planes.
 * Per group of blocks, the input rows the taps read are unpacked into a ring of 3 rows x 4
 * planes per block (one per channel) of int16 (padding: the zero point), each plane row
 * W = out_w + 2 slots plus 3 more (zero point). Two neighbouring output pixels of one channel
 * per pass: the pair at column p reads A = (x[p], x[p + 1]) and B = (x[p + 2], x[p + 3]):
 *   pixel p:     SMLAD(A, (w0, w1)) + SMLABT(B, (w1, w2))
 *   pixel p + 1: SMLAD(B, (w1, w2)) + SMLATB(A, (w0, w1))
 * per filter row: 6 MACs in one row load (LDRD), one weight load (LDRD) and 4 multiplies
 * (stride 2 is mode 4's: repacking pixel pairs costs more than it saves there). The weights
 * come as a per-channel table of MCUQ_DW3_WORDS words (conv.py: planar_table): folded bias,
 * mcuq_rq's m, hi, e - 1 (negative: an exotic channel, computed with the generic
 * requantization), cap | cap << 16, lo | lo << 16 (low bytes of act_max - act_min and
 * act_min), then per filter row the int16 pairs (w0, w1), (w1, w2). */
#define MCUQ_DW3_WORDS 12

/* Ring row (4 planes, from slot x0 on) from n input pixels at s (channels c .. c + 3, in_c
 * bytes apart), or the zero point z2 (both halves) where s is NULL (a row outside the image).
 * Slots outside [x0, x0 + n) are never written: the ring starts all zero point. */
static inline void mcuq_dw3_row(const int8_t *s, int32_t in_c, int32_t n, uint8_t *d,
                                int32_t plane, uint32_t z2) {
  uint8_t *const end = d + 2 * n;
  if (!s) {
    for (; d < end; d += 2) {
      memcpy(d, &z2, 2);
      memcpy(d + plane, &z2, 2);
      memcpy(d + 2 * plane, &z2, 2);
      memcpy(d + 3 * plane, &z2, 2);
    }
    return;
  }
#if MCUQ_ASM
  /* pairs of pixels: 18 instructions (GCC: 24) */
  if (n >= 2) {
    uint32_t x, y, ex, ey, v;
    int32_t k = n >> 1;
    const int32_t plane2 = 2 * plane, plane3 = 3 * plane;
    __asm__ volatile("1:\n\t"
                     "ldr %[x], [%[s]]\n\t"
                     "ldr %[y], [%[s], %[in_c]]\n\t"
                     "add %[s], %[s], %[in_c], lsl #1\n\t"
                     "sxtb16 %[ex], %[x]\n\t"
                     "sxtb16 %[ey], %[y]\n\t"
                     "pkhbt %[v], %[ex], %[ey], lsl #16\n\t"
                     "str %[v], [%[d]]\n\t"
                     "pkhtb %[ex], %[ey], %[ex], asr #16\n\t"
                     "str %[ex], [%[d], %[plane2]]\n\t"
                     "sxtb16 %[x], %[x], ror #8\n\t"
                     "sxtb16 %[y], %[y], ror #8\n\t"
                     "pkhbt %[v], %[x], %[y], lsl #16\n\t"
                     "str %[v], [%[d], %[plane]]\n\t"
                     "pkhtb %[x], %[y], %[x], asr #16\n\t"
                     "str %[x], [%[d], %[plane3]]\n\t"
                     "add %[d], %[d], #4\n\t"
                     "subs %[k], %[k], #1\n\t"
                     "bne 1b\n\t"
                     : [s] "+r"(s), [d] "+r"(d), [k] "+r"(k), [x] "=&r"(x), [y] "=&r"(y),
                       [ex] "=&r"(ex), [ey] "=&r"(ey), [v] "=&r"(v)
                     : [in_c] "r"(in_c), [plane] "r"(plane), [plane2] "r"(plane2),
                       [plane3] "r"(plane3)
                     : "cc", "memory");
  }
#endif
  for (; d + 2 < end; s += 2 * in_c, d += 4) {
    const uint32_t x = mcuq_load4(s), y = mcuq_load4(s + in_c);
    const uint32_t ex = mcuq_sxtb16(x), ey = mcuq_sxtb16(y);
    const uint32_t ox = mcuq_sxtb16_ror8(x), oy = mcuq_sxtb16_ror8(y);
    const uint32_t v0 = (ex & 0xffffu) | (ey << 16), v2 = (ex >> 16) | (ey & 0xffff0000u);
    const uint32_t v1 = (ox & 0xffffu) | (oy << 16), v3 = (ox >> 16) | (oy & 0xffff0000u);
    memcpy(d, &v0, 4);
    memcpy(d + plane, &v1, 4);
    memcpy(d + 2 * plane, &v2, 4);
    memcpy(d + 3 * plane, &v3, 4);
  }
  if (d < end) {
    const uint32_t x = mcuq_load4(s), ex = mcuq_sxtb16(x), ox = mcuq_sxtb16_ror8(x);
    const uint32_t v2 = ex >> 16, v3 = ox >> 16;
    memcpy(d, &ex, 2);
    memcpy(d + plane, &ox, 2);
    memcpy(d + 2 * plane, &v2, 2);
    memcpy(d + 3 * plane, &v3, 2);
  }
}

/* Mode 3's channel loop state on Cortex-M4 (mcuq_dw3_rows4; unused by the C line). */
typedef struct {
  int32_t drow;        /* 0: plane - the pair loop's row advance */
  int32_t dout;        /* 4: 1 - 2 * pairs * ch */
  int32_t pairs;       /* 8 */
  const int32_t *end;  /* 12: the table after the block's 4 channels */
  int32_t lone;        /* 16: out_w & 1; -1: the last three pixels in one pass (stride 1) */
} mcuq_dw3_ctx_t;
#if MCUQ_ASM /* the assembly's offsets (32-bit pointers) */
typedef char mcuq_dw3_ctx_check[offsetof(mcuq_dw3_ctx_t, pairs) == 8 &&
                                offsetof(mcuq_dw3_ctx_t, lone) == 16 ? 1 : -1];
#endif

static inline uint32_t mcuq_dw3_load(const uint8_t *x) {
  uint32_t v;
  memcpy(&v, x, 4);
  return v;
}

/* One output pixel: the table, or the generic requantization (exotic channel c). */
static inline void mcuq_dw3_put(int8_t *out, int32_t acc, const int32_t *t, int32_t c,
                                const mcuq_conv_params_t *p) {
  if (t[3] < 0) {
    *out = mcuq_conv_out(acc, p->multiplier[c], p->shift[c], p);
  } else {
    *out = mcuq_out_byte(mcuq_rq(acc, t + 1), p->act_max - p->act_min, p->act_min);
  }
}

/* One output row of one channel in C (hosts; exotic channels): rows r0..r2 of its plane. */
static void mcuq_dw3_line(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2,
                          const int32_t *t, int32_t c, const mcuq_conv_params_t *p,
                          int8_t *out) {
  const int32_t ch = p->out_c, bias = t[0];
  const uint32_t *k = (const uint32_t *)(const void *)(t + 6);
  const uint32_t k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5];
  for (int32_t n = p->out_w; n > 0; n -= 2, out += 2 * ch, r0 += 4, r1 += 4, r2 += 4) {
    const uint32_t A0 = mcuq_dw3_load(r0), A1 = mcuq_dw3_load(r1), A2 = mcuq_dw3_load(r2);
    const uint32_t B0 = mcuq_dw3_load(r0 + 4), B1 = mcuq_dw3_load(r1 + 4),
                   B2 = mcuq_dw3_load(r2 + 4);
    int32_t a = mcuq_smlad(A0, k0, bias);
    a = mcuq_smlabt(B0, k1, a);
    a = mcuq_smlad(A1, k2, a);
    a = mcuq_smlabt(B1, k3, a);
    a = mcuq_smlad(A2, k4, a);
    a = mcuq_smlabt(B2, k5, a);
    mcuq_dw3_put(out, a, t, c, p);
    if (n == 1) break;
    /* the pair's second pixel */
    int32_t b = mcuq_smlatb(A0, k0, mcuq_smlad(B0, k1, bias));
    b = mcuq_smlatb(A1, k2, mcuq_smlad(B1, k3, b));
    b = mcuq_smlatb(A2, k4, mcuq_smlad(B2, k5, b));
    mcuq_dw3_put(out + ch, b, t, c, p);
  }
}

#if MCUQ_ASM
/* The pairs of one output row of one channel on Cortex-M4 (GCC spills the weights, rows and
 * table around the C loop): per pair 3 x (row LDRD (stride 2: + LDR), weight LDRD, 4
 * multiplies), the table's requantization of both pixels (as mcuq_rq, either rounding:
 * MCUQ_RQ_ASM_ADDEND), a packed clamp (USUB16 + SEL + UADD16) and two byte stores, pixel b
 * first: with step 0 (a lone last pixel) b's byte is overwritten by a's. */
#define MCUQ_DW3_RQ(ACC, DEST)                                                               \
  MCUQ_RQ_ASM_ADDEND(ACC)                                                                    \
  "smlal %[t], %[h], %[" ACC "], %[m]\n\t"                                                   \
  "asr %[h], %[h], %[s]\n\t"                                                                 \
  "usat %[" DEST "], #8, %[h]\n\t"
#define MCUQ_DW3_END                                                                         \
  "ldrd %[m], %[h], [%[tab], #4]\n\t"                                                        \
  "ldr %[s], [%[tab], #12]\n\t"                                                              \
  MCUQ_DW3_RQ("aa", "x")                                                                     \
  "ldr %[h], [%[tab], #8]\n\t"                                                               \
  MCUQ_DW3_RQ("ab", "h")                                                                     \
  "pkhbt %[x], %[x], %[h], lsl #16\n\t"                                                      \
  "ldrd %[m], %[h], [%[tab], #16]\n\t"                                                       \
  "usub16 %[t], %[x], %[m]\n\t"                                                              \
  "sel %[x], %[m], %[x]\n\t"                                                                 \
  "uadd16 %[x], %[x], %[h]\n\t"                                                              \
  "lsr %[t], %[x], #16\n\t"                                                                  \
  "strb %[t], [%[out], %[step]]\n\t"                                                         \
  "strb %[x], [%[out]]\n\t"                                                                  \
  "add %[out], %[out], %[step], lsl #1\n\t"                                                  \
  "subs %[n], %[n], #1\n\t"                                                                  \
  "bne 1b\n\t"
#define MCUQ_DW3_S1(R, OFF)                                                                  \
  "ldrd %[s], %[t], [%[" R "]], #4\n\t"                                                      \
  "ldrd %[m], %[h], [%[tab], #" OFF "]\n\t"                                                  \
  "smlad %[aa], %[s], %[m], %[aa]\n\t"                                                       \
  "smlabt %[aa], %[t], %[h], %[aa]\n\t"                                                      \
  "smlad %[ab], %[t], %[h], %[ab]\n\t"                                                       \
  "smlatb %[ab], %[s], %[m], %[ab]\n\t"
#define MCUQ_DW3_S1ONE(R, OFF)                                                               \
  "ldrd %[s], %[t], [%[" R "]]\n\t"                                                           \
  "ldrd %[m], %[h], [%[tab], #" OFF "]\n\t"                                                  \
  "smlad %[aa], %[s], %[m], %[aa]\n\t"                                                       \
  "smlabt %[aa], %[t], %[h], %[aa]\n\t"
#define MCUQ_DW3_OPERANDS                                                                    \
  : [r0] "+r"(r0), [r1] "+r"(r1), [r2] "+r"(r2), [out] "+r"(out), [n] "+r"(n), [m] "=&r"(m), \
    [h] "=&r"(h), [s] "=&r"(s), [t] "=&r"(t), [x] "=&r"(x), [aa] "=&r"(aa), [ab] "=&r"(ab)    \
  : [tab] "r"(tab), [step] "r"(step)                                                         \
  : "cc", "memory"

static inline void mcuq_dw3_pairs(const int32_t *tab, const uint8_t *r0, const uint8_t *r1,
                                  const uint8_t *r2, int8_t *out, int32_t n, int32_t step) {
  uint32_t m, h, s, t, x;
  int32_t aa, ab;
  __asm__ volatile("1:\n\t"
                   "ldr %[aa], [%[tab]]\n\t"
                   "mov %[ab], %[aa]\n\t"
                   MCUQ_DW3_S1("r0", "24") MCUQ_DW3_S1("r1", "32") MCUQ_DW3_S1("r2", "40")
                   MCUQ_DW3_END MCUQ_DW3_OPERANDS);
}

/* One lone last pixel (odd out_w): 3 x (row LDRD, weight LDRD, SMLAD + SMLABT), requantized. */
static inline void mcuq_dw3_one(const int32_t *tab, const uint8_t *r0, const uint8_t *r1,
                                const uint8_t *r2, int8_t *out) {
  uint32_t m, h, s, t, x;
  int32_t aa;
  __asm__ volatile("ldr %[aa], [%[tab]]\n\t"
                   MCUQ_DW3_S1ONE("r0", "24") MCUQ_DW3_S1ONE("r1", "32")
                   MCUQ_DW3_S1ONE("r2", "40")
                   "ldrd %[m], %[h], [%[tab], #4]\n\t"
                   "ldr %[s], [%[tab], #12]\n\t"
                   MCUQ_DW3_RQ("aa", "x")
                   "ldrd %[m], %[h], [%[tab], #16]\n\t"
                   "usub16 %[t], %[x], %[m]\n\t"
                   "sel %[x], %[m], %[x]\n\t"
                   "uadd16 %[x], %[x], %[h]\n\t"
                   "strb %[x], [%[out]]\n\t"
                   : [m] "=&r"(m), [h] "=&r"(h), [s] "=&r"(s), [t] "=&r"(t), [x] "=&r"(x),
                     [aa] "=&r"(aa)
                   : [tab] "r"(tab), [r0] "r"(r0), [r1] "r"(r1), [r2] "r"(r2), [out] "r"(out)
                   : "cc", "memory");
}
/* The 4 channels of a block on one output row in one routine (no exotic channel): per channel
 * the pairs (as mcuq_dw3_pairs), the lone last pixel of an odd width (as mcuq_dw3_one), then
 * the rows and output moved to the next channel's plane by the layer's constant deltas; the
 * channel loop's state lives in a context pushed on the stack (the pair loop takes all 14
 * free registers). */

#define MCUQ_DW3_ROWS4_TAIL                                                                  \
  "ldr %[x], [sp]\n\t"                                                                       \
  "ldr %[m], [%[x], #16]\n\t"                                                                \
  "cmp %[m], #0\n\t"                                                                         \
  "beq 3f\n\t"                                                                               \
  "ldr %[aa], [%[tab]]\n\t"                                                                  \
  MCUQ_DW3_S1ONE("r0", "24") MCUQ_DW3_S1ONE("r1", "32") MCUQ_DW3_S1ONE("r2", "40")            \
  "ldrd %[m], %[h], [%[tab], #4]\n\t"                                                        \
  "ldr %[s], [%[tab], #12]\n\t"                                                              \
  MCUQ_DW3_RQ("aa", "x")                                                                     \
  "ldrd %[m], %[h], [%[tab], #16]\n\t"                                                       \
  "usub16 %[t], %[x], %[m]\n\t"                                                              \
  "sel %[x], %[m], %[x]\n\t"                                                                 \
  "uadd16 %[x], %[x], %[h]\n\t"                                                              \
  "strb %[x], [%[out]]\n\t"                                                                  \
  "ldr %[x], [sp]\n\t"                                                                       \
  "3:\n\t"                                                                                   \
  "ldrd %[m], %[h], [%[x]]\n\t"                                                              \
  "add %[r0], %[r0], %[m]\n\t"                                                               \
  "add %[r1], %[r1], %[m]\n\t"                                                               \
  "add %[r2], %[r2], %[m]\n\t"                                                               \
  "add %[out], %[out], %[h]\n\t"                                                             \
  "ldrd %[n], %[m], [%[x], #8]\n\t"                                                          \
  "add %[tab], %[tab], #48\n\t"                                                              \
  "cmp %[tab], %[m]\n\t"                                                                     \
  "bne 2b\n\t"                                                                               \
  "add sp, sp, #4\n\t"
#define MCUQ_DW3_ROWS4_OPERANDS                                                              \
  : [r0] "+r"(r0), [r1] "+r"(r1), [r2] "+r"(r2), [out] "+r"(out), [n] "+r"(n),              \
    [tab] "+r"(tab), [x] "+r"(x), [m] "=&r"(m), [h] "=&r"(h), [s] "=&r"(s), [t] "=&r"(t),    \
    [aa] "=&r"(aa), [ab] "=&r"(ab)                                                           \
  : [step] "r"(step)                                                                         \
  : "cc", "memory"

/* Stride 1, odd width: the last three pixels of a channel's row in one pass (A, B, C =
 * (x[c], x[c + 1]), (x[c + 2], x[c + 3]), (x[c + 4], x[c + 5])):
 *   pixel c:     SMLAD(A, (w0, w1)) + SMLABT(B, (w1, w2))
 *   pixel c + 1: SMLAD(B, (w1, w2)) + SMLATB(A, (w0, w1))
 *   pixel c + 2: SMLAD(B, (w0, w1)) + SMLABT(C, (w1, w2))
 * (the pair loop's counter n is the third accumulator) instead of a pair and a lone pixel. */
#define MCUQ_DW3_TRI_ROW(R, OFF)                                                             \
  "ldrd %[s], %[t], [%[" R "]]\n\t"                                                           \
  "ldr %[x], [%[" R "], #8]\n\t"                                                              \
  "ldrd %[m], %[h], [%[tab], #" OFF "]\n\t"                                                  \
  "smlad %[aa], %[s], %[m], %[aa]\n\t"                                                       \
  "smlabt %[aa], %[t], %[h], %[aa]\n\t"                                                      \
  "smlad %[ab], %[t], %[h], %[ab]\n\t"                                                       \
  "smlatb %[ab], %[s], %[m], %[ab]\n\t"                                                      \
  "smlad %[n], %[t], %[m], %[n]\n\t"                                                         \
  "smlabt %[n], %[x], %[h], %[n]\n\t"
#define MCUQ_DW3_TRIPLE                                                                      \
  "ldr %[aa], [%[tab]]\n\t"                                                                  \
  "mov %[ab], %[aa]\n\t"                                                                     \
  "mov %[n], %[aa]\n\t"                                                                      \
  MCUQ_DW3_TRI_ROW("r0", "24") MCUQ_DW3_TRI_ROW("r1", "32") MCUQ_DW3_TRI_ROW("r2", "40")      \
  "ldrd %[m], %[h], [%[tab], #4]\n\t"                                                        \
  "ldr %[s], [%[tab], #12]\n\t"                                                              \
  MCUQ_DW3_RQ("aa", "x")                                                                     \
  "ldr %[h], [%[tab], #8]\n\t"                                                               \
  MCUQ_DW3_RQ("ab", "ab")                                                                    \
  "pkhbt %[x], %[x], %[ab], lsl #16\n\t"                                                     \
  "ldr %[h], [%[tab], #8]\n\t"                                                               \
  MCUQ_DW3_RQ("n", "n")                                                                      \
  "ldrd %[m], %[h], [%[tab], #16]\n\t"                                                       \
  "usub16 %[t], %[x], %[m]\n\t"                                                              \
  "sel %[x], %[m], %[x]\n\t"                                                                 \
  "uadd16 %[x], %[x], %[h]\n\t"                                                              \
  "usub16 %[t], %[n], %[m]\n\t"                                                              \
  "sel %[n], %[m], %[n]\n\t"                                                                 \
  "uadd16 %[n], %[n], %[h]\n\t"                                                              \
  "strb %[x], [%[out]]\n\t"                                                                  \
  "lsr %[t], %[x], #16\n\t"                                                                  \
  "strb %[t], [%[out], %[step]]\n\t"                                                         \
  "add %[t], %[out], %[step], lsl #1\n\t"                                                    \
  "strb %[n], [%[t]]\n\t"                                                                    \
  "ldr %[x], [sp]\n\t"                                                                       \
  "ldrd %[m], %[h], [%[x]]\n\t"                                                              \
  "add %[r0], %[r0], %[m]\n\t"                                                               \
  "add %[r1], %[r1], %[m]\n\t"                                                               \
  "add %[r2], %[r2], %[m]\n\t"                                                               \
  "add %[out], %[out], %[h]\n\t"                                                             \
  "ldrd %[n], %[m], [%[x], #8]\n\t"                                                          \
  "add %[tab], %[tab], #48\n\t"                                                              \
  "cmp %[tab], %[m]\n\t"                                                                     \
  "bne 2b\n\t"                                                                               \
  "add sp, sp, #4\n\t"

/* ctx->lone < 0: stride 1 with an odd width of 3 or more, ctx->pairs = (out_w - 3) / 2 pairs
 * then MCUQ_DW3_TRIPLE (mcuq_depthwise_planar sets the deltas accordingly) */
static inline void mcuq_dw3_rows4(const int32_t *tab, const uint8_t *r0, const uint8_t *r1,
                                  const uint8_t *r2, int8_t *out, int32_t step,
                                  const mcuq_dw3_ctx_t *ctx) {
  uint32_t m, h, s, t, x = (uint32_t)(uintptr_t)ctx;
  int32_t aa, ab, n = ctx->pairs;
  if (ctx->lone < 0) {
    __asm__ volatile("push {%[x]}\n\t"
                     "2:\n\t"
                     "cmp %[n], #0\n\t"
                     "beq 4f\n\t"
                     "1:\n\t"
                     "ldr %[aa], [%[tab]]\n\t"
                     "mov %[ab], %[aa]\n\t"
                     MCUQ_DW3_S1("r0", "24") MCUQ_DW3_S1("r1", "32") MCUQ_DW3_S1("r2", "40")
                     MCUQ_DW3_END
                     "4:\n\t"
                     MCUQ_DW3_TRIPLE MCUQ_DW3_ROWS4_OPERANDS);
  } else {
    __asm__ volatile("push {%[x]}\n\t"
                     "2:\n\t"
                     "1:\n\t"
                     "ldr %[aa], [%[tab]]\n\t"
                     "mov %[ab], %[aa]\n\t"
                     MCUQ_DW3_S1("r0", "24") MCUQ_DW3_S1("r1", "32") MCUQ_DW3_S1("r2", "40")
                     MCUQ_DW3_END MCUQ_DW3_ROWS4_TAIL MCUQ_DW3_ROWS4_OPERANDS);
  }
}
#undef MCUQ_DW3_TRIPLE
#undef MCUQ_DW3_TRI_ROW
#undef MCUQ_DW3_ROWS4_OPERANDS
#undef MCUQ_DW3_ROWS4_TAIL
#undef MCUQ_DW3_OPERANDS
#undef MCUQ_DW3_S1ONE
#undef MCUQ_DW3_S1
#undef MCUQ_DW3_END
#undef MCUQ_DW3_RQ
#endif

/* The 4 channels of a block on one output row: plane rows r0..r2 of channel c (the next
 * channels' planes follow, `plane` bytes apart), outputs from out on (channel c, pixel 0). */
MCUQ_NOINLINE static void mcuq_dw3_block_row(const mcuq_conv_params_t *p, const int32_t *tab,
                                             const uint8_t *r0, const uint8_t *r1,
                                             const uint8_t *r2, int32_t plane, int8_t *out,
                                             int32_t c, const mcuq_dw3_ctx_t *ctx) {
#if MCUQ_ASM
  if (ctx) { /* no exotic channel in the group: one routine for all its channels */
    mcuq_dw3_rows4(tab, r0, r1, r2, out, p->out_c, ctx);
    return;
  }
  const int32_t ch = p->out_c, out_w = p->out_w, pairs = out_w >> 1;
  const int32_t adv = pairs * 4 * p->stride_w;
  for (int32_t j = 0; j < 4; ++j, r0 += plane, r1 += plane, r2 += plane, ++out,
               tab += MCUQ_DW3_WORDS) {
    if (tab[3] < 0) { /* exotic */
      mcuq_dw3_line(r0, r1, r2, tab, c + j, p, out);
      continue;
    }
    if (pairs) mcuq_dw3_pairs(tab, r0, r1, r2, out, pairs, ch);
    if (out_w & 1) mcuq_dw3_one(tab, r0 + adv, r1 + adv, r2 + adv, out + 2 * pairs * ch);
  }
#else
  (void)ctx;
  for (int32_t j = 0; j < 4; ++j, r0 += plane, r1 += plane, r2 += plane, ++out,
               tab += MCUQ_DW3_WORDS)
    mcuq_dw3_line(r0, r1, r2, tab, c + j, p, out);
#endif
}

/* The image's columns in a ring row of `width` padded pixels (depthwise modes 3 and 4): slots
 * [x0, x0 + cols); the others are padding. */
static inline void mcuq_ring_cols(const mcuq_conv_params_t *p, int32_t width, int32_t *x0,
                                  int32_t *cols) {
  const int32_t pad_w = p->pad_w;
  *x0 = pad_w < width ? pad_w : width;
  *cols = (pad_w + p->in_w < width ? pad_w + p->in_w : width) - *x0;
}

/* input and output may be the same bytes (mcuq_depthwise_planar_inplace): no restrict.
 * Groups of g = k_padded blocks (conv.py: planar_group, as many as the ring holds): per group
 * and output row, the new input rows of the group's channels are unpacked, then the group's
 * channels of the output row computed (one assembly call without exotic channels). */
static void mcuq_depthwise_planar(const mcuq_conv_params_t *p, const int8_t *input,
                                  const int8_t *restrict table, int8_t *output) {
  const int32_t ch = p->out_c, out_h = p->out_h, out_w = p->out_w, sh = p->stride_h;
  const int32_t width = (out_w - 1) * p->stride_w + 3;
  const int32_t plane = ((width + 4) >> 1) * 4, block = 4 * plane;
  const int32_t g = p->k_padded > 0 ? p->k_padded : 1, row = g * block;
  uint32_t ring[MCUQ_DW_PLANAR_BUF / 4];
  uint8_t *const base = (uint8_t *)ring;
  const uint32_t z2 = (uint32_t)(uint16_t)(int16_t)p->input_zero_point * 0x10001u;
  /* the image's columns in the padded row: slots [x0, x0 + cols), always written by
   * mcuq_dw3_row; the others (padding, the 3 slots past W) hold the zero point from here on */
  const int32_t in_c = p->in_c, row_in = p->in_w * in_c;
  int32_t x0, cols;
  mcuq_ring_cols(p, width, &x0, &cols);
  for (int32_t r = 0; r < 12 * g; ++r) {
    uint8_t *d = base + r * plane;
    for (int32_t x = 0; x < x0; ++x) memcpy(d + 2 * x, &z2, 2);
    for (int32_t x = x0 + cols; x < plane / 2; ++x) memcpy(d + 2 * x, &z2, 2);
  }
  mcuq_dw3_ctx_t ctx;
  ctx.lone = out_w & 1;
  ctx.pairs = out_w >> 1;
  if (ctx.lone && p->stride_w == 1 && out_w >= 3) { /* the last 3 pixels in one pass */
    ctx.lone = -1;
    ctx.pairs -= 1;
  }
  ctx.drow = plane - ctx.pairs * 4 * p->stride_w;
  ctx.dout = 1 - 2 * ctx.pairs * ch;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in_b = input + b * p->in_h * p->in_w * ch;
    int8_t *out_b = output + b * out_h * out_w * ch;
    for (int32_t c = 0; c < ch; c += 4 * g) {
      const int32_t n = ch - c < 4 * g ? (ch - c) >> 2 : g; /* blocks in this group */
      const int32_t *tab = (const int32_t *)(const void *)table + c * MCUQ_DW3_WORDS;
      ctx.end = tab + 4 * n * MCUQ_DW3_WORDS;
      int exotic = 0;
      for (int32_t k = 0; k < 4 * n; ++k) exotic |= tab[k * MCUQ_DW3_WORDS + 3] < 0;
      /* q0, q1, q2: the ring rows of padded rows top .. top + 2 once built; padded row
       * `next` (input row next - pad_h) is built over the oldest, q0, then the three rotate */
      uint8_t *q0 = base, *q1 = base + row, *q2 = base + 2 * row;
      const int8_t *src = in_b + c - p->pad_h * row_in; /* input row 0 at next == pad_h */
      int8_t *out = out_b + c;
      for (int32_t oy = 0, top = 0, next = 0; oy < out_h; ++oy, top += sh, out += out_w * ch) {
        if (next < top) next = top; /* rows skipped by a stride larger than 3 */
        for (; next < top + 3; ++next) {
          const int32_t iy = next - p->pad_h;
          const int8_t *s = iy >= 0 && iy < p->in_h ? src + next * row_in : 0;
          for (int32_t k = 0; k < n; ++k)
            mcuq_dw3_row(s ? s + 4 * k : 0, in_c, cols, q0 + k * block + 2 * x0, plane, z2);
          uint8_t *const t = q0;
          q0 = q1;
          q1 = q2;
          q2 = t;
        }
#if MCUQ_ASM
        if (!exotic) {
          mcuq_dw3_block_row(p, tab, q0, q1, q2, plane, out, c, &ctx);
          continue;
        }
#endif
        for (int32_t k = 0; k < n; ++k)
          mcuq_dw3_block_row(p, tab + 4 * k * MCUQ_DW3_WORDS, q0 + k * block, q1 + k * block,
                             q2 + k * block, plane, out + 4 * k, c + 4 * k, 0);
      }
    }
  }
}

/* -- mode 4: depth multiplier 1, a multiple of 4 channels, 3x3 without dilation, stride_w 2:
 * pixel by pixel over input rows unpacked once. Per group of g = k_padded blocks of 4
 * channels a ring of 3 rows; each row holds per block the padded width W = 2 * out_w + 1
 * pixels as two words (c0, c2), (c1, c3) of int16 (SXTB16 of the pixel's 4 bytes; padding:
 * the zero point), so that an output pixel's 9 taps are LDRDs at fixed offsets (16 bytes per
 * output pixel) against the block's stream (conv.py: s2_stream, MCUQ_DW4_WORDS words:
 * bias, 9 x 2 weight words as mode 1's, mcuq_rq's 12 words, cap4, lo4, out_c, 0): no tap
 * table and no repacking of pixel pairs (stride 2 reads each input pixel for 2.25 taps). */
#define MCUQ_DW4_WORDS 38

/* n input pixels from s (in_c bytes apart) into the ring row at d, or the zero point (s NULL) */
static inline void mcuq_dw4_row(const int8_t *s, int32_t in_c, int32_t n, uint8_t *d,
                                uint32_t z2) {
  if (!s) {
    for (int32_t k = 0; k < n; ++k, d += 8) {
      memcpy(d, &z2, 4);
      memcpy(d + 4, &z2, 4);
    }
    return;
  }
#if MCUQ_ASM
  /* pairs of pixels: 12 instructions (GCC: 18) */
  if (n >= 2) {
    uint32_t x, y, e, f;
    int32_t k = n >> 1;
    __asm__ volatile("1:\n\t"
                     "ldr %[x], [%[s]]\n\t"
                     "ldr %[y], [%[s], %[in_c]]\n\t"
                     "add %[s], %[s], %[in_c], lsl #1\n\t"
                     "sxtb16 %[e], %[x]\n\t"
                     "sxtb16 %[f], %[x], ror #8\n\t"
                     "strd %[e], %[f], [%[d]], #16\n\t"
                     "sxtb16 %[e], %[y]\n\t"
                     "sxtb16 %[f], %[y], ror #8\n\t"
                     "strd %[e], %[f], [%[d], #-8]\n\t"
                     "subs %[k], %[k], #1\n\t"
                     "bne 1b\n\t"
                     : [s] "+r"(s), [d] "+r"(d), [k] "+r"(k), [x] "=&r"(x), [y] "=&r"(y),
                       [e] "=&r"(e), [f] "=&r"(f)
                     : [in_c] "r"(in_c)
                     : "cc", "memory");
    n &= 1;
  }
#endif
  for (int32_t k = 0; k < n; ++k, s += in_c, d += 8) {
    const uint32_t x = mcuq_load4(s), e = mcuq_sxtb16(x), o = mcuq_sxtb16_ror8(x);
    memcpy(d, &e, 4);
    memcpy(d + 4, &o, 4);
  }
}

/* One block's output row in C (hosts; blocks with exotic channels): rows r0..r2 of the block,
 * w its stream. */
static void mcuq_dw4_line(const mcuq_conv_params_t *p, const uint32_t *w, const uint8_t *r0,
                          const uint8_t *r1, const uint8_t *r2, int8_t *out, int32_t c) {
  const int32_t *const bb = (const int32_t *)(const void *)w, *const rq = bb + 22;
  const uint8_t *rows[3] = {r0, r1, r2};
  const int exotic = (rq[2] | rq[5] | rq[8] | rq[11]) < 0;
  for (int32_t ox = 0; ox < p->out_w; ++ox, out += p->out_c) {
    int32_t a0 = bb[0], a1 = bb[1], a2 = bb[2], a3 = bb[3];
    for (int32_t ky = 0; ky < 3; ++ky) {
      const uint8_t *x = rows[ky] + 16 * ox;
      for (int32_t kx = 0; kx < 3; ++kx) {
        uint32_t e, o;
        memcpy(&e, x + 8 * kx, 4);
        memcpy(&o, x + 8 * kx + 4, 4);
        const uint32_t *wt = w + 4 + 2 * (3 * ky + kx);
        a0 = mcuq_smlabb(e, wt[0], a0);
        a2 = mcuq_smlatt(e, wt[0], a2);
        a1 = mcuq_smlabb(o, wt[1], a1);
        a3 = mcuq_smlatt(o, wt[1], a3);
      }
    }
    if (exotic) {
      const int32_t a[4] = {a0, a1, a2, a3};
      for (int32_t j = 0; j < 4; ++j) out[j] = mcuq_conv_one(a[j], rq + 3 * j, c + j, p);
    } else {
      mcuq_store4(out, mcuq_rq4(a0, a1, a2, a3, rq, w[34], w[35]));
    }
  }
}

#if MCUQ_RQ_ASM
/* One block's output row on Cortex-M4 (no exotic channel): per pixel the bias, 9 taps of
 * LDRD pixel + LDRD weights + 4 multiplies, mcuq_rq4's requantization and packed clamp, one
 * word store: about 102 instructions for 36 MACs. */
#define MCUQ_DW4_TAP(R, XOFF, WOFF)                                                          \
  "ldrd %[s], %[t], [%[" R "], #" XOFF "]\n\t"                                                \
  "ldrd %[m], %[h], [%[w], #" WOFF "]\n\t"                                                    \
  "smlabb %[a0], %[s], %[m], %[a0]\n\t"                                                      \
  "smlatt %[a2], %[s], %[m], %[a2]\n\t"                                                      \
  "smlabb %[a1], %[t], %[h], %[a1]\n\t"                                                      \
  "smlatt %[a3], %[t], %[h], %[a3]\n\t"
#define MCUQ_DW4_RQ(A, OFF)                                                                  \
  "ldrd %[m], %[h], [%[w], #" OFF "]\n\t"                                                     \
  "ldr %[s], [%[w], #" OFF "+8]\n\t"                                                          \
  MCUQ_RQ_ASM_ADDEND(A)                                                                      \
  "smlal %[t], %[h], %[" A "], %[m]\n\t"                                                      \
  "asr %[h], %[h], %[s]\n\t"                                                                  \
  "usat %[" A "], #8, %[h]\n\t"

static inline void mcuq_dw4_row_asm(const uint32_t *w, const uint8_t *r0, const uint8_t *r1,
                                    const uint8_t *r2, int8_t *out, int32_t n) {
  int32_t a0, a1, a2, a3;
  uint32_t m, h, s, t;
  __asm__ volatile("1:\n\t"
                   "ldrd %[a0], %[a1], [%[w]]\n\t"
                   "ldrd %[a2], %[a3], [%[w], #8]\n\t"
                   MCUQ_DW4_TAP("r0", "0", "16") MCUQ_DW4_TAP("r0", "8", "24")
                   MCUQ_DW4_TAP("r0", "16", "32") MCUQ_DW4_TAP("r1", "0", "40")
                   MCUQ_DW4_TAP("r1", "8", "48") MCUQ_DW4_TAP("r1", "16", "56")
                   MCUQ_DW4_TAP("r2", "0", "64") MCUQ_DW4_TAP("r2", "8", "72")
                   MCUQ_DW4_TAP("r2", "16", "80")
                   MCUQ_DW4_RQ("a0", "88")
                   MCUQ_DW4_RQ("a1", "100") "orr %[a0], %[a0], %[a1], lsl #8\n\t"
                   MCUQ_DW4_RQ("a2", "112") "orr %[a0], %[a0], %[a2], lsl #16\n\t"
                   MCUQ_DW4_RQ("a3", "124") "orr %[a0], %[a0], %[a3], lsl #24\n\t"
                   "ldrd %[m], %[h], [%[w], #136]\n\t"
                   "usub8 %[t], %[a0], %[m]\n\t"
                   "sel %[a0], %[m], %[a0]\n\t"
                   "uadd8 %[a0], %[a0], %[h]\n\t"
                   "str %[a0], [%[out]]\n\t"
                   "ldr %[t], [%[w], #144]\n\t"
                   "add %[out], %[out], %[t]\n\t"
                   "add %[r0], %[r0], #16\n\t"
                   "add %[r1], %[r1], #16\n\t"
                   "add %[r2], %[r2], #16\n\t"
                   "subs %[n], %[n], #1\n\t"
                   "bne 1b\n\t"
                   : [r0] "+r"(r0), [r1] "+r"(r1), [r2] "+r"(r2), [out] "+r"(out), [n] "+r"(n),
                     [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3),
                     [m] "=&r"(m), [h] "=&r"(h), [s] "=&r"(s), [t] "=&r"(t)
                   : [w] "r"(w)
                   : "cc", "memory");
}
#undef MCUQ_DW4_RQ
#undef MCUQ_DW4_TAP
#endif

/* input and output may be the same bytes (mcuq_depthwise_planar_inplace): no restrict */
static void mcuq_depthwise_s2(const mcuq_conv_params_t *p, const int8_t *input,
                              const int8_t *restrict stream, int8_t *output) {
  const int32_t ch = p->out_c, out_h = p->out_h, out_w = p->out_w, sh = p->stride_h;
  const int32_t width = 2 * out_w + 1, block = 8 * width;
  const int32_t g = p->k_padded > 0 ? p->k_padded : 1, row = g * block;
  uint32_t ring[MCUQ_DW_PLANAR_BUF / 4];
  uint8_t *const base = (uint8_t *)ring;
  const uint32_t z2 = (uint32_t)(uint16_t)(int16_t)p->input_zero_point * 0x10001u;
  const int32_t in_c = p->in_c, row_in = p->in_w * in_c;
  /* the image's columns: slots [x0, x0 + cols) of every row, written by mcuq_dw4_row; the
   * others (padding) hold the zero point from here on */
  int32_t x0, cols;
  mcuq_ring_cols(p, width, &x0, &cols);
  for (int32_t r = 0; r < 3 * g; ++r) {
    uint8_t *d = base + r * block;
    mcuq_dw4_row(0, 0, x0, d, z2);
    mcuq_dw4_row(0, 0, width - x0 - cols, d + 8 * (x0 + cols), z2);
  }
  const uint32_t *const words = (const uint32_t *)(const void *)stream;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in_b = input + b * p->in_h * p->in_w * ch;
    int8_t *out_b = output + b * out_h * out_w * ch;
    for (int32_t c = 0; c < ch; c += 4 * g) {
      const int32_t n = ch - c < 4 * g ? (ch - c) >> 2 : g; /* blocks in this group */
      const uint32_t *const w0 = words + (c >> 2) * MCUQ_DW4_WORDS;
      uint8_t *q0 = base, *q1 = base + row, *q2 = base + 2 * row;
      const int8_t *src = in_b + c - p->pad_h * row_in; /* input row 0 at next == pad_h */
      int8_t *out = out_b + c;
      for (int32_t oy = 0, top = 0, next = 0; oy < out_h; ++oy, top += sh, out += out_w * ch) {
        if (next < top) next = top; /* rows skipped by a stride larger than 3 */
        for (; next < top + 3; ++next) {
          const int32_t iy = next - p->pad_h;
          const int8_t *s = iy >= 0 && iy < p->in_h ? src + next * row_in : 0;
          for (int32_t k = 0; k < n; ++k)
            mcuq_dw4_row(s ? s + 4 * k : 0, in_c, cols, q0 + k * block + 8 * x0, z2);
          uint8_t *const t = q0;
          q0 = q1;
          q1 = q2;
          q2 = t;
        }
        for (int32_t k = 0; k < n; ++k) {
          const uint32_t *const w = w0 + k * MCUQ_DW4_WORDS;
          const int32_t *const rq = (const int32_t *)(const void *)w + 22;
#if MCUQ_RQ_ASM
          if ((rq[2] | rq[5] | rq[8] | rq[11]) >= 0) {
            mcuq_dw4_row_asm(w, q0 + k * block, q1 + k * block, q2 + k * block, out + 4 * k,
                             out_w);
            continue;
          }
#else
          (void)rq;
#endif
          mcuq_dw4_line(p, w, q0 + k * block, q1 + k * block, q2 + k * block, out + 4 * k,
                        c + 4 * k);
        }
      }
    }
  }
}

/* Mode 3 in place: block by block, output row oy of channels c .. c + 3 is written after the
 * input rows it reads are unpacked into the ring, over bytes of the same 4 channels whose input
 * rows are unpacked already or never read (proven per layer at generation time: the arena
 * plan's check_reads replays this order byte by byte; mcuq/codegen/c_ops/planar_inplace.py). */
void mcuq_depthwise_planar_inplace(const mcuq_conv_params_t *p, int8_t *data,
                                   const int8_t *restrict table) {
  if (p->mode == 4) {
    mcuq_depthwise_s2(p, data, table, data);
  } else {
    mcuq_depthwise_planar(p, data, table, data);
  }
}

#endif

/* Any depth multiplier, filter size and shift (mode 0). */
MCUQ_NOINLINE static void mcuq_depthwise_generic(const mcuq_conv_params_t *p,
                                                 const int8_t *restrict input,
                                                 const int8_t *restrict weights,
                                                 const int32_t *restrict bias,
                                                 int8_t *restrict output) {
  const int32_t in_h = p->in_h, in_w = p->in_w, in_c = p->in_c;
  const int32_t out_c = p->out_c, k_h = p->k_h, k_w = p->k_w;
  const int32_t m = p->depth_multiplier;
  const int32_t zp = p->input_zero_point;
  const uint32_t uzp = (uint32_t)zp;
  uint32_t acc[MCUQ_DW_BLOCK]; /* modulo 2^32, as TFLM's int32 accumulators wrap */
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in_b = input + b * in_h * in_w * in_c;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        int8_t *out = output + ((b * p->out_h + oy) * p->out_w + ox) * out_c;
        for (int32_t o0 = 0; o0 < out_c; o0 += MCUQ_DW_BLOCK) {
          const int32_t n = out_c - o0 < MCUQ_DW_BLOCK ? out_c - o0 : MCUQ_DW_BLOCK;
          for (int32_t j = 0; j < n; ++j) acc[j] = (uint32_t)bias[o0 + j];
          for (int32_t ky = 0; ky < k_h; ++ky) {
            const int32_t iy = iy0 + ky * p->dil_h;
            const int row_inside = iy >= 0 && iy < in_h;
            for (int32_t kx = 0; kx < k_w; ++kx) {
              const int32_t ix = ix0 + kx * p->dil_w;
              const int8_t *wt = weights + (ky * k_w + kx) * out_c + o0;
              if (row_inside && ix >= 0 && ix < in_w) {
                const int8_t *x = in_b + (iy * in_w + ix) * in_c;
                if (m == 1) {
                  x += o0;
                  for (int32_t j = 0; j < n; ++j)
                    acc[j] += (uint32_t)((int32_t)x[j] * (int32_t)wt[j]);
                } else {
                  for (int32_t j = 0; j < n; ++j)
                    acc[j] += (uint32_t)((int32_t)x[(o0 + j) / m] * (int32_t)wt[j]);
                }
              } else { /* padding: reads the zero point (cancels the folded offset) */
                for (int32_t j = 0; j < n; ++j) acc[j] += uzp * (uint32_t)(int32_t)wt[j];
              }
            }
          }
          for (int32_t j = 0; j < n; ++j)
            out[o0 + j] =
                mcuq_conv_out((int32_t)acc[j], p->multiplier[o0 + j], p->shift[o0 + j], p);
        }
      }
    }
  }
}

void mcuq_depthwise_conv_s8(const mcuq_conv_params_t *p, const int8_t *restrict input,
                            const int8_t *restrict weights, const int32_t *restrict bias,
                            int8_t *restrict output) {
  if (p->mode == 1) {
    mcuq_depthwise_px(p, input, weights, bias, output);
  } else if (p->mode == 2) {
    mcuq_depthwise_rows(p, input, weights, bias, output);
#if MCUQ_DW_PLANAR_BUF > 4
  } else if (p->mode == 3) {
    (void)bias; /* in the table */
    mcuq_depthwise_planar(p, input, weights, output);
  } else if (p->mode == 4) {
    (void)bias; /* in the stream */
    mcuq_depthwise_s2(p, input, weights, output);
#endif
  } else {
    mcuq_depthwise_generic(p, input, weights, bias, output);
  }
}
