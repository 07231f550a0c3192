"""SOFTMAX -> firmware/kernels/softmax.c (gemmlowp fixed point, no lookup tables)."""
from __future__ import annotations

import numpy as np

from ..cmodel import c_emitter
from ..inplace import c_inplace, direct


@c_emitter("SOFTMAX")
def emit(ctx, op, p):
    ctx.use("softmax")
    params = ctx.params("mcuq_softmax_params_t", {
        "input_multiplier": p.input_multiplier,
        "input_left_shift": p.input_left_shift,
        "diff_min": p.diff_min,
        "outer": int(np.prod(p.output_shape)) // p.depth,
        "depth": p.depth,
    })
    return [f"mcuq_softmax_s8({params}, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.ptr(op.outputs[0], True)});"]


@c_inplace("SOFTMAX")
def inplace(model, op, p):
    """A row's first two passes only read; the third reads in[c] then writes out[c]."""
    return direct(model, op, 0)
