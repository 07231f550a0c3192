"""TRANSPOSE_CONV -> firmware/kernels/transpose_conv.c; BATCH_MATMUL ->
firmware/kernels/batch_matmul.c."""
from __future__ import annotations

import numpy as np

from ..cmodel import c_emitter


@c_emitter("TRANSPOSE_CONV")
def emit_transpose_conv(ctx, op, p):
    ctx.use("transpose_conv")
    n, h, w, ci = p.input_shape
    _, oh, ow, oc = p.output_shape
    params = ctx.params("mcuq_transpose_conv_params_t", {
        "batches": n, "in_h": h, "in_w": w, "in_c": ci, "out_h": oh, "out_w": ow, "out_c": oc,
        "k_h": p.weights.shape[1], "k_w": p.weights.shape[2], "stride_h": p.stride_h,
        "stride_w": p.stride_w, "pad_h": p.padding.pad_h, "pad_w": p.padding.pad_w,
        "input_offset": p.input_offset, "output_offset": p.output_offset,
        "act_min": p.act_min, "act_max": p.act_max,
        "multiplier": ctx.array("mult", p.multiplier.astype(np.int32)),
        "shift": ctx.array("shift", p.shift.astype(np.int32))})
    bias = "NULL" if p.bias is None else ctx.const(op.inputs[3])
    return [f"mcuq_transpose_conv_s8({params}, {ctx.ptr(op.inputs[2])}, "
            f"{ctx.const(op.inputs[1])}, {bias}, {ctx.ptr(op.outputs[0], True)});"]


def _batch_strides(shape, out_batch):
    """Element strides of an operand's leading dims over the output's (0 where broadcast),
    extended to 3 batch dims."""
    rank = len(out_batch) + 2
    full = (1,) * (rank - len(shape)) + tuple(shape)
    strides, acc = [0] * rank, 1
    for d in range(rank - 1, -1, -1):
        strides[d] = acc
        acc *= full[d]
    b = [0 if full[d] == 1 and out_batch[d] != 1 else strides[d] for d in range(rank - 2)]
    return [0] * (3 - len(b)) + b


@c_emitter("BATCH_MATMUL")
def emit_batch_matmul(ctx, op, p):
    ctx.use("batch_matmul")
    out_batch = list(p.output_shape[:-2])  # at most 3 (prepare: ranks <= 5)
    arr = lambda v: "{" + ", ".join(str(int(x)) for x in v) + "}"
    lc = p.lhs_shape[-1]  # stored (rows, depth), or (depth, rows) with adj_x
    rc = p.rhs_shape[-1]  # stored (depth, cols), or (cols, depth) with adj_y
    params = ctx.params("mcuq_batch_matmul_params_t", {
        "batch": arr([1] * (3 - len(out_batch)) + out_batch),
        "lhs_batch_stride": arr(_batch_strides(p.lhs_shape, out_batch)),
        "rhs_batch_stride": arr(_batch_strides(p.rhs_shape, out_batch)),
        "rows": p.rows, "cols": p.cols, "depth": p.depth,
        "lhs_row_stride": 1 if p.adj_x else lc, "lhs_depth_stride": lc if p.adj_x else 1,
        "rhs_depth_stride": 1 if p.adj_y else rc, "rhs_col_stride": rc if p.adj_y else 1,
        "lhs_offset": p.lhs_offset, "rhs_offset": p.rhs_offset,
        "output_offset": p.output_offset, "multiplier": p.multiplier, "shift": p.shift})
    return [f"mcuq_batch_matmul_s8({params}, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.ptr(op.inputs[1])}, {ctx.ptr(op.outputs[0], True)});"]
