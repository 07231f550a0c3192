"""SOFTMAX, int8 in and int8 out (scale 1/256, zero point -128), any beta: TFLite Micro's
reference_ops::Softmax<int8_t, int8_t> (the gemmlowp path: exp in Q5.26, sum in Q12.19,
GetReciprocal), with SoftmaxPrepare's PreprocessSoftmaxScaling and CalculateInputRadius."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import fixedpoint as fp
from .. import gemmlowp as gl
from ...errors import UnsupportedModelError
from ..registry import register, unsupported

SCALED_DIFF_INTEGER_BITS = 5
ACCUMULATION_INTEGER_BITS = 12


@dataclass
class SoftmaxParams:
    input_multiplier: int
    input_left_shift: int
    diff_min: int
    depth: int  # size of the last axis
    output_shape: tuple[int, ...]
    where: str  # "model: SOFTMAX #i" for run-time errors


def preprocess_softmax_scaling(beta: float, input_scale: float,
                               input_integer_bits: int) -> tuple[int, int]:
    """PreprocessSoftmaxScaling (double rounding build): (multiplier, left_shift)."""
    real = min(float(beta) * float(input_scale) * float(1 << (31 - input_integer_bits)),
               float((1 << 31) - 1))
    if not real > 1.0:  # QuantizeMultiplierGreaterThanOne's TFLITE_CHECK_GT(m, 1.)
        return 0, -1
    return fp.quantize_multiplier(real)


def calculate_input_radius(input_integer_bits: int, input_left_shift: int,
                           total_signed_bits: int = 31) -> int:
    """CalculateInputRadius (double arithmetic, then floor)."""
    top = float(1 << (total_signed_bits - input_integer_bits))
    r = 1.0 * ((1 << input_integer_bits) - 1) * top / float(1 << input_left_shift)
    return int(math.floor(r))


@register("SOFTMAX")
class Softmax:
    @staticmethod
    def prepare(op, model) -> SoftmaxParams:
        (x,) = model.op_inputs(op)[:1]
        (y,) = model.op_outputs(op)
        for t in (x, y):
            if t.type_name != "INT8":
                raise unsupported(op, model, f"tensor '{t.name}' is {t.type_name}",
                                  "mcuq supports int8 SOFTMAX only; convert with int8 I/O")
        if len(x.shape) < 1:
            raise unsupported(op, model, "input is a scalar", "give SOFTMAX at least 1 axis")
        # SoftmaxPrepare: output zero point -128 and scale exactly 1/256 (float compare).
        if y.zero_point != -128 or np.float32(y.scale) != np.float32(1.0 / 256):
            raise unsupported(
                op, model, f"output '{y.name}' is quantized ({y.scale}, {y.zero_point}), "
                "TFLite Micro requires (1/256, -128)", "re-convert the model (mcuq convert)")
        beta = float(np.float32(op.options.get("beta", 1.0)))
        mult, shift = preprocess_softmax_scaling(beta, float(np.float32(x.scale)),
                                                 SCALED_DIFF_INTEGER_BITS)
        if shift < 0:
            raise unsupported(op, model, f"beta * input scale ({beta} * {x.scale}) is too small "
                              "for the fixed-point softmax (needs > 2^-26)",
                              "use a larger input scale or beta")
        diff_min = -calculate_input_radius(SCALED_DIFF_INTEGER_BITS, shift)
        return SoftmaxParams(input_multiplier=mult, input_left_shift=shift, diff_min=diff_min,
                             depth=int(x.shape[-1]), output_shape=tuple(y.shape),
                             where=f"{model.source}: {op.describe()}")

    @staticmethod
    def run(p: SoftmaxParams, inputs):
        x = inputs[0]
        batch = x.shape[0]
        rows = x.reshape(-1, p.depth).astype(np.int64)
        diff = rows - rows.max(axis=1, keepdims=True)
        valid = diff >= p.diff_min
        rescaled = fp.multiply_by_quantized_multiplier_greater_than_one(
            diff, p.input_multiplier, p.input_left_shift)
        exp_q0 = gl.exp_on_negative_values(rescaled, SCALED_DIFF_INTEGER_BITS)
        terms = gl.rescale(exp_q0, 0, ACCUMULATION_INTEGER_BITS)
        sum_of_exps = fp.wrap_int32(np.where(valid, terms, 0).sum(axis=1, keepdims=True))
        shifted_scale, num_bits_over_unit = gl.get_reciprocal(sum_of_exps,
                                                              ACCUMULATION_INTEGER_BITS)
        exponent = num_bits_over_unit + 31 - 8
        if np.any((exponent < 0) | (exponent > 31)):
            raise UnsupportedModelError(
                f"{p.where}: the sum of exponentials over {p.depth} classes leaves the range "
                "of TFLite Micro's fixed-point softmax (its TFLITE_CHECK aborts)",
                "split the softmax axis or reduce the number of classes")
        unsat = fp.rounding_divide_by_pot(fp.saturating_rounding_doubling_high_mul(
            shifted_scale, exp_q0), exponent)
        out = np.where(valid, np.clip(unsat - 128, -128, 127), -128).astype(np.int8)
        return [out.reshape(batch, *p.output_shape)]
