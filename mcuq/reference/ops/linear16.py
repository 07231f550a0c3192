"""16x8 FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D: int16 activations (zero point 0),
int8 symmetric weights (per-channel or per-tensor), int64 bias (CONV_2D also int32).

TFLite Micro (fully_connected.cc, conv.cc, depthwise_conv.cc) runs
reference_integer_ops::FullyConnected[PerChannel] / ConvPerChannel / DepthwiseConvPerChannel
on int16 data:
  - products of int16 inputs and int8 weights summed in the bias type (int64; CONV_2D with an
    int32 bias sums in int32, wrapping as compiled), taps outside the image skipped (the zero
    point is 0, so a skipped tap is a zero input);
  - an int64 accumulator is scaled by MultiplyByQuantizedMultiplier(int64_t, ...): the
    multiplier is reduced to 16 bits, (q + 2^15) >> 16 (0x7FFF from 0x7FFF0000 up), then
    (acc * reduced + 2^(14 - shift)) >> (15 - shift), cast to int32 (one rounding, the same in
    TFLM's single- and double-rounding builds); an int32 accumulator takes the int8 kernels'
    double-rounding MultiplyByQuantizedMultiplier;
  - FULLY_CONNECTED adds the output zero point (0) in int32; CONV_2D/DEPTHWISE_CONV_2D do not;
  - clamp to the fused activation's range in int16.
TFLite Micro crashes on an int16 CONV_2D without bias (it reads bias->type), so mcuq refuses it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import fixedpoint as fp
from ..registry import register, unsupported
from .conv import Padding, spatial_options, windows

INT16_MIN, INT16_MAX = -32768, 32767
#: MultiplyByQuantizedMultiplier(int64) assumes |acc| < 2^47 (common.h); mcuq refuses biases
#: beyond it (acc * reduced multiplier must stay inside int64).
BIAS64_LIMIT = 1 << 47


def reduce_multiplier(multiplier) -> np.ndarray:
    """The 16-bit multiplier of MultiplyByQuantizedMultiplier(int64_t, ...)."""
    m = np.asarray(multiplier, np.int64)
    return np.where(m < 0x7FFF0000, (m + (1 << 15)) >> 16, 0x7FFF)


def mbqm64(acc, multiplier, shift) -> np.ndarray:
    """MultiplyByQuantizedMultiplier(int64_t x, q, shift), cast to int32 (wrapping) as C does.
    multiplier/shift broadcast over acc's last axis."""
    x = np.asarray(acc, np.int64)
    total = 15 - np.asarray(shift, np.int64)
    r = x * reduce_multiplier(multiplier) + (np.int64(1) << (total - 1))
    return fp.wrap_int32(r >> total)


def check_profile16(op, model, profile) -> None:
    """The int16 kernels reproduce TFLite Micro's default build (double rounding); LiteRT's
    differs only on FULLY_CONNECTED (fc_double_rescale, below). Single rounding is refused."""
    if profile is not None and getattr(profile, "rounding", "double") != "double":
        raise unsupported(op, model, f"int16 kernels in the {profile} profile",
                          "mcuq's int16 (16x8) kernels follow TFLite Micro's default double "
                          "rounding: verify/generate with --rounding double")


def check_activation16(op, model, tensors) -> None:
    """int16, quantized per tensor with zero point 0 (the 16x8 spec)."""
    for t in tensors:
        if t.type_name != "INT16":
            raise unsupported(op, model, f"tensor '{t.name}' is {t.type_name}, the op's other "
                              "activations are INT16",
                              "convert the whole model with --activations int16")
        if t.quant is None or t.quant.scale.size != 1:
            raise unsupported(op, model, f"tensor '{t.name}' is not quantized per tensor",
                              "convert with mcuq convert --activations int16")
        if t.zero_point != 0:
            raise unsupported(op, model, f"int16 tensor '{t.name}' has zero point "
                              f"{t.zero_point}", "16x8 activations are symmetric (zero point "
                              "0); convert with mcuq convert --activations int16")


