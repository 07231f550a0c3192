"""CONV_2D and DEPTHWISE_CONV_2D, int8 input/output, int8 weights per-channel or per-tensor,
optional int32 bias (TFLM reference_integer_ops::ConvPerChannel / DepthwiseConvPerChannel).

TFLM skips taps outside the image; since it accumulates (x + input_offset) * w, a skipped tap
is the same as a tap reading the input zero point. So the reference pads the input with its
zero point and runs an im2col matmul over every output pixel of the whole batch at once.

Fast path (every depthwise conv and every ungrouped conv): since sum((x + off) * w) =
sum(x * w) + off * sum(w), the kernels multiply the raw int8 values (padded with the zero
point, so padded taps still contribute nothing) in float32 BLAS / elementwise products, exact
because every product and partial sum is an integer below 2^24 (checked per layer in prepare:
128 * sum|w| over a filter < 2^24; float64 otherwise, exact below 2^53), and add the int64
constant off * sum(w) + bias per channel before the shared requantization. The batch is cut
into chunks sized for the CPU cache.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from .. import fixedpoint as fp
from ..registry import Signature, register, require_int8, unsupported


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


#: TFLite's ConvParams/PoolParams hold strides, dilations and padding as int16_t.
INT16_MAX = 32767


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
    if max(sh, sw, dh, dw, pad.pad_h, pad.pad_w) > INT16_MAX:
        raise unsupported(op, model, f"stride ({sh}, {sw}), dilation ({dh}, {dw}) or padding "
                          f"({pad.pad_h}, {pad.pad_w}) above {INT16_MAX}",
                          "TFLite Micro keeps strides, dilations and padding in int16 and "
                          "computes something else with larger values; re-convert the model")
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


@dataclass(frozen=True)
class FastPlan:
    """Prepared data of the fast path (see the module docstring)."""
    weights: np.ndarray  # conv: (KH*KW*Ci, O) ; depthwise: (KH*KW, C*M); float32 or float64
    const: np.ndarray  # int64 (O,): input_offset * sum(w) + bias
    wrap: bool  # whether sum((x + off) * w) + bias can leave the int32 range
    source: tuple = ()  # (input_offset, weights, bias, groups) it was built from


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
    rounding: str = "double"  # MultiplyByQuantizedMultiplier's (profiles.Profile.rounding)
    _fast: FastPlan | None = field(default=None, repr=False, compare=False)

    @property
    def groups(self) -> int:
        return self.input_shape[3] // self.filter_input_depth if not self.depthwise else 1


def _prepare(op, model, depthwise: bool, profile) -> ConvParams:
    x, w, b = (model.op_inputs(op) + [None])[:3]
    (y,) = model.op_outputs(op)
    if len(op.inputs) >= 3 and op.inputs[2] < 0:
        # TFLite Micro rejects an omitted (-1) bias on CONV_2D ("optional but expected") and
        # crashes on DEPTHWISE_CONV_2D; a bias-less op lists two inputs.
        raise unsupported(op, model, "the bias input is present but omitted (-1)",
                          "list only the input and the filter, or give an int32 bias")
    require_int8(op, model, (x, w, y))
    if w.data is None:
        raise unsupported(op, model, "weights are not constant",
                          f"mcuq supports {op.opcode} with constant weights only")
    if len(w.shape) != 4:
        raise unsupported(op, model, f"weights '{w.label}' {list(w.shape)} are not 4-D",
                          "re-convert the model with TFLiteConverter")
    if b is not None and (b.type_name != "INT32" or b.data is None):
        raise unsupported(op, model, f"bias '{b.label}' is not a constant INT32 tensor",
                          "convert with int32 bias (mcuq convert)")
    # A weight zero point is ignored, as TFLite Micro's ConvPerChannel and
    # DepthwiseConvPerChannel ignore it (per tensor and per channel alike; checked against the
    # tflite-micro package by tests/reference/test_conv.py). LiteRT refuses such a CONV_2D.
    k_h, k_w = w.shape[1], w.shape[2]
    _, sh, sw, dh, dw, pad = spatial_options(op, model, x, y, k_h, k_w)
    in_c, out_c = x.shape[3], y.shape[3]
    axis = 3 if depthwise else 0
    if depthwise:
        mult = int(op.options.get("depth_multiplier", 0))
        if mult < 1:
            # TFLite Micro loops over the multiplier: with 0 it writes no output channel.
            raise unsupported(op, model, f"depth_multiplier {mult}",
                              "TFLite Micro computes nothing with a depth multiplier below 1 "
                              "(the output stays unwritten); re-convert the model")
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
        raise unsupported(op, model, f"weights '{w.label}' have {n_scales} scales on axis "
                          f"{w.quant.axis}; {op.opcode} needs per-channel scales on axis {axis}",
                          "re-convert the model with TFLiteConverter")
    if b is not None and b.data.size != out_c:
        raise unsupported(op, model, f"bias '{b.label}' has {b.data.size} values for {out_c} "
                          "output channels", "re-convert the model with TFLiteConverter")
    # PopulateConvolutionQuantizationParams: every channel (a per-tensor scale is broadcast)
    # gets double(input_scale) * double(filter_scale) / double(output_scale).
    s_in, s_out = np.float64(np.float32(x.scale)), np.float64(np.float32(y.scale))
    scales = w.quant.scale if per_channel else np.repeat(w.quant.scale[:1], out_c)
    real = [float(s_in * np.float64(sw_) / s_out) for sw_ in scales]
    multiplier, shift = profile.quantize_multipliers(real)
    lo, hi = fp.activation_range(op.options.get("fused_activation_function", "NONE"),
                                 y.scale, y.zero_point)
    params = ConvParams(
        depthwise=depthwise, input_offset=-x.zero_point, output_offset=y.zero_point,
        weights=w.data, bias=None if b is None else b.data.reshape(-1),
        multiplier=multiplier, shift=shift, per_channel=per_channel, act_min=lo, act_max=hi,
        stride_h=sh, stride_w=sw, dilation_h=dh, dilation_w=dw, padding=pad,
        input_shape=tuple(x.shape), output_shape=tuple(y.shape), filter_input_depth=fid,
        depth_multiplier=mult, rounding=profile.rounding)
    params._fast = _fast_plan(params)
    return params


def _fast_plan(p: ConvParams) -> FastPlan | None:
    out_c = p.output_shape[3]
    w = p.weights.astype(np.int64)
    if p.depthwise:
        wk = w.reshape(-1, out_c)  # (KH*KW, C*M): taps x output channels
    elif p.groups == 1:
        wk = w.reshape(out_c, -1).T  # (KH*KW*Ci, O), rows ordered like the windows
    else:
        return None
    abs_sum = np.abs(wk).sum(axis=0)
    bias = np.zeros(out_c, np.int64) if p.bias is None else p.bias.astype(np.int64)
    # |x| <= 128 for raw int8 (and the zero-point padding); |x + off| <= 255.
    dtype = np.float32 if int(abs_sum.max(initial=0)) * 128 < (1 << 24) else np.float64
    wrap = bool((abs_sum * 255 + np.abs(bias) >= (1 << 31)).any())
    const = p.input_offset * wk.sum(axis=0) + bias
    return FastPlan(np.ascontiguousarray(wk, dtype=dtype), const, wrap, _source(p))


def _source(p: ConvParams) -> tuple:
    return (p.input_offset, p.weights, p.bias, p.depthwise or p.groups)


def _fast_for(p: ConvParams) -> bool:
    """Whether the fast path runs p; rebuilds the plan if p was edited after prepare
    (dataclasses.replace keeps the old plan)."""
    f, src = p._fast, _source(p)
    if f is None or len(f.source) != len(src) or f.source[0] != src[0] or \
            f.source[1] is not src[1] or f.source[2] is not src[2] or f.source[3] != src[3]:
        p._fast = _fast_plan(p)
    return p._fast is not None


def _finish(p: ConvParams, acc: np.ndarray) -> np.ndarray:
    """acc (..., O) int64 -> bias, int32 wrap, requantize, offset, clamp -> int8."""
    if p.bias is not None:
        acc = acc + p.bias.astype(np.int64)
    return fp.requantize(np.array(acc, dtype=np.int64), p.multiplier, p.shift,
                         p.output_offset, p.act_min, p.act_max, rounding=p.rounding)


#: Upper bound on im2col elements materialized at once (float64 copies: ~64 MB each).
IM2COL_BUDGET = 1 << 23
#: Fast path: elements (im2col columns, or depthwise inputs + accumulators) per chunk of
#: images, sized so a chunk's working set stays in the CPU's cache.
FAST_BUDGET = 1 << 18


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


_POOL = threading.local()  # per thread: name -> flat byte buffer, grown on demand


class _Scratch:
    """Buffers of one op call, reused by every chunk (the first chunk is the largest; later
    ones take leading slices), carved from a per-thread pool kept between calls so chunks and
    ops do not allocate (and page-fault) afresh."""

    def __init__(self):
        self.bufs: dict[str, np.ndarray] = {}
        if not hasattr(_POOL, "bufs"):
            _POOL.bufs = {}

    def get(self, name: str, shape: tuple, dtype, fill=None) -> np.ndarray:
        buf = self.bufs.get(name)
        if buf is None:
            dtype = np.dtype(dtype)
            size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            flat = _POOL.bufs.get(name)
            if flat is None or flat.size < size:
                flat = _POOL.bufs[name] = np.empty(max(size, 1), np.uint8)
            buf = flat[:size].view(dtype).reshape(shape)
            if fill is not None:
                buf.fill(fill)
            self.bufs[name] = buf
        return buf[:shape[0]]


def _run_fast(p: ConvParams, x: np.ndarray) -> np.ndarray:
    """The fast path over the whole batch, chunk by chunk."""
    batch = x.shape[0]
    n, h, w, c = p.input_shape
    _, oh, ow, oc = p.output_shape
    imgs = x.reshape(batch * n, h, w, c)
    total = len(imgs)
    out = np.empty((total, oh, ow, oc), np.int8)
    if p.depthwise and c > 1:
        per_image = oh * ow * oc * 3
        fn = _depthwise_chunk
    else:  # a depthwise conv of one input channel is this conv: taps x multiplier weights
        per_image = oh * ow * (p.weights.shape[1] * p.weights.shape[2] * c + oc * 2)
        fn = _conv_chunk
    step = max(1, FAST_BUDGET // max(per_image, 1))
    ws = _Scratch()
    for i in range(0, total, step):
        fn(p, imgs[i:i + step], out[i:i + step], ws)
    return out.reshape(batch, *p.output_shape)


def _extent(p: ConvParams, h: int, w: int) -> tuple[int, int]:
    """Padded (rows, cols) the taps read: leading padding + image + trailing padding."""
    k_h, k_w = p.weights.shape[1], p.weights.shape[2]
    pad = p.padding
    need_h = (pad.out_h - 1) * p.stride_h + (k_h - 1) * p.dilation_h + 1
    need_w = (pad.out_w - 1) * p.stride_w + (k_w - 1) * p.dilation_w + 1
    return pad.pad_h + h + max(need_h - h - pad.pad_h, 0), \
        pad.pad_w + w + max(need_w - w - pad.pad_w, 0)


def _padded(p: ConvParams, x: np.ndarray, ws: _Scratch, dtype=np.int8,
            repeat: int = 1) -> np.ndarray:
    """x (NHWC) in a scratch buffer padded with the input zero point to the extent the taps
    read (the border is written once; chunks only overwrite the interior). repeat > 1 repeats
    every channel (depthwise multiplier: output channel c*M + m reads input channel c)."""
    nb, h, w, c = x.shape
    hp, wp = _extent(p, h, w)
    pad = p.padding
    xp = ws.get(f"pad-{np.dtype(dtype).name}", (nb, hp, wp, c * repeat), dtype,
                fill=-p.input_offset)
    inner = xp[:, pad.pad_h:pad.pad_h + h, pad.pad_w:pad.pad_w + w]
    if repeat > 1:
        inner.reshape(nb, h, w, c, repeat)[...] = x[..., None]
    else:
        inner[...] = x
    return xp


def _conv_chunk(p: ConvParams, x: np.ndarray, out: np.ndarray, ws: _Scratch) -> None:
    f = p._fast
    nb = x.shape[0]
    _, oh, ow, oc = p.output_shape
    k_h, k_w, c = p.weights.shape[1], p.weights.shape[2], x.shape[3]
    rows, depth = nb * oh * ow, k_h * k_w * c
    cols = ws.get("cols", (rows, depth), f.weights.dtype)
    if k_h == k_w == 1 and p.stride_h == p.stride_w == 1:
        np.copyto(cols.reshape(nb, oh, ow, c), x)  # 1x1 stride-1 convs never pad
    elif p.dilation_w == 1:
        # a window row (KW pixels x C channels) is one contiguous run of the padded input:
        # gather the int8 im2col matrix as KH runs per output pixel, then convert it.
        xp = _padded(p, x, ws)
        s0, s1, s2, s3 = xp.strides
        view = np.lib.stride_tricks.as_strided(
            xp, shape=(nb, oh, ow, k_h, k_w * c),
            strides=(s0, s1 * p.stride_h, s2 * p.stride_w, s1 * p.dilation_h, s3),
            writeable=False)
        cols8 = ws.get("cols8", (nb, oh, ow, k_h, k_w * c), np.int8)
        np.copyto(cols8, view)
        np.copyto(cols, cols8.reshape(rows, depth))
    else:
        xp = _padded(p, x, ws)
        cols6 = cols.reshape(nb, oh, ow, k_h, k_w, c)
        for i, j, v in _taps(p, xp):
            cols6[:, :, :, i, j] = v
    acc = ws.get("acc", (rows, oc), f.weights.dtype)
    np.matmul(cols, f.weights, out=acc)
    acc64 = ws.get("acc64", (rows, oc), np.int64)
    np.copyto(acc64, acc, casting="unsafe")
    fp.requantize(acc64, p.multiplier, p.shift, p.output_offset, p.act_min, p.act_max,
                  bias=f.const, wrap=f.wrap, out=out.reshape(rows, oc),
                  scratch=ws.get("tmp64", (rows, oc), np.int64), rounding=p.rounding)


def _taps(p: ConvParams, xp: np.ndarray):
    """(i, j, view) per filter tap: the (N, OH, OW, C) input values that tap multiplies."""
    k_h, k_w = p.weights.shape[1], p.weights.shape[2]
    oh, ow = p.padding.out_h, p.padding.out_w
    sh, sw, dh, dw = p.stride_h, p.stride_w, p.dilation_h, p.dilation_w
    for i in range(k_h):
        for j in range(k_w):
            yield i, j, xp[:, i * dh:i * dh + (oh - 1) * sh + 1:sh,
                           j * dw:j * dw + (ow - 1) * sw + 1:sw]


def _depthwise_chunk(p: ConvParams, x: np.ndarray, out: np.ndarray, ws: _Scratch) -> None:
    f = p._fast
    nb = x.shape[0]
    _, oh, ow, oc = p.output_shape
    k_h, k_w = p.weights.shape[1], p.weights.shape[2]
    sh, sw, dh, dw = p.stride_h, p.stride_w, p.dilation_h, p.dilation_w
    xp = _padded(p, x, ws, f.weights.dtype, p.depth_multiplier)
    # Split strided inputs into stride phases so every tap reads a unit-stride block whose
    # (OW, C) axes merge: the products then run over OW*C-long rows with tiled weights.
    planes = {}
    for a in range(sh):
        for b in range(sw):
            src = xp[:, a::sh, b::sw]
            if sh * sw > 1:
                planes[a, b] = ws.get(f"plane{a},{b}", src.shape, src.dtype)
                np.copyto(planes[a, b], src)
            else:
                planes[a, b] = src
    acc = ws.get("acc", (nb, oh, ow * oc), f.weights.dtype)
    tmp = ws.get("tmp", (nb, oh, ow * oc), f.weights.dtype)
    for i in range(k_h):
        for j in range(k_w):
            (r0, a), (c0, b) = divmod(i * dh, sh), divmod(j * dw, sw)
            v = planes[a, b][:, r0:r0 + oh, c0:c0 + ow].reshape(nb, oh, ow * oc)
            wt = np.tile(f.weights[i * k_w + j], ow)
            if i == j == 0:
                np.multiply(v, wt, out=acc)
            else:
                np.multiply(v, wt, out=tmp)
                acc += tmp
    rows = nb * oh * ow
    acc64 = ws.get("acc64", (rows, oc), np.int64)
    np.copyto(acc64, acc.reshape(rows, oc), casting="unsafe")
    fp.requantize(acc64, p.multiplier, p.shift, p.output_offset, p.act_min, p.act_max,
                  bias=f.const, wrap=f.wrap, out=out.reshape(rows, oc),
                  scratch=ws.get("tmp64", (rows, oc), np.int64), rounding=p.rounding)


def _conv_windows(p: ConvParams, x: np.ndarray) -> np.ndarray:
    """(N, OH, OW, C, KH, KW) windows of x + input_offset (padding contributes zero)."""
    xo = x.astype(np.int16) + np.int16(p.input_offset)
    k_h, k_w = p.weights.shape[1], p.weights.shape[2]
    return windows(xo, 0, k_h, k_w, p.stride_h, p.stride_w, p.dilation_h, p.dilation_w,
                   p.padding)


@register("CONV_2D")
class Conv2D:
    SIGNATURE = Signature(("input", "filter", "bias"), optional=("bias",), constant=("filter",))

    @staticmethod
    def prepare(op, model, profile) -> ConvParams:
        return _prepare(op, model, depthwise=False, profile=profile)

    @staticmethod
    def run(p: ConvParams, inputs):
        if _fast_for(p):
            return [_run_fast(p, inputs[0])]
        return [_batched(p, inputs[0], lambda x: Conv2D.images(p, x))]

    @staticmethod
    def images(p: ConvParams, x: np.ndarray) -> np.ndarray:
        """(images, H, W, C) -> (images, OH, OW, O), the im2col path (grouped convs)."""
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
    SIGNATURE = Signature(("input", "filter", "bias"), optional=("bias",), constant=("filter",))

    @staticmethod
    def prepare(op, model, profile) -> ConvParams:
        return _prepare(op, model, depthwise=True, profile=profile)

    @staticmethod
    def run(p: ConvParams, inputs):
        if _fast_for(p):
            return [_run_fast(p, inputs[0])]
        return [_batched(p, inputs[0], lambda x: DepthwiseConv2D.images(p, x))]

    @staticmethod
    def images(p: ConvParams, x: np.ndarray) -> np.ndarray:
        """(images, H, W, C) -> (images, OH, OW, C*M), the im2col path."""
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
