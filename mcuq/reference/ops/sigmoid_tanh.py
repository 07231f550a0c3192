"""LOGISTIC (output 1/256, -128) and TANH (output 1/128, 0), int8 in and out: TFLite Micro's
reference_integer_ops::Logistic / Tanh (LUT-free gemmlowp fixed point, input in Q4.27), with
the Prepare of logistic_common.cc / tanh.cc (frexp multiplier, CalculateInputRadius); the
single-rounding build rescales the input with one rounding.

Profile litert: LiteRT's reference kernels read a 256-entry table filled in float at prepare
(LUTPopulate<int8_t>): for every int8 q, f(s_in * (q - zp_in)) with f = 1 / (1 + expf(-x)) or
tanhf(x), times 1 / s_out, roundf, + zp_out, clamped. expf and tanhf are the C library's (the
same libm LiteRT calls, through ctypes; numpy's float32 exp may differ in the last bit)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import fixedpoint as fp
from .. import gemmlowp as gl
from ..registry import Signature, register, unsupported
from .softmax import calculate_input_radius

INPUT_INTEGER_BITS = 4

#: op -> (output scale, output zero point, right shift of the Q0.31 result, output offset)
OUTPUT = {"LOGISTIC": (1.0 / 256, -128, 31 - 8, -128), "TANH": (1.0 / 128, 0, 31 - 7, 0)}


@dataclass
class SigmoidTanhParams:
    op: str  # "LOGISTIC" or "TANH"
    input_zero_point: int
    input_range_radius: int
    input_multiplier: int
    input_left_shift: int
    output_shape: tuple[int, ...]
    rounding: str = "double"  # MultiplyByQuantizedMultiplier's (profiles.Profile.rounding)
    #: litert: the int8 output for every int8 input, indexed q + 128
    table: np.ndarray | None = None


def input_rescaling(input_scale: float) -> tuple[int, int, int]:
    """(multiplier, left_shift, range_radius) exactly as the int8 Prepare computes them."""
    real = float(np.float32(input_scale)) * float(1 << (31 - INPUT_INTEGER_BITS))
    q, shift = math.frexp(real)
    multiplier = int(fp.round_away(q * (1 << 31)))
    return multiplier, shift, calculate_input_radius(INPUT_INTEGER_BITS, shift, 31)


def _libm_float(name: str):
    """float name(float) from the C math library, or None when it cannot be loaded."""
    import ctypes
    import ctypes.util

    path = ctypes.util.find_library("m")
    try:
        fn = getattr(ctypes.CDLL(path), name)
    except (OSError, AttributeError, TypeError):
        return None
    fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
    return fn


def _float_function(op: str, x: np.ndarray) -> np.ndarray:
    """LiteRT's float transform on float32 values: 1 / (1 + expf(-x)) or tanhf(x)."""
    name = "expf" if op == "LOGISTIC" else "tanhf"
    fn = _libm_float(name)
    arg = -x if op == "LOGISTIC" else x
    if fn is not None:
        v = np.array([fn(float(a)) for a in arg], np.float32)  # 256 calls, once per prepare
    else:  # no C library: double precision rounded to float (differs only on near-ties)
        v = (np.exp(arg.astype(np.float64)) if op == "LOGISTIC"
             else np.tanh(arg.astype(np.float64))).astype(np.float32)
    if op == "LOGISTIC":
        with np.errstate(over="ignore", divide="ignore"):
            v = np.float32(1.0) / (np.float32(1.0) + v)
    return v


def litert_table(op: str, input_scale: float, input_zero_point: int, output_scale: float,
                 output_zero_point: int) -> np.ndarray:
    """LUTPopulate<int8_t> (LiteRT): the int8 output for every int8 input (index q + 128)."""
    q = np.arange(-128, 128, dtype=np.int64)
    with np.errstate(over="ignore", invalid="ignore"):
        deq = np.float32(input_scale) * (q - input_zero_point).astype(np.float32)
        inverse = np.float32(1.0) / np.float32(output_scale)
        rescaled = fp.round_away(_float_function(op, deq) * inverse).astype(np.float32)
        quantized = fp.c_float_to_int32(rescaled + np.float32(output_zero_point))
    return np.clip(quantized, -128, 127).astype(np.int8)


def _prepare(op, model, profile) -> SigmoidTanhParams:
    (x,) = model.op_inputs(op)[:1]
    (y,) = model.op_outputs(op)
    for t in (x, y):
        if t.type_name != "INT8":
            raise unsupported(op, model, f"tensor '{t.label}' is {t.type_name}",
                              f"mcuq supports int8 {op.opcode} only; convert with int8 I/O")
    scale, zp, _, _ = OUTPUT[op.opcode]
    if y.zero_point != zp or np.float32(y.scale) != np.float32(scale):
        raise unsupported(op, model, f"output '{y.label}' is quantized ({y.scale}, "
                          f"{y.zero_point}); the int8 kernel produces ({scale}, {zp})",
                          "re-convert the model (mcuq convert)")
    mult, shift, radius = input_rescaling(x.scale)
    if shift < 0 or mult >= (1 << 31):
        raise unsupported(op, model, f"input scale {x.scale} is out of the kernel's range",
                          "use an input scale above 2^-28")
    table = litert_table(op.opcode, x.scale, x.zero_point, y.scale, y.zero_point) \
        if profile.tflite_activations else None
    return SigmoidTanhParams(op=op.opcode, input_zero_point=x.zero_point,
                             input_range_radius=radius, input_multiplier=mult,
                             input_left_shift=shift, output_shape=tuple(y.shape),
                             rounding=profile.rounding, table=table)


def _run(p: SigmoidTanhParams, inputs):
    x = inputs[0]
    if p.table is not None:
        return [p.table[x.astype(np.int64) + 128].reshape(x.shape[0], *p.output_shape)]
    v = x.astype(np.int64) - p.input_zero_point
    # Lanes outside the radius are computed too (then discarded): only keep the shifted
    # value in int32 range so the vectorized arithmetic stays well defined.
    inside = (v > -p.input_range_radius) & (v < p.input_range_radius)
    q4 = fp.multiply_by_quantized_multiplier(np.where(inside, v, 0), p.input_multiplier,
                                             p.input_left_shift, p.rounding)
    _, _, right_shift, offset = OUTPUT[p.op]
    if p.op == "LOGISTIC":
        q0 = gl.logistic(q4, INPUT_INTEGER_BITS)
    else:
        q0 = gl.tanh(q4, INPUT_INTEGER_BITS)
    out = np.clip(fp.rounding_divide_by_pot(q0, right_shift) + offset, -128, 127)
    out = np.where(v <= -p.input_range_radius, -128, np.where(v >= p.input_range_radius, 127, out))
    return [out.astype(np.int8).reshape(x.shape[0], *p.output_shape)]


@register("LOGISTIC")
class Logistic:
    SIGNATURE = Signature(("input",))
    prepare = staticmethod(_prepare)
    run = staticmethod(_run)


@register("TANH")
class Tanh:
    SIGNATURE = Signature(("input",))
    prepare = staticmethod(_prepare)
    run = staticmethod(_run)
