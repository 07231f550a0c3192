"""TRANSPOSE_CONV (Keras Conv2DTranspose), int8 input/output, int8 weights OHWI per-channel
(axis 0) or per-tensor, optional int32 bias.

TFLite Micro semantics (kernels/transpose_conv.cc, reference_integer_ops::TransposeConv):
  inputs: 0 output_shape (ignored by TFLM: the output tensor's dims rule), 1 weights,
  2 input, 3 bias (optional; 3 or 4 inputs). Padding comes from ComputePaddingHeightWidth
  with the OUTPUT's height/width as the convolution input (stride, dilation 1, the filter
  size): pad = max((conv_out - 1) * stride + filter - output_size, 0) / 2. Each input pixel
  scatters (x + input_offset) * w into an int32 scratch (taps outside the output skipped),
  then per channel: + bias (int32 wrap), MultiplyByQuantizedMultiplier (double
  s_in * s_w[c] / s_out as CONV_2D), + output zero point, clamp to the fused activation's
  range (the installed tflite-micro honours it). Weights must be constant with zero points 0
  (TFLM ignores the filter zero point; mcuq refuses a non-zero one, as for CONV_2D).
The reference computes the same integer sums with one matrix product per filter tap; the C
kernel (firmware/kernels/transpose_conv.c) gathers instead of scattering (no scratch
buffer): each output sums the taps that reach it; int32 sums are order-independent.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import fixedpoint as fp
from ..registry import Signature, check_signature, register, require_int8, unsupported
from .conv import Padding, compute_padding


@dataclass
class TransposeConvParams:
    input_offset: int
    output_offset: int
    weights: np.ndarray  # (O, KH, KW, Ci) int8
    bias: np.ndarray | None  # int32 (O,)
    multiplier: np.ndarray  # int64 (O,)
    shift: np.ndarray
    act_min: int
    act_max: int
    stride_h: int
    stride_w: int
    padding: Padding  # pad_h / pad_w used; out_h/out_w: the conv-view size (unused)
    input_shape: tuple[int, ...]  # NHWC
    output_shape: tuple[int, ...]
    rounding: str = "double"  # MultiplyByQuantizedMultiplier's (profiles.Profile.rounding)


@register("TRANSPOSE_CONV")
class TransposeConv:
    SIGNATURE = Signature(inputs=("output_shape", "weights", "input", "bias"),
                          optional=("bias",), constant=("weights", "bias"))

    @staticmethod
    def prepare(op, model, profile) -> TransposeConvParams:
        ins = check_signature(op, model, TransposeConv.SIGNATURE)
        _, w, x = ins[:3]
        b = ins[3] if len(ins) == 4 else None
        (y,) = model.op_outputs(op)
        require_int8(op, model, (x, w, y))
        if len(x.shape) != 4 or len(w.shape) != 4 or len(y.shape) != 4:
            raise unsupported(op, model, f"input {list(x.shape)}, weights {list(w.shape)}, "
                              f"output {list(y.shape)}", "TRANSPOSE_CONV needs 4-D tensors")
        out_c, k_h, k_w, in_c = w.shape
        if in_c != x.shape[3] or out_c != y.shape[3] or x.shape[0] != y.shape[0]:
            raise unsupported(op, model, f"weights {list(w.shape)} do not fit input "
                              f"{list(x.shape)} and output {list(y.shape)}",
                              "re-convert the model")
        if b is not None and (b.type_name != "INT32" or b.size != out_c):
            raise unsupported(op, model, f"bias '{b.name}' is {b.type_name} {list(b.shape)}",
                              f"TRANSPOSE_CONV takes an int32 bias of {out_c} values")
        if np.any(w.quant.zero_point != 0):
            raise unsupported(op, model, f"weights '{w.name}' have non-zero zero points",
                              "int8 weights must be symmetric (zero point 0); use mcuq convert")
        n_scales = w.quant.scale.size
        if n_scales not in (1, out_c) or (n_scales > 1 and w.quant.axis != 0):
            raise unsupported(op, model, f"weights '{w.name}' have {n_scales} scales on axis "
                              f"{w.quant.axis}", "TFLite Micro needs per-channel scales on "
                              "axis 0 (or one scale)")
        o = op.options
        padding = o.get("padding", "SAME")
        if padding not in ("SAME", "VALID"):
            raise unsupported(op, model, f"padding {padding}", "use SAME or VALID padding")
        sh, sw = int(o.get("stride_h", 1) or 0), int(o.get("stride_w", 1) or 0)
        if sh < 1 or sw < 1:
            raise unsupported(op, model, f"stride ({sh}, {sw})", "strides must be positive")
        pad = compute_padding(padding, sh, sw, 1, 1, y.shape[1], y.shape[2], k_h, k_w)
        s_in, s_out = np.float64(np.float32(x.scale)), np.float64(np.float32(y.scale))
        scales = w.quant.scale if n_scales > 1 else np.repeat(w.quant.scale[:1], out_c)
        multiplier, shift = profile.quantize_multipliers(
            [float(s_in * np.float64(s) / s_out) for s in scales])
        lo, hi = fp.activation_range(o.get("fused_activation_function", "NONE"), y.scale,
                                     y.zero_point)
        return TransposeConvParams(
            -x.zero_point, y.zero_point, w.data, None if b is None else b.data.reshape(-1),
            multiplier, shift, lo, hi, sh, sw, pad, tuple(x.shape), tuple(y.shape),
            profile.rounding)

    @staticmethod
    def run(p: TransposeConvParams, inputs):
        x = inputs[2]
        batch = x.shape[0]
        n, h, w, ci = p.input_shape
        _, oh, ow, oc = p.output_shape
        k_h, k_w = p.weights.shape[1:3]
        sh, sw = p.stride_h, p.stride_w
        ph, pw = p.padding.pad_h, p.padding.pad_w
        buf_h = max((h - 1) * sh + k_h, ph + oh)
        buf_w = max((w - 1) * sw + k_w, pw + ow)
        xs = (x.astype(np.int64) + p.input_offset).reshape(batch * n * h * w, ci)
        acc = np.zeros((batch * n, buf_h, buf_w, oc), np.int64)
        for fy in range(k_h):
            for fx in range(k_w):
                tap = fp.exact_matmul(xs, p.weights[:, fy, fx, :].T).reshape(
                    batch * n, h, w, oc)
                acc[:, fy:fy + (h - 1) * sh + 1:sh, fx:fx + (w - 1) * sw + 1:sw] += tap
        acc = np.ascontiguousarray(acc[:, ph:ph + oh, pw:pw + ow])
        out = fp.requantize(acc, p.multiplier, p.shift, p.output_offset, p.act_min, p.act_max,
                            bias=p.bias, rounding=p.rounding)
        return [out.reshape(batch, *p.output_shape)]
