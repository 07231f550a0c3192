"""SOFTMAX, int8 in and int8 out (scale 1/256, zero point -128), any beta: TFLite Micro's
reference_ops::Softmax<int8_t, int8_t> (the gemmlowp path: exp in Q5.26, sum in Q12.19,
GetReciprocal), with SoftmaxPrepare's PreprocessSoftmaxScaling and CalculateInputRadius.
LiteRT's reference kernel is the same. The single-rounding build caps the input multiplier at
2^30 - 1 (not 2^31 - 1) and rescales the input differences with one rounding."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import fixedpoint as fp
from .. import gemmlowp as gl
from ...errors import UnsupportedModelError
from ..registry import Signature, register, unsupported

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
    rounding: str = "double"  # MultiplyByQuantizedMultiplier's (profiles.Profile.rounding)
    exp_table: np.ndarray | None = None  # exp in Q0.31 per max - x in 0..255 (int64)
    term_table: np.ndarray | None = None  # its Q12.19 term of the sum, 0 below diff_min


def exp_tables(input_multiplier: int, input_left_shift: int, diff_min: int,
               rounding: str = "double"):
    """(exp, term) for every difference x - max of int8 inputs (index max - x, 0..255): the
    per-element arithmetic of the softmax done once per op instead of once per element."""
    diff = -np.arange(256, dtype=np.int64)
    rescaled = fp.multiply_by_quantized_multiplier_greater_than_one(
        diff, input_multiplier, input_left_shift, rounding)
    exp_q0 = gl.exp_on_negative_values(rescaled, SCALED_DIFF_INTEGER_BITS)
    terms = gl.rescale(exp_q0, 0, ACCUMULATION_INTEGER_BITS)
    return exp_q0, np.where(diff >= diff_min, terms, 0)


def preprocess_softmax_scaling(beta: float, input_scale: float, input_integer_bits: int,
                               profile=None) -> tuple[int, int]:
    """PreprocessSoftmaxScaling: (multiplier, left_shift). The real multiplier is capped at
    2^31 - 1, or 2^30 - 1 in the single-rounding build (its MultiplyByQuantizedMultiplier
    takes shifts up to 30)."""
    from ..profiles import get_profile

    profile = get_profile(profile)
    cap = float((1 << 30) - 1) if profile.rounding == "single" else float((1 << 31) - 1)
    real = min(float(beta) * float(input_scale) * float(1 << (31 - input_integer_bits)), cap)
    if not real > 1.0:  # QuantizeMultiplierGreaterThanOne's TFLITE_CHECK_GT(m, 1.)
        return 0, -1
    if profile.rounding == "single":  # capped at 2^30 - 1 above: shift <= 30
        return profile.quantize_multiplier(real)
    return fp.quantize_multiplier(real, max_shift=None)  # capped above: TFLM's defined path


def calculate_input_radius(input_integer_bits: int, input_left_shift: int,
                           total_signed_bits: int = 31) -> int:
    """CalculateInputRadius (double arithmetic, then floor)."""
    top = float(1 << (total_signed_bits - input_integer_bits))
    r = 1.0 * ((1 << input_integer_bits) - 1) * top / float(1 << input_left_shift)
    return int(math.floor(r))


@register("SOFTMAX")
class Softmax:
    SIGNATURE = Signature(("input",))

    @staticmethod
    def prepare(op, model, profile) -> SoftmaxParams:
        (x,) = model.op_inputs(op)[:1]
        (y,) = model.op_outputs(op)
        for t in (x, y):
            if t.type_name != "INT8":
                raise unsupported(op, model, f"tensor '{t.label}' is {t.type_name}",
                                  "mcuq supports int8 SOFTMAX only; convert with int8 I/O")
        if len(x.shape) < 1:
            raise unsupported(op, model, "input is a scalar", "give SOFTMAX at least 1 axis")
        # SoftmaxPrepare: output zero point -128 and scale exactly 1/256 (float compare).
        if y.zero_point != -128 or np.float32(y.scale) != np.float32(1.0 / 256):
            raise unsupported(
                op, model, f"output '{y.label}' is quantized ({y.scale}, {y.zero_point}), "
                "TFLite Micro requires (1/256, -128)", "re-convert the model (mcuq convert)")
        beta = float(np.float32(op.options.get("beta", 1.0)))
        mult, shift = preprocess_softmax_scaling(beta, float(np.float32(x.scale)),
                                                 SCALED_DIFF_INTEGER_BITS, profile)
        if shift < 0:
            raise unsupported(op, model, f"beta * input scale ({beta} * {x.scale}) is too small "
                              "for the fixed-point softmax (needs > 2^-26)",
                              "use a larger input scale or beta")
        diff_min = -calculate_input_radius(SCALED_DIFF_INTEGER_BITS, shift)
        exp_q0, terms = exp_tables(mult, shift, diff_min, profile.rounding)
        return SoftmaxParams(input_multiplier=mult, input_left_shift=shift, diff_min=diff_min,
                             depth=int(x.shape[-1]), output_shape=tuple(y.shape),
                             where=f"{model.source}: {op.describe()}",
                             exp_table=exp_q0, term_table=terms, rounding=profile.rounding)

    @staticmethod
    def run(p: SoftmaxParams, inputs):
        x = inputs[0]
        batch = x.shape[0]
        rows = x.reshape(-1, p.depth).astype(np.int16)
        index = rows.max(axis=1, keepdims=True) - rows  # max - x: 0..255
        if p.exp_table is None:  # params built by hand (tests)
            p.exp_table, p.term_table = exp_tables(p.input_multiplier, p.input_left_shift,
                                                   p.diff_min, p.rounding)
        valid = -index.astype(np.int64) >= p.diff_min
        exp_q0 = p.exp_table[index]
        sum_of_exps = fp.wrap_int32(p.term_table[index].sum(axis=1, keepdims=True))
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
