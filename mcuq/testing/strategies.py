"""Composable hypothesis strategies for int8 kernels: quantization parameters, tensor values and
one-op models, with explicit weight on the edges that break kernels.

Every parameter is drawn by hypothesis itself (so it shrinks and leans on boundaries), never by a
numpy generator it seeded; only bulk tensor contents come from numpy, seeded by a drawn integer
and shaped by a drawn *style* (uniform, extremes, constant, sparse, ...):

- zero points: -128, 127 and 0 explicitly, then any int8;
- requantization multipliers (input_scale * weight_scale / output_scale) by the shift that
  QuantizeMultiplier gives them: typical (shift <= -3), the fast kernels' limits (-31, -2),
  the generic-only shifts (-1, 0, left shifts), a mantissa within 2^-24 of 1 (multiplier
  2^31 - 128 .. 2^31 - 1, or rounding up to 2^31 and halved), and dead channels (scale 0 or
  flushed to multiplier 0);
- shapes aimed at every C kernel path (`CONV_TARGETS`, `DEPTHWISE_TARGETS`): direct 1x1,
  im2col (interior and border), generic (grouped, shift, patch over MCUQ_CONV_COL_MAX),
  depthwise fast and generic (depth multiplier > 1, too many taps or channels), with every
  padding/stride/dilation combination and images smaller than the filter;
- biases near +-2^31 with extreme weights and inputs, so that int32 accumulators wrap.

Used by the reference property tests (reference == TFLite Micro == TFLite) and the C kernel
tests (C == reference on host under ASan/UBSan and on Cortex-M4); later work (single rounding,
faster kernels) composes the same pieces.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from ..reference.ops.conv import compute_padding
from .builder import ModelBuilder

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
ZERO_POINT_EDGES = (-128, 127, 0)
ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")
#: The C kernels' limits (firmware/kernels/conv.h), read where the emitters read them.
from ..codegen.c_ops.conv import (COL_MAX, DW_CH_MAX, DW_ROWS_MAX, DW_TAPS_MAX,  # noqa: E402
                                   RING_CHANNELS)


def f32(x) -> float:
    return float(np.float32(x))


# -- quantization parameters ----------------------------------------------------------------

def zero_points() -> st.SearchStrategy[int]:
    """An int8 zero point: the edges -128, 127, 0 about half the time, else any."""
    return st.one_of(st.sampled_from(ZERO_POINT_EDGES), st.integers(-128, 127))


def scales(lo_exp: float = -3.0, hi_exp: float = 0.5) -> st.SearchStrategy[float]:
    """A positive float32 scale, log-uniform in [10^lo, 10^hi], or a power of two there."""
    lo2, hi2 = int(np.ceil(lo_exp * 3.3219)), int(np.floor(hi_exp * 3.3219))
    return st.one_of(
        st.floats(lo_exp, hi_exp, allow_nan=False).map(lambda e: f32(10.0 ** e)),
        st.integers(lo2, hi2).map(lambda k: f32(2.0 ** k)))


#: Shift bands of a real multiplier q * 2^shift (q in [0.5, 1)) and what they exercise.
MULTIPLIER_BANDS = {
    "typical": (-12, -3),  # every conv/FC in a converted model
    "shift-31": (-31, -31),  # the ends of mcuq_requant_rshift's range (fast kernels)
    "shift-2": (-2, -2),
    "shift-1": (-1, -1),  # generic paths only
    "shift0": (0, 0),
    "left": (1, 12),  # left shifts (real >= 1): x * 2^shift wraps in int32
}


@st.composite
def real_multipliers(draw, band: str | None = None) -> float:
    """A real multiplier whose QuantizeMultiplier shift lies in `band` (drawn when None),
    its mantissa sometimes exactly 0.5 or just below 1; "dead" gives 0."""
    band = band or draw(st.sampled_from([*MULTIPLIER_BANDS, "dead"]))
    if band == "dead":
        return 0.0
    lo, hi = MULTIPLIER_BANDS[band]
    shift = draw(st.sampled_from(sorted({lo, hi})) | st.integers(lo, hi)) if lo < hi else lo
    q = draw(st.one_of(st.just(0.5), st.just(1 - 2.0 ** -20), st.floats(0.5, 0.999)))
    return float(np.ldexp(q, shift))


@dataclass(frozen=True)
class LayerQuant:
    """Quantization of one conv/FC layer. weight_scales: one per channel (or one)."""
    input_scale: float
    input_zero_point: int
    weight_scales: tuple[float, ...]
    output_scale: float
    output_zero_point: int

    @property
    def bias_scales(self) -> np.ndarray:
        return (np.float64(self.input_scale)
                * np.asarray(self.weight_scales, np.float64)).astype(np.float32)

    def reals(self) -> np.ndarray:
        return (np.float64(self.input_scale) * np.asarray(self.weight_scales, np.float64)
                / np.float64(self.output_scale))


@st.composite
def layer_quants(draw, channels: int, per_channel: bool | None = None,
                 style: str | None = None) -> LayerQuant:
    """Input/weight/output quantization of a layer with `channels` outputs.

    style "typical": scales as converted models have them; "edges": per channel a multiplier
    from any band of MULTIPLIER_BANDS or dead; "near-one": input and weight scales
    1 + j 2^-23 and 1 - j 2^-23 whose double product 1 - j^2 2^-46 puts the multiplier within
    128 of 2^31 (j >= 128) or rounds it up to 2^31 (j < 128), with a power-of-two output scale
    for any shift."""
    per_channel = draw(st.booleans()) if per_channel is None else per_channel
    n = channels if per_channel else 1
    style = style or draw(st.sampled_from(["typical", "edges", "near-one"]))
    zp_in, zp_out = draw(zero_points()), draw(zero_points())
    if style == "near-one":
        j = draw(st.sampled_from([1, 127, 128, 181, 1024, 2047]) | st.integers(1, 2047))
        k = draw(st.sampled_from([0, 0, 1, -1]) | st.integers(-2, 6))
        s_in = f32(1 + j * 2.0 ** -23)
        w = [f32(1 - j * 2.0 ** -23)] * n
        if per_channel and n > 1 and draw(st.booleans()):
            w[draw(st.integers(0, n - 1))] = 0.0  # a dead channel among them
        return LayerQuant(s_in, zp_in, tuple(w), f32(2.0 ** -k), zp_out)
    s_in = draw(scales(-2.5, 0.0))
    s_out = draw(scales(-2.0, 0.5))
    if style == "typical":
        reals = draw(st.lists(real_multipliers("typical"), min_size=n, max_size=n))
    else:
        reals = draw(st.lists(real_multipliers(), min_size=n, max_size=n))
    w = []
    for r in reals:
        s = f32(r * s_out / s_in)
        w.append(s if np.isfinite(s) else f32(1e30))
    return LayerQuant(s_in, zp_in, tuple(w), s_out, zp_out)


# -- tensor contents ------------------------------------------------------------------------

VALUE_STYLES = ("uniform", "uniform", "extremes", "constant", "sparse", "saturated")


def int8_values(rng: np.random.Generator, shape, style: str, lo: int = -128, hi: int = 127,
                constant: int = 0) -> np.ndarray:
    """int8 array of `shape` in [lo, hi] shaped by `style`."""
    if style == "extremes":
        v = np.where(rng.random(shape) < 0.5, lo, hi)
    elif style == "constant":
        v = np.full(shape, constant)
    elif style == "sparse":
        v = np.where(rng.random(shape) < 0.8, 0, rng.integers(lo, hi + 1, shape))
    elif style == "saturated":
        v = np.full(shape, hi if rng.random() < 0.5 else lo)
    else:
        v = rng.integers(lo, hi + 1, shape)
    return np.clip(v, lo, hi).astype(np.int8)


@st.composite
def weights(draw, shape) -> np.ndarray:
    """int8 weights: uniform in [-127, 127], extremes (+-127, sometimes -128), sparse, zero."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    style = draw(st.sampled_from(["uniform", "uniform", "extremes", "sparse", "full-range",
                                  "zero"]))
    if style == "zero":
        return np.zeros(shape, np.int8)
    if style == "full-range":
        return int8_values(rng, shape, "uniform", -128, 127)
    return int8_values(rng, shape, style, -127, 127)


