"""RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR -> firmware/kernels/resize.c (the reference's
per-row/column source tables and Q10 weights as const arrays)."""
from __future__ import annotations

import numpy as np

from ..cmodel import c_emitter


def _table(ctx, stem, values, comment):
    return ctx.array(stem, np.asarray(values, np.int64).astype(np.int32), comment=comment)


@c_emitter("RESIZE_NEAREST_NEIGHBOR")
def emit_nearest(ctx, op, p):
    ctx.use("resize")
    n, h, w, c = p.input_shape
    params = ctx.params("mcuq_resize_params_t", {
        "batches": n, "in_h": h, "in_w": w, "depth": c, "out_h": p.output_shape[1],
        "out_w": p.output_shape[2], "elem_size": p.elem_size,
        "rows": _table(ctx, "rows", p.rows, "source row per output row"),
        "cols": _table(ctx, "cols", p.cols, "source column per output column"),
        "rows1": "NULL", "cols1": "NULL", "wy": "NULL", "wx": "NULL"})
    return [f"mcuq_resize_nearest({params}, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.ptr(op.outputs[0], True)});"]


@c_emitter("RESIZE_BILINEAR")
def emit_bilinear(ctx, op, p):
    ctx.use("resize")
    n, h, w, c = p.input_shape
    params = ctx.params("mcuq_resize_params_t", {
        "batches": n, "in_h": h, "in_w": w, "depth": c, "out_h": p.output_shape[1],
        "out_w": p.output_shape[2], "elem_size": 1,
        "rows": _table(ctx, "y0", p.y0, "lower source row"),
        "cols": _table(ctx, "x0", p.x0, "left source column"),
        "rows1": _table(ctx, "y1", p.y1, "upper source row"),
        "cols1": _table(ctx, "x1", p.x1, "right source column"),
        "wy": _table(ctx, "wy", p.wy, "Q10 weight of the upper row"),
        "wx": _table(ctx, "wx", p.wx, "Q10 weight of the right column")})
    return [f"mcuq_resize_bilinear_s8({params}, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.ptr(op.outputs[0], True)});"]
