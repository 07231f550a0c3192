"""CONV_2D, DEPTHWISE_CONV_2D -> firmware/kernels/conv.c."""
from __future__ import annotations

import numpy as np

from ...reference.fixedpoint import wrap_int32
from ..climits import c_limit, c_multiplier
from ..cmodel import c_emitter


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


#: Largest patch of the im2col path (firmware/kernels/conv.h, read from there).
COL_MAX = c_limit("conv.h", "MCUQ_CONV_COL_MAX")
#: Depthwise mode 1 limits: filter taps and channels (conv.h).
DW_TAPS_MAX = c_limit("conv.h", "MCUQ_DW_TAPS_MAX")
DW_CH_MAX = c_limit("conv.h", "MCUQ_DW_CH_MAX")


def kernel_requant(multiplier, shift) -> tuple[np.ndarray, np.ndarray]:
    """(multipliers, shifts) as emitted: a shift above 31 gives 0 (c_multiplier); a dead
    channel (multiplier 0: QuantizeMultiplier flushed a tiny scale, or a zero scale) outputs
    its offset whatever the shift, so its shift becomes -31, inside every kernel path's range
    (mcuq_mbqm and mcuq_requant_rshift both give 0)."""
    m, s = c_multiplier(np.asarray(multiplier, np.int64).ravel(),
                        np.asarray(shift, np.int64).ravel())
    return m, np.where(m == 0, -31, s)


def kernel_shifts(multiplier, shift) -> np.ndarray:
    return kernel_requant(multiplier, shift)[1]


def rshift_ok(multiplier, shift) -> bool:
    """mcuq_requant_rshift's preconditions: multiplier != INT32_MIN, -31 <= shift <= -2."""
    m, s = kernel_requant(multiplier, shift)
    return bool(np.all(m > -(1 << 31)) and np.all((s <= -2) & (s >= -31)))


def _requant_ok(p) -> bool:
    return rshift_ok(p.multiplier, p.shift)


def conv_mode(p) -> tuple[int, int]:
    """(kernel path, k_padded) for conv.h's mode field."""
    _, in_h, in_w, in_c = p.input_shape
    k_h, k_w = p.weights.shape[1], p.weights.shape[2]
    if p.depthwise:
        fast = (p.depth_multiplier == 1 and _requant_ok(p) and k_h * k_w <= DW_TAPS_MAX
                and in_c <= DW_CH_MAX)
        return (1 if fast else 0), 0
    k = k_h * k_w * in_c
    k_padded = -(-k // 4) * 4
    if p.filter_input_depth != in_c or not _requant_ok(p):
        return 0, k
    if (k_h == 1 and k_w == 1 and p.padding.pad_h == 0 and p.padding.pad_w == 0
            and in_c % 4 == 0):
        return 2, k
    if k_padded <= COL_MAX:
        return 1, k_padded
    return 0, k


def _axis_windows(out: int, stride: int, pad: int, taps: int, dil: int, size: int):
    """Per output index along one axis: does its window leave the image (reads padding)?"""
    start = np.arange(out) * stride - pad
    return (start < 0) | (start + (taps - 1) * dil >= size)


def requant_paths(multiplier, shift, family: str) -> list[str]:
    """Coverage labels of the requantization parameters (the shift edges)."""
    m = np.asarray(multiplier, np.int64)
    s = np.asarray(shift, np.int64)
    live = m != 0
    labels = []
    if (~live).any():
        labels.append(f"{family}/requant:dead-channel")
    if (s[live] > 0).any():
        labels.append(f"{family}/requant:left-shift")
    if (s[live] == -31).any():
        labels.append(f"{family}/requant:shift-31")
    if ((s[live] == -1) | (s[live] == 0)).any():
        labels.append(f"{family}/requant:shift-1-or-0")
    return labels


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
        if mode == 1:
            labels.append("depthwise/fast")
            if in_c % 4:
                labels.append("depthwise/fast:channel-tail")
            if in_c >= 4:
                labels.append("depthwise/fast:4-channels")
            if border:
                labels.append("depthwise/fast:padding")
        else:
            why = ("multiplier" if p.depth_multiplier > 1 else "shift" if not _requant_ok(p)
                   else "taps" if k_h * k_w > DW_TAPS_MAX else "channels")
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
        else:
            why = ("grouped" if p.filter_input_depth != in_c else "shift" if not _requant_ok(p)
                   else "col-max")
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
    return labels + requant_paths(p.multiplier, p.shift, fam)


def packed_weights(weights: np.ndarray, k_padded: int) -> np.ndarray:
    """OHWI weights as out_c rows of k_padded int8 (rows zero-padded)."""
    rows = weights.reshape(weights.shape[0], -1)
    out = np.zeros((rows.shape[0], k_padded), np.int8)
    out[:, :rows.shape[1]] = rows
    return out


@c_emitter("CONV_2D", "DEPTHWISE_CONV_2D")
def emit(ctx, op, p):
    ctx.use("conv")
    n, in_h, in_w, in_c = p.input_shape
    _, out_h, out_w, out_c = p.output_shape
    mode, k_padded = conv_mode(p)
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
        "multiplier": ctx.array("mult", kernel_requant(p.multiplier, p.shift)[0].astype(np.int32)),
        "shift": ctx.array("shift", kernel_shifts(p.multiplier, p.shift).astype(np.int32)),
    })
    ctx.path(*conv_paths(p))
    bias = ctx.array("bias", folded_bias(p), comment="bias + input_offset * sum(weights)")
    fn = "mcuq_depthwise_conv_s8" if p.depthwise else "mcuq_conv_s8"
    if not p.depthwise and mode in (1, 2) and k_padded != p.weights[0].size:
        weights = ctx.array("weights", packed_weights(p.weights, k_padded),
                            comment="OHWI rows zero-padded to a multiple of 4")
    else:
        weights = ctx.const(op.inputs[1])
    return [f"{fn}({params}, {ctx.ptr(op.inputs[0])}, {weights}, {bias}, "
            f"{ctx.ptr(op.outputs[0], True)});"]
