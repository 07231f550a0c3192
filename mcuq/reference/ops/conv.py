"""CONV_2D and DEPTHWISE_CONV_2D, int8 input/output, int8 weights per-channel or per-tensor,
optional int32 bias (TFLM reference_integer_ops::ConvPerChannel / DepthwiseConvPerChannel).

TFLM skips taps outside the image; since it accumulates (x + input_offset) * w, a skipped tap
is the same as a tap reading the input zero point. So the reference pads the input with its
zero point and runs an im2col matmul over every output pixel of the whole batch at once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import fixedpoint as fp
from ..registry import register, unsupported


@dataclass(frozen=True)
class Padding:
    """ComputePaddingHeightWidth: output size and leading padding per spatial axis."""
    out_h: int
    out_w: int
    pad_h: int
    pad_w: int


def _out_size(padding: str, size: int, filt: int, stride: int, dilation: int) -> int:
    eff = (filt - 1) * dilation + 1
    if padding == "SAME":
        return (size + stride - 1) // stride
    return max((size + stride - eff) // stride, 0)


def _pad(stride: int, dilation: int, size: int, filt: int, out: int) -> int:
    eff = (filt - 1) * dilation + 1
    return max((out - 1) * stride + eff - size, 0) // 2


def compute_padding(padding: str, stride_h: int, stride_w: int, dil_h: int, dil_w: int,
                    in_h: int, in_w: int, k_h: int, k_w: int) -> Padding:
    out_h = _out_size(padding, in_h, k_h, stride_h, dil_h)
    out_w = _out_size(padding, in_w, k_w, stride_w, dil_w)
    return Padding(out_h, out_w, _pad(stride_h, dil_h, in_h, k_h, out_h),
                   _pad(stride_w, dil_w, in_w, k_w, out_w))


def spatial_options(op, model, x, y, k_h: int, k_w: int, dilation: bool = True) -> tuple:
    """Validates padding/stride/dilation options against the tensors' shapes.
    Returns (padding_name, stride_h, stride_w, dil_h, dil_w, Padding)."""
    o = op.options
    padding = o.get("padding", "SAME")
    if padding not in ("SAME", "VALID"):
        raise unsupported(op, model, f"padding {padding}", "use SAME or VALID padding")
    sh, sw = int(o.get("stride_h", 1)), int(o.get("stride_w", 1))
    dh = int(o.get("dilation_h_factor", 1)) if dilation else 1
    dw = int(o.get("dilation_w_factor", 1)) if dilation else 1
    if min(sh, sw, dh, dw) < 1:
        raise unsupported(op, model, f"stride ({sh}, {sw}) / dilation ({dh}, {dw}) below 1",
                          "re-convert the model; strides and dilations must be positive")
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise unsupported(op, model, f"input {list(x.shape)} / output {list(y.shape)} not 4-D",
                          "mcuq supports NHWC 4-D tensors for this op")
    pad = compute_padding(padding, sh, sw, dh, dw, x.shape[1], x.shape[2], k_h, k_w)
    if (pad.out_h, pad.out_w) != tuple(y.shape[1:3]) or x.shape[0] != y.shape[0]:
        raise unsupported(op, model, f"output shape {list(y.shape)} does not match input "
                          f"{list(x.shape)} with {padding} padding, stride ({sh}, {sw})",
                          "re-convert the model with TFLiteConverter")
    return padding, sh, sw, dh, dw, pad


def windows(x: np.ndarray, fill: int, k_h: int, k_w: int, sh: int, sw: int, dh: int, dw: int,
            pad: Padding) -> np.ndarray:
    """All receptive fields of NHWC `x`, padded with `fill`: a read-only view shaped
    (N, out_h, out_w, C, k_h, k_w)."""
    n, h, w, c = x.shape
    need_h = (pad.out_h - 1) * sh + (k_h - 1) * dh + 1
    need_w = (pad.out_w - 1) * sw + (k_w - 1) * dw + 1
    bottom = max(need_h - h - pad.pad_h, 0)
    right = max(need_w - w - pad.pad_w, 0)
    xp = np.pad(x, ((0, 0), (pad.pad_h, bottom), (pad.pad_w, right), (0, 0)),
                constant_values=fill)
    eh, ew = (k_h - 1) * dh + 1, (k_w - 1) * dw + 1
    v = np.lib.stride_tricks.sliding_window_view(xp, (eh, ew), axis=(1, 2))
    return v[:, ::sh, ::sw, :, ::dh, ::dw][:, :pad.out_h, :pad.out_w]


@dataclass
class ConvParams:
    depthwise: bool
    input_offset: int
    output_offset: int
    weights: np.ndarray  # conv: (O, KH, KW, Ci) ; depthwise: (1, KH, KW, O), int8
    bias: np.ndarray | None  # int32 (O,)
    multiplier: np.ndarray  # int64 (O,)
    shift: np.ndarray  # int64 (O,)
    per_channel: bool
    act_min: int
    act_max: int
    stride_h: int
    stride_w: int
    dilation_h: int
    dilation_w: int
    padding: Padding
    input_shape: tuple[int, ...]  # NHWC
    output_shape: tuple[int, ...]  # NHWC
    filter_input_depth: int  # conv: Ci (groups = C / Ci) ; depthwise: 1
    depth_multiplier: int  # depthwise only (1 for conv)

    @property
    def groups(self) -> int:
        return self.input_shape[3] // self.filter_input_depth if not self.depthwise else 1


def _prepare(op, model, depthwise: bool) -> ConvParams:
    x, w, b = (model.op_inputs(op) + [None])[:3]
    (y,) = model.op_outputs(op)
    for t in (x, w, y):
        if t.type_name != "INT8":
            raise unsupported(op, model, f"tensor '{t.name}' is {t.type_name}",
                              "convert with int8 activations and weights (mcuq convert)")
        if t.quant is None:
            raise unsupported(op, model, f"tensor '{t.name}' has no quantization parameters",
                              "convert with full-integer quantization (mcuq convert)")
    if w.data is None:
        raise unsupported(op, model, "weights are not constant",
                          f"mcuq supports {op.opcode} with constant weights only")
    if len(w.shape) != 4:
        raise unsupported(op, model, f"weights '{w.name}' {list(w.shape)} are not 4-D",
                          "re-convert the model with TFLiteConverter")
    if b is not None and (b.type_name != "INT32" or b.data is None):
        raise unsupported(op, model, f"bias '{b.name}' is not a constant INT32 tensor",
                          "convert with int32 bias (mcuq convert)")
    if np.any(w.quant.zero_point != 0):
        raise unsupported(op, model, f"weights '{w.name}' have non-zero zero points",
                          "int8 weights must be symmetric (zero point 0); use mcuq convert")
    k_h, k_w = w.shape[1], w.shape[2]
    _, sh, sw, dh, dw, pad = spatial_options(op, model, x, y, k_h, k_w)
    in_c, out_c = x.shape[3], y.shape[3]
    axis = 3 if depthwise else 0
    if depthwise:
        mult = int(op.options.get("depth_multiplier", 1) or 1)
        if w.shape[0] != 1 or w.shape[3] != out_c or in_c * mult != out_c:
            raise unsupported(op, model, f"weights {list(w.shape)}, input channels {in_c}, "
                              f"output channels {out_c} and depth_multiplier {mult} disagree",
                              "re-convert the model with TFLiteConverter")
        fid = 1
    else:
        mult = 1
        fid = w.shape[3]
        if w.shape[0] != out_c or fid < 1 or in_c % fid or out_c % (in_c // fid):
            raise unsupported(op, model, f"weights {list(w.shape)} do not fit input channels "
                              f"{in_c} and output channels {out_c}",
                              "re-convert the model with TFLiteConverter")
    n_scales = w.quant.scale.size
    per_channel = n_scales > 1
    if per_channel and (n_scales != w.shape[axis] or w.quant.axis != axis):
        raise unsupported(op, model, f"weights '{w.name}' have {n_scales} scales on axis "
                          f"{w.quant.axis}; {op.opcode} needs per-channel scales on axis {axis}",
                          "re-convert the model with TFLiteConverter")
    if b is not None and b.data.size != out_c:
        raise unsupported(op, model, f"bias '{b.name}' has {b.data.size} values for {out_c} "
                          "output channels", "re-convert the model with TFLiteConverter")
    # PopulateConvolutionQuantizationParams: every channel (a per-tensor scale is broadcast)
    # gets double(input_scale) * double(filter_scale) / double(output_scale).
    s_in, s_out = np.float64(np.float32(x.scale)), np.float64(np.float32(y.scale))
    scales = w.quant.scale if per_channel else np.repeat(w.quant.scale[:1], out_c)
    real = [float(s_in * np.float64(sw_) / s_out) for sw_ in scales]
    multiplier, shift = fp.quantize_multipliers(real)
    lo, hi = fp.activation_range(op.options.get("fused_activation_function", "NONE"),
                                 y.scale, y.zero_point)
    return ConvParams(
        depthwise=depthwise, input_offset=-x.zero_point, output_offset=y.zero_point,
        weights=w.data, bias=None if b is None else b.data.reshape(-1),
        multiplier=multiplier, shift=shift, per_channel=per_channel, act_min=lo, act_max=hi,
        stride_h=sh, stride_w=sw, dilation_h=dh, dilation_w=dw, padding=pad,
        input_shape=tuple(x.shape), output_shape=tuple(y.shape), filter_input_depth=fid,
        depth_multiplier=mult)


def _finish(p: ConvParams, acc: np.ndarray) -> np.ndarray:
    """acc (..., O) int64 -> bias, int32 wrap, requantize, offset, clamp -> int8."""
    if p.bias is not None:
        acc = acc + p.bias.astype(np.int64)
    acc = fp.wrap_int32(acc)
    out = fp.multiply_by_quantized_multiplier(acc, p.multiplier, p.shift) + p.output_offset
    return np.clip(out, p.act_min, p.act_max).astype(np.int8)


#: Upper bound on im2col elements materialized at once (float64 copies: ~64 MB each).
IM2COL_BUDGET = 1 << 23


def _batched(p: ConvParams, x: np.ndarray, fn) -> np.ndarray:
    """Run fn(x_chunk) -> (images, OH, OW, O) int8 over chunks of the (B*N) images, so that
    the im2col matrix of a large batch never exceeds IM2COL_BUDGET elements."""
    batch = x.shape[0]
    n, h, w, c = p.input_shape
    imgs = x.reshape(batch * n, h, w, c)
    k = p.weights.shape[1] * p.weights.shape[2]
    per_pixel = k * c + p.output_shape[3]  # im2col row (all groups) + accumulators
    per_image = p.output_shape[1] * p.output_shape[2] * per_pixel
    step = max(1, IM2COL_BUDGET // max(per_image, 1))
    out = np.concatenate([fn(imgs[i:i + step]) for i in range(0, len(imgs), step)])
    return out.reshape(batch, *p.output_shape)


def _conv_windows(p: ConvParams, x: np.ndarray) -> np.ndarray:
    """(N, OH, OW, C, KH, KW) windows of x + input_offset (padding contributes zero)."""
    xo = x.astype(np.int16) + np.int16(p.input_offset)
    k_h, k_w = p.weights.shape[1], p.weights.shape[2]
    return windows(xo, 0, k_h, k_w, p.stride_h, p.stride_w, p.dilation_h, p.dilation_w,
                   p.padding)


@register("CONV_2D")
class Conv2D:
    @staticmethod
    def prepare(op, model) -> ConvParams:
        return _prepare(op, model, depthwise=False)

    @staticmethod
    def run(p: ConvParams, inputs):
        return [_batched(p, inputs[0], lambda x: Conv2D.images(p, x))]

    @staticmethod
    def images(p: ConvParams, x: np.ndarray) -> np.ndarray:
        """(images, H, W, C) -> (images, OH, OW, O)."""
        win = _conv_windows(p, x)
        nb, oh, ow = win.shape[:3]
        out_c, k_h, k_w, fid = p.weights.shape
        groups = p.groups
        per_group = out_c // groups
        # rows ordered (KH, KW, Ci) like the OHWI weights
        acc = np.empty((nb * oh * ow, out_c), np.int64)
        for g in range(groups):
            wg = win[:, :, :, g * fid:(g + 1) * fid]
            rows = wg.transpose(0, 1, 2, 4, 5, 3).reshape(nb * oh * ow, k_h * k_w * fid)
            wt = p.weights[g * per_group:(g + 1) * per_group].reshape(per_group, -1)
            acc[:, g * per_group:(g + 1) * per_group] = fp.exact_matmul(rows, wt.T)
        return _finish(p, acc).reshape(nb, oh, ow, out_c)


@register("DEPTHWISE_CONV_2D")
class DepthwiseConv2D:
    @staticmethod
    def prepare(op, model) -> ConvParams:
        return _prepare(op, model, depthwise=True)

    @staticmethod
    def run(p: ConvParams, inputs):
        return [_batched(p, inputs[0], lambda x: DepthwiseConv2D.images(p, x))]

    @staticmethod
    def images(p: ConvParams, x: np.ndarray) -> np.ndarray:
        """(images, H, W, C) -> (images, OH, OW, C*M)."""
        c = p.input_shape[3]
        win = _conv_windows(p, x)
        nb, oh, ow = win.shape[:3]
        k_h, k_w, m = p.weights.shape[1], p.weights.shape[2], p.depth_multiplier
        # per input channel: (pixels, KH*KW) @ (KH*KW, M)
        rows = win.transpose(3, 0, 1, 2, 4, 5).reshape(c, nb * oh * ow, k_h * k_w)
        wt = p.weights.reshape(k_h * k_w, c, m).transpose(1, 0, 2)
        acc = fp.exact_matmul(rows, wt)  # (C, pixels, M)
        acc = acc.transpose(1, 0, 2).reshape(nb * oh * ow, c * m)
        return _finish(p, acc).reshape(nb, oh, ow, c * m)
