"""AVERAGE_POOL_2D, MAX_POOL_2D -> firmware/kernels/pooling.c."""
from __future__ import annotations

from ...errors import UnsupportedModelError
from ..cmodel import c_emitter
from ..inplace import InPlace, c_inplace, op_bands, rows_option

#: AVERAGE_POOL_2D sums a window in int32: at most 2^23 taps keep |sum| + taps / 2 < 2^31.
MAX_WINDOW = 1 << 23


@c_emitter("AVERAGE_POOL_2D", "MAX_POOL_2D")
def emit(ctx, op, p):
    ctx.use("pooling")
    n, in_h, in_w, ch = p.input_shape
    if op.opcode == "AVERAGE_POOL_2D" and p.filter_h * p.filter_w > MAX_WINDOW:
        raise UnsupportedModelError(
            f"{ctx.model.source}: {op.describe()} averages {p.filter_h}x{p.filter_w} windows; "
            f"the C kernel's int32 sum holds at most {MAX_WINDOW:,} taps",
            "use --target tflm, or split the pooling into smaller windows")
    if op.opcode == "AVERAGE_POOL_2D":
        ctx.path("pooling/average")
    else:
        x4 = ch % 4 == 0 and p.act_min >= -128 and p.act_max <= 127
        ctx.path("pooling/max:x4" if x4 else "pooling/max:bytewise")
    params = ctx.params("mcuq_pool_params_t", {
        "batches": n, "in_h": in_h, "in_w": in_w, "channels": ch,
        "out_h": p.output_shape[1], "out_w": p.output_shape[2],
        "filter_h": p.filter_h, "filter_w": p.filter_w,
        "stride_h": p.stride_h, "stride_w": p.stride_w,
        "pad_h": p.padding.pad_h, "pad_w": p.padding.pad_w,
        "act_min": p.act_min, "act_max": p.act_max,
    })
    fn = "mcuq_avg_pool_s8" if op.opcode == "AVERAGE_POOL_2D" else "mcuq_max_pool_s8"
    return [f"{fn}({params}, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.outputs[0], True)});"]


@c_inplace("AVERAGE_POOL_2D", "MAX_POOL_2D")
def inplace(model, op, p):
    """stride >= filter and padding < stride: disjoint windows, and every output pixel's bytes
    hold input pixels at or before its window's first, already read (the kernels write a
    pixel's channel block after reading its window). Otherwise by rows."""
    options = []
    if (p.stride_h >= p.filter_h and p.stride_w >= p.filter_w and p.padding.pad_h < p.stride_h
            and p.padding.pad_w < p.stride_w):
        options.append(InPlace(op.index, 0))
    return options + rows_option(op, op_bands(op, p))
