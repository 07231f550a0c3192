/* Fixed-point arithmetic with TensorFlow Lite Micro's default semantics (double rounding).
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

/* -- packed int8/int16 helpers: Cortex-M DSP instructions, portable C elsewhere ----------- */

/* 4 bytes from any address, little-endian (unaligned LDR on Cortex-M4). */
static inline uint32_t mcuq_load4(const int8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

static inline void mcuq_store4(int8_t *p, uint32_t v) { memcpy(p, &v, 4); }

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

static inline int32_t mcuq_smlatt(uint32_t a, uint32_t b, int32_t acc) {
#if MCUQ_DSP
  return __smlatt((int32_t)a, (int32_t)b, acc);
#else
  const int32_t hi = (int32_t)(int16_t)(a >> 16) * (int32_t)(int16_t)(b >> 16);
  return (int32_t)((uint32_t)acc + (uint32_t)hi);
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

#ifdef MCUQ_TEST_ROUNDING_FAULT
/* Test-only: a deliberate one-LSB rounding fault (ties toward zero instead of away),
 * compiled in by tests to prove that verification catches a wrong kernel. */
#define MCUQ_RDBP_TIE_ADJUST(x) 0
#else
#define MCUQ_RDBP_TIE_ADJUST(x) ((x) < 0 ? 1 : 0)
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

/* mcuq_mbqm(x, multiplier, shift) for -31 <= shift <= -2 (a pure right shift by e = -shift)
 * and multiplier != INT32_MIN, from one 64-bit multiply-accumulate. With t = x * m + 2^30,
 * the gemmlowp high mul is r = floor(t / 2^31) and RoundingDivideByPOT is
 * floor((r + 2^(e-1) - [r < 0]) / 2^e); nested floors merge into
 * floor((x * m + 2^30 - [x < 0] * 2^31 + 2^(30+e)) / 2^(31+e)) ([x < 0] may stand for [r < 0]:
 * they differ only when r == 0, where both give 0), and since 2^(30+e) is a multiple of 2^32,
 * that is (hi32(x * m + 2^30 - [x < 0] * 2^31) + 2^(e-2)) >> (e - 1) (no overflow: the high
 * word is below 2^30 in magnitude). */
static inline int32_t mcuq_requant_rshift(int32_t x, int32_t multiplier, int32_t shift) {
  /* The additive terms as one 64-bit accumulator for a single SMLAL: with s = -[x < 0] and
   * c = 2^(e-2), 2^30 + s * 2^31 + c * 2^32 has high word c + s and low word 2^30 + s * 2^31
   * (mod 2^32), and hi32(t) + c == hi32(t + c * 2^32). */
  const int32_t e1 = -shift - 1;
  const uint32_t s = 0u - (uint32_t)MCUQ_RDBP_TIE_ADJUST(x);
  const uint32_t c = (1u << e1) >> 1;
  const int64_t acc = (int64_t)(((uint64_t)(c + s) << 32) | (uint32_t)(0x40000000u + (s << 31)));
  const int64_t t = acc + (int64_t)x * (int64_t)multiplier;
  return (int32_t)(t >> 32) >> e1;
}

static inline int32_t mcuq_clamp(int32_t x, int32_t lo, int32_t hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

#endif /* MCUQ_FIXEDPOINT_H */
