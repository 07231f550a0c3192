"""Pointwise activations on int8: RELU, RELU6, LEAKY_RELU, HARD_SWISH (TFLM reference kernels).

RELU       requantizes: out = clamp(zp_out + MBQM(x - zp_in, M, s), max(-128, zp_out), 127)
           with M = double(s_in) / double(s_out) (activations_common.cc CalculateReluOpData).
RELU6      TFLM clamps in the INPUT's quantization and ignores the output's:
           out = clamp(x, zp_in, round(6.0f / s_in) + zp_in) (Relu6Prepare). TFLite's
           interpreter requantizes instead; the two agree only when input and output share
           scale and zero point (as converted models have).
LEAKY_RELU two multipliers, both computed in double by the tflite-micro build:
           identity = double(s_in) / double(s_out), alpha = double(s_in) * double(alpha) /
           double(s_out) (probed: with s_in 0.25, s_out 0.1 the float quotient 2.5 rounds
           x = 1 up to 3, TFLite Micro gives 2; some leaky_relu_common.cc versions divide in
           float). A negative alpha is applied as -MBQM(x, -M_alpha) (QuantizeLeakyRelu).
HARD_SWISH int16 fixed point (reference_ops::HardSwish) with int16 multipliers from
           DownScaleInt32ToInt16Multiplier; every int16 intermediate wraps as C does.

Profile litert (LiteRT's activations.cc, decided in each prepare): RELU and LEAKY_RELU take
their real multipliers as float quotients/products (converted to double afterwards); RELU6
requantizes like RELU, clamped to [zp_out, zp_out + roundf(6.0f / s_out)]. single-rounding:
every MultiplyByQuantizedMultiplier rounds once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import fixedpoint as fp
from ..registry import Signature, register, unsupported


def _int8_pair(op, model):
    (x,) = model.op_inputs(op)[:1]
    (y,) = model.op_outputs(op)
    for t in (x, y):
        if t.type_name != "INT8":
            raise unsupported(op, model, f"tensor '{t.label}' is {t.type_name}",
                              "mcuq supports int8 activations (convert with mcuq convert)")
        if t.quant is None or t.quant.per_channel:
            raise unsupported(op, model, f"tensor '{t.label}' is not per-tensor quantized",
                              "convert with full-int8 quantization (mcuq convert)")
    if x.size != y.size:
        raise unsupported(op, model, f"input has {x.size} elements, output {y.size}",
                          "the op is elementwise: input and output shapes must match")
    return x, y


# -- int16 helpers (gemmlowp semantics on std::int16_t, int arithmetic then narrowing) --------

def wrap16(x):
    """Two's-complement narrowing to int16 (what a C assignment to int16_t does)."""
    x = np.asarray(x, dtype=np.int64)
    return ((x + 32768) & 0xFFFF) - 32768


