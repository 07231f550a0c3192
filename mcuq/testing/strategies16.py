"""Hypothesis strategies for 16x8 kernels (int16 activations with zero point 0, int8 weights,
int64/int32 bias): one-op models built with mcuq.testing.builder and int16 inputs drawn by
style (full range, small, extremes, all zero, sparse). Used by the reference property tests
(reference == TFLite Micro) and the C batch tests (C == reference)."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from .builder import ModelBuilder
from .strategies import geometry

ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")
INT16_STYLES = ("uniform", "small", "extremes", "zero", "sparse")


def f32(x) -> float:
    return float(np.float32(x))


def log_scale(lo: float, hi: float) -> st.SearchStrategy[float]:
    """A float32 scale log-uniform in [10^lo, 10^hi]."""
    return st.floats(lo, hi, allow_nan=False).map(lambda e: f32(10.0 ** e))


def int16_values(rng: np.random.Generator, shape, style: str) -> np.ndarray:
    if style == "uniform":
        return rng.integers(-32768, 32768, shape).astype(np.int16)
    if style == "small":
        return rng.integers(-300, 301, shape).astype(np.int16)
    if style == "extremes":
        return rng.choice(np.array([-32768, -32767, 32767, 0, 1, -1], np.int16), shape)
    if style == "zero":
        return np.zeros(shape, np.int16)
    v = rng.integers(-32768, 32768, shape).astype(np.int16)
    return np.where(rng.random(shape) < 0.8, 0, v).astype(np.int16)


@st.composite
def inputs16(draw, model: bytes, batch: int = 3) -> list[np.ndarray]:
    """One (batch, *shape) array per model input: int16 by style, float32 spanning the
    consuming QUANTIZE's range (and beyond it), int8 uniform."""
    from ..model import load_model

    m = load_model(model)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    out = []
    for t in m.input_tensors():
        shape = (batch, *t.shape)
        if t.dtype == np.int16:
            out.append(int16_values(rng, shape, draw(st.sampled_from(INT16_STYLES))))
        elif t.dtype == np.int8:
            out.append(rng.integers(-128, 128, shape).astype(np.int8))
        else:
            q = next((m.tensors[op.outputs[0]] for op in m.operators
                      if t.index in op.inputs and op.opcode == "QUANTIZE"), None)
            span = 1.0 if q is None or q.quant is None else 32768 * q.scale * 1.2
            v = rng.uniform(-span, span, shape).astype(np.float32)
            if draw(st.booleans()):  # exact ties of x / scale: k + 0.5 steps
                k = rng.integers(-40000, 40000, shape) + 0.5
                v = (k * (q.scale if q is not None and q.quant is not None else 1e-3)
                     ).astype(np.float32)
            out.append(v)
    return out


@st.composite
def cases16(draw, models: st.SearchStrategy[bytes], batch: int = 3):
    model = draw(models)
    return model, draw(inputs16(model, batch))


@st.composite
def _layer_scales(draw, channels: int, per_channel: bool, coarse: bool = False):
    """coarse: output scales up to 10^8 accumulator steps (effective scales below 2^-17:
    right shifts beyond 32 in the int64 requantization; sums near 2^31 then stay inside the
    int16 output)."""
    s_in = draw(log_scale(-5, -2))
    n = channels if per_channel else 1
    s_w = np.array([draw(log_scale(-3, -1)) for _ in range(n)], np.float32)
    # output scale relative to the accumulator scale: saturating, typical and fine outputs
    # (at least 1e-8: TFLM refuses RELU6's bound 6 / s_out beyond int32)
    s_out = f32(max(s_in * float(s_w.max()) * 10.0 ** draw(st.floats(-0.5, 8.0 if coarse
                                                                     else 5.0)), 1e-8))
    return s_in, s_w, s_out


