"""DEPTHWISE_CONV_2D on modes 3 and 4 (conv.c: mcuq_depthwise_planar, mcuq_depthwise_s2) in
place over the whole tensor in one call, "planar": both kernels keep the input rows an output row
reads unpacked in their own ring (per group of blocks of 4 channels), so output row oy of a
group can be written over the input once the rows it reads are unpacked, as long as the input
bytes under it (same channels) are unpacked already or never read. `planar_order` is the
kernels' byte order; the rule offers the method only where that order is safe, and the arena
plan's check_reads replays it with the plan's offsets."""
from __future__ import annotations

import functools

import numpy as np

from ...memory import InPlace, order_conflicts
from ..inplace import c_inplace_emitter
from .conv import conv_mode, emit_call


def planar_order(p) -> tuple[np.ndarray, np.ndarray]:
    """(read_time per input byte, write_time per output byte) of mcuq_depthwise_planar and
    mcuq_depthwise_s2 (modes 3, 4), batch 1, as InPlace.order: time 2 * step for the rows
    unpacked at a step, 2 * step + 1 for the output row written after them; step = group *
    out_h + output row (groups of k_padded blocks of 4 channels: conv_mode); -1: never read."""
    _, in_h, in_w, ch = p.input_shape
    _, out_h, out_w, _ = p.output_shape
    sh, pad_h, pad_w = p.stride_h, p.padding.pad_h, p.padding.pad_w
    mode, group = conv_mode(p)
    # the ring's padded width: mode 3 (conv.c: mcuq_depthwise_planar), mode 4 (stride 2)
    width = (out_w - 1) * p.stride_w + 3 if mode == 3 else 2 * out_w + 1
    x0 = min(pad_w, width)
    cols = min(pad_w + in_w, width) - x0  # input columns 0 .. cols - 1 are unpacked
    blocks = np.arange(ch) // (4 * group)  # (ch,): the channel's group
    # padded row r = iy + pad_h is unpacked at the first output row whose window reaches it
    r = np.arange(in_h) + pad_h
    first = np.maximum(0, -(-(r - 2) // sh))
    read = (first * sh <= r) & (first < out_h)
    step = blocks[None, :] * out_h + first[:, None]  # (in_h, ch)
    reads = np.full((in_h, in_w, ch), -1, np.int64)
    reads[:, :cols, :] = np.where(read[:, None], 2 * step, -1)[:, None, :]
    oy = np.arange(out_h)
    writes = np.broadcast_to((2 * (blocks[None, :] * out_h + oy[:, None]) + 1)[:, None, :],
                             (out_h, out_w, ch))
    return reads.ravel(), np.ascontiguousarray(writes).ravel()


def planar_inplace(op, p) -> list[InPlace]:
    """The "planar" option when the op runs on mode 3 or 4 (batch 1, as many output channels
    as input channels) and its order never writes over input bytes still to be read."""
    n, _, _, in_c = p.input_shape
    if not (p.depthwise and n == 1 and p.output_shape[3] == in_c and conv_mode(p)[0] in (3, 4)):
        return []
    order = functools.partial(planar_order, p)
    reads, writes = order()
    if order_conflicts(reads, writes, 0).size:
        return []
    return [InPlace(op.index, 0, "planar", 0, order)]


@c_inplace_emitter("planar", "DEPTHWISE_CONV_2D")
def emit_planar(ctx, op, p, choice):
    ctx.path("depthwise/in-place:planar")
    return emit_call(ctx, op, p, inplace_data=ctx.ptr(op.outputs[0], True))
