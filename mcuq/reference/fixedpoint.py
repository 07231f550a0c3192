"""Fixed-point helpers with TensorFlow Lite Micro's semantics: the default build's double
rounding, and (rounding="single") the TFLITE_SINGLE_ROUNDING build's one rounding of the 64-bit
product (mcuq.reference.profiles says which runtime uses which).

Every function is vectorized: arguments may be Python ints or numpy integer arrays (any
broadcastable shapes) and results are int64 arrays holding int32-range values. Integer paths
never touch floating point; only the multiplier computations (which TFLM does in `double` at
prepare time) use floats, mirroring the C expressions exactly.
"""
from __future__ import annotations

import functools
import math

import numpy as np

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def round_away(x):
    """C's std::round / TfLiteRound: nearest integer, ties away from zero. Exact for doubles
    (floor(x + 0.5) is not: 0.49999999999999994 + 0.5 rounds up to 1.0)."""
    if isinstance(x, (np.ndarray, np.generic)):  # arrays and numpy scalars keep their dtype
        t = np.trunc(x)
        return t + np.sign(x) * (np.abs(x - t) >= 0.5)
    t = math.trunc(x)
    return t + (math.copysign(1, x) if abs(x - t) >= 0.5 else 0)


#: Largest left shift TFLite Micro's MultiplyByQuantizedMultiplier computes in defined C
#: (x * (1 << shift) in int32); beyond it the result depends on the compiler and the CPU.
MAX_LEFT_SHIFT = 30


