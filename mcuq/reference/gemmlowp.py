"""gemmlowp fixed-point math (fixedpoint.h) as used by TFLite Micro's SOFTMAX, LOGISTIC and
TANH int8 kernels, vectorized over numpy arrays.

A `FixedPoint<int32_t, k>` value is represented by its raw int32 held in an int64 array; the
number of integer bits `k` is passed explicitly where the C++ template parameter matters.
Integer paths never touch floating point. Every function accepts Python ints or integer arrays
of any broadcastable shape and returns int64 arrays holding int32-range values.
C twin: firmware/kernels/mcuq_gemmlowp.h (function by function).
"""
from __future__ import annotations

import numpy as np

from .fixedpoint import (INT32_MAX, INT32_MIN, rounding_divide_by_pot,
                         saturating_rounding_doubling_high_mul as srdhm, wrap_int32)

# Raw constants of fixedpoint.h (int32 raw values of the checked fixed-point constants).
EXP_MINUS_ONE_EIGHTH = 1895147668  # exp(-1/8) in Q0.31
ONE_THIRD = 715827883  # 1/3 in Q0.31
C_48_OVER_17 = 1515870810  # 48/17 in Q2.29
C_NEG_32_OVER_17 = -1010580540  # -32/17 in Q2.29
#: (exponent, exp(-2^exponent) in Q0.31) for the barrel shifter of exp_on_negative_values.
EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
              (2, 39332535), (3, 720401), (4, 242))


def _i64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def add(a, b) -> np.ndarray:
    """int32 a + b (two's-complement wrap; gemmlowp's Add never overflows on valid inputs)."""
    return wrap_int32(_i64(a) + _i64(b))


def sub(a, b) -> np.ndarray:
    return wrap_int32(_i64(a) - _i64(b))


def one(integer_bits: int) -> int:
    """FixedPoint<int32_t, k>::One() raw value."""
    return INT32_MAX if integer_bits == 0 else 1 << (31 - integer_bits)


def constant_pot(integer_bits: int, exponent: int) -> int:
    """FixedPoint<int32_t, k>::ConstantPOT<exponent>() raw value: 2^exponent."""
    return 1 << (31 - integer_bits + exponent)


def saturating_shl(x, exponent: int) -> np.ndarray:
    """SaturatingRoundingMultiplyByPOT<exponent> for exponent > 0 (saturating left shift)."""
    x = _i64(x)
    threshold = (1 << (31 - exponent)) - 1
    return np.where(x > threshold, np.int64(INT32_MAX),
                    np.where(x < -threshold, np.int64(INT32_MIN), x << exponent))


def saturating_rounding_multiply_by_pot(x, exponent: int) -> np.ndarray:
    """SaturatingRoundingMultiplyByPOT<exponent>: saturating shift left, or rounding right."""
    if exponent == 0:
        return _i64(x)
    if exponent > 0:
        return saturating_shl(x, exponent)
    return rounding_divide_by_pot(x, -exponent)


def rescale(x, src_bits: int, dst_bits: int) -> np.ndarray:
    """Rescale<dst_bits>(FixedPoint<int32_t, src_bits>)."""
    return saturating_rounding_multiply_by_pot(x, src_bits - dst_bits)


