"""SUM -> reduce.c's mcuq_mean_s8 (same integer path, multiplier without 1/count);
REDUCE_MAX, ARG_MAX, ARG_MIN -> firmware/kernels/reductions.c."""
from __future__ import annotations

import numpy as np

from ...errors import UnsupportedModelError
from ..cmodel import c_emitter
from .reduce import emit as emit_mean

MAX_DIMS = 6  # MCUQ_REDUCE_MAX_DIMS in reductions.h

c_emitter("SUM")(emit_mean)


def _merged(dims):
    """Merge neighbouring (size, stride) pairs that walk memory as one run; drop size 1."""
    out: list[list[int]] = []
    for size, stride in dims:
        if size == 1:
            continue
        if out and out[-1][1] == size * stride:
            out[-1] = [out[-1][0] * size, stride]
        else:
            out.append([size, stride])
    return out


def _brace(values) -> str:
    values = list(values)
    values += [0] * (MAX_DIMS - len(values))
    return "{" + ", ".join(str(int(v)) for v in values) + "}"


@c_emitter("REDUCE_MAX")
def emit_reduce_max(ctx, op, p):
    ctx.use("reductions")
    shape = p.input_shape
    strides = [int(np.prod(shape[i + 1:], dtype=np.int64)) for i in range(len(shape))]
    kept = _merged([(shape[i], strides[i]) for i in range(len(shape)) if i not in p.axes])
    red = _merged([(shape[a], strides[a]) for a in sorted(p.axes)])
    if len(kept) > MAX_DIMS or len(red) > MAX_DIMS:
        raise UnsupportedModelError(
            f"{ctx.model.source}: {op.describe()}: more than {MAX_DIMS} dimensions after merging",
            "use --target tflm")
    params = ctx.params("mcuq_reduce_max_params_t", {
        "kept": len(kept), "kept_size": _brace(d[0] for d in kept),
        "kept_stride": _brace(d[1] for d in kept), "red": len(red),
        "red_size": _brace(d[0] for d in red), "red_stride": _brace(d[1] for d in red)})
    return [f"mcuq_reduce_max_s8({params}, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.ptr(op.outputs[0], True)});"]


@c_emitter("ARG_MAX", "ARG_MIN")
def emit_arg(ctx, op, p):
    ctx.use("reductions")
    shape = p.input_shape
    params = ctx.params("mcuq_arg_params_t", {
        "outer": int(np.prod(shape[:p.axis], dtype=np.int64)), "axis_size": shape[p.axis],
        "inner": int(np.prod(shape[p.axis + 1:], dtype=np.int64))})
    fn = "mcuq_arg_max_s8" if p.largest else "mcuq_arg_min_s8"
    return [f"{fn}({params}, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.outputs[0], True)});"]