def check_weights8(op, model, w, axis: int, channels: int) -> bool:
    """Constant symmetric int8 weights, per-tensor or per-channel on `axis`. Returns
    whether per-channel."""
    if w.type_name != "INT8" or w.data is None:
        raise unsupported(op, model, f"weights '{w.name}' are {w.type_name}"
                          f"{'' if w.data is not None else ' and not constant'}",
                          "16x8 models take constant int8 weights")
    if w.quant is None or np.any(w.quant.zero_point != 0):
        raise unsupported(op, model, f"weights '{w.name}' are not symmetric int8",
                          "int8 weights must have zero point 0; use mcuq convert")
    n = w.quant.scale.size
    if n > 1 and (n != channels or w.quant.axis != axis):
        raise unsupported(op, model, f"weights '{w.name}' have {n} scales on axis "
                          f"{w.quant.axis}; {op.opcode} needs per-channel scales on axis {axis}",
                          "re-convert the model with TFLiteConverter")
    return n > 1


def check_bias(op, model, b, channels: int, types=("INT64",)) -> None:
    if b is None:
        return
    if b.type_name not in types or b.data is None:
        raise unsupported(op, model, f"bias '{b.name}' is {b.type_name}"
                          f"{'' if b.data is not None else ' (not constant)'}",
                          f"TFLite Micro's int16 {op.opcode} takes a constant "
                          f"{' or '.join(types)} bias; convert with --activations int16")
    if b.data.size != channels:
        raise unsupported(op, model, f"bias '{b.name}' has {b.data.size} values for "
                          f"{channels} output channels", "re-convert the model")
    if np.any(np.abs(b.data.astype(np.int64)) >= BIAS64_LIMIT):
        raise unsupported(op, model, f"bias '{b.name}' holds values beyond 2^47",
                          "TFLite Micro's int64 requantization assumes |acc| < 2^47; "
                          "re-convert with a wider output scale")


def multipliers(op, model, x, w, y, channels: int, per_channel: bool):
    """double(s_in) * double(s_w[c]) / double(s_out) per channel -> QuantizeMultiplier; shifts
    from 15 on are refused (the int64 requantization would shift by a negative amount)."""
    s_in, s_out = np.float64(np.float32(x.scale)), np.float64(np.float32(y.scale))
    scales = w.quant.scale if per_channel else np.repeat(w.quant.scale[:1], channels)
    real = [float(s_in * np.float64(sw) / s_out) for sw in scales]
    mult, shift = fp.quantize_multipliers(real)
    if (shift >= 15).any():
        raise unsupported(op, model, "an effective scale s_in * s_w / s_out of 2^14 or more",
                          "TFLite Micro's int16 requantization needs a smaller scale ratio; "
                          "re-convert the model")
    return mult, shift


def act_range16(op, model, y) -> tuple[int, int]:
    """CalculateActivationRangeQuantized on int16; like TFLM's Prepare, refuses a bound whose
    round(f / scale) leaves int32 (kernel_util.cc: no_integer_overflow_from_quantization)."""
    act = op.options.get("fused_activation_function", "NONE")
    bounds = {"RELU": (0.0,), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}.get(act, ())
    for f in bounds:
        v = fp.round_away(float(np.float32(f) / np.float32(y.scale)))
        if not -(2.0 ** 31) <= v <= 2.0 ** 31:
            raise unsupported(op, model, f"fused {act} bound {f} / output scale {y.scale:g} "
                              "overflows int32", "TFLite Micro refuses this output scale; "
                              "re-convert the model")
    return fp.activation_range(act, y.scale, 0, INT16_MIN, INT16_MAX)


# -- FULLY_CONNECTED ---------------------------------------------------------------------------

@dataclass
class FullyConnected16Params:
    weights: np.ndarray  # int8 (out_depth, accum_depth)
    bias: np.ndarray | None  # int64 (out_depth,)
    #: LiteRT (profile fc_double_rescale): round(double(acc) * double scale) per channel
    double_scale: np.ndarray | None
    multiplier: np.ndarray  # int64 (out_depth,)
    shift: np.ndarray  # int64 (out_depth,)
    per_channel: bool
    act_min: int
    act_max: int
    accum_depth: int
    out_depth: int
    output_shape: tuple[int, ...]


