"""Elementwise binary ops on int8 with TFLite broadcasting: ADD, SUB, MUL (requantizing, fused
activation) and MAXIMUM, MINIMUM (raw int8 comparison).

Parameters follow TFLite Micro's Prepare exactly:
  ADD (add_common.cc CalculateOpDataAdd): left_shift 20; twice_max_input_scale and the three
      real multipliers in double; QuantizeMultiplierSmallerThanOneExp for input1, input2 and
      the output.
  SUB (sub_common.cc CalculateOpDataSub): the same parameters (double, as measured against
      the tflite-micro package), raw_sub = scaled1 - scaled2.
  MUL (mul_common.cc CalculateOpDataMul): real = (double)s1 * (double)s2 / (double)s_out,
      QuantizeMultiplier; product of the offset inputs through MultiplyByQuantizedMultiplier.
  MAXIMUM/MINIMUM (maximum_minimum.cc): no Prepare; compares the raw int8 values and ignores
      every quantization parameter (mismatched input/output scales are not rescaled).
Broadcasting is numpy's (== TFLite's: trailing-aligned, size-1 dims stretch).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import fixedpoint as fp
from ..registry import Signature, register, unsupported

#: Highest rank accepted (also the C kernel's MCUQ_ELEMENTWISE_MAX_RANK): TFLite Micro's
#: RuntimeShape holds 6 dimensions (registry.TFLM_MAX_RANK). Rank 7 measured exact on the
#: tflite-micro package and rank 8 wrong, but a rank-7 shape already copies past RuntimeShape's
#: end (undefined behaviour that happened to be harmless there), so 7 is refused as well.
MAX_RANK = {"ADD": 6, "SUB": 6, "MUL": 6, "MAXIMUM": 6, "MINIMUM": 6}
LEFT_SHIFT = 20  # int8 ADD/SUB


@dataclass
class ElementwiseParams:
    op: str
    shape1: tuple[int, ...]
    shape2: tuple[int, ...]
    output_shape: tuple[int, ...]
    input1_offset: int = 0
    input2_offset: int = 0
    output_offset: int = 0
    left_shift: int = 0
    input1_multiplier: int = 0
    input1_shift: int = 0
    input2_multiplier: int = 0
    input2_shift: int = 0
    output_multiplier: int = 0
    output_shift: int = 0
    act_min: int = -128
    act_max: int = 127
    rounding: str = "double"  # MultiplyByQuantizedMultiplier's (profiles.Profile.rounding)
    #: ADD/SUB/MUL: (parameters it was built from, the int8 output for every pair of int8
    #: inputs indexed [uint8(a) << 8 | uint8(b)]), built in prepare by the exact arithmetic.
    _table: tuple | None = field(default=None, repr=False, compare=False)

    def table_key(self) -> tuple:
        return (self.op, self.input1_offset, self.input2_offset, self.output_offset,
                self.left_shift, self.input1_multiplier, self.input1_shift,
                self.input2_multiplier, self.input2_shift, self.output_multiplier,
                self.output_shift, self.act_min, self.act_max, self.rounding)


def broadcast_shape(op, model, s1, s2) -> tuple[int, ...]:
    try:
        return tuple(int(d) for d in np.broadcast_shapes(tuple(s1), tuple(s2)))
    except ValueError:
        raise unsupported(op, model, f"input shapes {list(s1)} and {list(s2)} do not broadcast",
                          "fix the model: each dimension must match or be 1") from None


def _smaller_than_one(op, model, real: float, what: str, profile) -> tuple[int, int]:
    """QuantizeMultiplierSmallerThanOneExp: TFLM CHECK-fails unless 0 < real < 1."""
    if not 0.0 < real < 1.0:
        raise unsupported(op, model, f"{what} rescale factor {real!r} is outside (0, 1)",
                          "TFLite Micro aborts on this model; check the tensors' scales "
                          "(the output scale is far too small for the inputs)")
    q, shift = profile.quantize_multiplier(real)
    return q, shift


def _check_tensors(op, model, tensors, need_quant: bool) -> None:
    for t in tensors:
        if t.type_name != "INT8":
            raise unsupported(op, model, f"tensor '{t.label}' is {t.type_name}",
                              "convert with int8 activations (mcuq convert)")
        if not need_quant:
            continue
        if t.quant is None or t.quant.scale.size == 0:
            raise unsupported(op, model, f"tensor '{t.label}' has no quantization",
                              "convert with full-integer quantization (mcuq convert)")
        if t.quant.per_channel:
            raise unsupported(op, model, f"tensor '{t.label}' is quantized per channel",
                              f"{op.opcode} needs per-tensor quantization")


def _prepare_common(op, model, need_quant: bool):
    ins = model.op_inputs(op)
    outs = model.op_outputs(op)
    if len(ins) != 2 or len(outs) != 1 or any(t is None for t in ins):
        raise unsupported(op, model, f"{len(ins)} inputs / {len(outs)} outputs",
                          f"{op.opcode} takes two inputs and one output")
    x1, x2 = ins
    (y,) = outs
    _check_tensors(op, model, (x1, x2, y), need_quant)
    out_shape = broadcast_shape(op, model, x1.shape, x2.shape)
    if out_shape != tuple(y.shape):
        raise unsupported(op, model, f"output shape {list(y.shape)} is not the broadcast of "
                          f"{list(x1.shape)} and {list(x2.shape)}", "fix the model's shapes")
    rank = max(len(x1.shape), len(x2.shape), len(y.shape))
    if rank > MAX_RANK[op.opcode]:
        raise unsupported(op, model, f"rank {rank} tensors",
                          f"{op.opcode} supports up to {MAX_RANK[op.opcode]} dimensions")
    return x1, x2, y


def _activation(op, model, y) -> tuple[int, int]:
    return fp.activation_range(op.options.get("fused_activation_function", "NONE"),
                               y.scale, y.zero_point)


def add_sub_params(op, model, profile) -> ElementwiseParams:
    x1, x2, y = _prepare_common(op, model, need_quant=True)
    # add_common.cc / sub_common.cc: twice_max_input_scale and the three ratios in double.
    # (Some TFLM sources compute SUB's ratios in float; the tflite-micro build mcuq is judged
    # against uses double for SUB too: tests/reference/test_elementwise.py pins a case.)
    s1, s2, so = (float(np.float32(t.scale)) for t in (x1, x2, y))
    twice_max = 2.0 * max(s1, s2)
    real1 = s1 / twice_max
    real2 = s2 / twice_max
    real_out = twice_max / ((1 << LEFT_SHIFT) * so)
    m1, sh1 = _smaller_than_one(op, model, real1, f"input '{x1.label}'", profile)
    m2, sh2 = _smaller_than_one(op, model, real2, f"input '{x2.label}'", profile)
    mo, sho = _smaller_than_one(op, model, real_out, f"output '{y.label}'", profile)
    lo, hi = _activation(op, model, y)
    p = ElementwiseParams(
        op=op.opcode, shape1=tuple(x1.shape), shape2=tuple(x2.shape), output_shape=tuple(y.shape),
        input1_offset=-x1.zero_point, input2_offset=-x2.zero_point, output_offset=y.zero_point,
        left_shift=LEFT_SHIFT, input1_multiplier=m1, input1_shift=sh1, input2_multiplier=m2,
        input2_shift=sh2, output_multiplier=mo, output_shift=sho, act_min=lo, act_max=hi,
        rounding=profile.rounding)
    p._table = _pair_table(p, add_sub_values)
    return p


def mul_params(op, model, profile) -> ElementwiseParams:
    x1, x2, y = _prepare_common(op, model, need_quant=True)
    real = (float(np.float32(x1.scale)) * float(np.float32(x2.scale))
            / float(np.float32(y.scale)))
    mo, sho = profile.quantize_multiplier(real)
    lo, hi = _activation(op, model, y)
    p = ElementwiseParams(
        op=op.opcode, shape1=tuple(x1.shape), shape2=tuple(x2.shape), output_shape=tuple(y.shape),
        input1_offset=-x1.zero_point, input2_offset=-x2.zero_point, output_offset=y.zero_point,
        output_multiplier=mo, output_shift=sho, act_min=lo, act_max=hi,
        rounding=profile.rounding)
    p._table = _pair_table(p, mul_values)
    return p


def minmax_params(op, model) -> ElementwiseParams:
    x1, x2, y = _prepare_common(op, model, need_quant=False)
    return ElementwiseParams(op=op.opcode, shape1=tuple(x1.shape), shape2=tuple(x2.shape),
                             output_shape=tuple(y.shape))


def _aligned(x: np.ndarray, shape: tuple[int, ...], rank: int) -> np.ndarray:
    """(B, *shape) -> (B, 1.., *shape) with `rank` dims after the batch axis."""
    return x.reshape(x.shape[0], *((1,) * (rank - len(shape))), *shape)


def _operands(p: ElementwiseParams, inputs):
    a, b = inputs[0], inputs[1]
    rank = len(p.output_shape)
    return _aligned(a, p.shape1, rank), _aligned(b, p.shape2, rank)


def _scaled_input_lut(offset: int, multiplier: int, shift: int, left_shift: int,
                      rounding: str) -> np.ndarray:
    """(q + offset) * 2^left_shift rescaled, for every int8 q (index q + 128); int64."""
    q = np.arange(-128, 128, dtype=np.int64)
    shifted = (q + offset) << left_shift  # |.| <= 255 * 2^20: no int32 overflow
    return fp.multiply_by_quantized_multiplier_smaller_than_one_exp(shifted, multiplier, shift,
                                                                   rounding)


def add_sub_values(p: ElementwiseParams, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The ADD/SUB arithmetic on int8 arrays a, b (broadcasting): int8 result."""
    lut1 = _scaled_input_lut(p.input1_offset, p.input1_multiplier, p.input1_shift, p.left_shift,
                             p.rounding)
    lut2 = _scaled_input_lut(p.input2_offset, p.input2_multiplier, p.input2_shift, p.left_shift,
                             p.rounding)
    v1 = lut1[a.astype(np.int64) + 128]
    v2 = lut2[b.astype(np.int64) + 128]
    raw = v1 + v2 if p.op == "ADD" else v1 - v2  # each |v| < 2^28: exact in int32
    out = fp.multiply_by_quantized_multiplier_smaller_than_one_exp(
        raw, p.output_multiplier, p.output_shift, p.rounding) + p.output_offset
    return np.clip(out, p.act_min, p.act_max).astype(np.int8)


