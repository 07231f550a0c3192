/* Fixed-point arithmetic with TensorFlow Lite Micro's default semantics (double rounding).
 * Mirrors mcuq/reference/fixedpoint.py function by function; the tests prove they agree.
 * C99, no libm. Signed right shifts are arithmetic (true for GCC and every Cortex-M compiler;
 * checked at compile time below). Shifts of negative values are done on uint32_t so that
 * -fsanitize=undefined stays quiet while producing the two's-complement result TFLM gets. */
#ifndef MCUQ_FIXEDPOINT_H
#define MCUQ_FIXEDPOINT_H

#include <stdint.h>

typedef char mcuq_arithmetic_shift_check[((-8) >> 1) == -4 ? 1 : -1];

#ifdef MCUQ_TEST_ROUNDING_FAULT
/* Test-only: a deliberate one-LSB rounding fault (ties toward zero instead of away),
 * compiled in by tests to prove that verification catches a wrong kernel. */
#define MCUQ_RDBP_TIE_ADJUST(x) 0
#else
#define MCUQ_RDBP_TIE_ADJUST(x) ((x) < 0 ? 1 : 0)
#endif

/* gemmlowp SaturatingRoundingDoublingHighMul. */
static inline int32_t mcuq_srdhm(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  const int64_t ab = (int64_t)a * (int64_t)b;
  const int64_t nudge = ab >= 0 ? (int64_t)(1 << 30) : (int64_t)(1 - (1 << 30));
  return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent rounded half away from zero, 0 <= exponent <= 31. */
static inline int32_t mcuq_rdbp(int32_t x, int32_t exponent) {
  const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + MCUQ_RDBP_TIE_ADJUST(x);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * 2^left in int32 with two's-complement wrap (what TFLM's x * (1 << left) does). */
static inline int32_t mcuq_shl(int32_t x, int32_t left) {
  return (int32_t)((uint32_t)x << left);
}

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

static inline int32_t mcuq_clamp(int32_t x, int32_t lo, int32_t hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

#endif /* MCUQ_FIXEDPOINT_H */