@register("FULLY_CONNECTED", activations="INT16")
class FullyConnected16:
    @staticmethod
    def prepare(op, model, profile=None) -> FullyConnected16Params:
        check_profile16(op, model, profile)
        x, w, b = (model.op_inputs(op) + [None, None])[:3]
        (y,) = model.op_outputs(op)
        check_activation16(op, model, (x, y))
        if w is None or len(w.shape) != 2:
            raise unsupported(op, model, "weights are not a 2-D tensor", "re-convert the model")
        out_depth, accum = w.shape
        per_channel = check_weights8(op, model, w, 0, out_depth)
        check_bias(op, model, b, out_depth)
        if op.options.get("weights_format", "DEFAULT") != "DEFAULT":
            raise unsupported(op, model, "shuffled weights format", "use the default format")
        if x.size % accum or y.size != x.size // accum * out_depth:
            raise unsupported(op, model, f"input {list(x.shape)} does not fit weights "
                              f"{list(w.shape)} and output {list(y.shape)}",
                              "re-convert the model")
        mult, shift = multipliers(op, model, x, w, y, out_depth, per_channel)
        lo, hi = act_range16(op, model, y)
        double_scale = None
        if profile is not None and getattr(profile, "fc_double_rescale", False):
            s_in, s_out = np.float64(np.float32(x.scale)), np.float64(np.float32(y.scale))
            ws = w.quant.scale if per_channel else np.repeat(w.quant.scale[:1], out_depth)
            double_scale = np.array([s_in * np.float64(v) / s_out for v in ws], np.float64)
        return FullyConnected16Params(
            double_scale=double_scale,
            weights=w.data, bias=None if b is None else b.data.reshape(-1).astype(np.int64),
            multiplier=mult, shift=shift, per_channel=per_channel, act_min=lo, act_max=hi,
            accum_depth=accum, out_depth=out_depth, output_shape=tuple(y.shape))

    @staticmethod
    def run(p: FullyConnected16Params, inputs):
        x = inputs[0]
        rows = x.reshape(-1, p.accum_depth)
        acc = fp.exact_matmul(rows, p.weights.T)
        if p.bias is not None:
            acc = acc + p.bias
        if p.double_scale is not None:  # LiteRT: (int32) round(double(acc) * scale)
            v = fp.wrap_int32(fp.round_away(acc.astype(np.float64) * p.double_scale)
                              .astype(np.int64))
        else:
            v = mbqm64(acc, p.multiplier, p.shift)
        out = np.clip(v, p.act_min, p.act_max)
        return [out.astype(np.int16).reshape(x.shape[0], *p.output_shape)]


# -- CONV_2D / DEPTHWISE_CONV_2D ---------------------------------------------------------------

@dataclass
class Conv16Params:
    depthwise: bool
    weights: np.ndarray  # conv (O, KH, KW, Ci) ; depthwise (1, KH, KW, O), int8
    bias: np.ndarray  # (O,) int64 values
    bias_bits: int  # 64, or 32 (CONV_2D's int32 bias: int32 accumulation, double rounding)
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
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    filter_input_depth: int  # conv: Ci (groups = C / Ci) ; depthwise: 1
    depth_multiplier: int