def _weights(draw, rng, shape) -> np.ndarray:
    style = draw(st.sampled_from(["uniform", "uniform", "extremes", "zero"]))
    if style == "extremes":
        return np.where(rng.random(shape) < 0.5, -127, 127).astype(np.int8)
    if style == "zero":
        return np.zeros(shape, np.int8)
    return rng.integers(-127, 128, shape).astype(np.int8)


#: 32768 * 65535 is the largest sum of |products| int32 holds (2^31 - 32768): the C target's
#: fast 16x8 kernels accumulate in int32 only when every channel's sum|w| <= FAST_SUM_LIMIT.
FAST_SUM_LIMIT = 65535
LIMITS = ("edge", "over", "wide")


def limit_rows(rng, rows: int, k: int, limit: str) -> np.ndarray:
    """(rows, k) int8 weights around the int32 limit of the sums: "edge" every row's sum|w|
    exactly FAST_SUM_LIMIT (fast kernels, partial sums reaching 2^31 - 32768), "over" one row
    at FAST_SUM_LIMIT + 1 (the 64-bit kernels), "wide" rows of random +-127 well over it.
    Signs: all equal in half the rows (extreme inputs of one sign then reach the bound),
    random in the others. Needs k >= 517."""
    assert k * 127 > FAST_SUM_LIMIT
    w = np.zeros((rows, k), np.int64)
    for r in range(rows):
        if limit == "wide":
            w[r] = np.where(rng.random(k) < 0.5, -127, 127)
            continue
        target = FAST_SUM_LIMIT + (1 if limit == "over" and r == rows - 1 else 0)
        full, rest = divmod(target, 127)
        idx = rng.permutation(k)
        w[r, idx[:full]] = 127
        w[r, idx[full]] = rest
        if r % 2:
            w[r] *= np.where(rng.random(k) < 0.5, -1, 1)
        elif rng.random() < 0.5:
            w[r] = -w[r]
    return w.astype(np.int8)


def _bias(draw, rng, n: int, dtype=np.int64) -> np.ndarray:
    style = draw(st.sampled_from(["typical", "typical", "large", "zero"]))
    if style == "zero":
        return np.zeros(n, dtype)
    hi = (1 << 20) if style == "typical" else ((1 << 40) if dtype == np.int64 else (1 << 31) - 1)
    return rng.integers(-hi, hi, n).astype(dtype)


