"""CONCATENATION, PAD/PADV2, STRIDED_SLICE, TRANSPOSE -> firmware/kernels/shape.c.

RESHAPE/SQUEEZE/EXPAND_DIMS need no emitter: cmodel.py makes their output an alias.
Every other op here is a byte copy whose per-dimension strides are computed below from the
reference's prepared params (byte strides, so one kernel serves every element type); runs of
dimensions that are contiguous on both sides are merged so the innermost copy is a memcpy.
"""
from __future__ import annotations

import numpy as np

from ...errors import UnsupportedModelError
from ..climits import c_limit
from ..cmodel import c_emitter

MAX_RANK = c_limit("shape.h", "MCUQ_COPY_MAX_RANK")


def contiguous_strides(shape, elem: int) -> list[int]:
    """Row-major byte strides of `shape`."""
    out, acc = [], elem
    for d in reversed(shape):
        out.append(acc)
        acc *= int(d)
    return out[::-1]


def merge_dims(counts, in_strides, out_strides, elem: int):
    """Drop unit dimensions and fuse neighbours that are contiguous on both sides.
    Returns (counts, in_strides, out_strides), at least one dimension."""
    dims = [(int(c), int(i), int(o)) for c, i, o in zip(counts, in_strides, out_strides)
            if int(c) != 1]
    merged: list[tuple[int, int, int]] = []
    for c, i, o in dims:
        if merged:
            pc, pi, po = merged[-1]
            if pi == i * c and po == o * c:  # outer dim steps exactly over the inner run
                merged[-1] = (pc * c, i, o)
                continue
        merged.append((c, i, o))
    if not merged:
        merged = [(1, elem, elem)]
    return [m[0] for m in merged], [m[1] for m in merged], [m[2] for m in merged]


def _copy_params(ctx, op, counts, in_strides, out_strides, elem, in_offset=0, out_offset=0,
                 stem="params"):
    c, i, o = merge_dims(counts, in_strides, out_strides, elem)
    if len(c) > MAX_RANK:
        raise UnsupportedModelError(
            f"{ctx.model.source}: {op.describe()}: {len(c)} non-mergeable dimensions",
            f"the C target's copy kernel handles up to {MAX_RANK}; use --target tflm")
    arr = lambda v: "{" + ", ".join(str(int(x)) for x in v) + "}"
    return ctx.params("mcuq_copy_nd_params_t", {
        "rank": len(c), "elem_size": elem, "count": arr(c), "in_stride": arr(i),
        "out_stride": arr(o), "in_offset": int(in_offset), "out_offset": int(out_offset)},
        stem=stem)


def _elem(ctx, op) -> int:
    return ctx.model.tensors[op.outputs[0]].dtype.itemsize


@c_emitter("STRIDED_SLICE")
def emit_strided_slice(ctx, op, p):
    ctx.use("shape")
    elem = _elem(ctx, op)
    cs = contiguous_strides(p.input_shape, elem)
    out_cs = contiguous_strides(p.counts, elem)
    params = _copy_params(ctx, op, p.counts, [s * c for s, c in zip(p.strides, cs)], out_cs,
                          elem, in_offset=sum(s * c for s, c in zip(p.starts, cs)))
    return [f"mcuq_copy_nd({params}, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.ptr(op.outputs[0], True)});"]


@c_emitter("TRANSPOSE")
def emit_transpose(ctx, op, p):
    ctx.use("shape")
    elem = _elem(ctx, op)
    cs = contiguous_strides(p.input_shape, elem)
    params = _copy_params(ctx, op, p.output_shape, [cs[k] for k in p.perm],
                          contiguous_strides(p.output_shape, elem), elem)
    return [f"mcuq_copy_nd({params}, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.ptr(op.outputs[0], True)});"]


@c_emitter("PAD", "PADV2")
def emit_pad(ctx, op, p):
    ctx.use("shape")
    elem = np.dtype(p.dtype).itemsize
    out_cs = contiguous_strides(p.output_shape, elem)
    params = _copy_params(ctx, op, p.input_shape, contiguous_strides(p.input_shape, elem),
                          out_cs, elem, out_offset=sum(b * c for b, c in zip(p.before, out_cs)))
    if p.pad_value is None:
        value = ctx.ptr(op.inputs[2])
    else:
        value = ctx.array("pad_value", np.array([p.pad_value], p.dtype),
                          comment="pad value (output zero point or PADV2 constant)")
    out = ctx.ptr(op.outputs[0], True)
    size = int(np.prod(p.output_shape))
    return [f"mcuq_fill({out}, {size}, {value}, {elem});",
            f"mcuq_copy_nd({params}, {ctx.ptr(op.inputs[0])}, {out});"]


@c_emitter("CONCATENATION")
def emit_concatenation(ctx, op, p):
    ctx.use("shape")
    outer = int(np.prod(p.output_shape[:p.axis], dtype=np.int64))
    rows = [int(np.prod(s[p.axis:], dtype=np.int64)) * p.elem_size for s in p.input_shapes]
    params = ctx.params("mcuq_concat_params_t", {
        "num_inputs": len(rows), "outer": outer,
        "row_bytes": ctx.array("row_bytes", np.array(rows, np.int32))})
    ins = ", ".join(ctx.ptr(i) for i in op.inputs)
    return [f"{{ const void *const in[{len(rows)}] = {{{ins}}}; "
            f"mcuq_concatenation({params}, in, {ctx.ptr(op.outputs[0], True)}); }}"]
