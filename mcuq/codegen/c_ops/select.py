"""SHAPE, PACK, UNPACK, SPLIT, SPLIT_V, SLICE, GATHER -> C.

SHAPE is a memcpy of its (constant) dims; PACK is shape.c's row concatenation (PACK == CONCAT
along a new axis); UNPACK, SPLIT, SPLIT_V and SLICE are one strided copy (shape.c's
mcuq_copy_nd) per output, planned from the reference's params like STRIDED_SLICE;
GATHER calls firmware/kernels/select.c (positions may be a run-time int32 tensor: invoke
returns 1 on a position outside the axis, where TFLite Micro's Invoke fails).
"""
from __future__ import annotations

import numpy as np

from ..cmodel import c_emitter
from .shape import _copy_params, contiguous_strides


@c_emitter("SHAPE")
def emit_shape(ctx, op, p):
    values = ctx.array("dims", p.values, comment="the input's dims (SHAPE)")
    return [f"memcpy({ctx.ptr(op.outputs[0], True)}, {values}, {4 * p.values.size});"]


@c_emitter("PACK")
def emit_pack(ctx, op, p):
    ctx.use("shape")
    outer = int(np.prod(p.output_shape[:p.axis], dtype=np.int64))
    row = int(np.prod(p.output_shape[p.axis + 1:], dtype=np.int64)) * p.elem_size
    params = ctx.params("mcuq_concat_params_t", {
        "num_inputs": p.count, "outer": outer,
        "row_bytes": ctx.array("row_bytes", np.full(p.count, row, np.int32))})
    ins = ", ".join(ctx.ptr(i) for i in op.inputs)
    return [f"{{ const void *const in[{p.count}] = {{{ins}}}; "
            f"mcuq_concatenation({params}, in, {ctx.ptr(op.outputs[0], True)}); }}"]


def _copies(ctx, op, shape, pieces, elem, data_input: int = 0):
    """One mcuq_copy_nd per (output k, counts per input axis, start per input axis)."""
    ctx.use("shape")
    cs = contiguous_strides(shape, elem)
    lines = []
    src = ctx.ptr(op.inputs[data_input])
    for k, counts, starts in pieces:
        offset = sum(s * c for s, c in zip(starts, cs))
        params = _copy_params(ctx, op, counts, cs, contiguous_strides(counts, elem), elem,
                              in_offset=offset, stem=f"out{k}")
        lines.append(f"mcuq_copy_nd({params}, {src}, {ctx.ptr(op.outputs[k], True)});")
    return lines


@c_emitter("UNPACK")
def emit_unpack(ctx, op, p):
    shape = p.input_shape
    pieces = []
    for k in range(p.count):
        counts = list(shape)
        counts[p.axis] = 1
        starts = [0] * len(shape)
        starts[p.axis] = k
        pieces.append((k, counts, starts))
    return _copies(ctx, op, shape, pieces, p.elem_size)


@c_emitter("SPLIT", "SPLIT_V")
def emit_split(ctx, op, p):
    shape = p.input_shape
    pieces, start = [], 0
    for k, size in enumerate(p.sizes):
        counts = list(shape)
        counts[p.axis] = size
        starts = [0] * len(shape)
        starts[p.axis] = start
        start += size
        pieces.append((k, counts, starts))
    return _copies(ctx, op, shape, pieces, p.elem_size, data_input=p.data_input)


@c_emitter("SLICE")
def emit_slice(ctx, op, p):
    return _copies(ctx, op, p.input_shape, [(0, list(p.size), list(p.begin))], p.elem_size)


@c_emitter("GATHER")
def emit_gather(ctx, op, p):
    ctx.use("select")
    params = ctx.params("mcuq_gather_params_t", {
        "batch": p.batch, "outer": p.outer, "axis_size": p.axis_size, "inner": p.inner,
        "coords": p.coords, "elem_size": p.elem_size})
    if p.indices is not None:
        idx = ctx.array("indices", p.indices.astype(np.int32), comment="GATHER positions")
    else:
        idx = ctx.ptr(op.inputs[1])
    return [f"if (mcuq_gather({params}, {ctx.ptr(op.inputs[0])}, {idx}, "
            f"{ctx.ptr(op.outputs[0], True)}) != 0) return 1;"]
