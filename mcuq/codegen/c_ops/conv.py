"""CONV_2D, DEPTHWISE_CONV_2D -> firmware/kernels/conv.c."""
from __future__ import annotations

import numpy as np

from ...reference.fixedpoint import wrap_int32
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


@c_emitter("CONV_2D", "DEPTHWISE_CONV_2D")
def emit(ctx, op, p):
    ctx.use("conv")
    n, in_h, in_w, in_c = p.input_shape
    _, out_h, out_w, out_c = p.output_shape
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
        "multiplier": ctx.array("mult", p.multiplier.astype(np.int32)),
        "shift": ctx.array("shift", p.shift.astype(np.int32)),
    })
    bias = ctx.array("bias", folded_bias(p), comment="bias + input_offset * sum(weights)")
    fn = "mcuq_depthwise_conv_s8" if p.depthwise else "mcuq_conv_s8"
    return [f"{fn}({params}, {ctx.ptr(op.inputs[0])}, {ctx.const(op.inputs[1])}, {bias}, "
            f"{ctx.ptr(op.outputs[0], True)});"]
