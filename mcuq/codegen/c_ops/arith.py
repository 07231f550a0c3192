"""PRELU, SQUARED_DIFFERENCE, RSQRT, L2_NORMALIZATION -> firmware/kernels/arith.c (the
binary ops' broadcast planned like elementwise.py's)."""
from __future__ import annotations

import numpy as np

from ..cmodel import c_emitter
from .elementwise import broadcast_walk

MAX_RANK = 6  # MCUQ_ARITH_MAX_RANK in arith.h


def _walk(shape1, shape2, out) -> dict:
    extents, st1, st2 = broadcast_walk(shape1, shape2, out)
    if len(extents) > MAX_RANK:  # prepare refuses rank > 4 broadcasts
        raise ValueError(f"{len(extents)} broadcast dims > {MAX_RANK}")
    arr = lambda v: "{" + ", ".join(str(int(x)) for x in list(v) + [0] * (MAX_RANK - len(v))) + "}"
    return {"rank": len(extents), "shape": arr(extents), "stride1": arr(st1),
            "stride2": arr(st2)}


def _nested(walk: dict) -> str:
    return "{" + ", ".join(f".{k} = {v}" for k, v in walk.items()) + "}"


@c_emitter("PRELU")
def emit_prelu(ctx, op, p):
    ctx.use("arith")
    params = ctx.params("mcuq_prelu_params_t", {
        "walk": _nested(_walk(p.input_shape, p.alpha_shape, p.output_shape)),
        "input_offset": p.input_offset, "alpha_offset": p.alpha_offset,
        "output_offset": p.output_offset, "multiplier1": p.multiplier1, "shift1": p.shift1,
        "multiplier2": p.multiplier2, "shift2": p.shift2})
    return [f"mcuq_prelu_s8({params}, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.inputs[1])}, "
            f"{ctx.ptr(op.outputs[0], True)});"]


@c_emitter("SQUARED_DIFFERENCE")
def emit_squared_difference(ctx, op, p):
    ctx.use("arith")
    params = ctx.params("mcuq_squared_difference_params_t", {
        "walk": _nested(_walk(p.shape1, p.shape2, p.output_shape)),
        "input1_offset": p.input1_offset, "input2_offset": p.input2_offset,
        "output_offset": p.output_offset, "left_shift": p.left_shift,
        "input1_multiplier": p.input1_multiplier, "input1_shift": p.input1_shift,
        "input2_multiplier": p.input2_multiplier, "input2_shift": p.input2_shift,
        "output_multiplier": p.output_multiplier, "output_shift": p.output_shift})
    return [f"mcuq_squared_difference_s8({params}, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.ptr(op.inputs[1])}, {ctx.ptr(op.outputs[0], True)});"]


@c_emitter("RSQRT")
def emit_rsqrt(ctx, op, p):
    ctx.use("arith")
    size = ctx.model.tensors[op.outputs[0]].size
    params = ctx.params("mcuq_rsqrt_params_t", {
        "size": size, "input_zero_point": p.input_zero_point,
        "output_zero_point": p.output_zero_point, "multiplier": p.multiplier,
        "shift": p.shift})
    return [f"if (mcuq_rsqrt_s8({params}, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.ptr(op.outputs[0], True)}) != 0) return 1;"]


@c_emitter("L2_NORMALIZATION")
def emit_l2norm(ctx, op, p):
    ctx.use("arith")
    params = ctx.params("mcuq_l2norm_params_t", {
        "outer": int(np.prod(p.output_shape, dtype=np.int64)) // p.depth, "depth": p.depth,
        "input_zero_point": p.input_zero_point})
    return [f"mcuq_l2_normalization_s8({params}, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.ptr(op.outputs[0], True)});"]