@st.composite
def fully_connected16_models(draw, limit: str | None = None) -> bytes:
    """limit: weights around the int32 limit of the sums (limit_rows), depth 517-560."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    batches, depth, out = draw(st.integers(1, 3)), draw(st.integers(1, 40)), \
        draw(st.integers(1, 12))
    if limit:
        depth, out = draw(st.integers(517, 560)), draw(st.integers(1, 5))
    per_channel = draw(st.booleans())
    s_in, s_w, s_out = draw(_layer_scales(out, per_channel, coarse=bool(limit)))
    b = ModelBuilder()
    x = b.input("x", (batches, depth), "INT16", scale=s_in, zero_point=0)
    weights = limit_rows(rng, out, depth, limit) if limit else \
        _weights(draw, rng, (out, depth))
    w = b.const("w", weights, scale=s_w, zero_point=0, axis=0)
    ins = [x, w]
    bias_kind = draw(st.sampled_from(["int64", "int64", "none", "omitted"]))
    if bias_kind == "int64":
        ins.append(b.const("b", _bias(draw, rng, out),
                           scale=(np.float64(s_in) * s_w).astype(np.float32), zero_point=0))
    elif bias_kind == "omitted":
        ins.append(-1)
    y = b.tensor("y", (batches, out), "INT16", scale=s_out, zero_point=0)
    b.op("FULLY_CONNECTED", ins, [y], version=7,
         fused_activation_function=draw(st.sampled_from(ACTIVATIONS)))
    b.output(y)
    return b.build()


@st.composite
def conv16_models(draw, depthwise: bool = False, limit: str | None = None,
                  wide_channels: bool = False, pointwise: bool = False,
                  multipliers: tuple[int, ...] = (1, 1, 2, 3, 4, 8)) -> bytes:
    """limit: weights around the int32 limit of the sums (limit_rows): CONV_2D 3x3 filters
    over 58-64 input channels per group, DEPTHWISE_CONV_2D 23x23 filters. wide_channels:
    CONV_2D with 1-24 input and 1-9 output channels (longer patches, more channel pairs).
    pointwise: a 1x1 CONV_2D (any stride, no dilation) over 4-24 input channels, multiples
    of 4 (the fast kernel reads the pixels in place). multipliers: the depthwise
    depth_multiplier drawn from."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if limit and depthwise:
        g = draw(geometry(kernel=(23, 23), hw_max=25))
        g = dict(g, h=max(g["h"], 23), w=max(g["w"], 23), dh=1, dw=1)
        g = _regeometry(g)
    elif limit:
        g = dict(draw(geometry(kernel=(3, 3), hw_max=4)), dh=1, dw=1)
        g = _regeometry(g)
    elif pointwise:
        g = _regeometry(dict(draw(geometry(kernel=(1, 1), hw_max=8)), dh=1, dw=1))
    else:
        g = draw(geometry(k_max=3, hw_max=8))
    n = draw(st.integers(1, 2))
    if depthwise:
        cin, mult = draw(st.integers(1, 9)), draw(st.sampled_from(multipliers))
        if limit:
            cin = draw(st.integers(1, 3))
        cout, wshape, groups = cin * mult, None, 1
    else:
        groups = draw(st.sampled_from([1, 1, 1, 2]))
        groups = 1 if pointwise else groups
        cin = groups * draw(st.integers(58, 64) if limit else
                            st.integers(1, 6).map(lambda k: 4 * k) if pointwise else
                            st.integers(1, 24) if wide_channels else st.integers(1, 4))
        cout = groups * draw(st.integers(1, 9) if wide_channels or pointwise
                             else st.integers(1, 4))
        mult = 1
    wshape = (1, g["kh"], g["kw"], cout) if depthwise else (cout, g["kh"], g["kw"], cin // groups)
    per_channel = draw(st.booleans())
    s_in, s_w, s_out = draw(_layer_scales(cout, per_channel,
                                          coarse=bool(limit) or wide_channels))
    b = ModelBuilder()
    x = b.input("x", (n, g["h"], g["w"], cin), "INT16", scale=s_in, zero_point=0)
    if limit and depthwise:
        weights = limit_rows(rng, cout, g["kh"] * g["kw"], limit).T.reshape(wshape)
    elif limit:
        weights = limit_rows(rng, cout, int(np.prod(wshape[1:])), limit).reshape(wshape)
    else:
        weights = _weights(draw, rng, wshape)
    w = b.const("w", weights, scale=s_w, zero_point=0, axis=3 if depthwise else 0)
    bias_type = np.int64 if depthwise or draw(st.booleans()) else np.int32
    bias_scale = (np.float64(s_in) * (s_w if per_channel else np.repeat(s_w, cout)))
    bt = b.const("b", _bias(draw, rng, cout, bias_type), scale=bias_scale.astype(np.float32),
                 zero_point=0)
    y = b.tensor("y", (n, g["oh"], g["ow"], cout), "INT16", scale=s_out, zero_point=0)
    common = dict(padding=g["padding"], stride_h=g["sh"], stride_w=g["sw"],
                  dilation_h_factor=g["dh"], dilation_w_factor=g["dw"],
                  fused_activation_function=draw(st.sampled_from(ACTIVATIONS)))
    if depthwise:
        b.op("DEPTHWISE_CONV_2D", [x, w, bt], [y], version=5, depth_multiplier=mult, **common)
    else:
        b.op("CONV_2D", [x, w, bt], [y], version=4, **common)
    b.output(y)
    return b.build()


def _regeometry(g: dict) -> dict:
    """g's output size recomputed after its image or dilations changed."""
    from ..reference.ops.conv import compute_padding

    pad = compute_padding(g["padding"], g["sh"], g["sw"], g["dh"], g["dw"], g["h"], g["w"],
                          g["kh"], g["kw"])
    if pad.out_h < 1 or pad.out_w < 1:
        g = dict(g, padding="SAME")
        pad = compute_padding("SAME", g["sh"], g["sw"], g["dh"], g["dw"], g["h"], g["w"],
                              g["kh"], g["kw"])
    return dict(g, oh=pad.out_h, ow=pad.out_w)


QUANTIZE_KINDS = ("f32-s16", "s16-s8", "s8-s16", "s16-s16", "deq")


@st.composite
def quantize16_models(draw, kind: str | None = None) -> bytes:
    """QUANTIZE float32 -> int16, int16 -> int8, int8 -> int16, int16 -> int16, or
    DEQUANTIZE int16 -> float32 ("deq"), on a small tensor."""
    kind = kind or draw(st.sampled_from(QUANTIZE_KINDS))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    s16a, s16b = draw(log_scale(-5, -1)), draw(log_scale(-5, -1))
    s8 = draw(log_scale(-3, 0))
    zp8 = draw(st.sampled_from([-128, 0, 127]) | st.integers(-128, 127))
    b = ModelBuilder()
    if kind == "f32-s16":
        x = b.input("x", shape, "FLOAT32")
        y = b.tensor("y", shape, "INT16", scale=s16a, zero_point=0)
        op = "QUANTIZE"
    elif kind == "s16-s8":
        x = b.input("x", shape, "INT16", scale=s16a, zero_point=0)
        y = b.tensor("y", shape, "INT8", scale=s8, zero_point=zp8)
        op = "QUANTIZE"
    elif kind == "s8-s16":
        x = b.input("x", shape, "INT8", scale=s8, zero_point=zp8)
        y = b.tensor("y", shape, "INT16", scale=s16a, zero_point=0)
        op = "QUANTIZE"
    elif kind == "s16-s16":
        x = b.input("x", shape, "INT16", scale=s16a, zero_point=0)
        y = b.tensor("y", shape, "INT16", scale=s16b, zero_point=0)
        op = "QUANTIZE"
    else:
        x = b.input("x", shape, "INT16", scale=s16a, zero_point=0)
        y = b.tensor("y", shape, "FLOAT32")
        op = "DEQUANTIZE"
    b.op(op, [x], [y])
    b.output(y)
    return b.build()


@st.composite
def pool16_models(draw, op: str | None = None) -> bytes:
    op = op or draw(st.sampled_from(["AVERAGE_POOL_2D", "MAX_POOL_2D"]))
    g = draw(geometry(k_max=3, hw_max=8))
    from ..reference.ops.conv import compute_padding
    g["dh"] = g["dw"] = 1
    pad = compute_padding(g["padding"], g["sh"], g["sw"], 1, 1, g["h"], g["w"], g["kh"], g["kw"])
    if pad.out_h < 1 or pad.out_w < 1:
        g["padding"] = "SAME"
        pad = compute_padding("SAME", g["sh"], g["sw"], 1, 1, g["h"], g["w"], g["kh"], g["kw"])
    # a window entirely in the padding is refused (TFLM fails): keep filters within stride reach
    if pad.pad_h >= g["kh"] or pad.pad_w >= g["kw"]:
        g["padding"] = "VALID"
        g["kh"], g["kw"] = min(g["kh"], g["h"]), min(g["kw"], g["w"])
        pad = compute_padding("VALID", g["sh"], g["sw"], 1, 1, g["h"], g["w"], g["kh"], g["kw"])
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 5))
    s = draw(log_scale(-5, -1))
    b = ModelBuilder()
    x = b.input("x", (n, g["h"], g["w"], c), "INT16", scale=s, zero_point=0)
    y = b.tensor("y", (n, pad.out_h, pad.out_w, c), "INT16", scale=s, zero_point=0)
    b.op(op, [x], [y], padding=g["padding"], stride_h=g["sh"], stride_w=g["sw"],
         filter_height=g["kh"], filter_width=g["kw"],
         fused_activation_function=draw(st.sampled_from(ACTIVATIONS)))
    b.output(y)
    return b.build()


