"""MEAN -> firmware/kernels/reduce.c."""
from __future__ import annotations

import numpy as np

from ..climits import c_limit, c_multiplier
from ..cmodel import c_emitter

MAX_KEPT = c_limit("reduce.h", "MCUQ_MEAN_MAX_KEPT")


def _brace(values) -> str:
    return "{" + ", ".join(str(int(v)) for v in values) + "}"


@c_emitter("MEAN")
def emit(ctx, op, p):
    ctx.use("reduce")
    shape = p.input_shape
    strides = [int(np.prod(shape[i + 1:], dtype=np.int64)) for i in range(len(shape))]
    kept = [i for i in range(len(shape)) if i not in p.axes]
    red = list(p.axes)
    red_size = [shape[a] for a in red] + [1] * (2 - len(red))
    red_stride = [strides[a] for a in red] + [0] * (2 - len(red))
    pad = [0] * (MAX_KEPT - len(kept))
    params = ctx.params("mcuq_mean_params_t", {
        "out_count": int(np.prod([shape[i] for i in kept], dtype=np.int64)),
        "kept": len(kept),
        "kept_size": _brace([shape[i] for i in kept] + [1] * len(pad)),
        "kept_stride": _brace([strides[i] for i in kept] + pad),
        "red_size": _brace(red_size), "red_stride": _brace(red_stride),
        "count": p.count,
        "input_zero_point": p.input_zp, "output_zero_point": p.output_zp,
        **dict(zip(("multiplier", "shift"), c_multiplier(p.multiplier, p.shift))),
    })
    return [f"mcuq_mean_s8({params}, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.outputs[0], True)});"]