def mul_values(p: ElementwiseParams, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The MUL arithmetic on int8 arrays a, b (broadcasting): int8 result."""
    prod = (a.astype(np.int64) + p.input1_offset) * (b.astype(np.int64) + p.input2_offset)
    out = fp.multiply_by_quantized_multiplier(prod, p.output_multiplier, p.output_shift,
                                              p.rounding)
    return np.clip(fp.wrap_int32(out + p.output_offset), p.act_min, p.act_max).astype(np.int8)


def _pair_table(p: ElementwiseParams, values) -> np.ndarray:
    """values(p, a, b) for all 65536 int8 pairs, flat, indexed [uint8(a) << 8 | uint8(b)]."""
    u = np.arange(256, dtype=np.uint8).view(np.int8)
    return p.table_key(), np.ascontiguousarray(values(p, u[:, None], u[None, :]).reshape(-1))


def _run_table(p: ElementwiseParams, inputs, values):
    """Looks every output up in the pair table (the same int8 the arithmetic gives)."""
    a, b = _operands(p, inputs)
    if p._table is None or p._table[0] != p.table_key():  # params edited after prepare
        out = values(p, a, b)
    else:
        hi = np.left_shift(a.view(np.uint8), 8, dtype=np.uint16)
        idx = np.bitwise_or(hi, b.view(np.uint8), dtype=np.uint16)
        out = p._table[1][idx]
    return [np.ascontiguousarray(out.reshape(out.shape[0], *p.output_shape))]


def run_add_sub(p: ElementwiseParams, inputs):
    return _run_table(p, inputs, add_sub_values)


def run_mul(p: ElementwiseParams, inputs):
    return _run_table(p, inputs, mul_values)


def run_minmax(p: ElementwiseParams, inputs):
    a, b = _operands(p, inputs)
    out = np.maximum(a, b) if p.op == "MAXIMUM" else np.minimum(a, b)
    return [np.ascontiguousarray(out.reshape(out.shape[0], *p.output_shape), dtype=np.int8)]


@register("ADD", "SUB")
class AddSub:
    SIGNATURE = Signature(("input1", "input2"))
    prepare = staticmethod(add_sub_params)
    run = staticmethod(run_add_sub)


@register("MUL")
class Mul:
    SIGNATURE = Signature(("input1", "input2"))
    prepare = staticmethod(mul_params)
    run = staticmethod(run_mul)


@register("MAXIMUM", "MINIMUM")
class MaximumMinimum:
    SIGNATURE = Signature(("input1", "input2"))
    prepare = staticmethod(minmax_params)
    run = staticmethod(run_minmax)
