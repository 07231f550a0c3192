"""PRELU, SQUARED_DIFFERENCE, RSQRT, L2_NORMALIZATION (int8): reference == TFLite Micro ==
TFLite (reference kernels) to the byte on hypothesis-drawn quantizations and shapes."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mcuq.errors import InputError, UnsupportedModelError
from mcuq.reference import Interpreter
from mcuq.reference.ops.arith import inv_sqrt_quantized_multiplier_exp
from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES, assert_exact
from tests.reference.strategies10 import SCALES, ZERO_POINTS, int8_array, quant, shape


def broadcast_pair(draw, max_rank=4):
    rank = draw(st.integers(1, max_rank))
    out = draw(shape(rank, 1, 5))
    s1 = tuple(d if draw(st.integers(0, 3)) else 1 for d in out)
    s2 = tuple(d if draw(st.integers(0, 3)) else 1 for d in out)
    s2 = s2[draw(st.integers(0, rank - 1)):] if draw(st.booleans()) else s2
    return s1, s2, tuple(max(a, b) for a, b in zip(s1, (1,) * (rank - len(s2)) + s2))


@st.composite
def prelu_models(draw):
    # Keras PReLU: alpha broadcast over the input, output shaped like the input (LiteRT
    # requires that; TFLite Micro would also broadcast the input)
    _, s_alpha, s_in = broadcast_pair(draw)
    out = s_in
    qx, qa, qy = draw(quant()), draw(quant()), draw(quant())
    b = ModelBuilder()
    x = b.input("x", s_in, scale=qx[0], zero_point=qx[1])
    if draw(st.booleans()):
        a = b.const("alpha", draw(int8_array(s_alpha)), scale=qa[0], zero_point=qa[1])
    else:
        a = b.input("alpha", s_alpha, scale=qa[0], zero_point=qa[1])
    y = b.tensor("y", out, scale=qy[0], zero_point=qy[1])
    b.op("PRELU", [x, a], [y])
    b.output(y)
    return b.build()


@st.composite
def squared_difference_models(draw):
    if draw(st.booleans()):
        rank = draw(st.integers(1, 6))
        s1 = s2 = out = draw(shape(rank, 1, 4))  # equal shapes: any rank
    else:
        s1, s2, out = broadcast_pair(draw)
    q1, q2, qy = draw(quant()), draw(quant()), draw(quant())
    b = ModelBuilder()
    x1 = b.input("x1", s1, scale=q1[0], zero_point=q1[1])
    if draw(st.integers(0, 3)) == 0:
        x2 = b.const("x2", draw(int8_array(s2)), scale=q2[0], zero_point=q2[1])
    else:
        x2 = b.input("x2", s2, scale=q2[0], zero_point=q2[1])
    y = b.tensor("y", out, scale=qy[0], zero_point=qy[1])
    b.op("SQUARED_DIFFERENCE", [x1, x2], [y])
    b.output(y)
    return b.build()


@st.composite
def rsqrt_models(draw):
    shp = draw(shape(draw(st.integers(1, 4)), 1, 6))
    s_in = draw(SCALES)
    s_out = draw(st.sampled_from([1.0 / 128, 0.05, 0.5, 2.0])) if draw(st.booleans()) else \
        float(np.float32(1.0 / np.sqrt(s_in) / draw(st.floats(40, 250))))
    b = ModelBuilder()
    x = b.input("x", shp, scale=s_in, zero_point=draw(ZERO_POINTS))
    y = b.tensor("y", shp, scale=s_out, zero_point=draw(ZERO_POINTS))
    b.op("RSQRT", [x], [y])
    b.output(y)
    return b.build()


def rsqrt_inputs(model_bytes, batch, seed):
    """Values at or above the zero point (RSQRT of negatives fails in TFLite Micro)."""
    from mcuq.model import load_model

    t = load_model(model_bytes).input_tensors()[0]
    rng = np.random.default_rng(seed)
    return [rng.integers(t.zero_point, 128, (batch, *t.shape)).astype(np.int8)]


@st.composite
def l2norm_models(draw):
    shp = draw(shape(draw(st.integers(1, 4)), 1, 8))
    q = draw(quant())
    b = ModelBuilder()
    x = b.input("x", shp, scale=q[0], zero_point=q[1])
    y = b.tensor("y", shp, scale=1.0 / 128, zero_point=0)
    b.op("L2_NORMALIZATION", [x], [y])
    b.output(y)
    return b.build()


@settings(max_examples=EXAMPLES, deadline=None)
@given(prelu_models(), st.integers(0, 1000))
def test_prelu(model, seed):
    assert_exact(model, batch=3, seed=seed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(squared_difference_models(), st.integers(0, 1000))
def test_squared_difference(model, seed):
    assert_exact(model, batch=3, seed=seed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(rsqrt_models(), st.integers(0, 1000))
def test_rsqrt(model, seed):
    assert_exact(model, inputs=rsqrt_inputs(model, 3, seed))


@settings(max_examples=EXAMPLES, deadline=None)
@given(l2norm_models(), st.integers(0, 1000))
def test_l2_normalization(model, seed):
    assert_exact(model, batch=3, seed=seed)


def test_inv_sqrt_multiplier_tracks_one_over_sqrt():
    """GetInvSqrtQuantizedMultiplierExp: multiplier * 2^shift / 2^31 ~ 1 / sqrt(x)."""
    x = np.array([2, 3, 100, 65025, 1 << 20, (1 << 31) - 1], np.int64)
    m, s = inv_sqrt_quantized_multiplier_exp(x)
    approx = m.astype(np.float64) * 2.0 ** s.astype(np.float64) / 2.0 ** 31
    assert np.allclose(approx, 1 / np.sqrt(x.astype(np.float64)), rtol=1e-5)
    m0, s0 = inv_sqrt_quantized_multiplier_exp(np.array([0, 1]))
    assert m0.tolist() == [(1 << 31) - 1] * 2 and s0.tolist() == [0, 0]


def test_rsqrt_of_a_negative_value_fails_like_tflm():
    from mcuq.model import load_model
    from mcuq.runners import make_runner

    b = ModelBuilder()
    x = b.input("x", (4,), scale=0.1, zero_point=10)
    y = b.tensor("y", (4,), scale=0.05, zero_point=-100)
    b.op("RSQRT", [x], [y])
    b.output(y)
    data = np.array([[10, 20, 9, 127]], np.int8)
    with pytest.raises(InputError, match="below the zero point"):
        Interpreter(b.build()).run([data])
    with pytest.raises(Exception):
        make_runner("tflm", load_model(b.build())).run([data])


def test_tflite_prelu_multiplier_differs_from_tflm():
    """Found by hypothesis: (x - zp) * (alpha - zp) = 15 times 2.49999996 (double, TFLite
    Micro: 37) or 2.5 (float, LiteRT: 38)."""
    from mcuq.model import load_model
    from mcuq.runners import make_runner
    from mcuq.runners.tflite import KNOWN_DIFFERENCES

    b = ModelBuilder()
    x = b.input("x", (1,), scale=0.05, zero_point=126)
    a = b.const("alpha", np.array([111], np.int8), scale=0.05, zero_point=126)
    y = b.tensor("y", (1,), scale=0.001, zero_point=0)
    b.op("PRELU", [x, a], [y])
    b.output(y)
    m = load_model(b.build())
    data = [np.array([[125]], np.int8)]
    ref = make_runner("reference", m).run(data).outputs[0]
    assert ref.tolist() == [[37]]
    assert np.array_equal(ref, make_runner("tflm", m).run(data).outputs[0])
    assert make_runner("tflite", m).run(data).outputs[0].tolist() == [[38]]
    litert = make_runner("reference", m, profile="litert").run(data).outputs[0]
    assert "PRELU" in KNOWN_DIFFERENCES and litert.tolist() == [[38]]


def _l2(scale=1.0 / 128, zp=0, act="NONE"):
    b = ModelBuilder()
    x = b.input("x", (1, 4), scale=0.1, zero_point=0)
    y = b.tensor("y", (1, 4), scale=scale, zero_point=zp)
    b.op("L2_NORMALIZATION", [x], [y], fused_activation_function=act)
    b.output(y)
    return b.build()


def _prelu5():
    b = ModelBuilder()
    x = b.input("x", (1, 2, 2, 2, 2), scale=0.1, zero_point=0)
    a = b.const("a", np.ones(2, np.int8), scale=0.1, zero_point=0)
    y = b.tensor("y", (1, 2, 2, 2, 2), scale=0.1, zero_point=0)
    b.op("PRELU", [x, a], [y])
    b.output(y)
    return b.build()


@pytest.mark.parametrize("model, words", [
    (lambda: _l2(scale=0.01), "output scale"),
    (lambda: _l2(act="RELU"), "fused activation RELU"),
    (_prelu5, "rank 5"),
], ids=["l2-scale", "l2-relu", "prelu-5d"])
def test_unsupported_specs_raise_before_running(model, words):
    with pytest.raises(UnsupportedModelError) as e:
        Interpreter(model())
    assert words in e.value.message and "op #0" in e.value.message


def test_tflm_rejects_l2_activation():
    from mcuq.model import load_model
    from mcuq.runners import make_runner

    with pytest.raises(Exception):
        make_runner("tflm", load_model(_l2(act="RELU"))).run([np.zeros((1, 1, 4), np.int8)])
