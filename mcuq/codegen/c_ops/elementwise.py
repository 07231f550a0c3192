"""ADD, SUB, MUL, MAXIMUM, MINIMUM -> firmware/kernels/elementwise.c.

The broadcast walk is planned here: output dimensions of extent 1 are dropped and adjacent
dimensions that both inputs traverse contiguously (or both broadcast) are merged, so equal
shapes become one unit-stride line and (1,8,8,4)+(1,1,1,4) becomes a 64 x 4 walk."""
from __future__ import annotations

import numpy as np

from ...reference.ops.elementwise import _scaled_input_lut
from ..climits import c_limit, c_multiplier
from ..cmodel import c_emitter
from ..inplace import c_inplace, direct

MAX_RANK = c_limit("elementwise.h", "MCUQ_ELEMENTWISE_MAX_RANK")
#: ADD/SUB of equal shapes with at least this many elements get the inputs' tables (2 KiB of
#: flash) instead of two rescalings per element.
LUT_MIN_ELEMENTS = 1024

FUNCTIONS = {"ADD": "mcuq_add_s8", "SUB": "mcuq_sub_s8", "MUL": "mcuq_mul_s8",
             "MAXIMUM": "mcuq_maximum_s8", "MINIMUM": "mcuq_minimum_s8"}


def _strides(shape: tuple[int, ...], out: tuple[int, ...]) -> list[int]:
    """Element strides of a row-major input over the output's dims (0 where broadcast)."""
    shape = (1,) * (len(out) - len(shape)) + tuple(shape)
    strides, acc = [0] * len(out), 1
    for i in range(len(out) - 1, -1, -1):
        strides[i] = 0 if shape[i] == 1 and out[i] != 1 else acc
        acc *= shape[i]
    return strides


def broadcast_walk(shape1, shape2, out) -> tuple[list[int], list[int], list[int]]:
    """(extents, strides1, strides2) of the merged walk over the output, outermost first."""
    out = tuple(int(d) for d in out)
    s1, s2 = _strides(shape1, out), _strides(shape2, out)
    dims = [(e, a, b) for e, a, b in zip(out, s1, s2) if e != 1]
    if any(e == 0 for e, _, _ in dims):
        return [0], [1], [1]
    merged: list[tuple[int, int, int]] = []
    for e, a, b in dims:
        if merged:
            pe, pa, pb = merged[-1]
            # the outer dim (pe, pa, pb) continues the inner one exactly when each stride of
            # the outer equals inner stride x inner extent; merged: inner strides.
            if pa == a * e and pb == b * e:
                merged[-1] = (pe * e, a, b)
                continue
        merged.append((e, a, b))
    if not merged:  # a single element
        merged = [(1, 1, 1)]
    extents, st1, st2 = (list(v) for v in zip(*merged))
    return extents, st1, st2


def _c_array(values: list[int]) -> str:
    padded = list(values) + [0] * (MAX_RANK - len(values))
    return "{" + ", ".join(str(int(v)) for v in padded) + "}"


@c_emitter(*FUNCTIONS)
def emit(ctx, op, p):
    ctx.use("elementwise")
    extents, st1, st2 = broadcast_walk(p.shape1, p.shape2, p.output_shape)
    lut1 = lut2 = "0"
    if (op.opcode in ("ADD", "SUB") and len(extents) == 1 and st1 == [1] and st2 == [1]
            and extents[0] >= LUT_MIN_ELEMENTS):
        lut1 = ctx.array("lut1", _scaled_input_lut(p.input1_offset, p.input1_multiplier,
                                                   p.input1_shift, p.left_shift,
                                                   p.rounding).astype(np.int32),
                         comment="input 1 scaled, per int8 value")
        lut2 = ctx.array("lut2", _scaled_input_lut(p.input2_offset, p.input2_multiplier,
                                                   p.input2_shift, p.left_shift,
                                                   p.rounding).astype(np.int32),
                         comment="input 2 scaled, per int8 value")
        ctx.path(f"{op.opcode.lower()}/tables")
    if len(extents) > MAX_RANK:  # cannot happen: prepare refuses rank > 6
        raise ValueError(f"{op.describe()}: {len(extents)} broadcast dims > {MAX_RANK}")
    params = ctx.params("mcuq_elementwise_params_t", {
        "input1_offset": p.input1_offset, "input2_offset": p.input2_offset,
        "output_offset": p.output_offset, "left_shift": p.left_shift,
        "input1_multiplier": p.input1_multiplier, "input1_shift": p.input1_shift,
        "input2_multiplier": p.input2_multiplier, "input2_shift": p.input2_shift,
        **dict(zip(("output_multiplier", "output_shift"),
                   c_multiplier(p.output_multiplier, p.output_shift))),
        "act_min": p.act_min, "act_max": p.act_max,
        "rank": len(extents), "shape": _c_array(extents),
        "stride1": _c_array(st1), "stride2": _c_array(st2),
        "lut1": lut1, "lut2": lut2,
    })
    return [f"{FUNCTIONS[op.opcode]}({params}, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.ptr(op.inputs[1])}, {ctx.ptr(op.outputs[0], True)});"]


@c_inplace(*FUNCTIONS)
def inplace(model, op, p):
    """Over an input of the output's shape (no broadcast on it), the row walk reads element i
    of both inputs before it writes output element i."""
    return direct(model, op, 0, 1)