@st.composite
def reshape16_models(draw) -> bytes:
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    size = int(np.prod(shape))
    s = draw(log_scale(-5, -1))
    b = ModelBuilder()
    x = b.input("x", shape, "INT16", scale=s, zero_point=0)
    sh = b.const("shape", np.array([1, size], np.int32))
    y = b.tensor("y", (1, size), "INT16", scale=s, zero_point=0)
    b.op("RESHAPE", [x, sh], [y], new_shape=[1, size])
    b.output(y)
    return b.build()


@st.composite
def elementwise16_models(draw, op: str | None = None, broadcast: bool | None = None) -> bytes:
    """ADD/SUB/MUL/MAXIMUM/MINIMUM on int16 with broadcasting (one side's dims may be 1 or
    missing)."""
    op = op or draw(st.sampled_from(["ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM"]))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    other = list(shape)
    kind = draw(st.sampled_from(["same", "same", "ones", "shorter"] if broadcast is None else
                                ["ones", "shorter"] if broadcast else ["same"]))
    if broadcast:
        shape = (2, *shape)  # a real broadcast: the shorter/ones side lacks a dim of 2
    if kind == "ones":
        other = [1 if draw(st.booleans()) else d for d in other]
    elif kind == "shorter":
        other = other[draw(st.integers(0, len(other))):] or [1]
    s1, s2 = draw(log_scale(-5, -2)), draw(log_scale(-5, -2))
    if op == "MUL":
        so = f32(s1 * s2 * 10.0 ** draw(st.floats(2.0, 6.0)))
    else:
        so = f32(max(s1, s2) * 10.0 ** draw(st.floats(-0.2, 1.5)))
    swap = draw(st.booleans())
    shapes = (tuple(other), shape) if swap else (shape, tuple(other))
    b = ModelBuilder()
    x1 = b.input("a", shapes[0], "INT16", scale=s1, zero_point=0)
    x2 = b.input("b", shapes[1], "INT16", scale=s2, zero_point=0)
    out = tuple(int(d) for d in np.broadcast_shapes(*shapes))
    y = b.tensor("y", out, "INT16", scale=so, zero_point=0)
    if op in ("MAXIMUM", "MINIMUM"):
        y = b.tensor("y2", out, "INT16", scale=s1, zero_point=0)
        b.op(op, [x1, x2], [y])
    else:
        b.op(op, [x1, x2], [y], fused_activation_function=draw(st.sampled_from(ACTIVATIONS)))
    b.output(y)
    return b.build()


