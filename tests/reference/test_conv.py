"""CONV_2D and DEPTHWISE_CONV_2D: shapes aimed at every C kernel path, strides, dilations,
paddings, edge quantization (zero points -128/127/0, multipliers at every shift edge, dead
channels), wrapping accumulators and activations (mcuq.testing.strategies); reference == TFLM
== TFLite (reference kernels) to the byte."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mcuq.errors import UnsupportedModelError
from mcuq.model import load_model
from mcuq.reference import Interpreter
from mcuq.testing import strategies as S
from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES, assert_exact

def conv_model(rng, g, n, cin, cout, per_channel, with_bias, act, depthwise=False, mult=1,
               groups=1):
    """A fixed-seed model for the hand-written tests below (the property tests draw theirs
    from mcuq.testing.strategies)."""
    s_in = float(np.float32(10 ** rng.uniform(-2.5, 0)))
    zp_in = int(rng.integers(-128, 128))
    s_w = (10 ** rng.uniform(-3, -1, size=cout if per_channel else 1)).astype(np.float32)
    s_out = float(np.float32(10 ** rng.uniform(-2, 0.5)))
    quant = S.LayerQuant(s_in, zp_in, tuple(float(v) for v in s_w), s_out,
                         int(rng.integers(-128, 128)))
    wshape = (1, g["kh"], g["kw"], cout) if depthwise else (cout, g["kh"], g["kw"], cin // groups)
    w = rng.integers(-127, 128, wshape, dtype=np.int8)
    bias = rng.integers(-20000, 20000, cout, dtype=np.int32) if with_bias else None
    return S.conv_model(g, n, cin, cout, quant, w, bias, act, depthwise, mult)


#: every kernel target, edges included (zero points, multipliers, wrapping accumulators)
conv_models = lambda: st.one_of([S.conv_models(t) for t in S.CONV_TARGETS])  # noqa: E731
depthwise_models = lambda: st.one_of(  # noqa: E731
    [S.depthwise_models(t) for t in S.DEPTHWISE_TARGETS])


def runners_for(model: bytes):
    """TFLite's int8 CONV_2D/DEPTHWISE_CONV_2D demand a bias tensor (conv.cc: has_bias) while
    TFLite Micro accepts two inputs; bias-less models are checked against TFLite Micro only."""
    op = load_model(model).operators[0]
    return ("tflm", "tflite") if len(op.inputs) == 3 else ("tflm",)


@settings(max_examples=EXAMPLES, deadline=None)
@given(S.cases(conv_models()))
def test_conv_2d_matches_tflm_and_tflite(case):
    model, inputs = case
    assert_exact(model, inputs=inputs, runners=runners_for(model))


@settings(max_examples=EXAMPLES, deadline=None)
@given(S.cases(depthwise_models()))
def test_depthwise_conv_2d_matches_tflm_and_tflite(case):
    model, inputs = case
    assert_exact(model, inputs=inputs, runners=runners_for(model))


def test_keras_like_same_padding_3x3():
    """A fixed Keras-style layer: 3x3 SAME, stride 1, per-channel, bias, RELU on 8x8x3."""
    rng = np.random.default_rng(7)
    g = dict(h=8, w=8, kh=3, kw=3, sh=1, sw=1, dh=1, dw=1, padding="SAME", oh=8, ow=8)
    out = assert_exact(conv_model(rng, g, 1, 3, 8, True, True, "RELU"), batch=4, seed=1)
    assert out[0].shape == (4, 1, 8, 8, 8) and np.ptp(out[0].astype(np.int16)) > 0


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans(), st.booleans(),
       st.integers(-128, 127).filter(lambda v: v != 0))
def test_weight_zero_point_is_ignored_as_tflm_ignores_it(seed, depthwise, per_channel, zp):
    """TFLite Micro's ConvPerChannel / DepthwiseConvPerChannel never read the weights' zero
    point: the reference computes the same bytes (before issue 9 it refused the model)."""
    rng = np.random.default_rng(seed)
    cin = int(rng.integers(1, 5))
    cout = cin * int(rng.integers(1, 3)) if depthwise else int(rng.integers(1, 6))
    g = dict(h=5, w=6, kh=3, kw=2, sh=1, sw=2, dh=1, dw=1, padding="SAME", oh=5, ow=3)
    b = ModelBuilder()
    s_w = (10 ** rng.uniform(-3, -1, size=cout if per_channel else 1)).astype(np.float32)
    x = b.input("x", (1, g["h"], g["w"], cin), scale=0.05, zero_point=int(rng.integers(-128, 128)))
    wshape, axis = ((1, 3, 2, cout), 3) if depthwise else ((cout, 3, 2, cin), 0)
    w = b.const("w", rng.integers(-128, 128, wshape, dtype=np.int8), scale=s_w,
                zero_point=np.full(s_w.size, zp), axis=axis)
    y = b.tensor("y", (1, g["oh"], g["ow"], cout), scale=0.2, zero_point=int(rng.integers(-128, 128)))
    opts = dict(padding="SAME", stride_h=1, stride_w=2)
    if depthwise:
        opts["depth_multiplier"] = cout // cin
    b.op("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", [x, w], [y], version=3, **opts)
    b.output(y)
    assert_exact(b.build(), batch=3, seed=seed % 1000, runners=("tflm",))


def wide_wrap_conv_model() -> bytes:
    """128 input channels of +-127 weights and biases near +-2^31: int32 accumulators wrap
    (tests/firmware/test_c_paths.py runs it through the C kernels too)."""
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
    return b.build()


def test_wide_conv_takes_the_float64_and_int32_wrap_paths_exactly():
    """sum|w| * 128 > 2^24: the reference's float64 path; a bias near INT32_MAX: the
    accumulator wraps on these inputs, as TFLite Micro's int32 does."""
    from mcuq.reference.ops.conv import _fast_plan
    from mcuq.testing.coverage import case_features
    from mcuq.vectors import random_inputs

    model = wide_wrap_conv_model()
    plan = _fast_plan(Interpreter(model).params(0))
    assert plan.weights.dtype == np.float64 and plan.wrap
    inputs = random_inputs(load_model(model), 6, 5)
    assert "conv/acc-wraps" in case_features(model, inputs)
    assert_exact(model, inputs=inputs, runners=("tflm",))


@pytest.mark.parametrize("depthwise", [False, True])
def test_output_offset_addition_wraps_in_int32_as_tflm(depthwise):
    """Found by the edge strategies: scales 1 + 2^-13 and 1 - 2^-13 give the multiplier
    2^31 - 32 (shift 0); an accumulator of -2^31 then requantizes to -2^31 + 32 and TFLite
    Micro's int32 `+ output_offset` (-128) wraps to +2^31 - 96: the output is 127, not -128."""
    g = dict(h=2, w=2, kh=1, kw=1, sh=1, sw=1, dh=1, dw=1, padding="VALID", oh=2, ow=2)
    quant = S.LayerQuant(S.f32(1 + 2.0 ** -13), 5, (S.f32(1 - 2.0 ** -13),), 1.0, -128)
    w = np.full((1, 1, 1, 1), 7, np.int8)
    bias = np.array([-(2**31)], np.int32)
    model = S.conv_model(g, 1, 1, 1, quant, w, bias, depthwise=depthwise)
    x = [np.full((1, 1, 2, 2, 1), 5, np.int8)]  # the zero point: the accumulator is the bias
    out = assert_exact(model, inputs=x, runners=("tflm", "tflite"))
    assert (out[0] == 127).all()


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
