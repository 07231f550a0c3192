"""ADD, SUB, MUL, MAXIMUM, MINIMUM on int16 (zero point 0) with broadcasting, fused activation
on int16 (ADD/SUB/MUL).

TFLite Micro (add_common.cc / sub_common.cc, mul_common.cc) takes the int8 kernels' general
path with int16 data: ADD/SUB with left_shift 15 instead of 20 (twice_max_input_scale and the
three ratios in double, QuantizeMultiplierSmallerThanOneExp, each offset input shifted left,
rescaled, summed/subtracted in int32 and rescaled to the output); MUL: the int32 product of the
offset inputs through MultiplyByQuantizedMultiplier(real = s1 * s2 / s_out).
"""
from __future__ import annotations

import numpy as np

from .. import fixedpoint as fp
from ..profiles import get_profile
from ..registry import register, unsupported
from .elementwise import (MAX_RANK, ElementwiseParams, _operands, _smaller_than_one,
                          broadcast_shape)
from .linear16 import INT16_MAX, INT16_MIN, act_range16, check_activation16, check_profile16

LEFT_SHIFT16 = 15


def _common16(op, model):
    ins, outs = model.op_inputs(op), model.op_outputs(op)
    if len(ins) != 2 or len(outs) != 1 or any(t is None for t in ins):
        raise unsupported(op, model, f"{len(ins)} inputs / {len(outs)} outputs",
                          f"{op.opcode} takes two inputs and one output")
    (x1, x2), (y,) = ins, outs
    check_activation16(op, model, (x1, x2, y))
    shape = broadcast_shape(op, model, x1.shape, x2.shape)
    if shape != tuple(y.shape):
        raise unsupported(op, model, f"output shape {list(y.shape)} is not the broadcast of "
                          f"{list(x1.shape)} and {list(x2.shape)}", "fix the model's shapes")
    rank = max(len(x1.shape), len(x2.shape), len(y.shape))
    if rank > MAX_RANK[op.opcode]:
        raise unsupported(op, model, f"rank {rank} tensors",
                          f"{op.opcode} supports up to {MAX_RANK[op.opcode]} dimensions")
    return x1, x2, y


def add_sub16_params(op, model, profile=None) -> ElementwiseParams:
    check_profile16(op, model, profile)
    x1, x2, y = _common16(op, model)
    s1, s2, so = (float(np.float32(t.scale)) for t in (x1, x2, y))
    twice_max = 2.0 * max(s1, s2)
    prof = get_profile(profile)
    m1, sh1 = _smaller_than_one(op, model, s1 / twice_max, f"input '{x1.name}'", prof)
    m2, sh2 = _smaller_than_one(op, model, s2 / twice_max, f"input '{x2.name}'", prof)
    mo, sho = _smaller_than_one(op, model, twice_max / ((1 << LEFT_SHIFT16) * so),
                                f"output '{y.name}'", prof)
    lo, hi = act_range16(op, model, y)
    return ElementwiseParams(
        op=op.opcode, shape1=tuple(x1.shape), shape2=tuple(x2.shape),
        output_shape=tuple(y.shape), left_shift=LEFT_SHIFT16, input1_multiplier=m1,
        input1_shift=sh1, input2_multiplier=m2, input2_shift=sh2, output_multiplier=mo,
        output_shift=sho, act_min=lo, act_max=hi)


def mul16_params(op, model, profile=None) -> ElementwiseParams:
    check_profile16(op, model, profile)
    x1, x2, y = _common16(op, model)
    real = (float(np.float32(x1.scale)) * float(np.float32(x2.scale))
            / float(np.float32(y.scale)))
    mo, sho = fp.quantize_multiplier(real)
    lo, hi = act_range16(op, model, y)
    return ElementwiseParams(
        op=op.opcode, shape1=tuple(x1.shape), shape2=tuple(x2.shape),
        output_shape=tuple(y.shape), output_multiplier=mo, output_shift=sho, act_min=lo,
        act_max=hi)


def add_sub16_values(p: ElementwiseParams, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sm = fp.multiply_by_quantized_multiplier_smaller_than_one_exp
    v1 = sm(a.astype(np.int64) << p.left_shift, p.input1_multiplier, p.input1_shift)
    v2 = sm(b.astype(np.int64) << p.left_shift, p.input2_multiplier, p.input2_shift)
    raw = fp.wrap_int32(v1 + v2 if p.op == "ADD" else v1 - v2)
    out = sm(raw, p.output_multiplier, p.output_shift) + p.output_offset
    return np.clip(out, max(p.act_min, INT16_MIN), min(p.act_max, INT16_MAX)).astype(np.int16)


def mul16_values(p: ElementwiseParams, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    prod = a.astype(np.int64) * b.astype(np.int64)  # |.| <= 2^30: an int32 product
    out = fp.multiply_by_quantized_multiplier(prod, p.output_multiplier, p.output_shift)
    return np.clip(fp.wrap_int32(out + p.output_offset), p.act_min, p.act_max).astype(np.int16)


def _run(values):
    def run(p: ElementwiseParams, inputs):
        a, b = _operands(p, inputs)
        out = values(p, a, b)
        return [np.ascontiguousarray(out.reshape(out.shape[0], *p.output_shape))]
    return run


@register("ADD", "SUB", activations="INT16")
class AddSub16:
    prepare = staticmethod(add_sub16_params)
    run = staticmethod(_run(add_sub16_values))


@register("MUL", activations="INT16")
class Mul16:
    prepare = staticmethod(mul16_params)
    run = staticmethod(_run(mul16_values))


def minmax16_params(op, model, profile=None) -> ElementwiseParams:
    """MAXIMUM/MINIMUM compare raw values (TFLM maximum_minimum.cc has no Prepare math)."""
    check_profile16(op, model, profile)
    x1, x2, y = _common16(op, model)
    return ElementwiseParams(op=op.opcode, shape1=tuple(x1.shape), shape2=tuple(x2.shape),
                             output_shape=tuple(y.shape), act_min=INT16_MIN, act_max=INT16_MAX)


def minmax16_values(p: ElementwiseParams, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (np.maximum(a, b) if p.op == "MAXIMUM" else np.minimum(a, b)).astype(np.int16)


@register("MAXIMUM", "MINIMUM", activations="INT16")
class MaximumMinimum16:
    prepare = staticmethod(minmax16_params)
    run = staticmethod(_run(minmax16_values))
