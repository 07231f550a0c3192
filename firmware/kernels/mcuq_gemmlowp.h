/* gemmlowp fixed-point math (fixedpoint.h) used by SOFTMAX, LOGISTIC and TANH.
 * Mirrors mcuq/reference/gemmlowp.py function by function; the tests prove they agree.
 * A Q(k).(31-k) value is a plain int32_t raw value; k is passed where it matters.
 * C99, no libm. Additions that gemmlowp leaves to plain int32 arithmetic are done on uint32_t
 * (two's-complement wrap, never undefined behaviour). */
#ifndef MCUQ_GEMMLOWP_H
#define MCUQ_GEMMLOWP_H

#include <stdint.h>

#include "mcuq_fixedpoint.h"

#ifdef MCUQ_TEST_GEMMLOWP_FAULT
/* Test-only: a deliberately too short Newton-Raphson division (1 step instead of 3),
 * compiled in by tests to prove that the C-vs-reference comparison catches a wrong kernel. */
#define MCUQ_GL_NEWTON_STEPS 1
#else
#define MCUQ_GL_NEWTON_STEPS 3
#endif

static inline int32_t mcuq_gl_add(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a + (uint32_t)b);
}

static inline int32_t mcuq_gl_sub(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a - (uint32_t)b);
}

static inline int32_t mcuq_gl_neg(int32_t a) { return (int32_t)(0u - (uint32_t)a); }

/* SaturatingRoundingMultiplyByPOT<exponent> for 0 < exponent < 31: saturating left shift. */
static inline int32_t mcuq_gl_sat_shl(int32_t x, int32_t exponent) {
  const int32_t threshold = (int32_t)(((uint32_t)1 << (31 - exponent)) - 1u);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return mcuq_shl(x, exponent);
}

/* RoundingHalfSum: (a + b) / 2, rounded half away from zero. */
static inline int32_t mcuq_gl_rounding_half_sum(int32_t a, int32_t b) {
  const int64_t sum = (int64_t)a + (int64_t)b;
  return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out. */
static inline int32_t mcuq_gl_exp_quarter(int32_t a) {
  const int32_t constant_term = 1895147668;     /* exp(-1/8) */
  const int32_t constant_1_over_3 = 715827883;  /* 1/3 */
  const int32_t x = mcuq_gl_add(a, (int32_t)1 << 28);
  const int32_t x2 = mcuq_srdhm(x, x);
  const int32_t x3 = mcuq_srdhm(x2, x);
  const int32_t x4 = mcuq_srdhm(x2, x2);
  const int32_t x4_over_4 = mcuq_rdbp(x4, 2);
  const int32_t poly = mcuq_rdbp(
      mcuq_gl_add(mcuq_srdhm(mcuq_gl_add(x4_over_4, x3), constant_1_over_3), x2), 1);
  return mcuq_gl_add(constant_term, mcuq_srdhm(constant_term, mcuq_gl_add(x, poly)));
}

/* exp(a) for a <= 0; a in Q(k).(31-k) with 1 <= k <= 30, result Q0.31. */
static inline int32_t mcuq_gl_exp_on_negative_values(int32_t a, int32_t k) {
  static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308,
                                    39332535,   720401,     242};
  const int32_t frac = 31 - k;
  const int32_t quarter = (int32_t)1 << (frac - 2);
  const int32_t mask = quarter - 1;
  const int32_t a_mod_quarter_minus_quarter = mcuq_gl_sub(a & mask, quarter);
  /* Rescale<0> from Q(k): saturating left shift by k. */
  int32_t result = mcuq_gl_exp_quarter(mcuq_gl_sat_shl(a_mod_quarter_minus_quarter, k));
  const uint32_t remainder = (uint32_t)mcuq_gl_sub(a_mod_quarter_minus_quarter, a);
  for (int32_t e = -2; e <= 4; ++e) {
    if (k > e && ((remainder >> (frac + e)) & 1u)) result = mcuq_srdhm(result, barrel[e + 2]);
  }
  if (k > 5 && a < -((int32_t)1 << (36 - k))) result = 0; /* below -32 */
  return a == 0 ? INT32_MAX : result;
}

