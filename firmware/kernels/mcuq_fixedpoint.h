/* Fixed-point arithmetic with TensorFlow Lite Micro's semantics: double rounding (the default
 * build) or, with MCUQ_SINGLE_ROUNDING 1 (`mcuq generate --target c --rounding single` writes
 * it into the project's generated mcuq_config.h; a -DMCUQ_SINGLE_ROUNDING=0|1 on the command
 * line takes precedence), single rounding as TFLite Micro's TFLITE_SINGLE_ROUNDING build and
 * CMSIS-NN's CMSIS_NN_USE_SINGLE_ROUNDING: every requantization below (mcuq_mbqm*,
 * mcuq_requant_rshift) rounds the 64-bit product once, ties toward +inf.
 * Mirrors mcuq/reference/fixedpoint.py function by function; the tests prove they agree.
 * C99, no libm. Signed right shifts are arithmetic (true for GCC and every Cortex-M compiler;
 * checked at compile time below). Shifts of negative values are done on uint32_t so that
 * -fsanitize=undefined stays quiet while producing the two's-complement result TFLM gets. */
#ifndef MCUQ_FIXEDPOINT_H
#define MCUQ_FIXEDPOINT_H

#include <stdint.h>

#include <string.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define MCUQ_DSP 1
#else
#define MCUQ_DSP 0
#endif

/* Hand-scheduled Cortex-M assembly in the hottest loops (the C beside it is the same arithmetic
 * and is what the host builds run): GCC, Thumb-2 with DSP, and an optimizing build -- at -O0
 * GCC has too few free registers for the operands. -DMCUQ_NO_ASM turns it off, e.g. for a build
 * that keeps the frame pointer (-fno-omit-frame-pointer takes r7 away). */
#if MCUQ_DSP && defined(__GNUC__) && defined(__thumb2__) && defined(__OPTIMIZE__) && \
    !defined(MCUQ_NO_ASM)
#define MCUQ_ASM 1
#else
#define MCUQ_ASM 0
#endif

/* A whole function in assembly (a file-scope __asm__ of MCUQ_ASM builds): its own section, Thumb-2
 * state and global symbol, then its body, then MCUQ_ASM_FUNC_END (the symbol's size). */
#define MCUQ_ASM_FUNC_BEGIN(NAME)                                                              \
  "\t.pushsection .text." #NAME ",\"ax\",%progbits\n\t.syntax unified\n\t.thumb\n\t"         \
  ".balign 4\n\t.global " #NAME "\n\t.type " #NAME ", %function\n\t.thumb_func\n" #NAME ":\n\t"
#define MCUQ_ASM_FUNC_END(NAME) ".size " #NAME ", .-" #NAME "\n\t.popsection\n"

/* -- packed int8/int16 helpers: Cortex-M DSP instructions, portable C elsewhere ----------- */