def quantize_multiplier(real: float, max_shift: int | None = MAX_LEFT_SHIFT) -> tuple[int, int]:
    """QuantizeMultiplier: real ≈ q · 2^(shift − 31), q in [2^30, 2^31). Returns (q, shift).

    A real multiplier of 2^30 or more needs a left shift above 30: TFLite Micro then shifts by
    31 or more bits (undefined behaviour in C: x86 and Arm disagree), so no reference can match
    it; such a multiplier is refused (UnsupportedModelError, the op's prepare step names it).
    max_shift=None skips the check, for callers whose own arithmetic bounds what is shifted
    (SOFTMAX's beta multiplier: capped at 2^31 - 1 and applied to differences <= 0)."""
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
    if max_shift is not None and shift > max_shift:
        from ..errors import UnsupportedModelError

        err = UnsupportedModelError(
            f"a requantization multiplier of {real:.6g} (scales that far apart need a left "
            f"shift of {shift} bits)",
            "TFLite Micro's integer arithmetic is undefined for it; check the tensors' scales "
            "(an output scale far too small for its inputs)")
        err.what = err.message
        raise err
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
    """gemmlowp SaturatingRoundingDoublingHighMul for int32 a, b.

    (a*b + nudge) / 2^31 with C's truncating division, nudge = 2^30 for a non-negative
    product and 1 - 2^30 otherwise, equals floor((a*b + 2^30) / 2^31) in both cases (for a
    negative product the truncation is a ceiling). The only overflow, a == b == INT32_MIN,
    gives 2^31 there and saturates to INT32_MAX; every other int32 pair stays below it."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    high = a * b
    high += np.int64(1 << 30)
    high >>= np.int64(31)
    return np.minimum(high, np.int64(INT32_MAX))


def rounding_divide_by_pot(x, exponent):
    """gemmlowp RoundingDivideByPOT: x / 2^exponent, rounding half away from zero.

    For exponent e > 0 this is floor((x + 2^(e-1) - [x < 0]) / 2^e); for e == 0, x."""
    x = np.asarray(x, dtype=np.int64)
    e = np.asarray(exponent, dtype=np.int64)
    half = (np.int64(1) << e) >> np.int64(1)
    out = x >> np.int64(63)  # -1 where x < 0
    if e.ndim or not e > 0:
        out &= -(e > 0).astype(np.int64)
    out += x
    out += half
    out >>= e
    return out


def multiply_by_quantized_multiplier(x, multiplier, shift, rounding: str = "double"):
    """TFLM MultiplyByQuantizedMultiplier: rounding "double" (the default build) or "single"
    (TFLITE_SINGLE_ROUNDING: see multiply_by_quantized_multiplier_single)."""
    if rounding == "single":
        return multiply_by_quantized_multiplier_single(x, multiplier, shift)
    x = np.asarray(x, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    shifted = wrap_int32(x << left)  # x * (1 << left_shift) in int32
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)


def multiply_by_quantized_multiplier_single(x, multiplier, shift):
    """Single-rounding MultiplyByQuantizedMultiplier (TFLITE_SINGLE_ROUNDING, CMSIS-NN's
    CMSIS_NN_USE_SINGLE_ROUNDING): (x * multiplier + 2^(30 - shift)) >> (31 - shift) on the
    64-bit product (ties toward +inf), cast to int32 (two's-complement wrap; only a left shift
    can leave the range). x: int32 values; 0 <= multiplier < 2^31; shift <= 30 (the
    single-rounding QuantizeMultiplier saturates larger shifts: mcuq.reference.profiles). A
    shift above 30 (only LOGISTIC/TANH's frexp shift, whose input radius is then 0 so the value
    is never used) is computed as 30."""
    x = np.asarray(x, dtype=np.int64)
    total = np.int64(31) - np.minimum(np.asarray(shift, dtype=np.int64), 30)
    r = x * np.asarray(multiplier, dtype=np.int64)
    r += np.left_shift(np.int64(1), total - 1)
    r >>= total
    return wrap_int32(r)


@functools.lru_cache(maxsize=256)
def _tile_count(rows: int, channels: int, longest: int = 4096) -> int:
    """The largest r <= longest / channels dividing rows: (rows, channels) data is viewed as
    (rows / r, r * channels) so numpy's inner loops run r * channels long, not channels."""
    top = max(1, min(rows, longest // max(channels, 1)))
    d = np.arange(1, top + 1)
    return int(d[rows % d == 0].max())


def requantize(acc: np.ndarray, multiplier, shift, offset: int, lo: int, hi: int,
               bias=None, wrap: bool = True, out: np.ndarray | None = None,
               scratch: np.ndarray | None = None, rounding: str = "double") -> np.ndarray:
    """clip(wrap_int32(MultiplyByQuantizedMultiplier(wrap_int32(acc + bias), multiplier, shift)
    + offset), lo, hi) as int8: the tail of every int8 kernel, in few passes over memory.
    rounding: "double" (TFLM's default build) or "single" (TFLITE_SINGLE_ROUNDING).

    The offset addition is int32 in TFLite Micro and wraps as compiled (probed: a result of
    -2^31 + 32 plus offset -128 comes out as 127); it can only leave the int32 range when no
    right shift is applied (shift >= 0), so only then is it wrapped here.

    `acc` is an int64 array that this function may overwrite, or a float array holding exact
    integers (converted). multiplier, shift and bias are scalars or per-channel vectors over
    acc's last axis. wrap=False skips the int32 wrap when the caller has proved
    acc + bias within int32. Same integers as composing the functions above.
    out: optional C-contiguous int8 destination of acc's size; scratch: optional C-contiguous
    int64 buffer of acc's size for the temporary (callers looping over chunks reuse both)."""
    shape = acc.shape
    x = acc if acc.dtype == np.int64 else acc.astype(np.int64)
    vecs = [np.asarray(multiplier, dtype=np.int64), np.asarray(shift, dtype=np.int64),
            np.asarray(0 if bias is None else bias, dtype=np.int64)]
    channels = shape[-1] if shape else 1
    if (x.ndim and x.size and x.flags.c_contiguous and any(v.size > 1 for v in vecs)
            and all(v.ndim <= 1 and v.size in (1, channels) for v in vecs)):
        r = _tile_count(x.size // channels, channels)
        x = x.reshape(-1, r * channels)
        vecs = [np.tile(v, r) if v.size > 1 else v.reshape(()) for v in vecs]
    mult, shift, add = vecs
    if bias is not None:
        x += add
    if wrap:
        x += np.int64(1 << 31)
        x &= np.int64(0xFFFFFFFF)
        x -= np.int64(1 << 31)
    if rounding == "single":
        x = _single_rounding_in_place(x, mult, shift)
        return _offset_clip(x, shape, offset, shift, lo, hi, out)
    left = np.maximum(shift, 0)
    if left.any():
        x <<= left
        x += np.int64(1 << 31)
        x &= np.int64(0xFFFFFFFF)
        x -= np.int64(1 << 31)
    right = np.maximum(-shift, 0)
    if (mult < 0).any() or (right > 31).any():  # never from quantize_multiplier: the formulas
        x = saturating_rounding_doubling_high_mul(x, mult)
        x = rounding_divide_by_pot(x, right)
    else:
        # SaturatingRoundingDoublingHighMul then RoundingDivideByPOT(., e) in one rounding:
        # floor((x * m + 2^30 + 2^(30+e) - [x < 0] * 2^31) / 2^(31+e)) for e >= 1 (the C
        # kernels' mcuq_rq derivation; [x < 0] stands for the sign of the high product, they
        # differ only where both give 0), and floor((x * m + 2^30) / 2^31) for e == 0 (no
        # sign term). |x * m| < 2^62: no int64 overflow.
        if scratch is not None:
            t = np.right_shift(x, np.int64(63), out=scratch.reshape(x.shape))
        else:
            t = x >> np.int64(63)  # -1 where x < 0
        x *= mult
        x += (np.int64(1) << np.int64(30)) + ((np.int64(1) << (np.int64(30) + right))
                                              & -(right > 0).astype(np.int64))
        if (right == 0).any():
            t &= -(right > 0).astype(np.int64)
        t <<= np.int64(31)
        x += t
        x >>= np.int64(31) + right
    return _offset_clip(x, shape, offset, shift, lo, hi, out)


def _single_rounding_in_place(x: np.ndarray, mult: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """multiply_by_quantized_multiplier_single on an int64 array holding int32 values, in place
    where it can (mult, shift: scalars or vectors over x's last axis)."""
    total = np.int64(31) - np.minimum(shift, 30)
    if (mult < 0).any():  # never from quantize_multiplier: the plain formula
        return multiply_by_quantized_multiplier_single(x, mult, shift)
    x *= mult
    x += np.left_shift(np.int64(1), total - 1)
    x >>= total
    if (shift > 0).any():  # only a left shift can leave the int32 range: the int32 cast wraps
        x += np.int64(1 << 31)
        x &= np.int64(0xFFFFFFFF)
        x -= np.int64(1 << 31)
    return x


def _offset_clip(x: np.ndarray, shape, offset: int, shift: np.ndarray, lo: int, hi: int,
                 out: np.ndarray | None) -> np.ndarray:
    """requantize's tail: + offset (int32, wraps; only possible without a right shift), clamp,
    int8."""
    if offset and (shift >= 0).any():  # the offset addition can leave int32: it wraps
        x += np.int64(offset)
        x += np.int64(1 << 31)
        x &= np.int64(0xFFFFFFFF)
        x -= np.int64(1 << 31)
        np.clip(x, lo, hi, out=x)
    else:  # clip(x + offset, lo, hi) == clip(x, lo - offset, hi - offset) + offset
        np.clip(x, lo - offset, hi - offset, out=x)
        x8 = x.astype(np.int8)
        x8 += np.int8(offset)
        if out is None:
            return x8.reshape(shape)
        np.copyto(out.reshape(x8.shape), x8)
        return out.reshape(shape)
    if out is None:
        return x.astype(np.int8).reshape(shape)
    np.copyto(out.reshape(x.shape), x, casting="unsafe")
    return out.reshape(shape)


def multiply_by_quantized_multiplier_smaller_than_one_exp(x, multiplier, left_shift,
                                                          rounding: str = "double"):
    """MultiplyByQuantizedMultiplierSmallerThanOneExp: left_shift <= 0. The single-rounding
    build defines it as its MultiplyByQuantizedMultiplier."""
    if rounding == "single":
        return multiply_by_quantized_multiplier_single(x, multiplier, left_shift)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, multiplier),
                                  -np.asarray(left_shift, dtype=np.int64))


def multiply_by_quantized_multiplier_greater_than_one(x, multiplier, left_shift,
                                                      rounding: str = "double"):
    """MultiplyByQuantizedMultiplierGreaterThanOne: left_shift >= 0. The single-rounding
    build defines it as its MultiplyByQuantizedMultiplier."""
    if rounding == "single":
        return multiply_by_quantized_multiplier_single(x, multiplier, left_shift)
    x = np.asarray(x, dtype=np.int64)
    return saturating_rounding_doubling_high_mul(wrap_int32(x << np.asarray(left_shift, np.int64)),
                                                 multiplier)


def c_float_to_int32(x) -> np.ndarray:
    """static_cast<int32_t>(v) of float/double values already rounded to integers, as x86-64
    compiles it (CVTTSD2SI/CVTTSS2SI): values outside [-2^31, 2^31) and NaN give INT32_MIN
    ("integer indefinite"). What LiteRT's float-path kernels do with an out-of-range value."""
    v = np.asarray(x, dtype=np.float64)
    inside = (v >= -2.0 ** 31) & (v < 2.0 ** 31)
    return np.where(inside, np.where(inside, v, 0.0).astype(np.int64), np.int64(INT32_MIN))


def saturate(x, lo: int, hi: int):
    return np.clip(np.asarray(x, dtype=np.int64), lo, hi)


def affine_quantize(x, scale: float, zero_point: int, qmin: int, qmax: int) -> np.ndarray:
    """Float to integer as TFLite Micro's AffineQuantize: x / scale in float32, rounded half
    away from zero, plus the zero point, clamped to [qmin, qmax] (int64). NaN maps to the
    zero point; +-inf saturate."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        q = np.asarray(x, np.float32) / np.float32(scale)
    # clipped beyond any value the clamp keeps (int8: +-1024; int16's range needs more)
    lim = float(max(1024, 2 * max(abs(qmin), abs(qmax)) + abs(int(zero_point)) + 2))
    r = round_away(np.clip(np.nan_to_num(q.astype(np.float64), nan=0.0), -lim, lim))
    return np.clip(r.astype(np.int64) + int(zero_point), qmin, qmax)


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