@st.composite
def add16_models(draw, op: str | None = None) -> bytes:
    """int16 ADD/SUB for the folded kernel (elementwise16.c): runs of up to 75 elements (odd
    and even), broadcasts (ones, shorter, scalar), equal scales (both inputs exactly x << 14),
    either input the larger scale, output scales from 0.6x to 30x the larger input's (and
    rarely far smaller: an output shift of 0, the generic arithmetic), every activation."""
    op = op or draw(st.sampled_from(["ADD", "SUB"]))
    rank = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=rank - 1, max_size=rank - 1))) + (
        draw(st.integers(1, 75)),)
    kind = draw(st.sampled_from(["same", "same", "ones", "shorter", "scalar"]))
    other = list(shape)
    if kind == "ones":
        other = [1 if draw(st.booleans()) else d for d in other]
    elif kind == "shorter":
        other = other[draw(st.integers(0, len(other))):] or [1]
    elif kind == "scalar":
        other = [1]
    s1 = draw(log_scale(-5, -2))
    s2 = s1 if draw(st.integers(0, 3)) == 0 else draw(log_scale(-5, -2))
    big = max(s1, s2)
    tiny = draw(st.integers(0, 9)) == 0
    so = f32(big * (2.0 ** -draw(st.integers(12, 13)) if tiny
                    else 10.0 ** draw(st.floats(-0.2, 1.5))))
    shapes = (tuple(other), shape) if draw(st.booleans()) else (shape, tuple(other))
    b = ModelBuilder()
    x1 = b.input("a", shapes[0], "INT16", scale=s1, zero_point=0)
    x2 = b.input("b", shapes[1], "INT16", scale=s2, zero_point=0)
    out = tuple(int(d) for d in np.broadcast_shapes(*shapes))
    y = b.tensor("y", out, "INT16", scale=so, zero_point=0)
    acts = ("NONE", "RELU") if tiny else ACTIVATIONS  # RELU6's bound would overflow int32
    b.op(op, [x1, x2], [y], fused_activation_function=draw(st.sampled_from(acts)))
    b.output(y)
    return b.build()


