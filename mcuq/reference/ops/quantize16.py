"""QUANTIZE and DEQUANTIZE with int16 tensors (TFLM quantize_common.cc, dequantize_common.cc).

QUANTIZE float32 -> int16   AffineQuantize: round(x / scale) (float32 division, ties away from
                            zero) + zero point, clamped to int16. |x / scale| beyond the int32
                            cast is undefined behaviour in TFLM; mcuq saturates (NaN: zero point).
QUANTIZE int16 -> int8, int8 -> int16, int16 -> int16   reference_ops::Requantize with
                            M = double(s_in) / double(s_out):
                            clamp(MultiplyByQuantizedMultiplier(x - zp_in) + zp_out) (int32).
DEQUANTIZE int16 -> float32 scale * (x - zero point): the double product of TFLM is exact for
                            |x - zp| < 2^17 and rounds once to float, as a float32 product does.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import fixedpoint as fp
from ..registry import register, unsupported
from .linear16 import check_profile16
from .quantize import DequantizeParams, _per_tensor, _same_size

_RANGE = {"INT8": (-128, 127), "INT16": (-32768, 32767)}
_REQUANTIZE = {("INT16", "INT8"), ("INT8", "INT16"), ("INT16", "INT16")}


@dataclass
class Quantize16Params:
    mode: str  # "affine" (float32 input) or "requantize"
    input_zero_point: int
    output_zero_point: int
    scale: float  # output scale, float32 value (affine)
    multiplier: int
    shift: int
    qmin: int
    qmax: int
    output_dtype: np.dtype
    output_shape: tuple[int, ...]


def affine_quantize16(x, scale: float, zero_point: int, qmin: int, qmax: int) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        q = np.asarray(x, np.float32) / np.float32(scale)
    q = np.nan_to_num(q.astype(np.float64), nan=0.0)
    r = fp.round_away(np.clip(q, -(2.0 ** 20), 2.0 ** 20))
    return np.clip(r.astype(np.int64) + int(zero_point), qmin, qmax)


@register("QUANTIZE", activations="INT16")
class Quantize16:
    @staticmethod
    def prepare(op, model, profile=None) -> Quantize16Params:
        check_profile16(op, model, profile)
        x = model.op_inputs(op)[0]
        (y,) = model.op_outputs(op)
        _same_size(op, model, x, y)
        _per_tensor(op, model, y)
        pair = (x.type_name, y.type_name)
        if pair == ("FLOAT32", "INT16"):
            mode, mult, shift = "affine", 0, 0
        elif pair in _REQUANTIZE:
            _per_tensor(op, model, x)
            mode = "requantize"
            mult, shift = fp.quantize_multiplier(
                float(np.float64(np.float32(x.scale)) / np.float64(np.float32(y.scale))))
        else:
            raise unsupported(op, model, f"{x.type_name} -> {y.type_name} is not supported",
                              "mcuq quantizes float32 -> int16 and requantizes int16 <-> int8 "
                              "and int16 -> int16")
        qmin, qmax = _RANGE[y.type_name]
        return Quantize16Params(mode, x.zero_point if x.quant else 0, y.zero_point,
                                float(np.float32(y.scale)), mult, shift, qmin, qmax, y.dtype,
                                tuple(y.shape))

    @staticmethod
    def run(p: Quantize16Params, inputs):
        x = inputs[0]
        if p.mode == "affine":
            v = affine_quantize16(x, p.scale, p.output_zero_point, p.qmin, p.qmax)
        else:
            v = fp.multiply_by_quantized_multiplier(
                x.astype(np.int64) - p.input_zero_point, p.multiplier, p.shift)
            v = np.clip(fp.wrap_int32(v + p.output_zero_point), p.qmin, p.qmax)
        return [v.astype(p.output_dtype).reshape(x.shape[0], *p.output_shape)]


@register("DEQUANTIZE", activations="INT16")
class Dequantize16:
    @staticmethod
    def prepare(op, model, profile=None) -> DequantizeParams:
        check_profile16(op, model, profile)
        x = model.op_inputs(op)[0]
        (y,) = model.op_outputs(op)
        _same_size(op, model, x, y)
        if x.type_name != "INT16" or y.type_name != "FLOAT32":
            raise unsupported(op, model, f"{x.type_name} -> {y.type_name} is not supported",
                              "mcuq dequantizes int16 -> float32")
        _per_tensor(op, model, x)
        return DequantizeParams(zero_point=x.zero_point, scale=float(np.float32(x.scale)),
                                output_shape=tuple(y.shape))

    @staticmethod
    def run(p: DequantizeParams, inputs):
        x = inputs[0]
        d = (x.astype(np.int32) - np.int32(p.zero_point)).astype(np.float32)
        return [(np.float32(p.scale) * d).astype(np.float32).reshape(x.shape[0],
                                                                      *p.output_shape)]