def _prepare_conv(op, model, depthwise: bool) -> Conv16Params:
    ins = model.op_inputs(op)
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 else None
    (y,) = model.op_outputs(op)
    check_activation16(op, model, (x, y))
    if b is None:
        raise unsupported(op, model, "no bias tensor",
                          f"TFLite Micro's int16 {op.opcode} needs a bias (it crashes without "
                          "one); convert with mcuq convert --activations int16")
    if w is None or len(w.shape) != 4:
        raise unsupported(op, model, "weights are not 4-D", "re-convert the model")
    k_h, k_w = w.shape[1], w.shape[2]
    _, sh, sw, dh, dw, pad = spatial_options(op, model, x, y, k_h, k_w)
    in_c, out_c = x.shape[3], y.shape[3]
    if depthwise:
        mult = int(op.options.get("depth_multiplier", 1) or 1)
        if w.shape[0] != 1 or w.shape[3] != out_c or in_c * mult != out_c:
            raise unsupported(op, model, f"weights {list(w.shape)}, input channels {in_c}, "
                              f"output channels {out_c} and depth_multiplier {mult} disagree",
                              "re-convert the model")
        fid = 1
    else:
        mult, fid = 1, w.shape[3]
        if w.shape[0] != out_c or fid < 1 or in_c % fid or out_c % (in_c // fid):
            raise unsupported(op, model, f"weights {list(w.shape)} do not fit input channels "
                              f"{in_c} and output channels {out_c}", "re-convert the model")
    per_channel = check_weights8(op, model, w, 3 if depthwise else 0, out_c)
    check_bias(op, model, b, out_c, ("INT64",) if depthwise else ("INT64", "INT32"))
    m, s = multipliers(op, model, x, w, y, out_c, per_channel)
    lo, hi = act_range16(op, model, y)
    return Conv16Params(
        depthwise=depthwise, weights=w.data, bias=b.data.reshape(-1).astype(np.int64),
        bias_bits=32 if b.type_name == "INT32" else 64, multiplier=m, shift=s,
        per_channel=per_channel, act_min=lo, act_max=hi, stride_h=sh, stride_w=sw,
        dilation_h=dh, dilation_w=dw, padding=pad, input_shape=tuple(x.shape),
        output_shape=tuple(y.shape), filter_input_depth=fid, depth_multiplier=mult)


def _accumulate(p: Conv16Params, x: np.ndarray) -> np.ndarray:
    """(images, H, W, C) int16 -> (images*OH*OW, O) int64 sums of products (no bias)."""
    k_h, k_w = p.weights.shape[1], p.weights.shape[2]
    win = windows(x, 0, k_h, k_w, p.stride_h, p.stride_w, p.dilation_h, p.dilation_w,
                  p.padding)  # (N, OH, OW, C, KH, KW)
    nb, oh, ow, c = win.shape[:4]
    out_c = p.output_shape[3]
    if p.depthwise:
        m = p.depth_multiplier
        rows = win.transpose(3, 0, 1, 2, 4, 5).reshape(c, nb * oh * ow, k_h * k_w)
        wt = p.weights.reshape(k_h * k_w, c, m).transpose(1, 0, 2)
        acc = fp.exact_matmul(rows, wt)  # (C, pixels, M)
        return acc.transpose(1, 0, 2).reshape(nb * oh * ow, c * m)
    fid = p.filter_input_depth
    groups = c // fid
    per_group = out_c // groups
    acc = np.empty((nb * oh * ow, out_c), np.int64)
    for g in range(groups):
        wg = win[:, :, :, g * fid:(g + 1) * fid]
        rows = wg.transpose(0, 1, 2, 4, 5, 3).reshape(nb * oh * ow, k_h * k_w * fid)
        wt = p.weights[g * per_group:(g + 1) * per_group].reshape(per_group, -1)
        acc[:, g * per_group:(g + 1) * per_group] = fp.exact_matmul(rows, wt.T)
    return acc


def run_conv16(p: Conv16Params, x: np.ndarray) -> np.ndarray:
    batch = x.shape[0]
    n, h, w, c = p.input_shape
    imgs = x.reshape(batch * n, h, w, c)
    step = max(1, (1 << 22) // max(int(np.prod(p.output_shape[1:])) *
                                   p.weights.shape[1] * p.weights.shape[2] * max(c, 1), 1))
    outs = []
    for i in range(0, len(imgs), step):
        acc = _accumulate(p, imgs[i:i + step]) + p.bias
        if p.bias_bits == 32:
            v = fp.multiply_by_quantized_multiplier(fp.wrap_int32(acc), p.multiplier, p.shift)
        else:
            v = mbqm64(acc, p.multiplier, p.shift)
        outs.append(np.clip(v, p.act_min, p.act_max).astype(np.int16))
    return np.concatenate(outs).reshape(batch, *p.output_shape)


@register("CONV_2D", activations="INT16")
class Conv2D16:
    @staticmethod
    def prepare(op, model, profile=None) -> Conv16Params:
        check_profile16(op, model, profile)
        return _prepare_conv(op, model, depthwise=False)

    @staticmethod
    def run(p: Conv16Params, inputs):
        return [run_conv16(p, inputs[0])]


@register("DEPTHWISE_CONV_2D", activations="INT16")
class DepthwiseConv2D16:
    @staticmethod
    def prepare(op, model, profile=None) -> Conv16Params:
        check_profile16(op, model, profile)
        return _prepare_conv(op, model, depthwise=True)

    @staticmethod
    def run(p: Conv16Params, inputs):
        return [run_conv16(p, inputs[0])]