@st.composite
def biases(draw, n: int, style: str | None = None) -> np.ndarray:
    """int32 biases: small, or near the int32 limits (accumulators wrap) including the limits."""
    style = style or draw(st.sampled_from(["small", "small", "large", "limits"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if style == "small":
        return rng.integers(-20000, 20000, n).astype(np.int32)
    if style == "limits":
        return rng.choice(np.array([INT32_MIN, INT32_MAX, INT32_MIN + 1, INT32_MAX - 1,
                                    INT32_MIN + 5000, INT32_MAX - 5000], np.int64),
                          n).astype(np.int32)
    sign = np.where(rng.random(n) < 0.5, -1, 1)
    return (sign * (INT32_MAX - rng.integers(0, 300000, n))).astype(np.int32)


@st.composite
def inputs_for(draw, model: bytes, batch: int = 3) -> list[np.ndarray]:
    """Inputs (one (batch, *shape) array per model input) shaped by a drawn style: uniform,
    extremes (-128/127), every value the zero point, saturated, sparse."""
    from ..model import load_model

    m = load_model(model)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    out = []
    for t in m.input_tensors():
        style = draw(st.sampled_from(VALUE_STYLES))
        if t.dtype == np.int8:
            out.append(int8_values(rng, (batch, *t.shape), style, constant=t.zero_point))
        elif t.dtype == np.uint8:
            out.append(rng.integers(0, 256, (batch, *t.shape)).astype(np.uint8))
        else:
            out.append(rng.normal(0, 2, (batch, *t.shape)).astype(t.dtype))
    return out


# -- shapes ---------------------------------------------------------------------------------

@st.composite
def geometry(draw, k_max: int = 4, hw_max: int = 12, kernel: tuple[int, int] | None = None,
             same_padding: bool | None = None):
    """Image size, filter, strides, dilations and padding (SAME/VALID; VALID only where the
    window fits), as the dict the model builders take."""
    h, w = draw(st.integers(1, hw_max)), draw(st.integers(1, hw_max))
    if kernel is None:
        kh, kw = draw(st.integers(1, k_max)), draw(st.integers(1, k_max))
    else:
        kh, kw = kernel
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    if same_padding is None:
        padding = draw(st.sampled_from(["SAME", "VALID"]))
    else:
        padding = "SAME" if same_padding else "VALID"
    pad = compute_padding(padding, sh, sw, dh, dw, h, w, kh, kw)
    if pad.out_h < 1 or pad.out_w < 1:  # VALID with a window larger than the image
        padding = "SAME"
        pad = compute_padding(padding, sh, sw, dh, dw, h, w, kh, kw)
    return dict(h=h, w=w, kh=kh, kw=kw, sh=sh, sw=sw, dh=dh, dw=dw, padding=padding,
                oh=pad.out_h, ow=pad.out_w)


def geometry_with_width(g: dict, width: int) -> dict:
    """g with the image widened to `width` columns at stride 1 (padding recomputed)."""
    pad = compute_padding(g["padding"], g["sh"], 1, g["dh"], g["dw"], g["h"], width, g["kh"],
                          g["kw"])
    if pad.out_h < 1 or pad.out_w < 1:
        pad = compute_padding("SAME", g["sh"], 1, g["dh"], g["dw"], g["h"], width, g["kh"],
                              g["kw"])
        g = dict(g, padding="SAME")
    return dict(g, w=width, sw=1, oh=pad.out_h, ow=pad.out_w)


def conv_model(g: dict, n: int, cin: int, cout: int, quant: LayerQuant, w: np.ndarray,
               bias: np.ndarray | None, act: str = "NONE", depthwise: bool = False,
               mult: int = 1) -> bytes:
    """A one-op CONV_2D (w: OHWI, groups = cin / w.shape[3]) or DEPTHWISE_CONV_2D (w: 1HWC)."""
    b = ModelBuilder()
    x = b.input("x", (n, g["h"], g["w"], cin), scale=quant.input_scale,
                zero_point=quant.input_zero_point)
    s_w = np.asarray(quant.weight_scales, np.float32)
    wt = b.const("w", w, scale=s_w, zero_point=0, axis=3 if depthwise else 0)
    ins = [x, wt]
    if bias is not None:
        ins.append(b.const("b", bias.astype(np.int32), scale=quant.bias_scales, zero_point=0))
    y = b.tensor("y", (n, g["oh"], g["ow"], cout), scale=quant.output_scale,
                 zero_point=quant.output_zero_point)
    common = dict(padding=g["padding"], stride_h=g["sh"], stride_w=g["sw"],
                  dilation_h_factor=g["dh"], dilation_w_factor=g["dw"],
                  fused_activation_function=act)
    if depthwise:
        b.op("DEPTHWISE_CONV_2D", ins, [y], version=3, depth_multiplier=mult, **common)
    else:
        b.op("CONV_2D", ins, [y], version=3, **common)
    b.output(y)
    return b.build()


def _wrap_weights(draw, w: np.ndarray) -> np.ndarray:
    """Weights for wrapping accumulators: +-127/-128 by sign, one extreme value, or zero (the
    accumulator is then exactly the bias, e.g. INT32_MIN)."""
    style = draw(st.sampled_from(["signs", "constant", "constant", "zero"]))
    if style == "signs":
        return np.where(w >= 0, 127, -128).astype(np.int8)
    if style == "zero":
        return np.zeros(w.shape, np.int8)
    return np.full(w.shape, draw(st.sampled_from([127, -128])), np.int8)


#: What each conv target aims at (the emitter's label in mcuq/codegen/c_ops/conv.py).
CONV_TARGETS = ("any", "direct", "im2col", "first-layer", "ring", "grouped", "col-max", "shift",
                "wrap")
DEPTHWISE_TARGETS = ("any", "fast", "planar", "x4", "multiplier", "taps", "channels", "rows",
                     "shift", "wrap")


def _quant_style_for(target: str):
    if target == "shift":
        return st.just("shift")
    if target == "planar":  # exotic channels take mode 3's C line
        return st.sampled_from(["typical", "edges", "near-one", "shift"])
    if target == "wrap":
        return st.sampled_from(["typical", "near-one"])
    return st.sampled_from(["typical", "typical", "edges", "near-one"])


@st.composite
def _quant_for(draw, target: str, channels: int, per_channel: bool) -> LayerQuant:
    style = draw(_quant_style_for(target))
    if style == "shift":  # channels outside the requantization table's shift range (the
        # kernels' per-channel path): all of them, or mixed with typical ones
        q = draw(layer_quants(channels, per_channel, "typical"))
        band = draw(st.sampled_from(["shift-1", "shift0", "left"]))
        n = len(q.weight_scales)
        mixed = n > 1 and draw(st.booleans())
        reals = [draw(real_multipliers(band))] + [
            draw(real_multipliers(draw(st.sampled_from([band, "typical"])) if mixed else band))
            for _ in range(n - 1)]
        w = tuple(f32(r * q.output_scale / q.input_scale) for r in reals)
        return LayerQuant(q.input_scale, q.input_zero_point, w, q.output_scale,
                          q.output_zero_point)
    return draw(layer_quants(channels, per_channel, style))


@st.composite
def conv_models(draw, target: str = "any", batch_max: int = 2) -> bytes:
    """A one-op CONV_2D model aimed at `target` (one of CONV_TARGETS)."""
    groups = 1
    if target == "direct":
        g = draw(geometry(kernel=(1, 1), hw_max=8))
        cin = 4 * draw(st.integers(1, 4))
        cout = draw(st.integers(1, 9))
    elif target == "ring":  # conv mode 3's patch builders (filter rows of one word, whole
        # words, words + a tail, a tail only) and the in-place orders: narrowing layers forward,
        # widening ones from the last pixel back; or a widening 1x1 (in place by pixels, back)
        kind = draw(st.sampled_from(["one-word", "aligned", "split", "tails", "wide-1x1"]))
        if kind == "wide-1x1":
            kh = kw = cin = 1
            cin, cout, s, padding = 4 * draw(st.integers(1, 2)), 0, 1, "VALID"
            cout = cin + draw(st.integers(1, 8))
        else:
            kw, cin = draw(st.sampled_from({
                "one-word": [(4, 1), (2, 2)], "aligned": [(4, 2), (2, 4), (3, 4), (4, 3)],
                "split": [(3, 3), (5, 1), (3, 2)], "tails": [(3, 1), (1, 3), (2, 1)]}[kind]))
            kh = draw(st.integers(3 if cin == 1 else 1, 5))  # 1 channel: not as depthwise
            s, padding = draw(st.integers(1, 2)), draw(st.sampled_from(["SAME", "VALID"]))
            cout = draw(st.sampled_from([2, 5, 16, 24]))
        h, w = draw(st.integers(kh, 10)), draw(st.integers(kw, 10))
        pad = compute_padding(padding, s, s, 1, 1, h, w, kh, kw)
        g = dict(h=h, w=w, kh=kh, kw=kw, sh=s, sw=s, dh=1, dw=1, padding=padding,
                 oh=pad.out_h, ow=pad.out_w)
    elif target == "col-max":  # 3x3 (or 2x5) patches just above MCUQ_CONV_COL_MAX
        kh, kw = draw(st.sampled_from([(3, 3), (2, 5), (1, 1)]))
        cin = -(-(COL_MAX + 1) // (kh * kw)) + draw(st.integers(0, 8))
        g = draw(geometry(kernel=(kh, kw), hw_max=4))
        cout = draw(st.integers(1, 3))
    elif target == "grouped":
        groups = draw(st.integers(2, 4))
        g = draw(geometry())
        cin = groups * draw(st.integers(1, 4))
        cout = groups * draw(st.integers(1, 4))
    elif target == "wrap":  # many taps of extreme weights on a bias near +-2^31
        g = draw(geometry(k_max=3, hw_max=6))
        cin = draw(st.integers(8, 40))
        cout = draw(st.integers(1, 5))
    elif target == "first-layer":  # 1-3 input channels (grayscale, audio, RGB), taller filters;
        # one channel into a multiple of 4 runs as depthwise x out_c
        g = draw(geometry(k_max=5, hw_max=12))
        cin = draw(st.sampled_from([1, 1, 2, 3]))
        cout = draw(st.sampled_from([8, 4, 3, 5, 12, 16]))
    else:  # any / im2col / shift
        g = draw(geometry())
        if target == "any":
            groups = draw(st.sampled_from([1, 1, 1, 2, 3]))
        cin = groups * draw(st.integers(1, 16 // groups))
        cout = groups * draw(st.integers(1, 16 // groups))
        if target == "im2col":  # more channels than conv mode 3 takes (conv.py: RING_CHANNELS)
            cin = max(cin, RING_CHANNELS + 1)
        if target == "im2col" and g["kh"] * g["kw"] == 1 and cin % 4 == 0:
            cin += 1  # not the direct path
    per_channel = draw(st.booleans())
    quant = draw(_quant_for(target, cout, per_channel))
    w = draw(weights((cout, g["kh"], g["kw"], cin // groups)))
    if target == "wrap":
        w = _wrap_weights(draw, w)
    with_bias = target == "wrap" or draw(st.booleans())
    bias = draw(biases(cout, "limits" if target == "wrap" else None)) if with_bias else None
    return conv_model(g, draw(st.integers(1, batch_max)), cin, cout, quant, w, bias,
                      draw(st.sampled_from(ACTIVATIONS)))


@st.composite
def depthwise_models(draw, target: str = "any", batch_max: int = 2) -> bytes:
    """A one-op DEPTHWISE_CONV_2D model aimed at `target` (one of DEPTHWISE_TARGETS)."""
    mult = 1
    if target == "multiplier":  # not 1 and not a multiple of 4: the generic path
        g, cin, mult = draw(geometry()), draw(st.integers(1, 8)), draw(st.sampled_from([2, 3, 5]))
    elif target == "x4":  # a multiple of 4 (first layers of audio/grayscale models: 1 x 8)
        g = draw(geometry(k_max=5, hw_max=12))
        cin, mult = draw(st.integers(1, 3)), draw(st.sampled_from([4, 8, 8, 12]))
    elif target == "taps":  # more filter taps than MCUQ_DW_TAPS_MAX
        kh, kw = draw(st.sampled_from([(10, 10), (1, DW_TAPS_MAX + 1), (7, 14)]))
        g = draw(geometry(kernel=(kh, kw), hw_max=6))
        cin = draw(st.integers(1, 6))
        mult = draw(st.sampled_from([1, 4]))
    elif target == "channels":  # depth multiplier 1 and more channels than MCUQ_DW_CH_MAX
        g = draw(geometry(k_max=3, hw_max=3))
        cin = DW_CH_MAX + draw(st.integers(1, 9))
    elif target == "rows":  # multiplier x4 with a ring over MCUQ_DW_ROWS_MAX: a wide image
        kh = draw(st.integers(2, 3))
        width = DW_ROWS_MAX // (2 * kh) + draw(st.integers(1, 8))
        g = draw(geometry(kernel=(kh, draw(st.integers(1, 3))), hw_max=3))
        g = geometry_with_width(g, width)
        cin, mult = draw(st.integers(1, 2)), 4
    elif target == "wrap":
        g = draw(geometry(k_max=5, hw_max=6))
        cin = draw(st.integers(1, 9))
        mult = draw(st.sampled_from([1, 1, 2]))
    elif target == "fast":
        g, cin = draw(geometry(k_max=5)), draw(st.integers(1, 12))
    elif target == "planar":  # 3x3, 4k channels, stride_w 1-2, wide rows: depthwise mode 3
        from ..codegen.c_ops.conv import PLANAR_MIN_W, PLANAR_MIN_W_ROW

        sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 2))
        h = draw(st.sampled_from([1, 2, 3, 5, 8]))
        ow = draw(st.integers(PLANAR_MIN_W, PLANAR_MIN_W_ROW + 3))
        padding = draw(st.sampled_from(["SAME", "VALID"]))
        w = ow * sw if padding == "SAME" else (ow - 1) * sw + 3
        w += draw(st.integers(0, sw - 1))
        if padding == "VALID" and h < 3:
            padding = "SAME"
        pad = compute_padding(padding, sh, sw, 1, 1, h, w, 3, 3)
        g = dict(h=h, w=w, kh=3, kw=3, sh=sh, sw=sw, dh=1, dw=1, padding=padding,
                 oh=pad.out_h, ow=pad.out_w)
        cin = 4 * draw(st.integers(1, 3))
    else:  # any / shift
        g, cin, mult = draw(geometry()), draw(st.integers(1, 8)), draw(st.integers(1, 3))
    cout = cin * mult
    per_channel = draw(st.booleans())
    quant = draw(_quant_for(target, cout, per_channel))
    w = draw(weights((1, g["kh"], g["kw"], cout)))
    if target == "wrap":
        w = _wrap_weights(draw, w)
    with_bias = target == "wrap" or draw(st.booleans())
    bias = draw(biases(cout, "limits" if target == "wrap" else None)) if with_bias else None
    return conv_model(g, draw(st.integers(1, batch_max)), cin, cout, quant, w, bias,
                      draw(st.sampled_from(ACTIVATIONS)), depthwise=True, mult=mult)


FC_TARGETS = ("any", "shift", "wrap", "deep")


@st.composite
def fully_connected_models(draw, target: str = "any") -> bytes:
    """A one-op FULLY_CONNECTED model (odd and even units, depths with and without a tail
    of < 4, per-tensor or per-channel, optional bias)."""
    batches = draw(st.integers(1, 3))
    if target == "deep":  # deeper than the unpacked-row buffer (MCUQ_FC_SCRATCH_MAX)
        from ..codegen.c_ops.fully_connected import SCRATCH_MAX

        depth = SCRATCH_MAX // 2 + draw(st.integers(1, 9))
        units = draw(st.integers(1, 6))
    else:
        depth = draw(st.integers(1, 64)) if target != "wrap" else draw(st.integers(16, 200))
        units = draw(st.integers(1, 24))
    per_channel = draw(st.booleans())
    quant = draw(_quant_for(target, units, per_channel))
    w = draw(weights((units, depth)))
    if target == "wrap":
        w = _wrap_weights(draw, w)
    with_bias = target == "wrap" or draw(st.booleans())
    b = ModelBuilder()
    x = b.input("x", (batches, depth), scale=quant.input_scale,
                zero_point=quant.input_zero_point)
    wt = b.const("w", w, scale=np.asarray(quant.weight_scales, np.float32), zero_point=0,
                 axis=0)
    ins = [x, wt]
    if with_bias:
        bias = draw(biases(units, "limits" if target == "wrap" else None))
        ins.append(b.const("b", bias, scale=quant.bias_scales, zero_point=0, axis=0))
    else:
        ins.append(-1)
    y = b.tensor("y", (batches, units), scale=quant.output_scale,
                 zero_point=quant.output_zero_point)
    b.op("FULLY_CONNECTED", ins, [y], version=4,
         fused_activation_function=draw(st.sampled_from(ACTIVATIONS)))
    b.output(y)
    return b.build()


@st.composite
def cases(draw, models: st.SearchStrategy[bytes], batch: int = 3):
    """(model bytes, inputs) with inputs drawn by `inputs_for`."""
    model = draw(models)
    return model, draw(inputs_for(model, batch))
