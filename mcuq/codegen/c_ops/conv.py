"""CONV_2D, DEPTHWISE_CONV_2D -> firmware/kernels/conv.c."""
from __future__ import annotations

import dataclasses

import numpy as np

from ...reference.fixedpoint import wrap_int32
from ..climits import c_limit
from ..cmodel import c_emitter
from .requant import generic_arrays, requant_paths, rq_table


def folded_bias(p) -> np.ndarray:
    """bias + input_offset * sum(all weights of the output channel), int32 (wrapping as C).

    The kernels read the input zero point for taps in the padding, so that
    sum((x + off) * w) over the taps inside the image + bias
      == folded_bias + sum(x * w) over all taps (x = zero point in the padding)
    exactly in int32 arithmetic, for SAME and VALID padding alike."""
    w = p.weights.astype(np.int64)
    if p.depthwise:  # (1, KH, KW, O)
        sums = w.reshape(-1, w.shape[3]).sum(axis=0)
    else:  # (O, KH, KW, Ci)
        sums = w.reshape(w.shape[0], -1).sum(axis=1)
    b = np.zeros(sums.shape[0], np.int64) if p.bias is None else p.bias.astype(np.int64)
    return wrap_int32(b + p.input_offset * sums).astype(np.int32)


#: Largest patch of the packed conv paths (firmware/kernels/conv.h, read from there).
COL_MAX = c_limit("conv.h", "MCUQ_CONV_COL_MAX")
#: Depthwise fast-path limits: filter taps and bytes of the ring of unpacked rows (conv.h).
DW_TAPS_MAX = c_limit("conv.h", "MCUQ_DW_TAPS_MAX")
DW_CH_MAX = c_limit("conv.h", "MCUQ_DW_CH_MAX")
DW_ROWS_MAX = c_limit("conv.h", "MCUQ_DW_ROWS_MAX")  # also mode 3's ring (MCUQ_DW_PLANAR_BUF)


def dw_ring_bytes(p) -> int:
    """Stack bytes of depthwise mode 2's ring of unpacked input rows (conv.c)."""
    k_h, k_w = p.weights.shape[1], p.weights.shape[2]
    out_w = p.output_shape[2]
    rows = (k_h - 1) * p.dilation_h + 1
    width = (out_w - 1) * p.stride_w + (k_w - 1) * p.dilation_w + 1
    return rows * ((2 * width + 3) & ~3)


def planar_block_bytes(p) -> int:
    """Bytes of depthwise mode 3's ring per block of 4 channels: 3 rows x 4 planes of int16,
    the padded width W plus three slots, in words (conv.c: mcuq_depthwise_planar)."""
    width = (p.output_shape[2] - 1) * p.stride_w + 3
    return 3 * 4 * ((width + 4) >> 1) * 4


#: Depthwise mode 3's ring grows to this many bytes to take several blocks of 4 channels per
#: output row (measured: ds_cnn's 25x5x32 maps 3.89 -> 3.59 instructions/MAC with 1 KB,
#: 3.55 with 2 KB for twice the stack).
PLANAR_GROUP_BYTES = 1024


