"""FULLY_CONNECTED -> firmware/kernels/fully_connected.c."""
from __future__ import annotations

import numpy as np

from ...reference.fixedpoint import wrap_int32
from ..climits import c_limit
from ..cmodel import c_emitter
from .requant import generic_arrays, requant_paths, rq_table, rqc_table


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


#: Largest weights (out_depth * accum_depth) the small-layer kernel takes: its stream holds the
#: weights as int16 (twice their flash), which pays on small layers whose time goes to the
#: per-call and per-row set-up of the grouped kernel.
SMALL_MAX_WEIGHTS = 1024


def is_full_range(p) -> bool:
    """act_min -128 and act_max 127: the table folds the output offset alone, SSAT #8 clamps."""
    return p.act_min == -128 and p.act_max == 127


def small_stream(p) -> np.ndarray | None:
    """The small-layer kernel's stream (fully_connected.h: mcuq_fc_small_params_t), uint32, or
    None when the layer does not fit it: weights with a zero point, a row outside mcuq_rqc's
    table (its requantization, or an accumulator bound |folded bias| + 128 sum |w| >= 2^30),
    more than SMALL_MAX_WEIGHTS weights or a row deeper than the unpacked-row buffer."""
    out, depth = p.weights.shape
    if p.filter_offset or out * depth > SMALL_MAX_WEIGHTS or -(-depth // 4) * 8 > SCRATCH_MAX:
        return None
    bias = folded_bias(p.bias, p.weights, p.input_offset)
    w = p.weights.astype(np.int64)
    bound = np.abs(bias.astype(np.int64)) + 128 * np.abs(w).sum(axis=1)
    lo = 0 if is_full_range(p) else p.act_min
    rq, exotic = rqc_table(p.multiplier, p.shift, p.output_offset, lo, bound)
    if exotic.any():
        return None
    chunks = -(-depth // 4)
    padded = np.zeros((out, chunks * 4), np.int64)
    padded[:, :depth] = 2 * w
    # per chunk the words of (x0, x2) and (x1, x3): int16 pairs (w0, w2), (w1, w3), low first
    q = padded.reshape(out, chunks, 4) & 0xFFFF
    words = np.stack([q[..., 0] | q[..., 2] << 16, q[..., 1] | q[..., 3] << 16], axis=2)
    b2 = wrap_int32(2 * bias.astype(np.int64)).astype(np.int64) & 0xFFFFFFFF
    rq = rq.astype(np.int64).reshape(out, 3) & 0xFFFFFFFF
    n = out // 2 * 2
    body = np.concatenate([
        b2[0:n:2, None], b2[1:n:2, None],
        np.stack([words[0:n:2], words[1:n:2]], axis=2).reshape(n // 2, chunks * 4),
        rq[0:n:2], rq[1:n:2]], axis=1).ravel()
    odd = (np.concatenate([b2[n:], words[n:].ravel(), rq[n:].ravel()]) if out % 2
           else np.zeros(0, np.int64))
    return np.concatenate([body, odd]).astype(np.uint32)


def emit_small(ctx, op, p, stream: np.ndarray):
    """The small-layer kernel's call (mcuq_fc_small_s8 / mcuq_fc_small_full_s8)."""
    full = is_full_range(p)
    batches = int(np.prod(p.output_shape)) // p.out_depth
    rep = lambda v: (int(v) & 0xFF) * 0x01010101  # noqa: E731
    params = ctx.params("mcuq_fc_small_params_t", {
        "batches": batches, "accum_depth": p.accum_depth, "out_depth": p.out_depth,
        "cap4": f"{rep(0 if full else p.act_max - p.act_min)}u",
        "lo4": f"{rep(0 if full else p.act_min)}u",
        "stream": ctx.array("stream", stream, comment="per pair of rows: 2 biases, int16 "
                            "weights doubled, mcuq_rqc entries (fully_connected.h)"),
    })
    if p.out_depth > 1:
        ctx.need("MCUQ_FC_SCRATCH_BUF", -(-p.accum_depth // 4) * 8)
    ctx.path("fully_connected/small",
             "fully_connected/small:full-range" if full else "fully_connected/small:clamp",
             *(["fully_connected/small:one-row"] if p.out_depth == 1 else []),
             *(["fully_connected/small:odd-row"] if p.out_depth % 2 and p.out_depth > 1
               else []),
             *(["fully_connected/small:depth-tail"] if p.accum_depth % 4 else []),
             *(["fully_connected/small:batches"] if batches > 1 else []),
             *requant_paths(p.multiplier, p.shift, "fully_connected", p.output_offset,
                            p.act_min, fast=False))
    fn = "mcuq_fc_small_full_s8" if full else "mcuq_fc_small_s8"
    return [f"{fn}({params}, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.outputs[0], True)});"]


@c_emitter("FULLY_CONNECTED")
def emit(ctx, op, p):
    ctx.use("fully_connected")
    stream = small_stream(p)
    if stream is not None:
        return emit_small(ctx, op, p, stream)
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
