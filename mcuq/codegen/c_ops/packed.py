"""Ops whose weight operand is stored packed (`generate --target c --pack`, mcuq.packing):
CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV and BATCH_MATMUL with a constant
right-hand side -> firmware/kernels/packed.c.

The parameters are the plain emitters' (the same prepared reference params; the folded bias is
computed from the decoded weights, which are the model's own values), the weights an
mcuq_lut_t (EmitContext.lut) and the decode scratch one segment long (EmitContext.scratch).
Coverage labels ("packed/...") name the kernel paths and the layout's edges (index width,
tables, a last byte part-filled, a tail of fewer than 8 indices) for tests/firmware."""
from __future__ import annotations

import numpy as np

from ..climits import c_limit, c_multiplier
from ..cmodel import c_emitter
from .conv import folded_bias as conv_folded_bias
from .requant import requant_paths
from .fully_connected import folded_bias as fc_folded_bias
from .matmul import _batch_strides


def layout_paths(family: str, lay) -> list[str]:
    """Coverage labels of a packed weight layout: the op family with its index width and
    tables, and the decoder's edges (a segment ending inside a byte, fewer than 8 indices
    after the last group of 8, at least one group)."""
    labels = [f"packed/{family}", f"packed/{family}:bits-{lay.bits}",
              f"packed/{family}:tables-{'channel' if lay.per_channel else 'tensor'}",
              f"packed/bits-{lay.bits}"]
    if (lay.segment_len * lay.bits) % 8:
        labels.append("packed/part-filled-byte")
    if lay.segment_len % 8:
        labels.append("packed/tail")
    if lay.segment_len >= 8:
        labels.append(f"packed/bits-{lay.bits}:groups-of-8")
    return labels


#: The blocked path's patch buffer and the per-tap sums' limit (firmware/kernels/packed.h).
LUT_COL_BYTES = c_limit("packed.h", "MCUQ_LUT_COL_BYTES")
LUT_TAPS_MAX = c_limit("packed.h", "MCUQ_LUT_TAPS_MAX")
#: Filter rows at least this long run the direct path (shorter ones are blocked).
DIRECT_MIN_ROW = 16


