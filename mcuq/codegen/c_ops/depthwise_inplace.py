"""CONV_2D and DEPTHWISE_CONV_2D in place (mcuq/codegen/inplace.py): by rows (the usual
kernel from conv.c on a sliding copy of the input rows) for both, and for depthwise with depth
multiplier 1 also TinyEngine's per-channel method -> firmware/kernels/depthwise_inplace.c."""
from __future__ import annotations

import numpy as np

from ..climits import c_multiplier
from ..inplace import InPlace, c_inplace, c_inplace_emitter, op_bands, rows_option
from .conv import is_direct_inplace, pixels_inplace, ring_inplace
from .conv_taps import taps_inplace


@c_inplace("CONV_2D", "DEPTHWISE_CONV_2D")
def conv_inplace(model, op, p):
    options = rows_option(op, op_bands(op, p))
    n, in_h, in_w, in_c = p.input_shape
    _, out_h, out_w, out_c = p.output_shape
    # CONV_2D in one call over the whole tensor, its byte order declared (conv.py): a 1x1
    # by pixel pairs, mode 3 (first layers) where its order is safe
    one_call = pixels_inplace(p) if is_direct_inplace(p) else ring_inplace(p)
    if one_call is None:  # short patches (conv_taps.py), depthwise on one channel too
        one_call = taps_inplace(p)
    if one_call is not None:
        options.insert(0, InPlace(op.index, 0, one_call[0], order=one_call[1]))
    if p.depthwise and p.depth_multiplier == 1 and n == 1 and out_c == in_c \
            and out_h * out_w <= in_h * in_w:
        ph, pw = plane(p)
        options.append(InPlace(op.index, 0, "channels", ph * pw))
    if p.depthwise:  # mode 3 over the whole tensor, no temporary (planar_inplace.py)
        from .planar_inplace import planar_inplace

        options = planar_inplace(op, p) + options
    return options


def plane(p) -> tuple[int, int]:
    """Rows and columns of the per-channel temporary: from -pad to the last tap any window
    reads (the padding filled with the zero point, so every window lies inside)."""
    _, out_h, out_w, _ = p.output_shape
    k_h, k_w = p.weights.shape[1], p.weights.shape[2]
    return ((out_h - 1) * p.stride_h + (k_h - 1) * p.dilation_h + 1,
            (out_w - 1) * p.stride_w + (k_w - 1) * p.dilation_w + 1)


@c_inplace_emitter("channels", "DEPTHWISE_CONV_2D")
def emit_channels(ctx, op, p, choice):
    ctx.use("depthwise_inplace")
    _, in_h, in_w, ch = p.input_shape
    _, out_h, out_w, _ = p.output_shape
    mult, shift = c_multiplier(np.asarray(p.multiplier, np.int64).ravel(),
                               np.asarray(p.shift, np.int64).ravel())
    params = ctx.params("mcuq_dw_inplace_params_t", {
        "in_h": in_h, "in_w": in_w, "channels": ch, "out_h": out_h, "out_w": out_w,
        "plane_h": plane(p)[0], "plane_w": plane(p)[1],
        "k_h": p.weights.shape[1], "k_w": p.weights.shape[2],
        "stride_h": p.stride_h, "stride_w": p.stride_w,
        "dil_h": p.dilation_h, "dil_w": p.dilation_w,
        "pad_h": p.padding.pad_h, "pad_w": p.padding.pad_w,
        "input_offset": p.input_offset, "output_offset": p.output_offset,
        "act_min": p.act_min, "act_max": p.act_max,
        "multiplier": ctx.array("dw_mult", np.asarray(mult, np.int32)),
        "shift": ctx.array("dw_shift", np.asarray(shift, np.int32)),
    })
    bias = p.bias if p.bias is not None else np.zeros(ch, np.int32)
    bias = ctx.array("dw_bias", np.asarray(bias, np.int32))
    ctx.path("depthwise/in-place:channels")
    x = op.inputs[choice.operand]
    data = f"((int8_t *)(s_arena + {ctx.storage[x].slot}))"
    temp = f"((int8_t *)(s_arena + {ctx.scratch_offset}))"
    return [f"mcuq_depthwise_inplace_s8({params}, {data}, {ctx.const(op.inputs[1])}, {bias}, "
            f"{temp});"]
