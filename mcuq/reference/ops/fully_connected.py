"""FULLY_CONNECTED, int8 input/weights/output with int32 bias, per-tensor or per-channel
weights (TFLM reference_integer_ops::FullyConnected / FullyConnectedPerChannel).

The weights' zero point is handled exactly as TFLite Micro does (checked against the
tflite-micro package by tests/reference/test_fully_connected.py): per-tensor weights add it
(FullyConnected accumulates (w - zero_point) * (x + input_offset)); per-channel weights ignore
it (FullyConnectedPerChannel multiplies the raw w, whatever the zero points say).

By profile (decided in prepare): tflm and single-rounding requantize the int32 accumulator
with MultiplyByQuantizedMultiplier (double / single rounding), tflite-legacy too but with a
per-tensor multiplier from the float product of the scales; litert (LiteRT 2.3's reference
kernel, TF >= 2.20) rescales it in double with one rounding,
(int32)round(double(acc) * (double(s_in) * double(s_w) / double(s_out))), ties away from zero,
and an out-of-range product converts to INT32_MIN (x86-64's CVTTSD2SI) before the int32
offset addition and the clamp. Every profile takes the fast float-BLAS product when the
weights have no zero point; only the requantization tail differs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import fixedpoint as fp
from ..registry import Signature, register, unsupported


@dataclass
class FullyConnectedParams:
    input_offset: int
    output_offset: int
    filter_offset: int  # -weights zero point (per-tensor weights only; 0 per-channel)
    weights: np.ndarray  # int8 (out_depth, accum_depth)
    bias: np.ndarray | None  # int32 (out_depth,)
    multiplier: np.ndarray  # int64 (out_depth,) - per-tensor models repeat one value
    shift: np.ndarray  # int64 (out_depth,)
    per_channel: bool
    act_min: int
    act_max: int
    accum_depth: int
    out_depth: int
    output_shape: tuple[int, ...]
    rounding: str = "double"  # MultiplyByQuantizedMultiplier's (profiles.Profile.rounding)
    #: litert: per output channel double(s_in) * double(s_w) / double(s_out); run rescales
    #: the accumulator in double instead of by (multiplier, shift)
    float_scale: np.ndarray | None = None
    _fast: tuple | None = field(default=None, repr=False, compare=False)


def _fast_plan(p: FullyConnectedParams) -> tuple:
    """(weights^T as float32 or float64, int64 constant, wrap, source) for the fast path:
    sum((x + off) * w) + b == x . w + (off * sum(w) + b) in int64; the float product of raw
    int8 x (|x| <= 128) and w is exact when every partial sum stays below 2^24 (float32) or
    2^53 (float64), checked per layer; wrap: whether the int32 wrap can matter."""
    w = p.weights.astype(np.int64)
    abs_sum = np.abs(w).sum(axis=1)
    dtype = np.float32 if int(abs_sum.max(initial=0)) * 128 < (1 << 24) else np.float64
    bias = np.zeros(p.out_depth, np.int64) if p.bias is None else p.bias.astype(np.int64)
    const = p.input_offset * w.sum(axis=1) + bias
    wrap = bool((abs_sum * 255 + np.abs(bias) >= (1 << 31)).any())
    return (np.ascontiguousarray(w.T, dtype=dtype), const, wrap,
            (p.input_offset, p.weights, p.bias))


def _double_rescale(acc: np.ndarray, p: FullyConnectedParams) -> np.ndarray:
    """litert's tail on the int32 accumulator (int64 array): one rounding in double, the
    int32 conversion as x86-64 does it, + offset (int32, wraps), clamp; int8."""
    out = fp.c_float_to_int32(fp.round_away(acc.astype(np.float64) * p.float_scale))
    out = fp.wrap_int32(out + p.output_offset)  # int32 in LiteRT: wraps
    return np.clip(out, p.act_min, p.act_max).astype(np.int8)


@register("FULLY_CONNECTED")
class FullyConnected:
    SIGNATURE = Signature(("input", "filter", "bias"), optional=("bias",), constant=("filter",))

    @staticmethod
    def prepare(op, model, profile) -> FullyConnectedParams:
        x, w, b = (model.op_inputs(op) + [None])[:3]
        (y,) = model.op_outputs(op)
        for t in (x, w, y):
            if t.type_name != "INT8":
                raise unsupported(op, model, f"tensor '{t.label}' is {t.type_name}",
                                  "convert with int8 activations and weights (mcuq convert)")
        if w.data is None:
            raise unsupported(op, model, "weights are not constant",
                              "mcuq supports FULLY_CONNECTED with constant weights only")
        if b is not None and (b.type_name != "INT32" or b.data is None):
            raise unsupported(op, model, f"bias '{b.label}' is not a constant INT32 tensor",
                              "convert with int32 bias (mcuq convert)")
        if op.options.get("weights_format", "DEFAULT") != "DEFAULT":
            raise unsupported(op, model, "shuffled weights format", "use the default format")
        out_depth, accum = w.shape
        if w.quant.per_channel and len(y.shape) != 2:
            raise unsupported(op, model, f"output '{y.label}' has shape {list(y.shape)}",
                              "TFLite Micro's per-channel FULLY_CONNECTED reads its output as "
                              "[batches, units] (2-D) and computes something else otherwise; "
                              "convert without keep_num_dims")
        s_in, s_out = np.float32(x.scale), np.float32(y.scale)
        per_channel = w.quant.per_channel
        # double(input_scale) * double(filter_scale) / double(output_scale) per channel, and
        # per tensor too: the tflite-micro build (and LiteRT) take the input * filter product
        # in double (probed: scales 1 + 2^-13 and 1 - 2^-13, whose float product is 1.0,
        # give TFLM's multiplier 2^31 - 32 with shift 0, not 2^30 with shift 1). TFLite before
        # 2.20 (GetQuantizedConvolutionMultipler) takes a per-tensor product in float.
        real = [float(np.float64(s_in) * np.float64(sw) / np.float64(s_out))
                for sw in (w.quant.scale if per_channel else w.quant.scale[:1])]
        if profile.fc_float_product and not per_channel:
            real = [float(np.float64(s_in * np.float32(w.quant.scale[0])) / np.float64(s_out))]
        mult, shift = profile.quantize_multipliers(real)
        if not per_channel:
            mult, shift = np.repeat(mult, out_depth), np.repeat(shift, out_depth)
        float_scale = np.repeat(np.asarray(real, np.float64), out_depth // len(real)) \
            if profile.fc_double_rescale else None
        lo, hi = fp.activation_range(op.options.get("fused_activation_function", "NONE"),
                                     y.scale, y.zero_point)
        return FullyConnectedParams(
            input_offset=-x.zero_point, output_offset=y.zero_point,
            filter_offset=0 if per_channel else -int(w.quant.zero_point[0]),
            weights=w.data, bias=None if b is None else b.data.reshape(-1), multiplier=mult,
            shift=shift,
            per_channel=per_channel, act_min=lo, act_max=hi, accum_depth=accum,
            out_depth=out_depth, output_shape=y.shape, rounding=profile.rounding,
            float_scale=float_scale)

    @staticmethod
    def run(p: FullyConnectedParams, inputs):
        x = inputs[0]
        batch = x.shape[0]
        if p.filter_offset:  # per-tensor weights with a zero point: TFLM adds it
            rows = x.reshape(-1, p.accum_depth).astype(np.int64) + p.input_offset
            weights = p.weights.astype(np.int64) + p.filter_offset
            acc = fp.exact_matmul(rows, weights.T)
            if p.bias is not None:
                acc = acc + p.bias.astype(np.int64)
            acc = fp.wrap_int32(acc)
            if p.float_scale is not None:  # litert: one rounding in double
                out = _double_rescale(acc, p)
            else:
                out = fp.multiply_by_quantized_multiplier(acc, p.multiplier, p.shift,
                                                          p.rounding)
                out = fp.wrap_int32(out + p.output_offset)  # int32 in TFLM: wraps
                out = np.clip(out, p.act_min, p.act_max).astype(np.int8)
        else:
            f = p._fast
            if f is None or f[3][0] != p.input_offset or f[3][1] is not p.weights or \
                    f[3][2] is not p.bias:  # (re)built when the params were edited
                f = p._fast = _fast_plan(p)
            weights_t, const, wrap, _ = f
            rows = x.reshape(-1, p.accum_depth)
            acc = rows.astype(weights_t.dtype) @ weights_t
            if p.float_scale is not None:  # litert: the same exact product, its own tail
                acc = acc.astype(np.int64)
                acc += const
                out = _double_rescale(fp.wrap_int32(acc) if wrap else acc, p)
            else:
                out = fp.requantize(acc, p.multiplier, p.shift, p.output_offset, p.act_min,
                                    p.act_max, bias=const, wrap=wrap, rounding=p.rounding)
        return [out.reshape(batch, *p.output_shape)]
