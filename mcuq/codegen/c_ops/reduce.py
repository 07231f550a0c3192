"""MEAN -> firmware/kernels/reduce.c."""
from __future__ import annotations

import numpy as np

from ..climits import c_limit, c_multiplier
from ..cmodel import c_emitter

MAX_KEPT = c_limit("reduce.h", "MCUQ_MEAN_MAX_KEPT")
ROWS_MAX = c_limit("reduce.h", "MCUQ_MEAN_ROWS_MAX")


def rows_layout(shape, axes) -> tuple[int, int, int] | None:
    """(outer, rows, channels) when the reduced axes are consecutive (then the input is outer x
    rows x channels with the kept inner values contiguous: global average pooling) and rows is
    within the halfword sums' bound; else None."""
    if not axes or sorted(axes) != list(range(min(axes), max(axes) + 1)):
        return None
    lo, hi = min(axes), max(axes) + 1
    prod = lambda dims: int(np.prod(dims, dtype=np.int64))  # noqa: E731
    rows = prod(shape[lo:hi])
    if not 1 <= rows <= ROWS_MAX:
        return None
    return prod(shape[:lo]), rows, prod(shape[hi:])


def _brace(values) -> str:
    return "{" + ", ".join(str(int(v)) for v in values) + "}"


@c_emitter("MEAN")
def emit(ctx, op, p):
    ctx.use("reduce")
    shape = p.input_shape
    mult_shift = dict(zip(("multiplier", "shift"), c_multiplier(p.multiplier, p.shift)))
    layout = rows_layout(list(shape), p.axes)
    if layout is not None:
        ctx.path("mean/rows")
        if layout[2] % 4:
            ctx.path("mean/rows:channel-tail")
        params = ctx.params("mcuq_mean_rows_params_t", {
            "outer": layout[0], "rows": layout[1], "channels": layout[2],
            "input_zero_point": p.input_zp, "output_zero_point": p.output_zp, **mult_shift})
        return [f"mcuq_mean_rows_s8({params}, {ctx.ptr(op.inputs[0])}, "
                f"{ctx.ptr(op.outputs[0], True)});"]
    ctx.path("mean/generic")
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
        **mult_shift,
    })
    return [f"mcuq_mean_s8({params}, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.outputs[0], True)});"]
