"""CONV_2D, DEPTHWISE_CONV_2D -> firmware/kernels/conv.c."""
from __future__ import annotations

import dataclasses

import numpy as np

from ...reference.fixedpoint import wrap_int32
from ..climits import c_limit
from ..cmodel import c_emitter
from ..inplace import c_inplace_emitter
from .conv_taps import as_taps, emit_taps, one_channel_conv, taps_inplace
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
#: Conv mode 3: the largest ring of padded input rows (bytes) and the tallest filter (conv.h).
RING_MAX = c_limit("conv.h", "MCUQ_CONV_RING_MAX")
RING_ROWS = c_limit("conv.h", "MCUQ_CONV_RING_ROWS")
RING_CHUNKS = c_limit("conv.h", "MCUQ_CONV_RING_CHUNKS")
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


#: Conv mode 3 is taken for first layers (1-4 input channels: grayscale, audio, RGB), where
#: im2col's short per-tap copies and border patches cost most: ds_cnn's 10x4 first layer 0.74
#: instructions/MAC outside the channel loop with im2col, 0.19 with the ring. On deeper
#: layers it gains little (the zoo cnn's 3x3x8: 1.78 -> 1.69/MAC) for a larger stack frame
#: (ring, address table: +432 B on that model, over its RAM target).
RING_CHANNELS = 4


def ring_geometry(k_h, k_w, dil_h, dil_w, out_w, stride_w, in_c) -> tuple[int, int, int]:
    """(rows, padded width in pixels, row stride in bytes) of conv mode 3's ring (conv.c:
    mcuq_conv_ring); the ring holds rows + 1 rows (the last: zero points)."""
    rows = (k_h - 1) * dil_h + 1
    width = (out_w - 1) * stride_w + (k_w - 1) * dil_w + 1
    return rows, width, ((width * in_c + 3) & ~3) + 4


def conv_ring_bytes(p) -> int:
    """Stack bytes of conv mode 3's ring of padded input rows."""
    rows, _, stride = ring_geometry(p.weights.shape[1], p.weights.shape[2], p.dilation_h,
                                    p.dilation_w, p.output_shape[2], p.stride_w,
                                    p.input_shape[3])
    return (rows + 1) * stride