def as_int16(model: bytes) -> bytes:
    """The same model with every INT8 tensor made INT16 with zero point 0 (constant int8 data
    widened): the int8 strategies' data-movement models become int16 ones."""
    import flatbuffers

    from ..model import TYPE_CODES, schema

    s = schema()
    m = s.ModelT.InitFromObj(s.Model.GetRootAs(model, 0))
    for sg in m.subgraphs:
        for t in sg.tensors:
            if t.type != TYPE_CODES["INT8"]:
                continue
            t.type = TYPE_CODES["INT16"]
            if t.quantization is not None and t.quantization.zeroPoint is not None:
                t.quantization.zeroPoint = [0] * len(t.quantization.zeroPoint)
            buf = m.buffers[t.buffer] if t.buffer else None
            if buf is not None and buf.data is not None and len(buf.data):
                v = np.frombuffer(bytes(bytearray(buf.data)), np.int8).astype(np.int16)
                buf.data = np.frombuffer(v.tobytes(), np.uint8)
    fb = flatbuffers.Builder(1024)
    fb.Finish(m.Pack(fb), file_identifier=b"TFL3")
    return bytes(fb.Output())


@st.composite
def activation16_models(draw, op: str | None = None) -> bytes:
    """RELU, RELU6, LEAKY_RELU on int16: same or different input/output scales."""
    op = op or draw(st.sampled_from(["RELU", "RELU6", "LEAKY_RELU"]))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    s_in = draw(log_scale(-4, -2))
    s_out = s_in if draw(st.booleans()) else f32(s_in * 10.0 ** draw(st.floats(-0.5, 0.5)))
    b = ModelBuilder()
    x = b.input("x", shape, "INT16", scale=s_in, zero_point=0)
    y = b.tensor("y", shape, "INT16", scale=s_out, zero_point=0)
    if op == "LEAKY_RELU":
        b.op(op, [x], [y], alpha=f32(draw(st.sampled_from([0.2, 0.01, -0.5, 1.5]) |
                                         st.floats(-2, 2, width=32))))
    else:
        b.op(op, [x], [y])
    b.output(y)
    return b.build()


@st.composite
def softmax16_models(draw) -> bytes:
    """SOFTMAX int16 -> int16 (output 1/32768, 0), rows of 1..40 logits, beta 1 or other."""
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 40)))
    if draw(st.booleans()):
        shape = (1, *shape)
    s_in = draw(log_scale(-5, -2.5))
    beta = draw(st.sampled_from([1.0, 1.0, 0.5, 2.0]) | st.floats(0.125, 4.0, width=32))
    b = ModelBuilder()
    x = b.input("x", shape, "INT16", scale=s_in, zero_point=0)
    y = b.tensor("y", shape, "INT16", scale=1.0 / 32768, zero_point=0)
    b.op("SOFTMAX", [x], [y], beta=f32(beta))
    b.output(y)
    return b.build()