def _trunc_div(num, d: int):
    """C integer division (toward zero) of int64 values by a positive power of two."""
    return np.where(num >= 0, num // d, -((-num) // d))


def srdhm16(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul on int16."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    ab = a * b
    nudge = np.where(ab >= 0, np.int64(1 << 14), np.int64(1 - (1 << 14)))
    high = wrap16(_trunc_div(ab + nudge, 1 << 15))
    return np.where((a == b) & (a == -32768), np.int64(32767), high)


def sdhm16(a, b):
    """SaturatingDoublingHighMul (hard_swish.h): like srdhm16 but truncating toward zero."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    high = wrap16(_trunc_div(a * b, 1 << 15))
    return np.where((a == b) & (a == -32768), np.int64(32767), high)


def rdbp16(x, exponent: int):
    """gemmlowp RoundingDivideByPOT on int16 (0 <= exponent <= 31). The mask is narrowed to
    int16 like gemmlowp's Dup<int16_t>((1ll << exponent) - 1), so exponents >= 16 give the
    same odd results as TFLM (mask -1)."""
    x = np.asarray(x, dtype=np.int64)
    mask = int(wrap16((1 << exponent) - 1))
    remainder = wrap16(x & mask)
    threshold = wrap16((mask >> 1) + (x < 0))
    return wrap16((x >> exponent) + (remainder > threshold))


def saturating_left_shift16(x, amount: int):
    return np.clip(np.asarray(x, dtype=np.int64) * (1 << amount), -32768, 32767)


def downscale_multiplier16(q32: int) -> int:
    """DownScaleInt32ToInt16Multiplier."""
    if q32 >= (1 << 31) - 1 - (1 << 15):
        return 32767
    return (q32 + (1 << 15)) >> 16


# -- RELU --------------------------------------------------------------------------------------

@dataclass
class ReluParams:
    input_offset: int  # input zero point (subtracted)
    output_offset: int
    multiplier: int
    shift: int
    act_min: int
    act_max: int
    output_shape: tuple[int, ...]
    rounding: str = "double"  # MultiplyByQuantizedMultiplier's (profiles.Profile.rounding)


def _ratio(profile, numerator: float, denominator: float) -> float:
    """numerator / denominator of float32 scales: in double (TFLite Micro) or in float
    (LiteRT's `input->params.scale / output->params.scale`)."""
    a, b = np.float32(numerator), np.float32(denominator)
    return float(a / b) if profile.tflite_activations else float(np.float64(a) / np.float64(b))


def relu_params(x, y, profile, upper: float | None = None) -> "ReluParams":
    """RELU's requantization (and LiteRT's RELU6: upper 6.0): zp_out + MBQM(x - zp_in) clamped
    to [max(-128, zp_out), min(127, zp_out + roundf(upper / s_out))]."""
    mult, shift = profile.quantize_multiplier(_ratio(profile, x.scale, y.scale))
    hi = 127
    if upper is not None:
        q = fp.c_float_to_int32(fp.round_away(np.float32(upper) / np.float32(y.scale)))
        hi = min(127, int(fp.wrap_int32(int(q) + y.zero_point)))
    # zero_point + roundf(0.0f / scale) == zero_point
    return ReluParams(input_offset=x.zero_point, output_offset=y.zero_point,
                      multiplier=mult, shift=shift, act_min=max(-128, y.zero_point),
                      act_max=hi, output_shape=y.shape, rounding=profile.rounding)


@register("RELU")
class Relu:
    SIGNATURE = Signature(("input",))

    @staticmethod
    def prepare(op, model, profile) -> ReluParams:
        x, y = _int8_pair(op, model)
        return relu_params(x, y, profile)

    @staticmethod
    def run(p: ReluParams, inputs):
        x = inputs[0].astype(np.int64) - p.input_offset
        v = fp.multiply_by_quantized_multiplier(x, p.multiplier, p.shift,
                                                p.rounding) + p.output_offset
        out = np.clip(fp.wrap_int32(v), p.act_min, p.act_max).astype(np.int8)  # int32 add
        return [out.reshape(x.shape[0], *p.output_shape)]


# -- RELU6 -------------------------------------------------------------------------------------

@dataclass
class Relu6Params:
    lower: int  # input zero point
    upper: int  # 6.0 in the input's quantization
    output_shape: tuple[int, ...]
    #: litert: LiteRT requantizes RELU6 (RELU's arithmetic, upper bound 6.0 in the output's
    #: quantization) instead of clamping in the input's
    requantize: ReluParams | None = None


def float_to_quantized_int8(value: float, scale: float, zero_point: int) -> int:
    """FloatToQuantizedType<int8_t>: round(value / scale) + zero_point in float, clamped."""
    q = float(np.float32(value) / np.float32(scale))
    return int(np.clip(int(fp.round_away(q)) + zero_point, -128, 127))


@register("RELU6")
class Relu6:
    SIGNATURE = Signature(("input",))

    @staticmethod
    def prepare(op, model, profile) -> Relu6Params:
        x, y = _int8_pair(op, model)
        return Relu6Params(lower=x.zero_point,
                           upper=float_to_quantized_int8(6.0, x.scale, x.zero_point),
                           output_shape=y.shape,
                           requantize=relu_params(x, y, profile, 6.0) if profile.tflite_activations else None)

    @staticmethod
    def run(p: Relu6Params, inputs):
        if p.requantize is not None:
            return Relu.run(p.requantize, inputs)
        x = inputs[0]
        v = x.astype(np.int64)
        out = np.where(v > p.upper, p.upper, np.where(v < p.lower, p.lower, v)).astype(np.int8)
        return [out.reshape(x.shape[0], *p.output_shape)]


# -- LEAKY_RELU --------------------------------------------------------------------------------

@dataclass
class LeakyReluParams:
    input_offset: int
    output_offset: int
    multiplier_identity: int
    shift_identity: int
    multiplier_alpha: int  # negative when alpha < 0
    shift_alpha: int
    output_shape: tuple[int, ...]
    rounding: str = "double"  # MultiplyByQuantizedMultiplier's (profiles.Profile.rounding)
    #: a negative alpha multiplier as -MBQM(x, -M) (TFLite Micro, LiteRT) or MBQM(x, M)
    negate_alpha: bool = True


@register("LEAKY_RELU")
class LeakyRelu:
    SIGNATURE = Signature(("input",))

    @staticmethod
    def prepare(op, model, profile) -> LeakyReluParams:
        x, y = _int8_pair(op, model)
        alpha = np.float32(op.options.get("alpha", 0.0))
        s_in, s_out = np.float32(x.scale), np.float32(y.scale)
        if profile.tflite_activations:  # float32 arithmetic, converted to double afterwards
            real_alpha = float(s_in * alpha / s_out)
        else:
            real_alpha = float(np.float64(s_in) * np.float64(alpha) / np.float64(s_out))
        m_a, s_a = profile.quantize_multiplier(real_alpha)
        m_i, s_i = profile.quantize_multiplier(_ratio(profile, s_in, s_out))
        return LeakyReluParams(input_offset=x.zero_point, output_offset=y.zero_point,
                               multiplier_identity=m_i, shift_identity=s_i,
                               multiplier_alpha=m_a, shift_alpha=s_a, output_shape=y.shape,
                               rounding=profile.rounding,
                               negate_alpha=not profile.leaky_relu_negative_multiplier)

    @staticmethod
    def run(p: LeakyReluParams, inputs):
        x = inputs[0].astype(np.int64) - p.input_offset
        pos = fp.multiply_by_quantized_multiplier(x, p.multiplier_identity, p.shift_identity,
                                                  p.rounding)
        # TFLM (and LiteRT) multiply by |multiplier| and negate the product when alpha < 0
        # (which rounds differently from multiplying by the negative multiplier directly, as
        # TFLite < 2.20 does).
        negative = p.multiplier_alpha < 0 and p.negate_alpha
        safe = int(fp.wrap_int32(-p.multiplier_alpha)) if negative else p.multiplier_alpha
        neg = fp.multiply_by_quantized_multiplier(x, safe, p.shift_alpha, p.rounding)
        if negative:
            neg = fp.wrap_int32(-neg)
        v = fp.wrap_int32(np.where(x >= 0, pos, neg) + p.output_offset)  # int32 in TFLM
        out = np.clip(v, -128, 127).astype(np.int8)
        return [out.reshape(x.shape[0], *p.output_shape)]


# -- HARD_SWISH --------------------------------------------------------------------------------

@dataclass
class HardSwishParams:
    input_zero_point: int
    output_zero_point: int
    output_multiplier: int  # int16 fixed point
    output_exponent: int  # <= 0
    reluish_multiplier: int  # int16 fixed point
    reluish_exponent: int
    output_shape: tuple[int, ...]


@register("HARD_SWISH")
class HardSwish:
    SIGNATURE = Signature(("input",))

    @staticmethod
    def prepare(op, model, profile) -> HardSwishParams:
        x, y = _int8_pair(op, model)
        s_in = np.float32(x.scale)
        hires = np.float32(1.0 / 128.0) * s_in
        reluish_scale = np.float32(3.0 / 32768.0)
        out_m, out_e = profile.quantize_multiplier(float(hires / np.float32(y.scale)))
        if out_e > 0:
            raise unsupported(op, model,
                              f"output scale {y.scale:g} is below input scale / 128 "
                              f"({x.scale:g} / 128); TFLite Micro rejects it",
                              "requantize the model with a wider output range")
        rel_m, rel_e = profile.quantize_multiplier(float(hires / reluish_scale))
        return HardSwishParams(input_zero_point=x.zero_point, output_zero_point=y.zero_point,
                               output_multiplier=downscale_multiplier16(out_m),
                               output_exponent=out_e,
                               reluish_multiplier=downscale_multiplier16(rel_m),
                               reluish_exponent=rel_e, output_shape=y.shape)

    @staticmethod
    def run(p: HardSwishParams, inputs):
        x = inputs[0]
        value = wrap16(x.astype(np.int64) - p.input_zero_point)
        hires = wrap16(value * 128)
        preshift_out = srdhm16(hires, p.output_multiplier)
        reluish = hires
        if p.reluish_exponent > 0:
            reluish = saturating_left_shift16(reluish, p.reluish_exponent - 1)
        reluish = srdhm16(reluish, p.reluish_multiplier)
        if p.reluish_exponent > 0:
            reluish = saturating_left_shift16(reluish, 1)
        if p.reluish_exponent < 0:
            reluish = rdbp16(reluish, -p.reluish_exponent)
        reluish = wrap16((reluish + (1 << 15)) >> 1)
        pre = sdhm16(reluish, preshift_out)
        out = wrap16(rdbp16(pre, -p.output_exponent) + p.output_zero_point)
        out = np.clip(out, -128, 127).astype(np.int8)
        return [out.reshape(x.shape[0], *p.output_shape)]