def rounding_half_sum(a, b) -> np.ndarray:
    """RoundingHalfSum for int32: (a + b) / 2 rounded half away from zero."""
    s = _i64(a) + _i64(b)
    num = s + np.where(s >= 0, np.int64(1), np.int64(-1))
    return np.where(num >= 0, num // 2, -((-num) // 2))  # C division truncates toward zero


def exp_on_interval_between_negative_one_quarter_and_0_excl(a) -> np.ndarray:
    """exp(a) for a in [-1/4, 0), Q0.31 in and out (Taylor expansion around -1/8)."""
    x = add(a, constant_pot(0, -3))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rounding_divide_by_pot(x4, 2)
    poly = rounding_divide_by_pot(add(srdhm(add(x4_over_4, x3), ONE_THIRD), x2), 1)
    return add(EXP_MINUS_ONE_EIGHTH, srdhm(EXP_MINUS_ONE_EIGHTH, add(x, poly)))


def exp_on_negative_values(a, integer_bits: int) -> np.ndarray:
    """exp(a) for a <= 0: a is Q(k).(31-k) with k = integer_bits, result Q0.31."""
    a = _i64(a)
    k = integer_bits
    frac = 31 - k
    quarter = constant_pot(k, -2)
    mask = quarter - 1
    a_mod_quarter_minus_quarter = sub(a & mask, quarter)
    result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        rescale(a_mod_quarter_minus_quarter, k, 0))
    remainder = sub(a_mod_quarter_minus_quarter, a)
    for exponent, multiplier in EXP_BARREL:
        if k > exponent:
            bit = (remainder >> (frac + exponent)) & 1
            result = np.where(bit != 0, srdhm(result, multiplier), result)
    if k > 5:
        clamp = -(1 << (36 - k))  # -32.0 in Q(k)
        result = np.where(a < clamp, np.int64(0), result)
    return np.where(a == 0, np.int64(one(0)), result)


def _newton_reciprocal_of_half_denominator(a) -> np.ndarray:
    """The shared Newton-Raphson part: x ~ 1 / ((1 + a) / 2) in Q2.29 for a in Q0.31."""
    half_denominator = rounding_half_sum(a, one(0))
    x = add(C_48_OVER_17, srdhm(half_denominator, C_NEG_32_OVER_17))
    for _ in range(3):
        half_denominator_times_x = srdhm(half_denominator, x)
        one_minus = sub(one(2), half_denominator_times_x)
        x = add(x, rescale(srdhm(x, one_minus), 4, 2))
    return x


def one_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    """1 / (1 + a) for a in (0, 1), Q0.31 in and out."""
    x = _newton_reciprocal_of_half_denominator(a)
    return rescale(x, 1, 0)  # ExactMulByPot<-1> turns Q2.29 into Q1.30, then Rescale<0>


def one_minus_x_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    """(1 - a) / (1 + a) for a in (0, 1), Q0.31 in and out."""
    x = _newton_reciprocal_of_half_denominator(a)
    return rescale(sub(x, one(2)), 2, 0)


def logistic(a, integer_bits: int) -> np.ndarray:
    """gemmlowp::logistic: 1 / (1 + exp(-a)), a in Q(k).(31-k), result Q0.31."""
    a = _i64(a)
    positive = a > 0
    abs_input = np.where(positive, a, wrap_int32(-a))
    if_positive = one_over_one_plus_x_for_x_in_0_1(
        exp_on_negative_values(wrap_int32(-abs_input), integer_bits))
    if_negative = sub(one(0), if_positive)
    return np.where(a == 0, np.int64(1 << 30), np.where(positive, if_positive, if_negative))


def tanh(a, integer_bits: int) -> np.ndarray:
    """gemmlowp::tanh, a in Q(k).(31-k), result Q0.31."""
    a = _i64(a)
    negative = a < 0
    n = np.where(negative, a, wrap_int32(-a))
    # neg_tanh_on_negative_values: exp(2n) reads the same raw value as Q(k+1).
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, integer_bits + 1))
    return np.where(a == 0, np.int64(0), np.where(negative, wrap_int32(-t), t))


def count_leading_zeros_u32(x) -> np.ndarray:
    """CountLeadingZeros(static_cast<uint32_t>(x)) (32 for 0), integer-exact: frexp of a
    float64 holding a uint32 exactly gives its bit length as the exponent."""
    y = _i64(x) & 0xFFFFFFFF
    return 32 - np.frexp(y.astype(np.float64))[1].astype(np.int64)


def get_reciprocal(x, x_integer_digits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLite's GetReciprocal: returns (Q0.31 raw of ~2^k/x scaled, num_bits_over_unit)."""
    x = _i64(x)
    headroom_plus_one = count_leading_zeros_u32(x)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted = ((x & 0xFFFFFFFF) << headroom_plus_one) & 0xFFFFFFFF
    shifted_sum_minus_one = wrap_int32(shifted - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit
