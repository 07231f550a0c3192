"""LOGISTIC (output 1/256, -128) and TANH (output 1/128, 0), int8 in and out: TFLite Micro's
reference_integer_ops::Logistic / Tanh (LUT-free gemmlowp fixed point, input in Q4.27), with
the Prepare of logistic_common.cc / tanh.cc (frexp multiplier, CalculateInputRadius)."""
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


def input_rescaling(input_scale: float) -> tuple[int, int, int]:
    """(multiplier, left_shift, range_radius) exactly as the int8 Prepare computes them."""
    real = float(np.float32(input_scale)) * float(1 << (31 - INPUT_INTEGER_BITS))
    q, shift = math.frexp(real)
    multiplier = int(fp.round_away(q * (1 << 31)))
    return multiplier, shift, calculate_input_radius(INPUT_INTEGER_BITS, shift, 31)


def _prepare(op, model) -> SigmoidTanhParams:
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
    return SigmoidTanhParams(op=op.opcode, input_zero_point=x.zero_point,
                             input_range_radius=radius, input_multiplier=mult,
                             input_left_shift=shift, output_shape=tuple(y.shape))


def _run(p: SigmoidTanhParams, inputs):
    x = inputs[0]
    v = x.astype(np.int64) - p.input_zero_point
    # Lanes outside the radius are computed too (then discarded): only keep the shifted
    # value in int32 range so the vectorized arithmetic stays well defined.
    inside = (v > -p.input_range_radius) & (v < p.input_range_radius)
    q4 = fp.multiply_by_quantized_multiplier(np.where(inside, v, 0), p.input_multiplier,
                                             p.input_left_shift)
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