/* Newton-Raphson 1 / ((1 + a) / 2) in Q2.29, a in Q0.31 (0, 1). */
static inline int32_t mcuq_gl_newton_reciprocal(int32_t a) {
  const int32_t half_denominator = mcuq_gl_rounding_half_sum(a, INT32_MAX);
  int32_t x = mcuq_gl_add(1515870810, mcuq_srdhm(half_denominator, -1010580540));
  for (int i = 0; i < MCUQ_GL_NEWTON_STEPS; ++i) {
    const int32_t half_denominator_times_x = mcuq_srdhm(half_denominator, x);
    const int32_t one_minus = mcuq_gl_sub((int32_t)1 << 29, half_denominator_times_x);
    x = mcuq_gl_add(x, mcuq_gl_sat_shl(mcuq_srdhm(x, one_minus), 2));
  }
  return x;
}

/* 1 / (1 + a) for a in (0, 1), Q0.31 in and out. */
static inline int32_t mcuq_gl_one_over_one_plus_x(int32_t a) {
  return mcuq_gl_sat_shl(mcuq_gl_newton_reciprocal(a), 1);
}

/* (1 - a) / (1 + a) for a in (0, 1), Q0.31 in and out. */
static inline int32_t mcuq_gl_one_minus_x_over_one_plus_x(int32_t a) {
  return mcuq_gl_sat_shl(mcuq_gl_sub(mcuq_gl_newton_reciprocal(a), (int32_t)1 << 29), 2);
}

/* gemmlowp::logistic: a in Q(k).(31-k), result Q0.31. */
static inline int32_t mcuq_gl_logistic(int32_t a, int32_t k) {
  if (a == 0) return (int32_t)1 << 30;
  const int32_t abs_input = a > 0 ? a : mcuq_gl_neg(a);
  const int32_t if_positive =
      mcuq_gl_one_over_one_plus_x(mcuq_gl_exp_on_negative_values(mcuq_gl_neg(abs_input), k));
  return a > 0 ? if_positive : mcuq_gl_sub(INT32_MAX, if_positive);
}

/* gemmlowp::tanh: a in Q(k).(31-k), result Q0.31. */
static inline int32_t mcuq_gl_tanh(int32_t a, int32_t k) {
  if (a == 0) return 0;
  const int32_t n = a < 0 ? a : mcuq_gl_neg(a);
  const int32_t t = mcuq_gl_one_minus_x_over_one_plus_x(mcuq_gl_exp_on_negative_values(n, k + 1));
  return a < 0 ? mcuq_gl_neg(t) : t;
}

/* Leading zero bits of a uint32_t (32 for 0). */
static inline int32_t mcuq_gl_clz32(uint32_t x) {
  int32_t n = 0;
  if (x == 0) return 32;
  if (!(x & 0xFFFF0000u)) { n += 16; x <<= 16; }
  if (!(x & 0xFF000000u)) { n += 8; x <<= 8; }
  if (!(x & 0xF0000000u)) { n += 4; x <<= 4; }
  if (!(x & 0xC0000000u)) { n += 2; x <<= 2; }
  if (!(x & 0x80000000u)) { n += 1; }
  return n;
}

/* TFLite's GetReciprocal: x in Q(digits); returns Q0.31 and sets *num_bits_over_unit. */
static inline int32_t mcuq_gl_reciprocal(int32_t x, int32_t x_integer_digits,
                                         int32_t *num_bits_over_unit) {
  const int32_t headroom_plus_one = mcuq_gl_clz32((uint32_t)x);
  *num_bits_over_unit = x_integer_digits - headroom_plus_one;
  const uint32_t shifted = headroom_plus_one >= 32 ? 0u : (uint32_t)x << headroom_plus_one;
  return mcuq_gl_one_over_one_plus_x((int32_t)(shifted - 0x80000000u));
}

#endif /* MCUQ_GEMMLOWP_H */