def lut_conv_mode(p) -> tuple[int, int]:
    """(mode, k_padded) of mcuq_conv_lut_s8 (packed.h): 0 per pixel (groups), 1 direct (filter
    rows of >= 16 contiguous bytes), 2 blocked (shorter rows or horizontal dilation, when two
    patches fit MCUQ_LUT_COL_BYTES)."""
    if p.depthwise:
        return 0, 0
    in_c = p.input_shape[3]
    k_h, k_w = p.weights.shape[1], p.weights.shape[2]
    k = k_h * k_w * p.filter_input_depth
    k_padded = -(-k // 4) * 4
    if p.filter_input_depth != in_c:
        return 0, k
    if p.dilation_w == 1 and k_w * in_c >= DIRECT_MIN_ROW:
        return 1, k
    if 2 * k_padded <= LUT_COL_BYTES:
        return 2, k_padded
    return (1 if p.dilation_w == 1 else 0), k


def _requant(multiplier, shift) -> tuple[int, np.ndarray, np.ndarray]:
    """(fast_rq, multipliers, shifts) of mcuq_lut_rq (packed.c): mcuq_requant_rshift's arrays
    when every channel meets its preconditions (multiplier != INT32_MIN, -31 <= shift <= -2; a
    dead channel, multiplier 0, outputs its offset whatever the shift, so its shift becomes
    -31), else TFLite Micro's values (a shift above 31 gives 0) for the generic mcuq_mbqm."""
    m, s = c_multiplier(np.asarray(multiplier, np.int64).ravel(),
                        np.asarray(shift, np.int64).ravel())
    m, s = np.asarray(m, np.int64), np.asarray(s, np.int64)
    fast_s = np.where(m == 0, -31, s)
    if np.all(m > -(1 << 31)) and np.all((fast_s <= -2) & (fast_s >= -31)):
        return 1, m, fast_s
    return 0, m, s


@c_emitter("CONV_2D", "DEPTHWISE_CONV_2D", packed=True)
def emit_conv(ctx, op, p):
    ctx.use("packed")
    lay = ctx.packing[op.inputs[1]]
    n, in_h, in_w, in_c = p.input_shape
    _, out_h, out_w, out_c = p.output_shape
    k_h, k_w = p.weights.shape[1], p.weights.shape[2]
    fast, mult, shift = _requant(p.multiplier, p.shift)
    mode, k_padded = lut_conv_mode(p)
    params = ctx.params("mcuq_lut_conv_params_t", {
        "batches": n, "in_h": in_h, "in_w": in_w, "in_c": in_c,
        "out_h": out_h, "out_w": out_w, "out_c": out_c, "k_h": k_h, "k_w": k_w,
        "filter_in_c": p.filter_input_depth, "depth_multiplier": p.depth_multiplier,
        "stride_h": p.stride_h, "stride_w": p.stride_w,
        "dil_h": p.dilation_h, "dil_w": p.dilation_w,
        "pad_h": p.padding.pad_h, "pad_w": p.padding.pad_w,
        "input_zero_point": -p.input_offset, "output_offset": p.output_offset,
        "act_min": p.act_min, "act_max": p.act_max, "fast_rq": fast,
        "mode": mode, "k_padded": k_padded,
        "multiplier": ctx.array("mult", mult.astype(np.int32)),
        "shift": ctx.array("shift", shift.astype(np.int32)),
    })
    fam = "depthwise" if p.depthwise else "conv"
    ctx.path(*layout_paths(fam, lay), f"packed/{fam}:rq-{'fast' if fast else 'generic'}",
             *_conv_geometry_paths(p, fam),
             *requant_paths(p.multiplier, p.shift, fam, fast=False))
    bias = ctx.array("bias", conv_folded_bias(p), comment="bias + input_offset * sum(weights)")
    fn = "mcuq_depthwise_conv_lut_s8" if p.depthwise else "mcuq_conv_lut_s8"
    scratch = ctx.scratch(k_padded if mode == 2 else lay.segment_len)
    return [f"{fn}({params}, {ctx.ptr(op.inputs[0])}, {ctx.lut(op.inputs[1])}, {bias}, "
            f"{ctx.ptr(op.outputs[0], True)}, {scratch});"]


def _conv_geometry_paths(p, fam: str) -> list[str]:
    """Which loops of packed.c the op reaches: the path (direct, blocked, per pixel), the
    four- and two-pixel interior loops, pixels in the padding, per-tap sums."""
    _, in_h, in_w, in_c = p.input_shape
    _, out_h, out_w, _ = p.output_shape
    k_h, k_w = p.weights.shape[1], p.weights.shape[2]
    ys = np.arange(out_h) * p.stride_h - p.padding.pad_h
    xs = np.arange(out_w) * p.stride_w - p.padding.pad_w
    row_in = (ys >= 0) & (ys + (k_h - 1) * p.dilation_h < in_h)
    col_in = (xs >= 0) & (xs + (k_w - 1) * p.dilation_w < in_w)
    labels = []
    border = bool((~row_in).any() or (~col_in).any())
    if border:
        labels.append(f"packed/{fam}:padding")
    if fam == "conv":
        mode, _ = lut_conv_mode(p)
        labels.append(f"packed/conv:{('per-pixel', 'direct', 'blocked')[mode]}")
        if mode == 1 and row_in.any():
            run = int(np.count_nonzero(col_in))  # interior columns are one run
            if run >= 4:
                labels.append("packed/conv:direct:pixel-quads")
            if run % 4 >= 2:
                labels.append("packed/conv:direct:pixel-pairs")
        if mode == 2:
            kp = lut_conv_mode(p)[1]
            if out_h * out_w > LUT_COL_BYTES // kp:
                labels.append("packed/conv:blocked:several-blocks")
            if (out_h * out_w) % 4:
                labels.append("packed/conv:blocked:pixel-tail")
        if mode != 2 and border:
            labels.append("packed/conv:padding:"
                          + ("tap-sums" if k_h * k_w <= LUT_TAPS_MAX else "weights"))
        if p.filter_input_depth != in_c:
            labels.append("packed/conv:grouped")
        if p.dilation_w > 1:
            labels.append("packed/conv:dilated")
    else:
        out_c = p.output_shape[3]
        quads = p.depth_multiplier == 1 and k_h * k_w <= LUT_TAPS_MAX
        if quads and out_c >= 4:
            labels.append("packed/depthwise:quads")
            if border:
                labels.append("packed/depthwise:quads:padding")
        if quads and out_c % 4:
            labels.append("packed/depthwise:channel-tail")
        if not quads or out_c % 4:  # the channel at a time path
            if row_in.any() and np.count_nonzero(col_in) >= 2:
                labels.append("packed/depthwise:pixel-pairs")
            if border:
                labels.append("packed/depthwise:padding:"
                              + ("tap-sums" if k_h * k_w <= LUT_TAPS_MAX else "weights"))
        if p.depth_multiplier > 1:
            labels.append("packed/depthwise:multiplier")
    return labels


@c_emitter("FULLY_CONNECTED", packed=True)
def emit_fully_connected(ctx, op, p):
    ctx.use("packed")
    lay = ctx.packing[op.inputs[1]]
    batches = int(np.prod(p.output_shape)) // p.out_depth
    fast, mult, shift = _requant(p.multiplier, p.shift)
    params = ctx.params("mcuq_lut_fc_params_t", {
        "output_offset": p.output_offset, "act_min": p.act_min, "act_max": p.act_max,
        "batches": batches, "accum_depth": p.accum_depth, "out_depth": p.out_depth,
        "fast_rq": fast,
        "multiplier": ctx.array("mult", np.broadcast_to(mult, (p.out_depth,)).astype(np.int32)),
        "shift": ctx.array("shift", np.broadcast_to(shift, (p.out_depth,)).astype(np.int32)),
    })
    ctx.path(*layout_paths("fully_connected", lay),
             f"packed/fully_connected:rq-{'fast' if fast else 'generic'}",
             *(["packed/fully_connected:batch-pairs"] if batches >= 2 else []),
             *requant_paths(p.multiplier, p.shift, "fully_connected", fast=False))
    bias = ctx.array("bias", fc_folded_bias(p.bias, p.weights, p.input_offset),
                     comment="bias + input_offset * sum(weights)")
    return [f"mcuq_fully_connected_lut_s8({params}, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.lut(op.inputs[1])}, {bias}, {ctx.ptr(op.outputs[0], True)}, "
            f"{ctx.scratch(lay.segment_len)});"]


@c_emitter("TRANSPOSE_CONV", packed=True)
def emit_transpose_conv(ctx, op, p):
    ctx.use("packed")
    lay = ctx.packing[op.inputs[1]]
    n, h, w, ci = p.input_shape
    _, oh, ow, oc = p.output_shape
    params = ctx.params("mcuq_lut_transpose_conv_params_t", {
        "batches": n, "in_h": h, "in_w": w, "in_c": ci, "out_h": oh, "out_w": ow, "out_c": oc,
        "k_h": p.weights.shape[1], "k_w": p.weights.shape[2], "stride_h": p.stride_h,
        "stride_w": p.stride_w, "pad_h": p.padding.pad_h, "pad_w": p.padding.pad_w,
        "input_offset": p.input_offset, "output_offset": p.output_offset,
        "act_min": p.act_min, "act_max": p.act_max,
        "multiplier": ctx.array("mult", p.multiplier.astype(np.int32)),
        "shift": ctx.array("shift", p.shift.astype(np.int32))})
    ctx.path(*layout_paths("transpose_conv", lay))
    bias = "NULL" if p.bias is None else ctx.const(op.inputs[3])
    return [f"mcuq_transpose_conv_lut_s8({params}, {ctx.ptr(op.inputs[2])}, "
            f"{ctx.lut(op.inputs[1])}, {bias}, {ctx.ptr(op.outputs[0], True)}, "
            f"{ctx.scratch(lay.segment_len)});"]


@c_emitter("BATCH_MATMUL", packed=True)
def emit_batch_matmul(ctx, op, p):
    ctx.use("packed")
    lay = ctx.packing[op.inputs[1]]
    out_batch = list(p.output_shape[:-2])
    arr = lambda v: "{" + ", ".join(str(int(x)) for x in v) + "}"  # noqa: E731
    lc = p.lhs_shape[-1]
    matrix = p.rhs_shape[-1] * p.rhs_shape[-2]
    rhs_strides = [s // matrix for s in _batch_strides(p.rhs_shape, out_batch)]
    params = ctx.params("mcuq_lut_batch_matmul_params_t", {
        "batch": arr([1] * (3 - len(out_batch)) + out_batch),
        "lhs_batch_stride": arr(_batch_strides(p.lhs_shape, out_batch)),
        "rhs_matrix_stride": arr(rhs_strides),
        "rows": p.rows, "cols": p.cols, "depth": p.depth,
        "lhs_row_stride": 1 if p.adj_x else lc, "lhs_depth_stride": lc if p.adj_x else 1,
        "lhs_offset": p.lhs_offset, "rhs_offset": p.rhs_offset,
        "output_offset": p.output_offset, "multiplier": p.multiplier, "shift": p.shift})
    ctx.path(*layout_paths("batch_matmul", lay),
             *(["packed/batch_matmul:adj_y"] if p.adj_y else []))
    return [f"mcuq_batch_matmul_lut_s8({params}, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.lut(op.inputs[1])}, {ctx.ptr(op.outputs[0], True)}, "
            f"{ctx.scratch(lay.segment_len)});"]