def ring_rows_padded(k_h: int, row_bytes: int) -> bool:
    """Conv mode 3 reads filter rows of 4q + r bytes (r > 0) as q + 1 whole words when that
    adds no chunk to the patch: k_h * (q + 1) words == ceil(k_h * row_bytes / 4) (conv.c)."""
    words = -(-row_bytes // 4)
    return row_bytes % 4 != 0 and k_h * words == -(-k_h * row_bytes // 4)


def ring_weights(p) -> np.ndarray:
    """OHWI weights in the tap order of conv mode 3's patches (conv.c, mcuq_ring_tails): with
    no horizontal dilation and filter rows of 4q + r bytes (r > 0), either each row padded
    with zero weights to whole words (ring_rows_padded), or every row's first 4q bytes, then
    every row's last r bytes; otherwise the model's order. (O, 1, 1, K') int8."""
    o, k_h, k_w, ci = p.weights.shape
    rb = k_w * ci
    if p.dilation_w != 1 or rb % 4 == 0:
        return p.weights
    rows = p.weights.reshape(o, k_h, rb)
    if ring_rows_padded(k_h, rb):  # rows padded to whole words: no extra chunk
        padded = np.zeros((o, k_h, -(-rb // 4) * 4), np.int8)
        padded[:, :, :rb] = rows
        return padded.reshape(o, 1, 1, -1)
    q = rb // 4 * 4
    return np.concatenate([rows[:, :, :q].reshape(o, -1), rows[:, :, q:].reshape(o, -1)],
                          axis=1).reshape(o, 1, 1, -1)


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
    if k_padded <= COL_MAX and in_c <= RING_CHANNELS and k_h <= RING_ROWS \
            and conv_ring_bytes(p) <= RING_MAX:
        return 3, k_padded
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
    if as_taps(p) is not None:  # short patches: the taps kernel (conv_taps.py) is cheaper
        return None
    out_c = p.output_shape[3]
    q = dataclasses.replace(p, depthwise=True, depth_multiplier=out_c, filter_input_depth=1,
                            weights=np.ascontiguousarray(p.weights.transpose(3, 1, 2, 0)))
    return q if conv_mode(q)[0] == 2 else None


def as_ring_conv(p):
    """A DEPTHWISE_CONV_2D on one input channel with a long filter (more taps than the taps
    kernel takes: micro_speech's 10x8 x 8) as the CONV_2D it equals, when that runs on conv
    mode 3 (the ring: the per-pixel patch shared by every output channel, the packed channel
    loop); else None."""
    q = one_channel_conv(p) if as_taps(p) is None else None
    return q if q is not None and conv_mode(q)[0] == 3 else None


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
        elif mode == 3:
            labels.append("conv/ring")
            row_bytes = k_w * in_c
            if p.dilation_w > 1:
                labels.append("conv/ring:dilated-w")
            else:
                table = k_h * (row_bytes // 4) <= RING_CHUNKS
                labels.append("conv/ring:" + ("chunk-table" if table else "long-rows"))
                if table and out_w >= 2:  # two pixels of one row per pass (mcuq_ring_table2)
                    labels.append("conv/ring:row-pairs")
                if out_w % 2 and out_h > 1:  # pairs that straddle two output rows
                    labels.append("conv/ring:pairs-across-rows")
                if ring_rows_padded(k_h, row_bytes):
                    labels.append("conv/ring:padded-rows")
                elif row_bytes % 4:
                    labels.append("conv/ring:row-tails")
                    if row_bytes < 4:
                        labels.append("conv/ring:tails-only")
            if border:
                labels.append("conv/ring:border")
            if in_c <= 3:
                labels.append("conv/ring:first-layer")
            if p.stride_h > (k_h - 1) * p.dilation_h + 1:
                labels.append("conv/ring:rows-skipped")
            if n > 1:
                labels.append("conv/ring:batches")
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


#: A hot channel's weights are stored as int16, times 2^(L + 1) in the wide layout.
INT16_MAX = 32767


def packed_requant(p) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(mcuq_rqc table: multiplier, ra, e per channel; exotic mask; hot left shifts L (0 for
    the others); constant mask; hot mask) of a packed CONV_2D (its rq array): the offset
    folded is output_offset - act_min (USAT #8, then the clamp to act_max) or, full range,
    output_offset (SSAT #8). Two kinds of channels rqc_table calls exotic get entries of their
    own:
    - constant: all weights zero, so every accumulator is the bias, and the same output byte
      V in both roundings: a dead entry (0, 1 + 2 (V - lo), 1) that gives V;
    - hot (wide layout, not the odd last channel): a shift L >= 0 (TFLM: x * 2^L, then
      SaturatingRoundingDoublingHighMul, no right shift: floor((2^L acc m + 2^30) / 2^31) in
      both roundings), its weights and bias stored times 2^(L + 1) (int16 and the doubled
      accumulator in range: 2^(L + 1) (|bias| + 128 sum |w|) < 2^31): the entry (m, offset, 0)
      makes the pair loop's SMMLAR exact for acc >= 0; for acc < 0 its sign term takes 1 off,
      so the channel is hot only when every acc <= -1 clamps to act_min anyway (its value at
      acc = -1 is at most act_min). Single rounding requantizes hot channels one by one
      (conv.c: MCUQ_RQC_GENERIC)."""
    from ...reference.fixedpoint import multiply_by_quantized_multiplier
    from ..climits import c_multiplier
    from .requant import RQ_WORDS, rqc_table

    lo = 0 if is_full_range(p) else p.act_min
    bound = acc_bounds(p)
    rq, exotic = rqc_table(p.multiplier, p.shift, p.output_offset, lo, bound)
    table = rq.astype(np.int64).reshape(-1, RQ_WORDS)
    exotic = exotic.copy()
    m, s = c_multiplier(np.asarray(p.multiplier, np.int64).ravel(),
                        np.asarray(p.shift, np.int64).ravel())
    m, s = np.asarray(m, np.int64), np.asarray(s, np.int64)
    o = p.weights.shape[0]
    w = np.abs(p.weights.astype(np.int64)).reshape(o, -1)
    bias = folded_bias(p).astype(np.int64)
    up = np.zeros(o, np.int64)
    constant = np.zeros(o, bool)
    hot = np.zeros(o, bool)
    mode, k_padded = conv_mode(p)
    wide = mode in (1, 2, 3) and is_wide(p, k_padded)
    for c in np.flatnonzero(exotic):
        if not w[c].any():
            v = {int(np.clip(multiply_by_quantized_multiplier(bias[c], m[c], s[c], r)
                             + p.output_offset, p.act_min, p.act_max))
                 for r in ("double", "single")}
            if len(v) == 1:
                table[c] = (0, 1 + 2 * (v.pop() - lo), 1)
                exotic[c], constant[c] = False, True
            continue
        L = int(s[c])
        if not wide or c == o - 1 and o % 2 or L < 0 or m[c] <= 0:
            continue
        if (int(w[c].max()) << (L + 1)) > INT16_MAX or (int(bound[c]) << (L + 1)) >= 1 << 31:
            continue
        at_minus_one = int(multiply_by_quantized_multiplier(-1, m[c], L)) + p.output_offset
        if at_minus_one > p.act_min:
            continue
        table[c] = (m[c], p.output_offset - lo, 0)
        exotic[c], hot[c], up[c] = False, True, L
    return table.astype(np.int32).ravel(), exotic, up, constant, hot


def packed_rq(p) -> tuple[np.ndarray, np.ndarray]:
    """(mcuq_rqc table, exotic mask) of a packed CONV_2D (packed_requant)."""
    rq, exotic, *_ = packed_requant(p)
    return rq, exotic


def packed_rq_labels(p) -> list[str]:
    """The packed conv's requantization labels: exotic channels (all or some), the shift -1
    channels mcuq_rqc's table takes, channels exotic only because of their accumulator bound."""
    from .requant import rqc_table

    _, exotic, _, constant, hot = packed_requant(p)
    lo = 0 if is_full_range(p) else p.act_min
    _, unbounded = rqc_table(p.multiplier, p.shift, p.output_offset, lo)
    unbounded = unbounded & ~constant & ~hot
    m = np.asarray(p.multiplier, np.int64).ravel()
    s = np.asarray(p.shift, np.int64).ravel()
    labels = []
    if constant.any():
        labels.append("conv/packed:constant-channel")
    if hot.any():
        labels.append("conv/packed:hot-channel")
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
                 full: bool = False, up: np.ndarray | None = None) -> np.ndarray:
    """OHWI weights as the packed conv paths read them (conv.c: mcuq_conv_channels), rows
    zero-padded to k_padded bytes, after a header word (bit 0: wide, bit 1: full range; conv.c's
    MCUQ_CONV_WIDE and MCUQ_CONV_FULL). int8 layout: per pair of channels and per 4 bytes, one
    little-endian word of each; an odd last channel's words alone. Wide layout: per pair of
    channels the doubled biases (int32, wrapping) b0, b0, b1, b1 (one per accumulator), per 4
    bytes (v0, v1, v2, v3) each channel's doubled int16 pairs (2 v0, 2 v2), (2 v1, 2 v3), then
    the pair's two rq entries (mcuq_rqc's table, RQ_WORDS each); an odd last channel's doubled
    pairs alone; a hot channel's weights and bias (packed_requant) times 2^(up + 1) instead of
    2. uint32."""
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
    scale = np.int64(2) << (np.zeros(o, np.int64) if up is None else np.asarray(up, np.int64))
    q = padded.astype(np.int64).reshape(o, chunks, 4) * scale[:, None, None]
    w16 = np.stack([_pair16(q[..., 0], q[..., 2]), _pair16(q[..., 1], q[..., 3])], axis=-1)
    b2 = (np.asarray(bias, np.int64)[:o] * scale) & 0xFFFFFFFF
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


def pair_bytes(p, k_padded: int) -> int:
    """Bytes of pair_weights' pairs of channels (after its header word, before an odd last
    channel's words): per pair 2 k_padded (int8) or 4 k_padded + 16 + 8 RQ_WORDS (wide: four
    doubled biases and two rq entries); conv.h's pair_bytes, where the assembly pair loops
    end."""
    from .requant import RQ_WORDS

    per_pair = 4 * k_padded + 16 + 8 * RQ_WORDS if is_wide(p, k_padded) else 2 * k_padded
    return p.output_shape[3] // 2 * per_pair


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


def is_direct_inplace(p) -> bool:
    """CONV_2D mode 2 (1x1, no padding, in_c % 4 == 0) with stride 1: it can run in place on
    the whole tensor in one call (conv.c: mcuq_conv_s8_inplace, the "pixels" method)."""
    return (not p.depthwise and as_depthwise(p) is None and conv_mode(p)[0] == 2
            and p.stride_h == 1 and p.stride_w == 1)


def pixels_method(p) -> str:
    """The in-place method of a direct 1x1 conv (is_direct_inplace): "pixels" (pairs of pixels
    first to last) when the output pixels are no wider than the input's, else "pixels-reverse"
    (last to first; the output starts at the input's first byte and grows past its end)."""
    return "pixels-reverse" if p.output_shape[3] > p.input_shape[3] else "pixels"


def ring_order(batches: int, in_h: int, in_w: int, in_c: int, out_h: int, out_w: int,
               out_c: int, rows: int, stride_h: int, pad_h: int, cols: int,
               reverse: bool = False) -> list[tuple[int, int, int, int]]:
    """conv.c's mcuq_conv_ring (CONV_2D mode 3) as read/write events (first, end input bytes
    read; first, end output bytes written; relative to each tensor's first byte): batch by
    batch (the last first when reverse), the output pixels in order (last to first when
    reverse); when an output row starts, the padded rows [top, top + rows) (top = oy *
    stride_h; input row = padded row - pad_h) not already in the ring are copied from the input
    (their first cols * in_c bytes); pixels in pairs across rows, a pair's two outputs written
    after both patches were built (the last pixel of an odd count alone)."""
    events: list[tuple[int, int, int, int]] = []
    pixels = out_h * out_w
    first_ox = out_w - 1 if reverse else 0
    for b in (range(batches - 1, -1, -1) if reverse else range(batches)):
        ib, ob = b * in_h * in_w * in_c, b * pixels * out_c
        lo = hi = 0
        prev = 0
        for n in range(pixels):
            pix = pixels - 1 - n if reverse else n
            oy, ox = divmod(pix, out_w)
            if ox == first_ox:
                top = oy * stride_h
                for r in range(top, top + rows):
                    iy = r - pad_h
                    if not lo <= r < hi and 0 <= iy < in_h and cols > 0:
                        a = ib + iy * in_w * in_c
                        events.append((a, a + cols * in_c, 0, 0))
                lo, hi = top, top + rows
            if n & 1:
                a = min(prev, pix)
                events.append((0, 0, ob + a * out_c, ob + (a + 2) * out_c))
            elif n + 1 == pixels:
                events.append((0, 0, ob + pix * out_c, ob + (pix + 1) * out_c))
            prev = pix
    return events


def pixel_order(pixels: int, in_c: int, out_c: int,
                reverse: bool = False) -> list[tuple[int, int, int, int]]:
    """conv.c's mcuq_conv_pixels (a 1x1 stride-1 conv in place) as read/write events (as
    ring_order's): the pixels of all batches in one flat sequence, in pairs (a lone last pixel,
    or a lone pixel 0 going backwards), both read before either is written."""
    if reverse:
        pairs = [(max(a, 0), a + 2) for a in range(pixels - 2, -2, -2)]
    else:
        pairs = [(a, min(a + 2, pixels)) for a in range(0, pixels, 2)]
    return [(a * in_c, b * in_c, a * out_c, b * out_c) for a, b in pairs]


def order_times(events, in_bytes: int, out_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    """Read/write events as mcuq.memory's InPlace.order: (per input byte the time of its last
    read, per output byte the time it is written); event e reads at 2e, writes at 2e + 1."""
    reads = np.full(in_bytes, -1, np.int64)
    writes = np.full(out_bytes, -1, np.int64)
    for e, (r0, r1, w0, w1) in enumerate(events):
        reads[r0:r1] = 2 * e
        writes[w0:w1] = 2 * e + 1
    return reads, writes


def _order(events, p):
    return order_times(events, int(np.prod(p.input_shape)), int(np.prod(p.output_shape)))


def ring_order_args(p) -> tuple:
    """The numbers of conv mode 3's order (ring_order) for a CONV_2D's params."""
    n, in_h, in_w, in_c = p.input_shape
    _, out_h, out_w, out_c = p.output_shape
    rows, width, _ = ring_geometry(p.weights.shape[1], p.weights.shape[2], p.dilation_h,
                                   p.dilation_w, out_w, p.stride_w, in_c)
    pad_w = p.padding.pad_w
    cols = min(pad_w + in_w, width) - min(pad_w, width)
    return (n, in_h, in_w, in_c, out_h, out_w, out_c, rows, p.stride_h, p.padding.pad_h, cols)


def ring_inplace(p):
    """(method, order) of a CONV_2D on mode 3 in place in one call (conv.c: mcuq_conv_ring over
    one buffer): "ring" (first pixel to last) or "ring-reverse", the first whose byte order
    (ring_order, as InPlace.order) writes no input byte before its last read; else None."""
    from ...memory import order_conflicts

    if p.depthwise:
        p = as_ring_conv(p)
        if p is None:
            return None
    if as_depthwise(p) is not None or conv_mode(p)[0] != 3 or as_taps(p) is not None:
        return None
    for reverse in (False, True):
        times = _order(ring_order(*ring_order_args(p), reverse=reverse), p)
        if not order_conflicts(*times, 0).size:
            return ("ring-reverse" if reverse else "ring"), lambda t=times: t
    return None


def pixels_inplace(p):
    """(method, order) of a direct 1x1 conv in place in one call (is_direct_inplace)."""
    method = pixels_method(p)
    pixels = int(np.prod(p.input_shape[:3]))
    events = pixel_order(pixels, p.input_shape[3], p.output_shape[3], method != "pixels")
    return method, lambda: _order(events, p)


@c_inplace_emitter("taps", "CONV_2D", "DEPTHWISE_CONV_2D")
@c_inplace_emitter("taps-reverse", "CONV_2D", "DEPTHWISE_CONV_2D")
@c_inplace_emitter("pixels", "CONV_2D")
@c_inplace_emitter("pixels-reverse", "CONV_2D")
@c_inplace_emitter("ring", "CONV_2D", "DEPTHWISE_CONV_2D")
@c_inplace_emitter("ring-reverse", "CONV_2D", "DEPTHWISE_CONV_2D")
def emit_one_call(ctx, op, p, choice):
    """A conv in place in one call of mcuq_conv_s8_inplace (by pixels: mode 2; ring: mode 3)."""
    reverse = choice.method.endswith("-reverse")
    if choice.method.startswith("taps"):
        taps = taps_inplace(p)
        ok = taps is not None and taps[0] == choice.method
    elif choice.method.startswith("pixels"):
        ok = is_direct_inplace(p) and pixels_method(p) == choice.method
    else:
        ring = ring_inplace(p)
        ok = ring is not None and ring[0] == choice.method
    if not ok:
        raise RuntimeError(f"{op.describe()}: cannot run in place as {choice.method}")
    if ctx.ptr(op.outputs[0], True) != ctx.ptr(op.inputs[choice.operand], True):
        raise RuntimeError(f"{op.describe()}: in place but its output is not at its input")
    return emit_call(ctx, op, p, "reverse" if reverse else "forward")


@c_emitter("CONV_2D", "DEPTHWISE_CONV_2D")
def emit(ctx, op, p):
    return emit_call(ctx, op, p)


def emit_call(ctx, op, p, inplace: str = "", inplace_data: str | None = None):
    """The op's kernel call. inplace ("forward" or "reverse"): a CONV_2D in place in one call
    (emit_one_call: mcuq_conv_s8_inplace, walking its pixels that way); inplace_data:
    depthwise mode 3 or 4 in place over those bytes (mcuq_depthwise_planar_inplace,
    planar_inplace.py)."""
    taps = as_taps(p)
    if taps is not None:  # short patches (conv_taps.py), depthwise on one input channel too
        if inplace_data is not None:
            raise RuntimeError(f"{op.describe()}: in place (planar) but on the taps kernel")
        return emit_taps(ctx, op, p, taps, inplace)
    ctx.use("conv")
    ring = as_ring_conv(p)
    if ring is not None:  # a long filter on one channel: the conv ring
        ctx.path("depthwise/as-conv-ring")
        p = ring
    dw = as_depthwise(p)
    if dw is not None:  # a 1-channel CONV_2D runs as depthwise x out_c
        ctx.path("conv/as-depthwise-x4")
        p = dw
    n, in_h, in_w, in_c = p.input_shape
    _, out_h, out_w, out_c = p.output_shape
    mode, k_padded = conv_mode(p)
    pad_to = 4 if p.depthwise and mode else 1
    up = hot = None
    if not p.depthwise and mode:  # the packed conv: mcuq_rqc's table
        rq, exotic, up, _, hot = packed_requant(p)
    else:
        rq, exotic = rq_table(p.multiplier, p.shift, p.output_offset, p.act_min, pad_to)
    # the packed conv lists its exotic and hot channels for its rest loop; others count them
    listed = np.flatnonzero(exotic | hot).astype(np.int32) if hot is not None else None
    mult, shift = generic_arrays(ctx, p.multiplier, p.shift, mode == 0 or bool(exotic.any())
                                 or (hot is not None and bool(hot.any())))
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
        "mode": mode, "k_padded": k_padded,
        "n_exotic": int(np.count_nonzero(exotic)) if listed is None else listed.size,
        "exotic": ctx.array("exotic", listed, comment="channels the rest loop may requantize "
                            "one by one (exotic, hot)") if listed is not None and listed.size
        else "0",
        "pair_bytes": pair_bytes(p, k_padded) if not p.depthwise and mode else 0,
        "multiplier": mult, "shift": shift,
        "rq": ctx.array("rq", rq, comment="multiplier, hi, rshift per channel (mcuq_rq)")
        if (mode in (1, 2, 3) and not p.depthwise) or (mode == 2 and p.depthwise)
        else "0",  # depthwise modes 1, 3, 4: per-block streams
    })
    labels = conv_paths(p)
    if inplace:
        labels = [f"conv/direct-1x1:in-place-{inplace}" if x == "conv/direct-1x1" else x
                  for x in labels]
        if mode == 3:
            labels.append(f"conv/ring:in-place-{inplace}")
    ctx.path(*labels)
    k_taps = p.weights.shape[1] * p.weights.shape[2]
    if not p.depthwise and mode:
        ctx.need("MCUQ_CONV_COL_BUF", k_padded)  # also what the channel loop's asm declares
        if mode == 3:
            ctx.need("MCUQ_CONV_RING_BUF", conv_ring_bytes(p))
            ctx.need("MCUQ_CONV_RING_KP_BUF", k_padded)
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
        words = ctx.array("weights", pair_weights(ring_weights(p) if mode == 3 else p.weights,
                                                  k_padded, wide, folded_bias(p), rq,
                                                  is_full_range(p), up),
                          comment="wide: per pair of channels doubled biases, int16 weights, "
                          "rq (conv.c)" if wide else
                          "pairs of channels interleaved per 4 patch bytes")
        weights = f"(const int8_t *){words}"
    else:
        weights = ctx.const(op.inputs[1])
    if inplace:
        return [f"mcuq_conv_s8_inplace({params}, {ctx.ptr(op.outputs[0], True)}, {weights}, "
                f"{bias}, {int(inplace == 'reverse')});"]
    return [f"{fn}({params}, {ctx.ptr(op.inputs[0])}, {weights}, {bias}, "
            f"{ctx.ptr(op.outputs[0], True)});"]
