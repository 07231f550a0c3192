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
from ..inplace import InPlace, c_inplace, c_inplace_emitter

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


def _concat_rows(p) -> tuple[int, list[int]]:
    """(outer, bytes of each input's row): the output is `outer` rows, each the inputs' rows
    one after another."""
    outer = int(np.prod(p.output_shape[:p.axis], dtype=np.int64))
    return outer, [int(np.prod(s[p.axis:], dtype=np.int64)) * p.elem_size
                   for s in p.input_shapes]


def _concat_call(ctx, op, p, fn: str, extra: str = "") -> list[str]:
    ctx.use("shape")
    outer, rows = _concat_rows(p)
    params = ctx.params("mcuq_concat_params_t", {
        "num_inputs": len(rows), "outer": outer,
        "row_bytes": ctx.array("row_bytes", np.array(rows, np.int32))})
    ins = ", ".join(ctx.ptr(i) for i in op.inputs)
    return [f"{{ const void *const in[{len(rows)}] = {{{ins}}}; "
            f"{fn}({params}, in, {ctx.ptr(op.outputs[0], True)}{extra}); }}"]


@c_emitter("CONCATENATION")
def emit_concatenation(ctx, op, p):
    return _concat_call(ctx, op, p, "mcuq_concatenation")


def concat_order(outer: int, rows: list[int], operand: int) -> tuple[np.ndarray, np.ndarray]:
    """shape.c's mcuq_concatenation_inplace as mcuq.memory's InPlace.order (per input byte the
    time of its last read, per output byte the time it is written): the rows of input
    `operand` last to first, step t = outer - 1 - o reading its row o (time 2t) and writing it
    into output row o (time 2t + 1); then the other inputs' bytes of every output row (time
    2 outer)."""
    total, mine = sum(rows), rows[operand]
    pre = sum(rows[:operand])
    t = 2 * (outer - 1 - np.arange(outer, dtype=np.int64))
    reads = np.repeat(t, mine)
    writes = np.full((outer, total), 2 * outer, np.int64)
    writes[:, pre:pre + mine] = (t + 1)[:, None]
    return reads, writes.ravel()


@c_inplace("CONCATENATION")
def concat_inplace(model, op, p) -> list[InPlace]:
    """Any non-constant input may hold the output (stored at its first byte): the kernel walks
    the outer rows last to first (concat_order; output row o starts at or after that input's
    row o, so it covers only rows already read). An input listed twice cannot. Taken only
    where the arena shrinks (the same copies as off place, one more call level)."""
    outer, rows = _concat_rows(p)
    out: list[InPlace] = []
    for k, t in enumerate(op.inputs):
        if t < 0 or model.tensors[t].data is not None or list(op.inputs).count(t) > 1:
            continue
        out.append(InPlace(op.index, k, "concat-reverse",
                           order=lambda k=k: concat_order(outer, rows, k),
                           only_if_smaller=True))
    return out


@c_inplace_emitter("concat-reverse", "CONCATENATION")
def emit_concat_inplace(ctx, op, p, choice):
    if ctx.ptr(op.outputs[0], True) != ctx.ptr(op.inputs[choice.operand], True):
        raise RuntimeError(f"{op.describe()}: in place but its output is not at its input")
    ctx.path("shape/concat:in-place")
    return _concat_call(ctx, op, p, "mcuq_concatenation_inplace", f", {choice.operand}")