/* 4 bytes from any address, little-endian (unaligned LDR on Cortex-M4). */
static inline uint32_t mcuq_load4(const int8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

static inline void mcuq_store4(int8_t *p, uint32_t v) { memcpy(p, &v, 4); }

/* The low 2 bytes of v, little-endian (unaligned STRH on Cortex-M4). */
static inline void mcuq_store2(int8_t *p, uint32_t v) {
  const uint16_t h = (uint16_t)v;
  memcpy(p, &h, 2);
}

/* bytes 0 and 2 sign-extended into the low and high halfwords (SXTB16). */
static inline uint32_t mcuq_sxtb16(uint32_t x) {
#if MCUQ_DSP
  return (uint32_t)__sxtb16((int32_t)x);
#else
  return ((uint32_t)(int32_t)(int8_t)(x & 0xffu) & 0xffffu) |
         ((uint32_t)(int32_t)(int8_t)((x >> 16) & 0xffu) << 16);
#endif
}

/* bytes 1 and 3 sign-extended into the low and high halfwords (SXTB16 with ROR #8). */
static inline uint32_t mcuq_sxtb16_ror8(uint32_t x) {
#if MCUQ_DSP && defined(__GNUC__)
  uint32_t r; /* GCC's ACLE has no rotated form; one instruction instead of ROR + SXTB16 */
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
  return r;
#else
  return mcuq_sxtb16((x >> 8) | (x << 24));
#endif
}

/* acc + lo(a) * lo(b) + hi(a) * hi(b), halfwords signed, wrapping like SMLAD. */
static inline int32_t mcuq_smlad(uint32_t a, uint32_t b, int32_t acc) {
#if MCUQ_DSP
  return __smlad((int32_t)a, (int32_t)b, acc);
#else
  const int32_t lo = (int32_t)(int16_t)(a & 0xffffu) * (int32_t)(int16_t)(b & 0xffffu);
  const int32_t hi = (int32_t)(int16_t)(a >> 16) * (int32_t)(int16_t)(b >> 16);
  return (int32_t)((uint32_t)acc + (uint32_t)lo + (uint32_t)hi);
#endif
}

/* acc + lo(a) * lo(b) (SMLABB) and acc + hi(a) * hi(b) (SMLATT), wrapping. */
static inline int32_t mcuq_smlabb(uint32_t a, uint32_t b, int32_t acc) {
#if MCUQ_DSP
  return __smlabb((int32_t)a, (int32_t)b, acc);
#else
  const int32_t lo = (int32_t)(int16_t)(a & 0xffffu) * (int32_t)(int16_t)(b & 0xffffu);
  return (int32_t)((uint32_t)acc + (uint32_t)lo);
#endif
}

/* acc + lo(a) * hi(b) (SMLABT), wrapping. */
static inline int32_t mcuq_smlabt(uint32_t a, uint32_t b, int32_t acc) {
#if MCUQ_DSP
  return __smlabt((int32_t)a, (int32_t)b, acc);
#else
  const int32_t p = (int32_t)(int16_t)(a & 0xffffu) * (int32_t)(int16_t)(b >> 16);
  return (int32_t)((uint32_t)acc + (uint32_t)p);
#endif
}

/* acc + hi(a) * lo(b) (SMLATB), wrapping. */
static inline int32_t mcuq_smlatb(uint32_t a, uint32_t b, int32_t acc) {
#if MCUQ_DSP
  return __smlatb((int32_t)a, (int32_t)b, acc);
#else
  const int32_t p = (int32_t)(int16_t)(a >> 16) * (int32_t)(int16_t)(b & 0xffffu);
  return (int32_t)((uint32_t)acc + (uint32_t)p);
#endif
}

static inline int32_t mcuq_smlatt(uint32_t a, uint32_t b, int32_t acc) {
#if MCUQ_DSP
  return __smlatt((int32_t)a, (int32_t)b, acc);
#else
  const int32_t hi = (int32_t)(int16_t)(a >> 16) * (int32_t)(int16_t)(b >> 16);
  return (int32_t)((uint32_t)acc + (uint32_t)hi);
#endif
}

/* halfwise signed max of 2 packed int16 (SSUB16 + SEL). */
static inline uint32_t mcuq_max_s16x2(uint32_t a, uint32_t b) {
#if MCUQ_DSP
  (void)__ssub16((int32_t)a, (int32_t)b);
  return __sel(a, b);
#else
  const int16_t a0 = (int16_t)(a & 0xffffu), b0 = (int16_t)(b & 0xffffu);
  const int16_t a1 = (int16_t)(a >> 16), b1 = (int16_t)(b >> 16);
  return (uint32_t)(uint16_t)(a0 > b0 ? a0 : b0) |
         ((uint32_t)(uint16_t)(a1 > b1 ? a1 : b1) << 16);
#endif
}

/* halfwise signed min of 2 packed int16. */
static inline uint32_t mcuq_min_s16x2(uint32_t a, uint32_t b) {
#if MCUQ_DSP
  (void)__ssub16((int32_t)a, (int32_t)b);
  return __sel(b, a);
#else
  const int16_t a0 = (int16_t)(a & 0xffffu), b0 = (int16_t)(b & 0xffffu);
  const int16_t a1 = (int16_t)(a >> 16), b1 = (int16_t)(b >> 16);
  return (uint32_t)(uint16_t)(a0 < b0 ? a0 : b0) |
         ((uint32_t)(uint16_t)(a1 < b1 ? a1 : b1) << 16);
#endif
}

/* bytewise signed max of 4 packed int8 (SSUB8 + SEL). */
static inline uint32_t mcuq_max_s8x4(uint32_t a, uint32_t b) {
#if MCUQ_DSP
  (void)__ssub8((int32_t)a, (int32_t)b);
  return __sel(a, b);
#else
  uint32_t r = 0;
  for (int i = 0; i < 32; i += 8) {
    const int8_t x = (int8_t)((a >> i) & 0xffu), y = (int8_t)((b >> i) & 0xffu);
    r |= (uint32_t)(uint8_t)(x > y ? x : y) << i;
  }
  return r;
#endif
}

/* bytewise signed min of 4 packed int8. */
static inline uint32_t mcuq_min_s8x4(uint32_t a, uint32_t b) {
#if MCUQ_DSP
  (void)__ssub8((int32_t)a, (int32_t)b);
  return __sel(b, a);
#else
  uint32_t r = 0;
  for (int i = 0; i < 32; i += 8) {
    const int8_t x = (int8_t)((a >> i) & 0xffu), y = (int8_t)((b >> i) & 0xffu);
    r |= (uint32_t)(uint8_t)(x < y ? x : y) << i;
  }
  return r;
#endif
}

typedef char mcuq_arithmetic_shift_check[((-8) >> 1) == -4 ? 1 : -1];
typedef char mcuq_arithmetic_shift64_check[(((int64_t)-8) >> 1) == -4 ? 1 : -1];

#ifndef MCUQ_SINGLE_ROUNDING
#include "mcuq_config.h" /* generated with the project: the rounding its parameters assume */
#endif

#ifdef MCUQ_TEST_ROUNDING_FAULT
/* Test-only: a deliberate one-LSB rounding fault (double rounding: ties toward zero instead of
 * away; single rounding: ties toward -inf instead of +inf), compiled in by tests to prove that
 * verification catches a wrong kernel. */
#define MCUQ_RDBP_TIE_ADJUST(x) 0
#define MCUQ_SR_TIE_ADJUST 1
#else
#define MCUQ_RDBP_TIE_ADJUST(x) ((x) < 0 ? 1 : 0)
#define MCUQ_SR_TIE_ADJUST 0
#endif

/* (a * b + 2^30) >> 31 with a floor shift: gemmlowp's SaturatingRoundingDoublingHighMul for
 * every pair except a == b == INT32_MIN. gemmlowp adds 2^30 (ab >= 0) or 1 - 2^30 (ab < 0) and
 * divides by 2^31 truncating toward zero; for ab < 0 truncation is floor((y + 2^31 - 1) / 2^31)
 * with y = ab + 1 - 2^30, i.e. floor((ab + 2^30) / 2^31) again: one formula, no branch.
 * Precondition: b != INT32_MIN (quantized multipliers are in [0, 2^31)). */
static inline int32_t mcuq_srdhm_nonsat(int32_t a, int32_t b) {
  return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

/* gemmlowp SaturatingRoundingDoublingHighMul. */
static inline int32_t mcuq_srdhm(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  return mcuq_srdhm_nonsat(a, b);
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent rounded half away from zero, 0 <= exponent <= 31. */
static inline int32_t mcuq_rdbp(int32_t x, int32_t exponent) {
  const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + MCUQ_RDBP_TIE_ADJUST(x);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * 2^left in int32 with two's-complement wrap (what TFLM's x * (1 << left) does), for
 * 0 <= left <= 31: the emitters turn a larger shift (a real multiplier >= 2^31, where the
 * int32 product is 0) into multiplier 0 (mcuq/codegen/climits.py: c_multiplier). */
static inline int32_t mcuq_shl(int32_t x, int32_t left) {
  return (int32_t)((uint32_t)x << left);
}

/* Wrapping int32 arithmetic. TFLite Micro's int32 accumulators and offset additions wrap
 * (two's complement) as compiled; in C a signed overflow is undefined behaviour, so every
 * addition that can leave the int32 range is done on uint32_t (the same ADD instruction). */
#ifdef MCUQ_TEST_SIGNED_OVERFLOW_FAULT
/* Test-only: the plain signed addition (undefined on overflow), compiled in by tests to prove
 * that the sanitized host runner reports undefined behaviour. */
static inline int32_t mcuq_add_wrap(int32_t a, int32_t b) { return a + b; }
#else
static inline int32_t mcuq_add_wrap(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a + (uint32_t)b);
}
#endif

static inline int32_t mcuq_neg_wrap(int32_t a) { return (int32_t)(0u - (uint32_t)a); }

#if MCUQ_SINGLE_ROUNDING
/* Single-rounding MultiplyByQuantizedMultiplier (TFLITE_SINGLE_ROUNDING):
 * (x * multiplier + 2^(30 - shift)) >> (31 - shift) on the 64-bit product (|x * m| < 2^62: no
 * overflow), cast to int32 (two's complement: only a left shift can leave the range). Written
 * with 32-bit halves so that a Cortex-M4 needs one SMLAL and word shifts, never a 64-bit
 * shift by a variable amount.
 *
 * Right shifts (shift = -e, 1 <= e <= 31): the rounding constant 2^(30+e) is 2^31 in the low
 * word (e == 1) or 2^(e-2) in the high word (e >= 2), and floor(t / 2^(31+e)) is the high
 * word of t shifted right by e - 1 (floor divisions compose; the low word is below 2^32). */
static inline int32_t mcuq_sr_rshift(int32_t x, int32_t multiplier, int32_t shift) {
  const uint32_t b = 1u << (uint32_t)(-shift); /* 2^e */
  const uint64_t k = ((uint64_t)(b >> 2) << 32) | (uint64_t)((b & 2u) << 30);
  const int64_t t = (int64_t)(k - MCUQ_SR_TIE_ADJUST) + (int64_t)x * (int64_t)multiplier;
  return (int32_t)(t >> 32) >> (-shift - 1);
}

/* Any shift up to 30 (the single-rounding QuantizeMultiplier saturates larger ones; a larger
 * one -- LOGISTIC/TANH with input radius 0, never evaluated -- counts as 30). Shifts >= 0:
 * total = 31 - shift in [1, 31], a rounding constant below 2^31, and the low 32 bits of
 * t >> total from the two words. */
static inline int32_t mcuq_mbqm(int32_t x, int32_t multiplier, int32_t shift) {
  if (shift < 0) return mcuq_sr_rshift(x, multiplier, shift);
  const uint32_t total = 31u - (uint32_t)(shift > 30 ? 30 : shift);
  const int64_t round = (int64_t)((1u << (total - 1u)) - MCUQ_SR_TIE_ADJUST);
  const uint64_t t = (uint64_t)((int64_t)x * (int64_t)multiplier + round);
  const uint32_t lo = (uint32_t)t, hi = (uint32_t)(t >> 32);
  return (int32_t)((lo >> total) | (hi << (32u - total)));
}

/* The single-rounding build defines both variants as its MultiplyByQuantizedMultiplier. */
static inline int32_t mcuq_mbqm_smaller_than_one(int32_t x, int32_t multiplier, int32_t left_shift) {
  return mcuq_mbqm(x, multiplier, left_shift);
}

static inline int32_t mcuq_mbqm_greater_than_one(int32_t x, int32_t multiplier, int32_t left_shift) {
  return mcuq_mbqm(x, multiplier, left_shift);
}
#else
/* TFLM MultiplyByQuantizedMultiplier (double rounding): shift > 0 is a left shift. */
static inline int32_t mcuq_mbqm(int32_t x, int32_t multiplier, int32_t shift) {
  const int32_t left = shift > 0 ? shift : 0;
  const int32_t right = shift > 0 ? 0 : -shift;
  return mcuq_rdbp(mcuq_srdhm(mcuq_shl(x, left), multiplier), right);
}

/* MultiplyByQuantizedMultiplierSmallerThanOneExp: left_shift <= 0. */
static inline int32_t mcuq_mbqm_smaller_than_one(int32_t x, int32_t multiplier, int32_t left_shift) {
  return mcuq_rdbp(mcuq_srdhm(x, multiplier), -left_shift);
}

/* MultiplyByQuantizedMultiplierGreaterThanOne: left_shift >= 0. */
static inline int32_t mcuq_mbqm_greater_than_one(int32_t x, int32_t multiplier, int32_t left_shift) {
  return mcuq_srdhm(mcuq_shl(x, left_shift), multiplier);
}
#endif

/* mcuq_mbqm(x, multiplier, shift) for -31 <= shift <= -2 (a pure right shift by e = -shift)
 * and multiplier != INT32_MIN, from one 64-bit multiply-accumulate. With t = x * m + 2^30,
 * the gemmlowp high mul is r = floor(t / 2^31) and RoundingDivideByPOT is
 * floor((r + 2^(e-1) - [r < 0]) / 2^e); nested floors merge into
 * floor((x * m + 2^30 - [x < 0] * 2^31 + 2^(30+e)) / 2^(31+e)) ([x < 0] may stand for [r < 0]:
 * they differ only when r == 0, where both give 0), and since 2^(30+e) is a multiple of 2^32,
 * that is (hi32(x * m + 2^30 - [x < 0] * 2^31) + 2^(e-2)) >> (e - 1) (no overflow: the high
 * word is below 2^30 in magnitude). */
static inline int32_t mcuq_requant_rshift(int32_t x, int32_t multiplier, int32_t shift) {
#if MCUQ_SINGLE_ROUNDING
  /* e >= 2: the rounding constant 2^(30+e) is 2^(e-2) in the high word: one SMLAL into it,
   * then the high word shifted right by e - 1 (mcuq_sr_rshift without the e == 1 case). */
  const int32_t e1 = -shift - 1;
  const int64_t acc = (int64_t)((uint64_t)((1u << e1) >> 1) << 32) - MCUQ_SR_TIE_ADJUST;
  const int64_t t = acc + (int64_t)x * (int64_t)multiplier;
  return (int32_t)(t >> 32) >> e1;
#else
  /* The additive terms as one 64-bit accumulator for a single SMLAL: with s = -[x < 0] and
   * c = 2^(e-2), 2^30 + s * 2^31 + c * 2^32 has high word c + s and low word 2^30 + s * 2^31
   * (mod 2^32), and hi32(t) + c == hi32(t + c * 2^32). */
  const int32_t e1 = -shift - 1;
  const uint32_t s = 0u - (uint32_t)MCUQ_RDBP_TIE_ADJUST(x);
  const uint32_t c = (1u << e1) >> 1;
  const int64_t acc = (int64_t)(((uint64_t)(c + s) << 32) | (uint32_t)(0x40000000u + (s << 31)));
  const int64_t t = acc + (int64_t)x * (int64_t)multiplier;
  return (int32_t)(t >> 32) >> e1;
#endif
}

/* -- fast requantization of the conv/depthwise/fully-connected kernels ---------------------
 * One table entry per output channel, MCUQ_RQ_WORDS int32 words, made at generation time by
 * mcuq/codegen/c_ops/requant.py from TFLM's (multiplier, shift) and the layer's offsets:
 *   rq[0] = multiplier m, rq[1] = hi, rq[2] = e - 1   (e = -shift, 2 <= e <= 23)
 * with hi = 2^(e-2) + (output_offset - act_min) * 2^(e-1). mcuq_rq(acc, rq) is then
 *   mcuq_mbqm(acc, m, shift) + output_offset - act_min
 * exactly: with t = acc * m + 2^30 - [acc < 0] * 2^31, TFLM's SaturatingRoundingDoublingHighMul
 * is floor(t / 2^31) and RoundingDivideByPOT(., e) merges into floor((t + 2^(30+e)) / 2^(31+e))
 * (see mcuq_requant_rshift); adding (offset - act_min) * 2^(31+e) and splitting off the low
 * word leaves one SMLAL and one arithmetic shift. The emitter checks that the high word cannot
 * leave int32 (|hi| < 2^30 - 2^(e-2)); channels outside (shift >= -1, very small scales) take
 * the generic path. A dead channel (multiplier 0) has m = 0 and gives the clamped offset.
 * The result is clamped to [0, act_max - act_min] by mcuq_out_* below, then act_min is added
 * back: clamp(v, act_min, act_max) with v = mcuq_mbqm(acc, m, shift) + output_offset. */
#define MCUQ_RQ_WORDS 3
typedef char mcuq_rq_words_check[MCUQ_RQ_WORDS == 3 ? 1 : -1]; /* the assembly's offsets */

static inline int32_t mcuq_rq(int32_t acc, const int32_t *rq) {
#if MCUQ_SINGLE_ROUNDING
  /* Single rounding keeps the same table: floor((acc * m + 2^(30+e)) / 2^(31+e)) + offset
   * - act_min is hi32(hi * 2^32 + acc * m) >> (e - 1), since hi * 2^32 is 2^(30+e) plus the
   * folded offset times 2^(31+e); the low word of the addend is 0 and there is no sign term.
   * |hi| <= 2^30 and |acc * m| < 2^62: no overflow. */
  const int64_t t = (int64_t)rq[1] * ((int64_t)1 << 32) - MCUQ_SR_TIE_ADJUST +
                    (int64_t)acc * rq[0];
  return (int32_t)(t >> 32) >> rq[2];
#else
  /* 2^30 - [acc < 0] * 2^31 as a 64-bit addend: low word 2^30 | sign bit, high word -[acc < 0]
   * (the borrow of the low word), so that (hi + high):(low) + acc * m needs one SMLAL. */
#ifdef MCUQ_TEST_ROUNDING_FAULT
  /* Test-only (see MCUQ_RDBP_TIE_ADJUST): negative products rounded like positive ones. */
  const uint32_t lo = 0x40000000u;
  const uint32_t hi = (uint32_t)rq[1];
#else
  const uint32_t lo = ((uint32_t)acc & 0x80000000u) | 0x40000000u;
  const uint32_t hi = (uint32_t)rq[1] + (uint32_t)(acc >> 31);
#endif
  const uint64_t t = (((uint64_t)hi << 32) | lo) + (uint64_t)((int64_t)acc * rq[0]);
  return (int32_t)(uint32_t)(t >> 32) >> rq[2];
#endif
}

/* -- the packed conv's requantization (firmware/kernels/conv.c, CONV_2D modes 1 and 2) -----
 * Same shape as mcuq_rq's table (MCUQ_RQ_WORDS per channel, word 2 < 0: an exotic channel,
 * requantized by the generic arithmetic), other words, made by mcuq/codegen/c_ops/requant.py:
 * rqc_table:
 *   rq[0] = multiplier m, rq[1] = ra = 2^(e-1) + (output_offset - act_min) * 2^e, rq[2] = e
 * (e = -shift, 1 <= e <= 31; a dead channel: m = 0, e = 1). mcuq_rqc(acc, rq) is
 *   mcuq_mbqm(acc, m, shift) + output_offset - act_min
 * exactly, for accumulators with |acc| < 2^30 (the emitter bounds |bias| + 128 * sum |w| and
 * marks a channel that could exceed it exotic): with P = acc * m, mcuq_rq's derivation gives
 * TFLM's double rounding as floor(N / 2^(31+e)), N = P + 2^30 - [acc < 0] * 2^31 + 2^(30+e)
 * + (offset - act_min) * 2^(31+e) (RoundingDivideByPOT's nested floor merges for any e >= 1:
 * its threshold 2^(e-1) - 1 + [r < 0] never exceeds 2^e - 1; [acc < 0] for [r < 0]: they differ
 * only when r == 0, where both give 0). Doubling numerator and denominator,
 *   2N = (ra - [acc < 0]) * 2^32 + (2 acc) * m + 2^31,
 * so the result is SMMLAR(2 acc, m, ra - [acc < 0]) (the high word of y * 2^32 + a * m +
 * 2^31, exact) shifted right by e: per output, one add (the sign), one doubling, one SMMLAR,
 * one shift, where mcuq_rq needs three instructions for its 64-bit addend. Single rounding:
 * floor((P + 2^(30+e) + (offset - act_min) * 2^(31+e)) / 2^(31+e)) doubles into
 * SMMLA(2 acc, m, ra) >> e (no rounding term, no sign term). No overflow: |2 acc * m| < 2^62,
 * so the high word is below 2^30 in magnitude, and the emitter keeps |ra| <= 2^30 - 2. A dead
 * channel gives (ra - [acc < 0]) >> 1 = offset - act_min for either sign. Shift -1 (e = 1) is
 * in range here (not in mcuq_rq's table). */
static inline int32_t mcuq_rqc(int32_t acc, const int32_t *rq) {
  const int32_t a2 = (int32_t)((uint32_t)acc << 1); /* as the assembly: exact when |acc| < 2^30 */
#if MCUQ_SINGLE_ROUNDING
  /* the test-only fault subtracts 1 from N (2 from 2N): ties toward -inf */
  const int64_t t = (int64_t)rq[1] * ((int64_t)1 << 32) + (int64_t)a2 * rq[0] -
                    2 * MCUQ_SR_TIE_ADJUST;
#else
#ifdef MCUQ_TEST_ROUNDING_FAULT
  const int32_t y = rq[1]; /* test-only (see MCUQ_RDBP_TIE_ADJUST): no sign term */
#else
  const int32_t y = rq[1] - MCUQ_RDBP_TIE_ADJUST(acc);
#endif
  const int64_t t = (int64_t)y * ((int64_t)1 << 32) + (int64_t)a2 * rq[0] + ((int64_t)1 << 31);
#endif
  return (int32_t)(t >> 32) >> rq[2];
}

/* mcuq_rqc from the doubled accumulator a2 = 2 acc itself (the packed conv's int16 weights are
 * stored doubled): the sign of a2 stands for the sign of acc (the same when |acc| < 2^30; a dead
 * channel's result does not depend on it). */
static inline int32_t mcuq_rqc2(int32_t a2, const int32_t *rq) {
#if MCUQ_SINGLE_ROUNDING
  const int64_t t = (int64_t)rq[1] * ((int64_t)1 << 32) + (int64_t)a2 * rq[0] -
                    2 * MCUQ_SR_TIE_ADJUST;
#else
#ifdef MCUQ_TEST_ROUNDING_FAULT
  const int32_t y = rq[1];
#else
  const int32_t y = rq[1] - MCUQ_RDBP_TIE_ADJUST(a2);
#endif
  const int64_t t = (int64_t)y * ((int64_t)1 << 32) + (int64_t)a2 * rq[0] + ((int64_t)1 << 31);
#endif
  return (int32_t)(t >> 32) >> rq[2];
}

/* x clamped to [0, 255] (USAT #8). */
static inline uint32_t mcuq_usat8(int32_t x) {
#if MCUQ_DSP
  return (uint32_t)__usat(x, 8);
#else
  return x < 0 ? 0u : (x > 255 ? 255u : (uint32_t)x);
#endif
}

/* Output bytes from packed usat8 values: per byte min(b, cap) + lo (mod 256), cap4 and lo4 the
 * layer's (act_max - act_min) and act_min repeated in every byte (USUB8 + SEL + UADD8). */
static inline uint32_t mcuq_out_bytes(uint32_t v, uint32_t cap4, uint32_t lo4) {
#if MCUQ_DSP
  (void)__usub8(v, cap4);
  return __uadd8(__sel(cap4, v), lo4);
#else
  uint32_t r = 0;
  for (int i = 0; i < 32; i += 8) {
    const uint32_t b = (v >> i) & 0xffu, c = (cap4 >> i) & 0xffu;
    r |= (((b < c ? b : c) + ((lo4 >> i) & 0xffu)) & 0xffu) << i;
  }
  return r;
#endif
}

/* One output byte: clamp(v, 0, cap) + lo, v from mcuq_rq. */
static inline int8_t mcuq_out_byte(int32_t v, int32_t cap, int32_t lo) {
  const uint32_t u = mcuq_usat8(v);
  return (int8_t)(uint8_t)((u < (uint32_t)cap ? u : (uint32_t)cap) + (uint32_t)lo);
}

static inline uint32_t mcuq_rep4(int32_t byte) { return (uint32_t)(uint8_t)byte * 0x01010101u; }

/* Whether the requantization helpers below run as Cortex-M assembly: the same instructions as
 * the C of mcuq_rq, scheduled by hand (GCC reloads the layer constants from the stack), in
 * either rounding (MCUQ_RQ_ASM_ADDEND below is mcuq_rq's 64-bit addend; MCUQ_ASM: optimizing
 * GCC builds for Thumb-2 with DSP). */
#if MCUQ_ASM
#define MCUQ_RQ_ASM 1
#else
#define MCUQ_RQ_ASM 0
#endif

#if MCUQ_RQ_ASM
#if MCUQ_SINGLE_ROUNDING && MCUQ_SR_TIE_ADJUST
/* the test-only rounding fault: the addend hi:0 minus 1 */
#define MCUQ_RQ_ASM_ADDEND(A) "mvn %[t], #0\n\t" "sub %[h], %[h], #1\n\t"
#elif MCUQ_SINGLE_ROUNDING
/* single rounding: the addend is hi:0 (two instructions fewer per channel) */
#define MCUQ_RQ_ASM_ADDEND(A) "mov %[t], #0\n\t"
#elif defined(MCUQ_TEST_ROUNDING_FAULT)
/* the test-only double-rounding fault: no sign term (as mcuq_rq's C) */
#define MCUQ_RQ_ASM_ADDEND(A) "mov %[t], #0x40000000\n\t"
#else
/* double rounding: low word 2^30 | sign bit of acc, high word hi - [acc < 0] */
#define MCUQ_RQ_ASM_ADDEND(A)                                                                \
  "and %[t], %[" A "], #0x80000000\n\t"                                                      \
  "orr %[t], %[t], #0x40000000\n\t"                                                          \
  "add %[h], %[h], %[" A "], asr #31\n\t"
#endif
/* One channel of mcuq_rq + USAT #8: acc in register A, entry at byte offset OFF of rq. */
#define MCUQ_RQ_ASM_ONE(A, OFF, DEST)                                                        \
  "ldrd %[m], %[h], [%[rq], #" OFF "]\n\t"                                                   \
  "ldr %[s], [%[rq], #" OFF "+8]\n\t"                                                        \
  MCUQ_RQ_ASM_ADDEND(A)                                                                      \
  "smlal %[t], %[h], %[" A "], %[m]\n\t"                                                     \
  "asr %[h], %[h], %[s]\n\t"                                                                 \
  "usat %[" DEST "], #8, %[h]\n\t"
#endif

/* Four consecutive channels' output bytes (table entries rq[0 .. 4 * MCUQ_RQ_WORDS)). */
static inline uint32_t mcuq_rq4(int32_t a0, int32_t a1, int32_t a2, int32_t a3,
                                const int32_t *rq, uint32_t cap4, uint32_t lo4) {
#if MCUQ_RQ_ASM
  uint32_t v, m, h, s, t;
  __asm__(MCUQ_RQ_ASM_ONE("a0", "0", "v")
          MCUQ_RQ_ASM_ONE("a1", "12", "h") "orr %[v], %[v], %[h], lsl #8\n\t"
          MCUQ_RQ_ASM_ONE("a2", "24", "h") "orr %[v], %[v], %[h], lsl #16\n\t"
          MCUQ_RQ_ASM_ONE("a3", "36", "h") "orr %[v], %[v], %[h], lsl #24\n\t"
          "usub8 %[t], %[v], %[cap4]\n\t"
          "sel %[v], %[cap4], %[v]\n\t"
          "uadd8 %[v], %[v], %[lo4]\n\t"
          : [v] "=&r"(v), [m] "=&r"(m), [h] "=&r"(h), [s] "=&r"(s), [t] "=&r"(t)
          : [a0] "r"(a0), [a1] "r"(a1), [a2] "r"(a2), [a3] "r"(a3), [rq] "r"(rq),
            [cap4] "r"(cap4), [lo4] "r"(lo4), "m"(*(const int32_t(*)[12])rq)
          : "cc");
  return v;
#else
  const uint32_t v = mcuq_usat8(mcuq_rq(a0, rq)) |
                     (mcuq_usat8(mcuq_rq(a1, rq + MCUQ_RQ_WORDS)) << 8) |
                     (mcuq_usat8(mcuq_rq(a2, rq + 2 * MCUQ_RQ_WORDS)) << 16) |
                     (mcuq_usat8(mcuq_rq(a3, rq + 3 * MCUQ_RQ_WORDS)) << 24);
  return mcuq_out_bytes(v, cap4, lo4);
#endif
}

static inline int32_t mcuq_clamp(int32_t x, int32_t lo, int32_t hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

#endif /* MCUQ_FIXEDPOINT_H */
