"""FULLY_CONNECTED -> firmware/kernels/fully_connected.c."""
from __future__ import annotations

import numpy as np

from ...reference.fixedpoint import wrap_int32
from ..climits import c_limit
from ..cmodel import c_emitter
from .requant import generic_arrays, requant_paths, rq_table


#: Stack bytes of the input row unpacked to int16 (fully_connected.h): depths up to half.
SCRATCH_MAX = c_limit("fully_connected.h", "MCUQ_FC_SCRATCH_MAX")


def folded_bias(bias, weights_rows: np.ndarray, input_offset: int,
                filter_offset: int = 0) -> np.ndarray:
    """bias + input_offset * sum(w) + filter_offset * input_offset * depth per output row, in
    int32 (wrapping as C does).

    sum((x + off) * (w + f)) + b == sum(x * w) + f * sum(x) + (b + off * sum(w) + f * off *
    depth) exactly in int32 arithmetic, so the kernel's inner loop needs no offset add (the
    kernel adds f * sum(x) once per row). weights_rows: (out, depth).
    """
    w = weights_rows.astype(np.int64)
    b = np.zeros(w.shape[0], np.int64) if bias is None else bias.astype(np.int64)
    depth = w.shape[1]
    return wrap_int32(b + input_offset * w.sum(axis=1)
                      + filter_offset * input_offset * depth).astype(np.int32)


def group_weights(weights: np.ndarray) -> np.ndarray:
    """(out, depth) int8 weights as fully_connected.c reads them: rows zero-padded to a
    multiple of 4 columns; rows in groups of 4, per group and per 4 columns one little-endian
    word of each row; the last out % 4 rows one after the other. uint32."""
    o, d = weights.shape
    chunks = -(-d // 4)
    padded = np.zeros((o, chunks * 4), np.int8)
    padded[:, :d] = weights
    words = padded.view(np.uint8).reshape(o, chunks, 4).copy().view("<u4")[..., 0]
    g = o // 4 * 4
    body = words[:g].reshape(o // 4, 4, chunks).transpose(0, 2, 1).ravel()
    return np.concatenate([body, words[g:].ravel()]).astype(np.uint32)


@c_emitter("FULLY_CONNECTED")
def emit(ctx, op, p):
    ctx.use("fully_connected")
    batches = int(np.prod(p.output_shape)) // p.out_depth
    rq, exotic = rq_table(p.multiplier, p.shift, p.output_offset, p.act_min)
    mult, shift = generic_arrays(ctx, p.multiplier, p.shift, bool(exotic.any()))
    params = ctx.params("mcuq_fully_connected_params_t", {
        "output_offset": p.output_offset,
        "act_min": p.act_min, "act_max": p.act_max,
        "batches": batches, "accum_depth": p.accum_depth, "out_depth": p.out_depth,
        "multiplier": mult, "shift": shift, "filter_offset": p.filter_offset,
        "rq": ctx.array("rq", rq, comment="multiplier, hi, rshift per row (mcuq_rq)"),
    })
    scratch = -(-p.accum_depth // 4) * 8 <= SCRATCH_MAX
    if scratch:
        ctx.need("MCUQ_FC_SCRATCH_BUF", -(-p.accum_depth // 4) * 8)
    ctx.path("fully_connected/rows4" if p.out_depth >= 4 else "fully_connected/rows1",
             "fully_connected/unpacked-row" if scratch else "fully_connected/deep-row",
             *(["fully_connected/row-tail"] if p.out_depth % 4 else []),
             *(["fully_connected/depth-tail"] if p.accum_depth % 4 else []),
             *(["fully_connected/depth-x4"] if p.accum_depth >= 4 else []),
             *(["fully_connected/filter-offset"] if p.filter_offset else []),
             *requant_paths(p.multiplier, p.shift, "fully_connected", p.output_offset,
                            p.act_min))
    bias = ctx.array("bias", folded_bias(p.bias, p.weights, p.input_offset, p.filter_offset),
                     comment="bias + input_offset * (sum(weights) + filter_offset * depth)")
    words = ctx.array("weights", group_weights(p.weights),
                      comment="rows in groups of 4 interleaved per 4 columns")
    return [f"mcuq_fully_connected_s8({params}, {ctx.ptr(op.inputs[0])}, "
            f"(const int8_t *){words}, {bias}, {ctx.ptr(op.outputs[0], True)});"]
