"""Fixed-point helpers with TensorFlow Lite Micro's default semantics (double rounding).

Every function is vectorized: arguments may be Python ints or numpy integer arrays (any
broadcastable shapes) and results are int64 arrays holding int32-range values. Integer paths
never touch floating point; only the multiplier computations (which TFLM does in `double` at
prepare time) use floats, mirroring the C expressions exactly.
"""
from __future__ import annotations

import math

import numpy as np

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def round_away(x):
    """C's std::round / TfLiteRound: nearest integer, ties away from zero. Exact for doubles
    (floor(x + 0.5) is not: 0.49999999999999994 + 0.5 rounds up to 1.0)."""
    if isinstance(x, np.ndarray):
        t = np.trunc(x)
        return t + np.sign(x) * (np.abs(x - t) >= 0.5)
    t = math.trunc(x)
    return t + (math.copysign(1, x) if abs(x - t) >= 0.5 else 0)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier: real ≈ q · 2^(shift − 31), q in [2^30, 2^31). Returns (q, shift)."""
    real = float(real)
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = int(round_away(q * (1 << 31)))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    return q_fixed, shift


def quantize_multipliers(reals) -> tuple[np.ndarray, np.ndarray]:
    """quantize_multiplier over an array (per-channel multipliers). Returns int64 arrays."""
    pairs = [quantize_multiplier(r) for r in np.asarray(reals, dtype=np.float64).reshape(-1)]
    if not pairs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    q, s = zip(*pairs)
    return np.asarray(q, dtype=np.int64), np.asarray(s, dtype=np.int64)


def wrap_int32(x):
    """Two's-complement wrap of int64 values to int32 range (what C int32 arithmetic does)."""
    x = np.asarray(x, dtype=np.int64)
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def saturating_rounding_doubling_high_mul(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul for int32 a, b."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    overflow = (a == b) & (a == INT32_MIN)
    ab = a * b
    nudge = np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    num = ab + nudge
    # C integer division truncates toward zero.
    high = np.where(num >= 0, num >> 31, -((-num) >> 31))
    return np.where(overflow, np.int64(INT32_MAX), high)


def rounding_divide_by_pot(x, exponent):
    """gemmlowp RoundingDivideByPOT: x / 2^exponent, rounding half away from zero."""
    x = np.asarray(x, dtype=np.int64)
    e = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << e) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> e) + (remainder > threshold)


def multiply_by_quantized_multiplier(x, multiplier, shift):
    """TFLM MultiplyByQuantizedMultiplier (double rounding, the default build)."""
    x = np.asarray(x, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    shifted = wrap_int32(x << left)  # x * (1 << left_shift) in int32
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)


def multiply_by_quantized_multiplier_smaller_than_one_exp(x, multiplier, left_shift):
    """MultiplyByQuantizedMultiplierSmallerThanOneExp: left_shift <= 0."""
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, multiplier),
                                  -np.asarray(left_shift, dtype=np.int64))


def multiply_by_quantized_multiplier_greater_than_one(x, multiplier, left_shift):
    """MultiplyByQuantizedMultiplierGreaterThanOne: left_shift >= 0."""
    x = np.asarray(x, dtype=np.int64)
    return saturating_rounding_doubling_high_mul(wrap_int32(x << np.asarray(left_shift, np.int64)),
                                                 multiplier)


def saturate(x, lo: int, hi: int):
    return np.clip(np.asarray(x, dtype=np.int64), lo, hi)


def tflite_round_f32(x):
    """TfLiteRound applied to a float32 value (std::round on float): ties away from zero."""
    return round_away(np.asarray(x, dtype=np.float32).astype(np.float64))


def activation_range(activation: str, scale: float, zero_point: int,
                     qmin: int = -128, qmax: int = 127) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for a fused activation on an int8 output.

    TFLM quantizes the bounds in float32: zero_point + round(f / scale) with a float scale.
    """
    def q(f: float) -> int:
        v = np.float32(f) / np.float32(scale)
        return int(zero_point + int(round_away(float(v))))

    if activation in ("NONE", None):
        return qmin, qmax
    if activation == "RELU":
        return max(qmin, q(0.0)), qmax
    if activation == "RELU6":
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if activation == "RELU_N1_TO_1":
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    from ..errors import UnsupportedModelError

    raise UnsupportedModelError(f"fused activation {activation} is not supported on int8",
                                "use NONE, RELU, RELU6 or RELU_N1_TO_1")


def exact_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Integer matrix product a @ b, returned as int64.

    Computed with float64 BLAS when that is provably exact: every product and every partial
    sum is an integer of magnitude < 2^53 whatever the summation order, which holds when
    K * max|a| * max|b| < 2^53 (for int8 data: K < 2^37). Otherwise falls back to int64.
    This is about 20x faster than numpy's integer matmul and gives identical integers.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    k = a.shape[-1]
    amax = int(np.abs(a).max(initial=0))
    bmax = int(np.abs(b).max(initial=0))
    if k * amax * bmax < (1 << 53):
        return (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
    return a.astype(np.int64) @ b.astype(np.int64)