def planar_group(p) -> int:
    """Blocks of 4 channels mode 3 computes row by row together (conv.h: k_padded): as many as
    a ring of PLANAR_GROUP_BYTES holds (the per-row costs are paid once per group)."""
    return max(1, min(p.output_shape[3] // 4, PLANAR_GROUP_BYTES // planar_block_bytes(p)))


def planar_ring_bytes(p) -> int:
    """Stack bytes of depthwise mode 3's ring (a group's blocks)."""
    return planar_group(p) * planar_block_bytes(p)


#: Depthwise mode 3 pays per output row and group of blocks (unpacking the input rows, one pass
#: per channel) what mode 1 pays per pixel: it is taken from this many output columns on
#: (measured on the zoo's 3x3 layers, whole tensor in place: 5 columns (ds_cnn) 3.40 vs mode 1's
#: 4.46 not in place; 4 columns (mobilenet_v1 #9) 4.36 vs 3.80, 2 columns (#13) 6.36 vs 3.74),
#: and on a single output row -- the in-place bands, which unpack all 3 input rows every call --
#: only from PLANAR_MIN_W_ROW.
PLANAR_MIN_W = 5
PLANAR_MIN_W_ROW = 12


def is_planar(p) -> bool:
    """Depthwise mode 3: multiplier 1, a multiple of 4 channels, a 3x3 filter without
    dilation, stride_w 1, the ring within MCUQ_DW_ROWS_MAX, output rows wide enough
    (PLANAR_MIN_W; PLANAR_MIN_W_ROW when there is one output row)."""
    _, out_h, out_w, _ = p.output_shape
    return (p.depthwise and p.depth_multiplier == 1 and p.weights.shape[1:3] == (3, 3)
            and p.input_shape[3] % 4 == 0
            and p.dilation_h == 1 and p.dilation_w == 1 and p.stride_w == 1
            and out_w >= (PLANAR_MIN_W if out_h > 1 else PLANAR_MIN_W_ROW)
            and planar_block_bytes(p) <= DW_ROWS_MAX)


def s2_block_bytes(p) -> int:
    """Bytes of depthwise mode 4's ring per block of 4 channels: 3 rows of W = 2 * out_w + 1
    pixels, two words each (conv.c: mcuq_depthwise_s2)."""
    return 3 * 8 * (2 * p.output_shape[2] + 1)


def s2_group(p) -> int:
    """Blocks of 4 channels mode 4 computes row by row together (conv.h: k_padded)."""
    return max(1, min(p.output_shape[3] // 4, PLANAR_GROUP_BYTES // s2_block_bytes(p)))


#: Depthwise mode 4 (stride 2) from this many output columns on (below, mode 1's per-pixel
#: table is cheaper than the ring's per-row costs).
S2_MIN_W = 6


def is_s2(p) -> bool:
    """Depthwise mode 4: multiplier 1, a multiple of 4 channels, a 3x3 filter without dilation,
    stride_w 2, at least S2_MIN_W output columns, a block's ring within MCUQ_DW_ROWS_MAX."""
    return (p.depthwise and p.depth_multiplier == 1 and p.weights.shape[1:3] == (3, 3)
            and p.input_shape[3] % 4 == 0 and p.dilation_h == 1 and p.dilation_w == 1
            and p.stride_w == 2 and p.output_shape[2] >= S2_MIN_W
            and s2_block_bytes(p) <= DW_ROWS_MAX)


def conv_mode(p) -> tuple[int, int]:
    """(kernel path, k_padded) for conv.h's mode field."""
    _, in_h, in_w, in_c = p.input_shape
    k_h, k_w = p.weights.shape[1], p.weights.shape[2]
    if p.depthwise:
        m = p.depth_multiplier
        if is_s2(p):
            return 4, s2_group(p)
        if is_planar(p):
            return 3, planar_group(p)
        if k_h * k_w > DW_TAPS_MAX:
            return 0, 0
        if m == 1 and in_c <= DW_CH_MAX:
            return 1, 0
        if m % 4 == 0 and dw_ring_bytes(p) <= DW_ROWS_MAX:
            return 2, 0
        return 0, 0
    k = k_h * k_w * in_c
    k_padded = -(-k // 4) * 4
    if p.filter_input_depth != in_c:
        return 0, k
    if (k_h == 1 and k_w == 1 and p.padding.pad_h == 0 and p.padding.pad_w == 0
            and in_c % 4 == 0 and k <= COL_MAX):
        return 2, k
    if k_padded <= COL_MAX:
        return 1, k_padded
    return 0, k


def as_depthwise(p):
    """A CONV_2D on one input channel as the DEPTHWISE_CONV_2D it equals (depth multiplier =
    output channels, weights OHW1 -> 1HWO), when that runs on depthwise mode 2 (a multiple of
    4 channels: the first layer of grayscale and audio models); else None."""
    if p.depthwise or p.input_shape[3] != 1 or p.filter_input_depth != 1:
        return None
    if p.weights.shape[1] * p.weights.shape[2] > 9:  # taller filters: im2col is cheaper
        return None
    out_c = p.output_shape[3]
    q = dataclasses.replace(p, depthwise=True, depth_multiplier=out_c, filter_input_depth=1,
                            weights=np.ascontiguousarray(p.weights.transpose(3, 1, 2, 0)))
    return q if conv_mode(q)[0] == 2 else None


def _axis_windows(out: int, stride: int, pad: int, taps: int, dil: int, size: int):
    """Per output index along one axis: does its window leave the image (reads padding)?"""
    start = np.arange(out) * stride - pad
    return (start < 0) | (start + (taps - 1) * dil >= size)


def conv_paths(p) -> list[str]:
    """Which code of conv.c the op runs: the mode (with the reason for a generic path) and the
    sub-paths the shapes reach, as coverage labels."""
    n, in_h, in_w, in_c = p.input_shape
    _, out_h, out_w, out_c = p.output_shape
    k_h, k_w = p.weights.shape[1], p.weights.shape[2]
    mode, k_padded = conv_mode(p)
    border_h = _axis_windows(out_h, p.stride_h, p.padding.pad_h, k_h, p.dilation_h, in_h)
    border_w = _axis_windows(out_w, p.stride_w, p.padding.pad_w, k_w, p.dilation_w, in_w)
    border = bool(border_h.any() or border_w.any())
    interior = bool((~border_h).any() and (~border_w).any())
    fam = "depthwise" if p.depthwise else "conv"
    labels = []
    if p.depthwise:
        if mode == 4:
            labels.append("depthwise/s2")
            if out_w % 2:
                labels.append("depthwise/s2:odd-width")
            if border:
                labels.append("depthwise/s2:padding")
            if p.stride_h > 3:
                labels.append("depthwise/s2:rows-skipped")
            if p.output_shape[3] > 4 * s2_group(p):
                labels.append("depthwise/s2:groups")
        elif mode == 3:
            labels.append("depthwise/planar")
            if p.output_shape[3] > 4 * planar_group(p):
                labels.append("depthwise/planar:groups")
            if out_w % 2:
                labels.append("depthwise/planar:odd-width")
            if border:
                labels.append("depthwise/planar:padding")
            if p.stride_h > 3:
                labels.append("depthwise/planar:rows-skipped")
        elif mode:
            kind = "fast" if mode == 1 else "multiplier-x4"
            labels.append(f"depthwise/{kind}")
            if mode == 1 and in_c % 4:
                labels.append("depthwise/fast:channel-tail")
            if mode == 1 and in_c >= 4:
                labels.append("depthwise/fast:4-channels")
            if border:
                labels.append(f"depthwise/{kind}:padding")
            if mode == 1 and (k_h * k_w) % 3 == 0:
                labels.append("depthwise/fast:taps-x3")
            if mode == 2 and p.dilation_w == 1 and k_w >= 2:
                labels.append("depthwise/multiplier-x4:paired")
            if mode == 2 and p.stride_h > (k_h - 1) * p.dilation_h + 1:
                labels.append("depthwise/multiplier-x4:rows-skipped")
        else:
            m = p.depth_multiplier
            why = ("taps" if k_h * k_w > DW_TAPS_MAX else "multiplier" if m != 1 and m % 4
                   else "channels" if m == 1 else "rows")
            labels.append(f"depthwise/generic:{why}")
            if border:
                labels.append("depthwise/generic:padding")
    else:
        if mode == 2:
            labels.append("conv/direct-1x1")
        elif mode == 1:
            labels.append("conv/im2col")
            if border:
                labels.append("conv/im2col:border")
            if interior and p.dilation_w == 1:
                labels.append("conv/im2col:interior")
            if p.dilation_w > 1:
                labels.append("conv/im2col:dilated-w")
            if in_c <= 3:
                labels.append("conv/im2col:first-layer")
        else:
            why = "grouped" if p.filter_input_depth != in_c else "col-max"
            labels.append(f"conv/generic:{why}")
            if border:
                labels.append("conv/generic:border")
            labels.append("conv/generic:rows" if p.filter_input_depth == in_c
                          and p.dilation_w == 1 else "conv/generic:taps")
        if mode != 0:
            if out_c % 2:
                labels.append("conv/packed:odd-out")
            if (out_h * out_w) % 2:
                labels.append("conv/packed:odd-pixels")
            if (k_padded // 4) % 2:
                labels.append("conv/packed:odd-chunks")
            labels.append("conv/packed:wide" if is_wide(p, k_padded) else "conv/packed:int8")
            # the chunk loop's entry: chunks % 4 before the first test
            labels.append(f"conv/packed:entry-{k_padded // 4 % 4}")
            labels.append("conv/packed:full-range" if is_full_range(p) else "conv/packed:clamp")
            labels += packed_rq_labels(p)
    return labels + requant_paths(p.multiplier, p.shift, fam, p.output_offset, p.act_min,
                                  fast=mode != 0 and p.depthwise)


def acc_bounds(p) -> np.ndarray:
    """Per output channel of a CONV_2D: |folded bias| + 128 * sum |w|, a bound of its int32
    accumulator's magnitude (the products of int8 inputs in [-128, 127]), int64."""
    w = np.abs(p.weights.astype(np.int64)).reshape(p.weights.shape[0], -1).sum(axis=1)
    return np.abs(folded_bias(p).astype(np.int64)) + 128 * w


def is_full_range(p) -> bool:
    """A layer whose activation clamps to the whole int8 range (no activation, or a ReLU/ReLU6
    whose bound is the int8 range's: act_min -128 and act_max 127): the packed conv's table
    folds the output offset alone and SSAT #8 is its clamp (conv.c: MCUQ_CONV_FULL)."""
    return p.act_min == -128 and p.act_max == 127


def packed_rq(p) -> tuple[np.ndarray, np.ndarray]:
    """(mcuq_rqc table: multiplier, ra, e per channel; exotic mask) of a packed CONV_2D (its rq
    array): the offset folded is output_offset - act_min (USAT #8, then the clamp to act_max)
    or, full range, output_offset (SSAT #8)."""
    from .requant import rqc_table

    lo = 0 if is_full_range(p) else p.act_min
    return rqc_table(p.multiplier, p.shift, p.output_offset, lo, acc_bounds(p))


def packed_rq_labels(p) -> list[str]:
    """The packed conv's requantization labels: exotic channels (all or some), the shift -1
    channels mcuq_rqc's table takes, channels exotic only because of their accumulator bound."""
    from .requant import rqc_table

    _, exotic = packed_rq(p)
    lo = 0 if is_full_range(p) else p.act_min
    _, unbounded = rqc_table(p.multiplier, p.shift, p.output_offset, lo)
    m = np.asarray(p.multiplier, np.int64).ravel()
    s = np.asarray(p.shift, np.int64).ravel()
    labels = []
    if exotic.any():
        labels.append("conv/requant:exotic")
        if not exotic.all():
            labels.append("conv/requant:mixed")
    if ((s == -1) & (m != 0) & ~exotic).any():
        labels.append("conv/packed:rq-shift-1")
    if (exotic & ~unbounded).any():
        labels.append("conv/packed:acc-bound")
    return labels


#: The packed conv takes its weights as doubled int16 pairs (the wide layout: twice the bytes
#: of the int8 weights and 40 more per pair of channels; no unpacking in the channel loop, a
#: pre-doubled accumulator: about 3 instructions fewer per 16 MACs and 10 per pair of channels
#: and pixels) when the layer's weights fit in this many bytes. (Not by output pixels: the
#: in-place bands see one output row.)
WIDE_MAX_BYTES = 2048


def is_wide(p, k_padded: int) -> bool:
    """Whether a packed CONV_2D takes the wide layout (WIDE_MAX_BYTES)."""
    return p.weights.shape[0] * k_padded <= WIDE_MAX_BYTES


def pair_weights(weights: np.ndarray, k_padded: int, wide: bool = False,
                 bias: np.ndarray | None = None, rq: np.ndarray | None = None,
                 full: bool = False) -> np.ndarray:
    """OHWI weights as the packed conv paths read them (conv.c: mcuq_conv_channels), rows
    zero-padded to k_padded bytes, after a header word (bit 0: wide, bit 1: full range; conv.c's
    MCUQ_CONV_WIDE and MCUQ_CONV_FULL). int8 layout: per pair of channels and per 4 bytes, one
    little-endian word of each; an odd last channel's words alone. Wide layout: per pair of
    channels the doubled biases (int32, wrapping) b0, b0, b1, b1 (one per accumulator), per 4
    bytes (v0, v1, v2, v3) each channel's doubled int16 pairs (2 v0, 2 v2), (2 v1, 2 v3), then
    the pair's two rq entries (mcuq_rqc's table, RQ_WORDS each); an odd last channel's doubled
    pairs alone. uint32."""
    rows = weights.reshape(weights.shape[0], -1)
    o = rows.shape[0]
    chunks = k_padded // 4
    padded = np.zeros((o, k_padded), np.int8)
    padded[:, :rows.shape[1]] = rows
    pairs = o // 2 * 2
    if not wide:
        words = padded.view(np.uint8).reshape(o, chunks, 4).copy().view("<u4")[..., 0]
        body = words[:pairs].reshape(o // 2, 2, chunks).transpose(0, 2, 1).ravel()
        return np.concatenate([[2 * full], body, words[pairs:].ravel()]).astype(np.uint32)
    q = padded.astype(np.int64).reshape(o, chunks, 4) * 2
    w16 = np.stack([_pair16(q[..., 0], q[..., 2]), _pair16(q[..., 1], q[..., 3])], axis=-1)
    b2 = (np.asarray(bias, np.int64)[:o] * 2) & 0xFFFFFFFF
    t = np.asarray(rq, np.int64).reshape(o, -1) & 0xFFFFFFFF
    parts = [np.zeros(1, np.uint32)]
    for c in range(0, pairs, 2):
        parts += [np.repeat(b2[c:c + 2], 2), w16[c:c + 2].transpose(1, 0, 2).ravel(),
                  t[c:c + 2].ravel()]
    if o % 2:
        parts.append(w16[o - 1].ravel())
    out = np.concatenate(parts).astype(np.uint32)
    out[0] = 1 + 2 * full
    return out


def _pair16(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """uint32 words holding two int16 values (lo in bits 0-15, hi in 16-31)."""
    return (lo.astype(np.int16).view(np.uint16).astype(np.uint32)
            | (hi.astype(np.int16).view(np.uint16).astype(np.uint32) << 16))


#: Words per channel of depthwise mode 3's table (conv.c: MCUQ_DW3_WORDS).
DW3_WORDS = 12


def planar_table(weights: np.ndarray, bias: np.ndarray, rq: np.ndarray, act_min: int,
                 act_max: int) -> np.ndarray:
    """Depthwise mode 3's per-channel table (conv.c: MCUQ_DW3_WORDS words per channel): folded
    bias, mcuq_rq's 3 words, (cap, cap) and (lo, lo) as halfwords (cap = act_max - act_min, lo
    = act_min's byte), then per filter row the int16 pairs (w0, w1), (w1, w2). int32."""
    w = weights[0].transpose(2, 0, 1)  # (C, 3, 3)
    c = w.shape[0]
    words = np.stack([_pair16(w[:, :, 0], w[:, :, 1]), _pair16(w[:, :, 1], w[:, :, 2])], axis=-1)
    t = np.zeros((c, DW3_WORDS), np.uint32)
    t[:, 0] = bias[:c].astype(np.int32).view(np.uint32)
    t[:, 1:4] = rq.reshape(-1, 3)[:c].astype(np.int32).view(np.uint32)
    t[:, 4] = (act_max - act_min) * 0x10001
    t[:, 5] = (act_min & 0xFF) * 0x10001
    t[:, 6:] = words.reshape(c, 6)
    return t.view(np.int32).ravel()


#: Words per block of depthwise mode 4's stream (conv.c: MCUQ_DW4_WORDS).
DW4_WORDS = 38


def s2_stream(weights: np.ndarray, bias: np.ndarray, rq: np.ndarray, act_min: int,
              act_max: int, out_c: int) -> np.ndarray:
    """Depthwise mode 4's per-block stream (conv.c: mcuq_depthwise_s2): per block of 4
    channels its 4 folded biases, mode 1's 18 weight words, its 4 mcuq_rq entries (12 words),
    cap4 and lo4 (act_max - act_min and act_min in every byte), out_c and 0. uint32."""
    blocks = out_c // 4
    stream = px_stream(block_weights(weights, 1, 1), bias, rq, 9).reshape(blocks, 34)
    tail = np.zeros((blocks, DW4_WORDS - 34), np.uint32)
    tail[:, 0] = ((act_max - act_min) & 0xFF) * 0x01010101
    tail[:, 1] = (act_min & 0xFF) * 0x01010101
    tail[:, 2] = out_c
    return np.concatenate([stream, tail], axis=1).ravel()


def block_weights(weights: np.ndarray, mode: int, dil_w: int) -> np.ndarray:
    """Depthwise 1HWC weights as the fast paths read them (conv.h, modes 1 and 2), unpacked to
    int16 pairs: per block of 4 channels (the last zero-padded) and per filter row, mode 2
    without horizontal dilation first pairs of neighbouring taps (kx, kx + 1), 4 words: channel
    j's (w[kx], w[kx + 1]); then single taps, 2 words: (c0, c2), (c1, c3). uint32."""
    _, k_h, k_w, c = weights.shape
    blocks = -(-c // 4)
    w = np.zeros((k_h, k_w, blocks * 4), np.int8)
    w[:, :, :c] = weights[0]
    w = w.reshape(k_h, k_w, blocks, 4).transpose(2, 0, 1, 3)  # (blocks, k_h, k_w, 4)
    pairs = k_w // 2 if mode == 2 and dil_w == 1 else 0
    parts = []
    if pairs:
        a, b = w[:, :, 0:2 * pairs:2], w[:, :, 1:2 * pairs:2]  # (blocks, k_h, pairs, 4)
        parts.append(_pair16(a, b).reshape(blocks, k_h, -1))
    single = w[:, :, 2 * pairs:]  # (blocks, k_h, singles, 4)
    words = np.stack([_pair16(single[..., 0], single[..., 2]),
                      _pair16(single[..., 1], single[..., 3])], axis=-1)
    parts.append(words.reshape(blocks, k_h, -1))
    return np.concatenate(parts, axis=2).ravel().astype(np.uint32)


def px_stream(words: np.ndarray, bias: np.ndarray, rq: np.ndarray, taps: int) -> np.ndarray:
    """Depthwise mode 1's per-block stream (conv.c: mcuq_depthwise_px): per block of 4
    channels its 4 folded biases, its 2 * taps weight words (block_weights) and its 4 mcuq_rq
    entries (12 words), so that one pointer walks the layer. uint32."""
    blocks = len(bias) // 4
    w = words.reshape(blocks, 2 * taps)
    b = np.asarray(bias, np.int32).view(np.uint32).reshape(blocks, 4)
    r = np.asarray(rq, np.int32).view(np.uint32).reshape(blocks, 12)
    return np.concatenate([b, w, r], axis=1).ravel()


@c_emitter("CONV_2D", "DEPTHWISE_CONV_2D")
def emit(ctx, op, p):
    return emit_call(ctx, op, p)


def emit_call(ctx, op, p, inplace_data: str | None = None):
    """The op's kernel call; inplace_data: depthwise mode 3 or 4 in place over those bytes
    (mcuq_depthwise_planar_inplace, planar_inplace.py)."""
    ctx.use("conv")
    dw = as_depthwise(p)
    if dw is not None:  # a 1-channel CONV_2D runs as depthwise x out_c
        ctx.path("conv/as-depthwise-x4")
        p = dw
    n, in_h, in_w, in_c = p.input_shape
    _, out_h, out_w, out_c = p.output_shape
    mode, k_padded = conv_mode(p)
    pad_to = 4 if p.depthwise and mode else 1
    if not p.depthwise and mode:  # the packed conv: mcuq_rqc's table
        rq, exotic = packed_rq(p)
    else:
        rq, exotic = rq_table(p.multiplier, p.shift, p.output_offset, p.act_min, pad_to)
    mult, shift = generic_arrays(ctx, p.multiplier, p.shift, mode == 0 or bool(exotic.any()))
    params = ctx.params("mcuq_conv_params_t", {
        "batches": n, "in_h": in_h, "in_w": in_w, "in_c": in_c,
        "out_h": out_h, "out_w": out_w, "out_c": out_c,
        "k_h": p.weights.shape[1], "k_w": p.weights.shape[2],
        "filter_in_c": p.filter_input_depth, "depth_multiplier": p.depth_multiplier,
        "stride_h": p.stride_h, "stride_w": p.stride_w,
        "dil_h": p.dilation_h, "dil_w": p.dilation_w,
        "pad_h": p.padding.pad_h, "pad_w": p.padding.pad_w,
        "input_zero_point": -p.input_offset, "output_offset": p.output_offset,
        "act_min": p.act_min, "act_max": p.act_max,
        "mode": mode, "k_padded": k_padded, "n_exotic": int(np.count_nonzero(exotic)),
        "multiplier": mult, "shift": shift,
        "rq": ctx.array("rq", rq, comment="multiplier, hi, rshift per channel (mcuq_rq)")
        if mode == 2 or (mode == 1 and not p.depthwise) else "0",  # depthwise 1, 3, 4: streams
    })
    ctx.path(*conv_paths(p))
    k_taps = p.weights.shape[1] * p.weights.shape[2]
    if not p.depthwise and mode:
        ctx.need("MCUQ_CONV_COL_BUF", k_padded)
    elif mode == 1:
        ctx.need("MCUQ_DW_TAPS_BUF", k_taps)
        ctx.need("MCUQ_DW_CH_BUF", in_c)
    elif mode == 2:
        ctx.need("MCUQ_DW_TAPS_BUF", p.weights.shape[1])  # ring row pointers: one per k_h
        ctx.need("MCUQ_DW_ROWS_BUF", dw_ring_bytes(p))
    elif mode == 3:
        ctx.need("MCUQ_DW_PLANAR_BUF", planar_ring_bytes(p))
    elif mode == 4:
        ctx.need("MCUQ_DW_PLANAR_BUF", s2_group(p) * s2_block_bytes(p))
    bias = folded_bias(p)
    fn = "mcuq_depthwise_conv_s8" if p.depthwise else "mcuq_conv_s8"
    if p.depthwise and mode == 3:
        words = ctx.array("table", planar_table(p.weights, bias, rq, p.act_min, p.act_max),
                          comment="per channel: bias, mcuq_rq, clamp, int16 weight pairs (conv.h)")
        if inplace_data is not None:
            return [f"mcuq_depthwise_planar_inplace({params}, {inplace_data}, "
                    f"(const int8_t *){words});"]
        return [f"{fn}({params}, {ctx.ptr(op.inputs[0])}, (const int8_t *){words}, 0, "
                f"{ctx.ptr(op.outputs[0], True)});"]
    if pad_to > 1:
        bias = np.concatenate([bias, np.zeros(-len(bias) % pad_to, np.int32)])
    if p.depthwise and mode == 4:
        words = ctx.array("weights", s2_stream(p.weights, bias, rq, p.act_min, p.act_max,
                                               out_c),
                          comment="per 4 channels: bias, int16 weight pairs per tap, mcuq_rq, "
                          "clamp, out_c (conv.h)")
        if inplace_data is not None:
            return [f"mcuq_depthwise_planar_inplace({params}, {inplace_data}, "
                    f"(const int8_t *){words});"]
        return [f"{fn}({params}, {ctx.ptr(op.inputs[0])}, (const int8_t *){words}, 0, "
                f"{ctx.ptr(op.outputs[0], True)});"]
    if inplace_data is not None:
        raise RuntimeError(f"{op.describe()}: in place (planar) but not on depthwise mode 3/4")
    if p.depthwise and mode == 1:
        words = ctx.array("weights", px_stream(block_weights(p.weights, 1, p.dilation_w), bias,
                                               rq, k_taps),
                          comment="per 4 channels: bias, int16 weight pairs per tap, mcuq_rq "
                          "(conv.h)")
        return [f"{fn}({params}, {ctx.ptr(op.inputs[0])}, (const int8_t *){words}, 0, "
                f"{ctx.ptr(op.outputs[0], True)});"]
    bias = ctx.array("bias", bias, comment="bias + input_offset * sum(weights)")
    if p.depthwise and mode:
        words = ctx.array("weights", block_weights(p.weights, mode, p.dilation_w),
                          comment="per 4 channels and filter row: int16 pairs (conv.h)")
        weights = f"(const int8_t *){words}"
    elif not p.depthwise and mode:
        wide = is_wide(p, k_padded)
        words = ctx.array("weights", pair_weights(p.weights, k_padded, wide, folded_bias(p),
                                                    rq, is_full_range(p)),
                          comment="wide: per pair of channels doubled biases, int16 weights, "
                          "rq (conv.c)" if wide else
                          "pairs of channels interleaved per 4 patch bytes")
        weights = f"(const int8_t *){words}"
    else:
        weights = ctx.const(op.inputs[1])
    return [f"{fn}({params}, {ctx.ptr(op.inputs[0])}, {weights}, {bias}, "
            f"{ctx.ptr(op.outputs[0], True)});"]
