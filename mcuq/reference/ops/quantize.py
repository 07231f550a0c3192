"""QUANTIZE and DEQUANTIZE (TFLM quantize_common.cc / dequantize_common.cc).

QUANTIZE float32 -> int8   reference_ops::AffineQuantize: round(x / scale) in float32 (one
                           IEEE single division, std::round ties away from zero) + zero_point,
                           clamped. Where |x / scale| >= 2^31 or x is NaN, TFLM's int32 cast is
                           undefined behaviour; mcuq saturates (NaN gives the zero point).
QUANTIZE int8/uint8 -> int8/uint8 (int8->int8, int8->uint8, uint8->int8; TFLM has no
                           uint8->uint8): reference_ops::Requantize with
                           M = double(s_in) / double(s_out): clamp(MBQM(x - zp_in) + zp_out).
                           (TFLM's XOR-0x80 fast path for equal scales gives the same bytes.)
DEQUANTIZE int8/uint8 -> float32   float(scale) * float(x - zero_point), one single-precision
                           product (no double).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import fixedpoint as fp
from ..registry import Signature, register, unsupported

_INT_RANGE = {"INT8": (-128, 127), "UINT8": (0, 255)}
# (input type, output type) pairs TFLM's QUANTIZE handles that mcuq supports.
_REQUANTIZE = {("INT8", "INT8"), ("INT8", "UINT8"), ("UINT8", "INT8")}


def _per_tensor(op, model, t):
    if t.quant is None or t.quant.scale.size != 1:
        raise unsupported(op, model, f"tensor '{t.label}' is not per-tensor quantized",
                          "TFLite Micro quantizes and dequantizes per tensor only")


def _same_size(op, model, x, y):
    if x.size != y.size:
        raise unsupported(op, model, f"input has {x.size} elements, output {y.size}",
                          "the op is elementwise: input and output shapes must match")


@dataclass
class QuantizeParams:
    mode: str  # "affine" (float32 input) or "requantize"
    input_zero_point: int
    output_zero_point: int
    scale: float  # output scale as float32 (affine)
    multiplier: int  # requantize
    shift: int
    qmin: int
    qmax: int
    output_dtype: np.dtype
    output_shape: tuple[int, ...]
    rounding: str = "double"  # MultiplyByQuantizedMultiplier's (profiles.Profile.rounding)


@register("QUANTIZE")
class Quantize:
    SIGNATURE = Signature(("input",))

    @staticmethod
    def prepare(op, model, profile) -> QuantizeParams:
        x = model.op_inputs(op)[0]
        (y,) = model.op_outputs(op)
        _same_size(op, model, x, y)
        _per_tensor(op, model, y)
        pair = (x.type_name, y.type_name)
        if pair == ("FLOAT32", "INT8"):
            mode, mult, shift = "affine", 0, 0
        elif pair in _REQUANTIZE:
            _per_tensor(op, model, x)
            mode = "requantize"
            real = float(np.float64(np.float32(x.scale)) / np.float64(np.float32(y.scale)))
            mult, shift = profile.quantize_multiplier(real)
        else:
            raise unsupported(op, model, f"{x.type_name} -> {y.type_name} is not supported",
                              "mcuq quantizes float32 -> int8 and requantizes int8 -> int8, "
                              "int8 -> uint8 and uint8 -> int8")
        qmin, qmax = _INT_RANGE[y.type_name]
        return QuantizeParams(mode=mode, input_zero_point=x.zero_point if x.quant else 0,
                              output_zero_point=y.zero_point, scale=float(np.float32(y.scale)),
                              multiplier=mult, shift=shift, qmin=qmin, qmax=qmax,
                              output_dtype=y.dtype, output_shape=y.shape,
                              rounding=profile.rounding)

    @staticmethod
    def run(p: QuantizeParams, inputs):
        x = inputs[0]
        if p.mode == "affine":
            v = fp.affine_quantize(x, p.scale, p.output_zero_point, p.qmin, p.qmax)
        else:
            v = fp.multiply_by_quantized_multiplier(
                x.astype(np.int64) - p.input_zero_point, p.multiplier, p.shift, p.rounding)
            v = np.clip(fp.wrap_int32(v + p.output_zero_point), p.qmin, p.qmax)  # int32 add
        out = v.astype(p.output_dtype)
        return [out.reshape(x.shape[0], *p.output_shape)]


@dataclass
class DequantizeParams:
    zero_point: int
    scale: float  # float32 value
    output_shape: tuple[int, ...]


@register("DEQUANTIZE")
class Dequantize:
    SIGNATURE = Signature(("input",))

    @staticmethod
    def prepare(op, model) -> DequantizeParams:
        x = model.op_inputs(op)[0]
        (y,) = model.op_outputs(op)
        _same_size(op, model, x, y)
        if x.type_name not in ("INT8", "UINT8") or y.type_name != "FLOAT32":
            raise unsupported(op, model, f"{x.type_name} -> {y.type_name} is not supported",
                              "mcuq dequantizes int8/uint8 -> float32")
        _per_tensor(op, model, x)
        return DequantizeParams(zero_point=x.zero_point, scale=float(np.float32(x.scale)),
                                output_shape=y.shape)

    @staticmethod
    def run(p: DequantizeParams, inputs):
        x = inputs[0]
        d = (x.astype(np.int32) - np.int32(p.zero_point)).astype(np.float32)
        out = np.float32(p.scale) * d
        return [out.astype(np.float32).reshape(x.shape[0], *p.output_shape)]