@st.composite
def sigmoid_tanh16_models(draw, op: str | None = None) -> bytes:
    """TANH/LOGISTIC int16: power-of-two input scales (the POT paths) or any scale; output
    (2^-15, 0)."""
    op = op or draw(st.sampled_from(["TANH", "LOGISTIC"]))
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=3)))
    s_in = draw(st.one_of(st.integers(-16, -10).map(lambda k: f32(2.0 ** k)),
                          log_scale(-5, -0.5)))
    b = ModelBuilder()
    x = b.input("x", shape, "INT16", scale=s_in, zero_point=0)
    y = b.tensor("y", shape, "INT16", scale=1.0 / 32768, zero_point=0)
    b.op(op, [x], [y])
    b.output(y)
    return b.build()


def boundary16_models() -> list[tuple[str, str, bytes, list[np.ndarray]]]:
    """One-op 16x8 models whose sums reach the int32 limit exactly, as (op, limit, model,
    inputs): per op an "edge" model (every channel's sum|w| = FAST_SUM_LIMIT: inputs of -32768
    against weights of -127 sum to 2^31 - 32768; the C target's fast int32 kernels) and an
    "over" model (channel 1's sum|w| = FAST_SUM_LIMIT + 1: a sum of exactly 2^31, which an
    int32 accumulator would wrap to -2^31; the 64-bit kernels). Effective scale 2^-17: those
    sums land on +-16384, inside int16. Inputs: all -32768, then all 32767."""
    s_in, s_w, s_out = 2.0 ** -10, 2.0 ** -7, 1.0
    out = []
    for op in ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D"):
        for limit in ("edge", "over"):
            k = {"FULLY_CONNECTED": 517, "CONV_2D": 3 * 3 * 58, "DEPTHWISE_CONV_2D": 23 * 23}[op]
            rows = np.zeros((2, k), np.int8)
            for r in range(2):
                total = FAST_SUM_LIMIT + (1 if limit == "over" and r == 1 else 0)
                full, rest = divmod(total, 127)
                rows[r, :full] = -127
                rows[r, full] = -rest
            b = ModelBuilder()
            if op == "FULLY_CONNECTED":
                shape, w = (1, k), rows
                y_shape = (1, 2)
            elif op == "CONV_2D":
                shape, w = (1, 3, 3, 58), rows.reshape(2, 3, 3, 58)
                y_shape = (1, 1, 1, 2)
            else:
                shape, w = (1, 23, 23, 2), rows.T.reshape(1, 23, 23, 2)
                y_shape = (1, 1, 1, 2)
            x = b.input("x", shape, "INT16", scale=s_in, zero_point=0)
            wt = b.const("w", w, scale=np.full(2, s_w, np.float32), zero_point=0,
                         axis=3 if op == "DEPTHWISE_CONV_2D" else 0)
            bias = b.const("b", np.zeros(2, np.int64), scale=np.full(2, s_in * s_w, np.float32),
                           zero_point=0)
            y = b.tensor("y", y_shape, "INT16", scale=s_out, zero_point=0)
            if op == "FULLY_CONNECTED":
                b.op(op, [x, wt, bias], [y], version=7)
            else:
                extra = {"depth_multiplier": 1} if op == "DEPTHWISE_CONV_2D" else {}
                b.op(op, [x, wt, bias], [y], version=5 if extra else 4, padding="VALID",
                     stride_h=1, stride_w=1, **extra)
            b.output(y)
            inputs = [np.stack([np.full(shape, -32768, np.int16),
                                np.full(shape, 32767, np.int16)])]
            out.append((op, limit, b.build(), inputs))
    return out
