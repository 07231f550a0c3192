"""PRELU, SQUARED_DIFFERENCE, RSQRT and L2_NORMALIZATION on int8.

TFLite Micro semantics:
  PRELU        prelu_common.cc CalculatePreluParams (QuantizeMultiplier of s_in / s_out and
               s_in * s_alpha / s_out, in double) and reference_ops::BroadcastPrelu4DSlow:
               x - zp_in >= 0 -> MBQM(x - zp_in, m1, s1), else MBQM((x - zp_in) *
               (alpha - zp_alpha), m2, s2); + zp_out, clamp. Ranks <= 4, numpy broadcasting
               of alpha against the input.
  SQUARED_DIFFERENCE  squared_difference.cc: left_shift 7; twice_max = 2 * max(s1, s2);
               inputs rescaled by QuantizeMultiplierSmallerThanOneExp(s_i / twice_max),
               difference squared in int32, output multiplier twice_max^2 / (2^14 * s_out)
               (the 2^14 * s_out product in float); broadcasting only up to rank 4.
  RSQRT        elementwise.cc RsqrtEvalQuantized: multiplier = 1 / (sqrtf(s_in) * s_out);
               value = q - zp_in; 0 -> 127; negative -> TFLM's Eval fails ("Rsqrt is only
               defined for positive values"; mcuq raises); else GetInvSqrtQuantizedMultiplierExp
               (gemmlowp Newton-Raphson, 5 steps), data = MBQM(1, inv, shift + 20), out =
               MBQM(data, multiplier, shift - 20) + zp_out, clamp.
  L2_NORMALIZATION  l2norm.cc + reference_integer_ops::L2Normalization: per innermost row,
               acc = sum((q - zp)^2) in int32, GetInvSqrtQuantizedMultiplierExp(acc),
               out = clamp(MBQM(q - zp, inv, shift + 7)): the output is q/128 whatever its
               tensor says, so mcuq requires the output quantization TFLiteConverter writes
               (scale 1/128, zero point 0; LiteRT refuses others). Rank <= 4, no activation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import InputError
from .. import fixedpoint as fp
from ..gemmlowp import count_leading_zeros_u32, saturating_shl
from ..registry import Signature, check_signature, register, require_int8, unsupported
from .elementwise import broadcast_shape

INT32_MAX = (1 << 31) - 1
REVERSE_SHIFT = -1  # TFLM's kReverseShift (left shifts are positive)


def inv_sqrt_quantized_multiplier_exp(value, reverse_shift: int = REVERSE_SHIFT):
    """GetInvSqrtQuantizedMultiplierExp over an int array of values >= 0: returns
    (multiplier, shift) int64 arrays, shift already multiplied by reverse_shift."""
    v = np.asarray(value, np.int64).copy()
    small = v <= 1
    v = np.where(small, np.int64(2), v)  # placeholder, replaced below
    shift = np.full(v.shape, 11, np.int64)
    while True:
        big = v >= (1 << 29)
        if not big.any():
            break
        v = np.where(big, v // 4, v)
        shift = shift + big
    pairs = (count_leading_zeros_u32(v) - 1) // 2 - 1
    shift = shift - pairs
    v = v << (2 * pairs)
    srdhm = fp.saturating_rounding_doubling_high_mul
    fixed_input = v >> 1  # F3
    half_input = fp.rounding_divide_by_pot(fixed_input, 1)
    half_three = (1 << 28) + (1 << 27)
    x = np.full(v.shape, 1 << 28, np.int64)  # F3 one
    for _ in range(5):
        x3 = saturating_shl(srdhm(srdhm(x, x), x), 6)  # F9 -> Rescale<3>
        x = saturating_shl(fp.wrap_int32(srdhm(half_three, x) - srdhm(half_input, x3)), 3)
    x = srdhm(x, 1518500250)  # * sqrt(2)/2 in Q0.31
    neg = shift < 0
    x = np.where(neg, fp.wrap_int32(x << np.where(neg, -shift, 0)), x)
    shift = np.where(neg, 0, shift)
    return (np.where(small, np.int64(INT32_MAX), x),
            np.where(small, np.int64(0), shift * reverse_shift))


# ---- PRELU ------------------------------------------------------------------------------------


@dataclass
class PreluParams:
    input_shape: tuple[int, ...]
    alpha_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    input_offset: int
    alpha_offset: int
    output_offset: int
    multiplier1: int
    shift1: int
    multiplier2: int
    shift2: int
    rounding: str = "double"  # MultiplyByQuantizedMultiplier's (profiles.Profile.rounding)


@register("PRELU")
class Prelu:
    SIGNATURE = Signature(inputs=("input", "alpha"))
    MAX_RANK = 4

    @staticmethod
    def prepare(op, model, profile) -> PreluParams:
        x, a = check_signature(op, model, Prelu.SIGNATURE)
        (y,) = model.op_outputs(op)
        require_int8(op, model, (x, a, y))
        for t in (x, a, y):
            if t.quant.per_channel:
                raise unsupported(op, model, f"'{t.name}' is quantized per channel",
                                  "TFLite Micro's PRELU reads one scale per tensor")
        out = broadcast_shape(op, model, x.shape, a.shape)
        if out != tuple(y.shape):
            raise unsupported(op, model, f"output {list(y.shape)} is not the broadcast of "
                              f"{list(x.shape)} and {list(a.shape)}", "re-convert the model")
        if len(out) > Prelu.MAX_RANK:
            raise unsupported(op, model, f"rank {len(out)} tensors",
                              "TFLite Micro's PRELU handles up to 4 dimensions")
        # TFLite Micro: double arithmetic; TFLite (profile.tflite_activations): float32
        ftype = np.float32 if profile.tflite_activations else np.float64
        s_in, s_a, s_out = (ftype(np.float32(t.scale)) for t in (x, a, y))
        m1, sh1 = profile.quantize_multiplier(float(s_in / s_out))
        m2, sh2 = profile.quantize_multiplier(float(s_in * s_a / s_out))
        return PreluParams(tuple(x.shape), tuple(a.shape), out, -x.zero_point, -a.zero_point,
                           y.zero_point, m1, sh1, m2, sh2, profile.rounding)

    @staticmethod
    def run(p: PreluParams, inputs):
        rank = len(p.output_shape)
        b = inputs[0].shape[0]
        xv = inputs[0].reshape(b, *(1,) * (rank - len(p.input_shape)), *p.input_shape)
        av = inputs[1].reshape(b, *(1,) * (rank - len(p.alpha_shape)), *p.alpha_shape)
        xi = xv.astype(np.int64) + p.input_offset
        ai = av.astype(np.int64) + p.alpha_offset
        pos = fp.multiply_by_quantized_multiplier(xi, p.multiplier1, p.shift1, p.rounding)
        neg = fp.multiply_by_quantized_multiplier(xi * ai, p.multiplier2, p.shift2, p.rounding)
        out = np.where(xi >= 0, pos, neg) + p.output_offset
        out = np.broadcast_to(out, (b, *p.output_shape))
        return [np.ascontiguousarray(np.clip(out, -128, 127).astype(np.int8))]


# ---- SQUARED_DIFFERENCE -----------------------------------------------------------------------


@dataclass
class SquaredDifferenceParams:
    shape1: tuple[int, ...]
    shape2: tuple[int, ...]
    output_shape: tuple[int, ...]
    input1_offset: int
    input2_offset: int
    output_offset: int
    left_shift: int
    input1_multiplier: int
    input1_shift: int
    input2_multiplier: int
    input2_shift: int
    output_multiplier: int
    output_shift: int
    rounding: str = "double"  # MultiplyByQuantizedMultiplier's (profiles.Profile.rounding)


def squared_difference_values(p: SquaredDifferenceParams, a, c) -> np.ndarray:
    """The int8 arithmetic on broadcastable int8 arrays a, c."""
    def scaled(v, off, m, s):
        shifted = (v.astype(np.int64) + off) << p.left_shift
        return fp.multiply_by_quantized_multiplier_smaller_than_one_exp(shifted, m, s,
                                                                       p.rounding)
    d = scaled(a, p.input1_offset, p.input1_multiplier, p.input1_shift) - \
        scaled(c, p.input2_offset, p.input2_multiplier, p.input2_shift)
    out = fp.multiply_by_quantized_multiplier(d * d, p.output_multiplier, p.output_shift,
                                              p.rounding)
    return np.clip(out + p.output_offset, -128, 127).astype(np.int8)


@register("SQUARED_DIFFERENCE")
class SquaredDifference:
    SIGNATURE = Signature(inputs=("input1", "input2"))
    LEFT_SHIFT = 7

    @staticmethod
    def prepare(op, model, profile) -> SquaredDifferenceParams:
        x1, x2 = check_signature(op, model, SquaredDifference.SIGNATURE)
        (y,) = model.op_outputs(op)
        require_int8(op, model, (x1, x2, y))
        out = broadcast_shape(op, model, x1.shape, x2.shape)
        if out != tuple(y.shape):
            raise unsupported(op, model, f"output {list(y.shape)} is not the broadcast of "
                              f"{list(x1.shape)} and {list(x2.shape)}", "re-convert the model")
        if tuple(x1.shape) != tuple(x2.shape) and len(out) > 4:
            raise unsupported(op, model, f"broadcasting rank {len(out)} tensors",
                              "TFLite Micro broadcasts SQUARED_DIFFERENCE up to 4 dimensions")
        s1, s2, so = (np.float32(t.scale) for t in (x1, x2, y))
        twice_max = 2.0 * float(max(s1, s2))
        real1, real2 = float(s1) / twice_max, float(s2) / twice_max
        ls = SquaredDifference.LEFT_SHIFT
        real_out = twice_max * twice_max / float(np.float32(1 << (2 * ls)) * so)
        for real, what in ((real1, x1.name), (real2, x2.name)):
            if not 0.0 < real < 1.0:
                raise unsupported(op, model, f"input '{what}' rescale {real!r} outside (0, 1)",
                                  "check the tensors' scales")
        m1, sh1 = profile.quantize_multiplier(real1)
        m2, sh2 = profile.quantize_multiplier(real2)
        mo, sho = profile.quantize_multiplier(real_out)
        return SquaredDifferenceParams(tuple(x1.shape), tuple(x2.shape), out, -x1.zero_point,
                                       -x2.zero_point, y.zero_point, ls, m1, sh1, m2, sh2,
                                       mo, sho, profile.rounding)

    @staticmethod
    def run(p: SquaredDifferenceParams, inputs):
        rank = len(p.output_shape)
        b = inputs[0].shape[0]
        a = inputs[0].reshape(b, *(1,) * (rank - len(p.shape1)), *p.shape1)
        c = inputs[1].reshape(b, *(1,) * (rank - len(p.shape2)), *p.shape2)
        out = squared_difference_values(p, a, c)
        return [np.ascontiguousarray(np.broadcast_to(out, (b, *p.output_shape)))]


# ---- RSQRT ------------------------------------------------------------------------------------


K_SHIFT = 20


@dataclass
class RsqrtParams:
    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int
    table: np.ndarray  # int8 (256,): the output for every input q (index q + 128)
    valid: np.ndarray  # bool (256,): q >= input zero point
    name: str = ""


def rsqrt_values(q, zp_in: int, zp_out: int, multiplier: int, shift: int,
                 rounding: str = "double") -> np.ndarray:
    """RsqrtEvalQuantized for int8 values q >= zp_in (int8 result)."""
    value = np.asarray(q, np.int64) - zp_in
    inv, inv_shift = inv_sqrt_quantized_multiplier_exp(value)
    data = fp.multiply_by_quantized_multiplier(1, inv, inv_shift + K_SHIFT, rounding)
    out = fp.multiply_by_quantized_multiplier(data, multiplier, shift - K_SHIFT,
                                              rounding) + zp_out
    out = np.where(value == 0, np.int64(127), out)
    return np.clip(out, -128, 127).astype(np.int8)


@register("RSQRT")
class Rsqrt:
    SIGNATURE = Signature(inputs=("input",))

    @staticmethod
    def prepare(op, model, profile) -> RsqrtParams:
        (x,) = check_signature(op, model, Rsqrt.SIGNATURE)
        (y,) = model.op_outputs(op)
        require_int8(op, model, (x, y))
        if tuple(x.shape) != tuple(y.shape):
            raise unsupported(op, model, f"output {list(y.shape)} differs from input "
                              f"{list(x.shape)}", "re-convert the model")
        root = np.sqrt(np.float32(x.scale)) * np.float32(y.scale)  # float32, as sqrtf * s
        m, s = profile.quantize_multiplier(1.0 / float(root))
        if s - K_SHIFT < -31:
            raise unsupported(op, model, f"output rescale 2^{s - K_SHIFT} is below 2^-31",
                              "TFLite Micro's RoundingDivideByPOT is undefined there; check "
                              "the tensors' scales")
        q = np.arange(-128, 128)
        valid = q >= x.zero_point
        table = np.zeros(256, np.int8)
        table[valid] = rsqrt_values(q[valid], x.zero_point, y.zero_point, m, s,
                                    profile.rounding)
        return RsqrtParams(x.zero_point, y.zero_point, int(m), int(s), table, valid,
                           op.describe())

    @staticmethod
    def run(p: RsqrtParams, inputs):
        idx = inputs[0].astype(np.int64) + 128
        if not p.valid[idx].all():
            bad = np.argwhere(~p.valid[idx])[0]
            raise InputError(f"{p.name}: input value {int(idx[tuple(bad)]) - 128} (sample "
                             f"{int(bad[0])}) is below the zero point {p.input_zero_point}: "
                             "RSQRT of a negative number",
                             "TFLite Micro's RSQRT fails on it (\"Rsqrt is only defined for "
                             "positive values\"): feed non-negative values")
        return [np.ascontiguousarray(p.table[idx])]


# ---- L2_NORMALIZATION -------------------------------------------------------------------------


@dataclass
class L2NormParams:
    input_zero_point: int
    depth: int
    output_shape: tuple[int, ...]
    rounding: str = "double"  # MultiplyByQuantizedMultiplier's (profiles.Profile.rounding)


@register("L2_NORMALIZATION")
class L2Normalization:
    SIGNATURE = Signature(inputs=("input",))
    OUTPUT_SHIFT = 7  # the output is Q0.7: scale 1/128, zero point 0

    @staticmethod
    def prepare(op, model, profile) -> L2NormParams:
        (x,) = check_signature(op, model, L2Normalization.SIGNATURE)
        (y,) = model.op_outputs(op)
        require_int8(op, model, (x, y))
        if len(x.shape) > 4 or len(x.shape) < 1 or tuple(x.shape) != tuple(y.shape):
            raise unsupported(op, model, f"input {list(x.shape)} / output {list(y.shape)}",
                              "TFLite Micro's L2_NORMALIZATION takes 1 to 4 dimensions, output "
                              "shaped like the input")
        act = op.options.get("fused_activation_function", "NONE")
        if act not in ("NONE", 0, None):
            raise unsupported(op, model, f"fused activation {act}",
                              "TFLite Micro's L2_NORMALIZATION supports no activation")
        if np.float32(y.scale) != np.float32(1.0 / 128) or y.zero_point != 0:
            raise unsupported(op, model, f"output scale {y.scale:.9g}, zero point "
                              f"{y.zero_point}", "TFLite Micro writes q / 128 (scale 1/128, "
                              "zero point 0, as TFLiteConverter sets); re-convert the model")
        return L2NormParams(x.zero_point, int(x.shape[-1]), tuple(y.shape), profile.rounding)

    @staticmethod
    def run(p: L2NormParams, inputs):
        x = inputs[0]
        b = x.shape[0]
        v = x.astype(np.int64).reshape(-1, p.depth) - p.input_zero_point
        acc = fp.wrap_int32((v * v).sum(axis=1))
        inv, shift = inv_sqrt_quantized_multiplier_exp(acc)
        out = fp.multiply_by_quantized_multiplier(
            v, inv[:, None], shift[:, None] + L2Normalization.OUTPUT_SHIFT, p.rounding)
        return [np.clip(out, -128, 127).astype(np.int8).reshape(b, *p.output_shape)]
