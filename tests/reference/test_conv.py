"""CONV_2D and DEPTHWISE_CONV_2D: random shapes, strides, dilations, paddings, quantization and
activations; reference == TFLM == TFLite (reference kernels) to the byte."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mcuq.errors import UnsupportedModelError
from mcuq.model import load_model
from mcuq.reference import Interpreter
from mcuq.reference.ops.conv import compute_padding
from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES, assert_exact

ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


def _quant(rng, channels, per_channel):
    s_in = float(np.float32(10 ** rng.uniform(-2.5, 0)))
    zp_in = int(rng.integers(-128, 128))
    s_w = (10 ** rng.uniform(-3, -1, size=channels if per_channel else 1)).astype(np.float32)
    s_out = float(np.float32(10 ** rng.uniform(-2, 0.5)))
    zp_out = int(rng.integers(-128, 128))
    return s_in, zp_in, s_w, s_out, zp_out


@st.composite
def geometry(draw, k_max=4):
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    kh, kw = draw(st.integers(1, k_max)), draw(st.integers(1, k_max))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    padding = draw(st.sampled_from(["SAME", "VALID"]))
    pad = compute_padding(padding, sh, sw, dh, dw, h, w, kh, kw)
    if pad.out_h < 1 or pad.out_w < 1:  # VALID with a window larger than the image
        padding = "SAME"
        pad = compute_padding(padding, sh, sw, dh, dw, h, w, kh, kw)
    return dict(h=h, w=w, kh=kh, kw=kw, sh=sh, sw=sw, dh=dh, dw=dw, padding=padding,
                oh=pad.out_h, ow=pad.out_w)


def conv_model(rng, g, n, cin, cout, per_channel, with_bias, act, depthwise=False, mult=1,
               groups=1):
    s_in, zp_in, s_w, s_out, zp_out = _quant(rng, cout, per_channel)
    b = ModelBuilder()
    x = b.input("x", (n, g["h"], g["w"], cin), scale=s_in, zero_point=zp_in)
    if depthwise:
        wshape, axis = (1, g["kh"], g["kw"], cout), 3
    else:
        wshape, axis = (cout, g["kh"], g["kw"], cin // groups), 0
    w = b.const("w", rng.integers(-127, 128, wshape, dtype=np.int8), scale=s_w,
                zero_point=0, axis=axis)
    ins = [x, w]
    if with_bias:
        bias_scale = (np.float64(s_in) * s_w.astype(np.float64)).astype(np.float32)
        ins.append(b.const("b", rng.integers(-20000, 20000, cout, dtype=np.int32),
                           scale=bias_scale, zero_point=0))
    y = b.tensor("y", (n, g["oh"], g["ow"], cout), scale=s_out, zero_point=zp_out)
    common = dict(padding=g["padding"], stride_h=g["sh"], stride_w=g["sw"],
                  dilation_h_factor=g["dh"], dilation_w_factor=g["dw"],
                  fused_activation_function=act)
    if depthwise:
        b.op("DEPTHWISE_CONV_2D", ins, [y], version=3, depth_multiplier=mult, **common)
    else:
        b.op("CONV_2D", ins, [y], version=3, **common)
    b.output(y)
    return b.build()


@st.composite
def conv_models(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    g = draw(geometry())
    groups = draw(st.sampled_from([1, 1, 1, 2, 3]))  # grouped conv: Keras Conv2D(groups=)
    cin = groups * draw(st.integers(1, 16 // groups))
    cout = groups * draw(st.integers(1, 16 // groups))
    return conv_model(rng, g, draw(st.integers(1, 2)), cin, cout, draw(st.booleans()),
                      draw(st.booleans()), draw(st.sampled_from(ACTIVATIONS)), groups=groups)


@st.composite
def depthwise_models(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    g = draw(geometry())
    cin, mult = draw(st.integers(1, 8)), draw(st.integers(1, 3))
    return conv_model(rng, g, draw(st.integers(1, 2)), cin, cin * mult, draw(st.booleans()),
                      draw(st.booleans()), draw(st.sampled_from(ACTIVATIONS)),
                      depthwise=True, mult=mult)


def runners_for(model: bytes):
    """TFLite's int8 CONV_2D/DEPTHWISE_CONV_2D demand a bias tensor (conv.cc: has_bias) while
    TFLite Micro accepts two inputs; bias-less models are checked against TFLite Micro only."""
    op = load_model(model).operators[0]
    return ("tflm", "tflite") if len(op.inputs) == 3 else ("tflm",)


@settings(max_examples=EXAMPLES, deadline=None)
@given(conv_models(), st.integers(0, 1000))
def test_conv_2d_matches_tflm_and_tflite(model, seed):
    assert_exact(model, batch=3, seed=seed, runners=runners_for(model))


@settings(max_examples=EXAMPLES, deadline=None)
@given(depthwise_models(), st.integers(0, 1000))
def test_depthwise_conv_2d_matches_tflm_and_tflite(model, seed):
    assert_exact(model, batch=3, seed=seed, runners=runners_for(model))


def test_keras_like_same_padding_3x3():
    """A fixed Keras-style layer: 3x3 SAME, stride 1, per-channel, bias, RELU on 8x8x3."""
    rng = np.random.default_rng(7)
    g = dict(h=8, w=8, kh=3, kw=3, sh=1, sw=1, dh=1, dw=1, padding="SAME", oh=8, ow=8)
    out = assert_exact(conv_model(rng, g, 1, 3, 8, True, True, "RELU"), batch=4, seed=1)
    assert out[0].shape == (4, 1, 8, 8, 8) and np.ptp(out[0]) > 0


def test_conv_rejects_nonzero_weight_zero_point():
    rng = np.random.default_rng(0)
    b = ModelBuilder()
    x = b.input("x", (1, 4, 4, 2), scale=0.1, zero_point=0)
    w = b.const("w", rng.integers(-127, 128, (3, 1, 1, 2), dtype=np.int8), scale=0.01,
                zero_point=5)
    y = b.tensor("y", (1, 4, 4, 3), scale=0.1, zero_point=0)
    b.op("CONV_2D", [x, w], [y], version=3, padding="VALID", stride_h=1, stride_w=1)
    b.output(y)
    with pytest.raises(UnsupportedModelError, match="zero point"):
        Interpreter(b.build())


def test_wide_conv_takes_the_float64_and_int32_wrap_paths_exactly():
    """128 input channels of +-127 weights (sum|w| * 128 > 2^24: the float64 path) and a bias
    near INT32_MAX (the accumulator can wrap, as TFLite Micro's int32 does)."""
    from mcuq.reference.ops.conv import _fast_plan

    rng = np.random.default_rng(3)
    cin, cout = 128, 4
    b = ModelBuilder()
    x = b.input("x", (1, 5, 5, cin), scale=0.02, zero_point=-3)
    w = np.where(rng.random((cout, 3, 3, cin)) < 0.5, -127, 127).astype(np.int8)
    s_w = np.full(cout, 0.001, np.float32)
    wt = b.const("w", w, scale=s_w, zero_point=0, axis=0)
    bias = np.array([2**31 - 5000, -(2**31) + 5000, 123, -7], np.int32)
    bt = b.const("b", bias, scale=(np.float64(0.02) * s_w).astype(np.float32), zero_point=0)
    y = b.tensor("y", (1, 5, 5, cout), scale=2.0, zero_point=1)
    b.op("CONV_2D", [x, wt, bt], [y], version=3, padding="SAME", stride_h=1, stride_w=1)
    b.output(y)
    model = b.build()
    plan = _fast_plan(Interpreter(model).params(0))
    assert plan.weights.dtype == np.float64 and plan.wrap
    assert_exact(model, batch=6, seed=5, runners=("tflm",))


def test_an_omitted_bias_slot_is_refused_before_running():
    """TFLite Micro errors on CONV_2D and segfaults on DEPTHWISE_CONV_2D with a -1 bias slot."""

    for opcode, wshape in (("CONV_2D", (4, 3, 3, 4)), ("DEPTHWISE_CONV_2D", (1, 3, 3, 4))):
        b = ModelBuilder()
        x = b.input("x", (1, 8, 8, 4), scale=0.02, zero_point=-1)
        w = b.const("w", np.ones(wshape, np.int8), scale=np.full(4, 0.01, np.float32),
                    axis=0 if opcode == "CONV_2D" else 3)
        y = b.tensor("y", (1, 3, 3, 4), scale=0.05, zero_point=-128)
        b.op(opcode, [x, w, -1], [y], version=3, padding="VALID", stride_w=2, stride_h=2)
        b.output(y)
        with pytest.raises(UnsupportedModelError, match=r"op #0 .*omitted \(-1\)"):
            Interpreter(b.build())
