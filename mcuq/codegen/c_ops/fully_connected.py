"""FULLY_CONNECTED -> firmware/kernels/fully_connected.c."""
from __future__ import annotations

import numpy as np

from ...reference.fixedpoint import wrap_int32
from ..climits import c_multiplier
from ..cmodel import c_emitter
from .conv import requant_paths


def folded_bias(bias, weights_rows: np.ndarray, input_offset: int) -> np.ndarray:
    """bias + input_offset * sum(w) per output row, in int32 (wrapping as C does).

    sum((x + off) * w) + b == sum(x * w) + (b + off * sum(w)) exactly in int32 arithmetic,
    so the kernel's inner loop needs no offset add. weights_rows: (out, depth).
    """
    w = weights_rows.astype(np.int64)
    b = np.zeros(w.shape[0], np.int64) if bias is None else bias.astype(np.int64)
    return wrap_int32(b + input_offset * w.sum(axis=1)).astype(np.int32)


@c_emitter("FULLY_CONNECTED")
def emit(ctx, op, p):
    ctx.use("fully_connected")
    batches = int(np.prod(p.output_shape)) // p.out_depth
    params = ctx.params("mcuq_fully_connected_params_t", {
        "output_offset": p.output_offset,
        "act_min": p.act_min, "act_max": p.act_max,
        "batches": batches, "accum_depth": p.accum_depth, "out_depth": p.out_depth,
        "multiplier": ctx.array("mult", c_multiplier(p.multiplier, p.shift)[0].astype(np.int32)),
        "shift": ctx.array("shift", c_multiplier(p.multiplier, p.shift)[1].astype(np.int32)),
    })
    ctx.path("fully_connected/pairs" if p.out_depth >= 2 else "fully_connected/one-row",
             *(["fully_connected/odd-row"] if p.out_depth % 2 else []),
             *(["fully_connected/depth-tail"] if p.accum_depth % 4 else []),
             *(["fully_connected/depth-x4"] if p.accum_depth >= 4 else []),
             *requant_paths(p.multiplier, p.shift, "fully_connected"))
    bias = ctx.array("bias", folded_bias(p.bias, p.weights, p.input_offset),
                     comment="bias + input_offset * sum(weights)")
    return [f"mcuq_fully_connected_s8({params}, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.const(op.inputs[1])}, {bias}, {ctx.ptr(op.outputs[0], True)});"]
