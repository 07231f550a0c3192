"""CONV_2D with short patches and DEPTHWISE_CONV_2D on one input channel -> firmware/kernels/
conv_taps.c (mcuq_conv_taps_s8).

A patch of at most TAPS_WORDS int16 pairs (10 taps: the 3x3 filter on one channel of
grayscale/audio first layers) is held in registers across every output channel: per channel
one LDM of the doubled bias and weights, 5 SMLAD, mcuq_rqc2 and one STRB (about 13
instructions per output where the packed channel loop or depthwise mode 2 pay 50-60 for 9
MACs). A depthwise layer on one input channel with multiplier M is the conv with one input
channel and M outputs (weights 1HWM -> MHW1) and runs here too."""
from __future__ import annotations

import dataclasses

import numpy as np

from ...reference.fixedpoint import wrap_int32
from ..climits import c_limit
from .requant import requant_paths

TAPS_WORDS = c_limit("conv_taps.h", "MCUQ_TAPS_WORDS")
TAPS_ROWS = c_limit("conv_taps.h", "MCUQ_TAPS_ROWS")
TAPS_RING_MAX = c_limit("conv_taps.h", "MCUQ_TAPS_RING_MAX")
FULL_WORDS = c_limit("conv_taps.h", "MCUQ_TAPS_FULL_WORDS")
CLAMP_WORDS = c_limit("conv_taps.h", "MCUQ_TAPS_CLAMP_WORDS")
#: Input channels of the layers taken (first layers: grayscale, audio, RGB, RGBA).
TAPS_CHANNELS = 4


def patch_words(k_h: int, row_taps: int) -> int:
    """Words of a patch (conv_taps.h's order): every filter row's pairs, then the odd rows'
    last taps two rows per word."""
    return k_h * (row_taps // 2) + (k_h + 1) // 2 * (row_taps % 2)


def ring_bytes(p, rows3: bool = False) -> int:
    """Stack bytes of the ring of int16 input rows: k_h rows + a row of zero points; rows3
    (mcuq_conv_taps3_s8): 3 rows (a row of the padding filled with zero points)."""
    width = (p.output_shape[2] - 1) * p.stride_w + p.weights.shape[2]
    stride = (width * p.input_shape[3] + 3) & ~1
    return 2 * (3 if rows3 else p.weights.shape[1] + 1) * stride


def one_channel_conv(p):
    """A DEPTHWISE_CONV_2D on one input channel as the CONV_2D it equals (output channels =
    depth multiplier, weights 1HWO -> OHW1); None for more input channels."""
    if not p.depthwise or p.input_shape[3] != 1:
        return None
    return dataclasses.replace(p, depthwise=False, depth_multiplier=1, filter_input_depth=1,
                               weights=np.ascontiguousarray(p.weights.transpose(3, 1, 2, 0)))


def as_taps(p):
    """The CONV_2D params the taps kernel runs for this CONV_2D or DEPTHWISE_CONV_2D (a
    depthwise layer on one input channel as the conv with depth_multiplier outputs), or None:
    1-4 input channels (one group), no dilation, a patch of at most TAPS_WORDS words, a ring
    within TAPS_RING_MAX; not a direct 1x1 (conv mode 2)."""
    n, in_h, in_w, in_c = p.input_shape
    if p.depthwise:
        p = one_channel_conv(p)
        if p is None:
            return None
    elif p.filter_input_depth != in_c:
        return None
    _, k_h, k_w, _ = p.weights.shape
    if in_c > TAPS_CHANNELS or p.dilation_h != 1 or p.dilation_w != 1 or k_h > TAPS_ROWS:
        return None
    if k_h == 1 and k_w == 1 and in_c % 4 == 0 and p.padding.pad_h == 0 \
            and p.padding.pad_w == 0:
        return None  # the direct 1x1 (conv mode 2)
    if patch_words(k_h, k_w * in_c) > TAPS_WORDS or ring_bytes(p) > TAPS_RING_MAX:
        return None
    return p


def patch_taps(weights: np.ndarray) -> np.ndarray:
    """OHWI weights in the patch order (conv_taps.h), zero-padded to 2 * TAPS_WORDS taps.
    (O, 2 * TAPS_WORDS) int64."""
    o, k_h, k_w, ci = weights.shape
    rb = k_w * ci
    rows = weights.astype(np.int64).reshape(o, k_h, rb)
    parts = [rows[:, :, :rb // 2 * 2].reshape(o, -1)]
    if rb % 2:
        last = np.zeros((o, (k_h + 1) // 2 * 2), np.int64)
        last[:, :k_h] = rows[:, :, rb - 1]
        parts.append(last)
    taps = np.concatenate(parts, axis=1)
    out = np.zeros((o, 2 * TAPS_WORDS), np.int64)
    out[:, :taps.shape[1]] = taps
    return out


def is_rows3(q) -> bool:
    """Filter rows of 3 taps and k_h == 3 (conv-form params): mcuq_conv_taps3_s8's layers."""
    return q.weights.shape[1] == 3 and q.weights.shape[2] * q.input_shape[3] == 3


def is_full(p) -> bool:
    return p.act_min == -128 and p.act_max == 127


def taps_table(p) -> tuple[np.ndarray, np.ndarray]:
    """(table int32, exotic mask) of a taps layer (conv-form params): per channel the doubled
    folded bias, the doubled weights as int16 pairs, mcuq_rqc's (m, ra, e) and, unless the
    layer is full range, cap = act_max - act_min and lo = act_min (conv_taps.h)."""
    from .conv import _pair16, acc_bounds, folded_bias
    from .requant import rqc_table

    # mcuq_rqc's plain table (not the packed conv's: its hot channels assume scaled weights)
    rq, exotic = rqc_table(p.multiplier, p.shift, p.output_offset, 0 if is_full(p) else
                           p.act_min, acc_bounds(p))
    o = p.weights.shape[0]
    w2 = patch_taps(p.weights) * 2
    words = _pair16(w2[:, 0::2], w2[:, 1::2]).astype(np.int64)  # (O, TAPS_WORDS)
    b2 = wrap_int32(folded_bias(p).astype(np.int64) * 2).astype(np.int64)
    cols = [b2[:, None], words, np.asarray(rq, np.int64).reshape(o, 3)]
    if not is_full(p):
        cols += [np.full((o, 1), p.act_max - p.act_min), np.full((o, 1), p.act_min)]
    table = np.concatenate(cols, axis=1)
    assert table.shape[1] == (FULL_WORDS if is_full(p) else CLAMP_WORDS)
    return (table & 0xFFFFFFFF).astype(np.uint32).view(np.int32).ravel(), exotic


def taps_order(p, reverse: bool = False) -> list[tuple[int, int, int, int]]:
    """mcuq_conv_taps_s8 as read/write events (conv.py's ring_order form: first, end input
    bytes read; first, end output bytes written): batch by batch and output row by output row
    (the last first when reverse); when a row starts, the padded rows of its window not in the
    ring yet are copied from the input (their first `cols` pixels), then the row is written."""
    n, in_h, in_w, in_c = p.input_shape
    _, out_h, out_w, out_c = p.output_shape
    k_h, k_w = p.weights.shape[1], p.weights.shape[2]
    width = (out_w - 1) * p.stride_w + k_w
    x0 = min(p.padding.pad_w, width)
    cols = min(p.padding.pad_w + in_w, width) - x0
    events: list[tuple[int, int, int, int]] = []
    for b in (range(n - 1, -1, -1) if reverse else range(n)):
        ib, ob = b * in_h * in_w * in_c, b * out_h * out_w * out_c
        lo = hi = (1 << 31) if reverse else 0
        for k in range(out_h):
            oy = out_h - 1 - k if reverse else k
            top, end = oy * p.stride_h, oy * p.stride_h + k_h
            r0, r1 = (top, min(lo, end)) if reverse else (max(hi, top), end)
            for r in range(r0, r1):
                iy = r - p.padding.pad_h
                if 0 <= iy < in_h and cols > 0:
                    a = ib + iy * in_w * in_c
                    events.append((a, a + cols * in_c, 0, 0))
            lo, hi = top, end
            row = ob + oy * out_w * out_c
            events.append((0, 0, row, row + out_w * out_c))
    return events


def taps_inplace(p):
    """(method, order) of a taps layer in place in one call: "taps" (first output row to last)
    or "taps-reverse", the first whose byte order writes no input byte before its last read;
    else None."""
    from ...memory import order_conflicts
    from .conv import order_times

    q = as_taps(p)
    if q is None:
        return None
    in_bytes, out_bytes = int(np.prod(p.input_shape)), int(np.prod(p.output_shape))
    for reverse in (False, True):
        times = order_times(taps_order(q, reverse), in_bytes, out_bytes)
        if not order_conflicts(*times, 0).size:
            return ("taps-reverse" if reverse else "taps"), lambda t=times: t
    return None


def taps_paths(p, q) -> list[str]:
    """Coverage labels of the taps kernel for op params p (conv-form q)."""
    from .conv import _axis_windows

    n, in_h, in_w, in_c = q.input_shape
    _, out_h, out_w, out_c = q.output_shape
    k_h, k_w = q.weights.shape[1], q.weights.shape[2]
    labels = ["depthwise/as-conv-taps"] if p.depthwise else []
    labels.append("conv/taps")
    rb = k_w * in_c
    labels.append("conv/taps:" + ("3x3-rows" if is_rows3(q) else "any-rows"))
    if rb % 2:
        labels.append("conv/taps:odd-rows")
    if rb == 1:
        labels.append("conv/taps:single-taps")
    labels.append("conv/taps:" + ("full-range" if is_full(q) else "clamp"))
    if out_c % 2:
        labels.append("conv/taps:odd-out")
    bh = _axis_windows(out_h, q.stride_h, q.padding.pad_h, k_h, 1, in_h)
    bw = _axis_windows(out_w, q.stride_w, q.padding.pad_w, k_w, 1, in_w)
    if bh.any() or bw.any():
        labels.append("conv/taps:border")
    if q.stride_w > 1:
        labels.append("conv/taps:stride-w")
    if q.stride_h > k_h:
        labels.append("conv/taps:rows-skipped")
    if n > 1:
        labels.append("conv/taps:batches")
    _, exotic = taps_table(q)
    if exotic.any():
        labels.append("conv/taps:exotic")
    return labels + requant_paths(q.multiplier, q.shift, "conv", q.output_offset, q.act_min,
                                  fast=False)


def emit_taps(ctx, op, p, q, inplace: str = "") -> list[str]:
    """The call of mcuq_conv_taps_s8 for op params p (conv-form q = as_taps(p)); inplace
    ("forward"/"reverse"): over the output's bytes, which hold the input."""
    from .conv import folded_bias
    from .requant import generic_arrays

    ctx.use("conv", "conv_taps")
    n, in_h, in_w, in_c = q.input_shape
    _, out_h, out_w, out_c = q.output_shape
    table, exotic = taps_table(q)
    mult, shift = generic_arrays(ctx, q.multiplier, q.shift, bool(exotic.any()))
    params = ctx.params("mcuq_conv_params_t", {
        "batches": n, "in_h": in_h, "in_w": in_w, "in_c": in_c,
        "out_h": out_h, "out_w": out_w, "out_c": out_c,
        "k_h": q.weights.shape[1], "k_w": q.weights.shape[2],
        "filter_in_c": in_c, "depth_multiplier": 1,
        "stride_h": q.stride_h, "stride_w": q.stride_w, "dil_h": 1, "dil_w": 1,
        "pad_h": q.padding.pad_h, "pad_w": q.padding.pad_w,
        "input_zero_point": -q.input_offset, "output_offset": q.output_offset,
        "act_min": q.act_min, "act_max": q.act_max,
        "mode": 0, "k_padded": 0, "n_exotic": int(np.count_nonzero(exotic)),
        "multiplier": mult, "shift": shift, "rq": "0",
    })
    labels = taps_paths(p, q)
    if inplace:
        labels.append(f"conv/taps:in-place-{inplace}")
    ctx.path(*labels)
    rows3 = is_rows3(q) and not exotic.any()
    ctx.need("MCUQ_TAPS_RING_BUF", ring_bytes(q, rows3))
    words = ctx.array("taps", table, comment="per channel: 2 bias, doubled int16 weight pairs, "
                      "mcuq_rqc (m, ra, e)" + ("" if is_full(q) else ", cap, lo")
                      + " (conv_taps.h)")
    bias = ctx.array("bias", folded_bias(q), comment="bias + input_offset * sum(weights)") \
        if exotic.any() else "0"
    out = ctx.ptr(op.outputs[0], True)
    src = out if inplace else ctx.ptr(op.inputs[0])
    rev = int(inplace == "reverse")
    if rows3:  # output rows in assembly (conv_taps.h)
        return [f"mcuq_conv_taps3_s8({params}, {src}, {words}, {out}, {rev});"]
    return [f"mcuq_conv_taps_s8({params}, {src}, {words}, {bias}, {out}, {rev});"]
