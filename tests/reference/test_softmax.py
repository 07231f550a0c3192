"""SOFTMAX int8: random shapes (rank 2-4, last axis 1-64), input scales 1e-3..1, zero points
and beta; reference == TFLM == TFLite to the byte, on inputs that cover the extremes (constant
rows, rows within a few LSB of their maximum, full-range noise)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mcuq.errors import UnsupportedModelError
from mcuq.model import load_model
from mcuq.reference import gemmlowp as gl
from mcuq.reference.interpreter import Interpreter
from mcuq.testing import strategies as S
from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES, assert_exact


def softmax_model(shape, s_in, zp_in, beta=1.0, out_scale=1.0 / 256, out_zp=-128) -> bytes:
    b = ModelBuilder()
    x = b.input("x", shape, scale=s_in, zero_point=zp_in)
    y = b.tensor("y", shape, scale=out_scale, zero_point=out_zp)
    b.op("SOFTMAX", [x], [y], beta=beta)
    b.output(y)
    return b.build()


@st.composite
def softmax_models(draw):
    rank = draw(st.integers(2, 4))
    shape = [draw(st.integers(1, 3)) for _ in range(rank - 1)] + [draw(st.integers(1, 64))]
    s_in = draw(S.scales(-3.0, 0.0))
    zp_in = draw(S.zero_points())
    beta = draw(st.sampled_from([1.0, 1.0]) | S.scales(-1.0, 1.0))
    return softmax_model(tuple(shape), s_in, zp_in, beta)


def extreme_inputs(model_bytes: bytes, batch: int, seed: int) -> list[np.ndarray]:
    """Full-range noise, rows clustered within a few LSB of 127 or -128, constant rows."""
    t = load_model(model_bytes).input_tensors()[0]
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (batch, *t.shape), dtype=np.int64)
    near = rng.integers(0, 4, x.shape)
    x[0] = 127 - near[0]
    x[1] = -128 + near[1]
    x[2] = rng.integers(-128, 128)
    x[3] = np.where(rng.random(x.shape[1:]) < 0.5, 127, -128)
    return [x.astype(np.int8)]


@settings(max_examples=EXAMPLES, deadline=None)
@given(softmax_models(), st.integers(0, 1000))
def test_softmax_matches_tflm_and_tflite(model, seed):
    assert_exact(model, batch=6, seed=seed, inputs=extreme_inputs(model, 6, seed))


@pytest.mark.parametrize("s_in,beta", [(1.0, 1.0), (40.0, 1.0), (1e-3, 0.1), (0.5, 10.0)])
def test_softmax_edge_scalings(s_in, beta):
    # 40 * 2^26 exceeds 2^31 - 1: the multiplier is capped and diff_min becomes 0.
    model = softmax_model((2, 17), s_in, 5, beta)
    assert_exact(model, inputs=extreme_inputs(model, 6, 7))


def test_softmax_prepare_follows_tflm_formulas():
    p = Interpreter(load_model(softmax_model((1, 4), 0.25, 0))).params(0)
    # beta * scale * 2^26 = 2^24 -> multiplier 2^30, shift 25; radius floor(31 * 2^26 / 2^25).
    assert (p.input_multiplier, p.input_left_shift, p.diff_min) == (1 << 30, 25, -62)


def test_softmax_rejects_wrong_output_quantization():
    with pytest.raises(UnsupportedModelError, match="1/256"):
        Interpreter(load_model(softmax_model((1, 4), 0.1, 0, out_scale=0.01)))


def test_gemmlowp_functions_approximate_their_real_functions():
    # Q5.26 inputs in [-31, 0] -> exp in Q0.31.
    a = -np.arange(0, 31 << 26, 7919 << 10, dtype=np.int64)
    got = gl.exp_on_negative_values(a, 5) / 2.0**31
    assert np.abs(got - np.exp(a / 2.0**26)).max() < 5e-7  # 4th-order Taylor
    x = np.arange(1, 1 << 31, 1 << 20, dtype=np.int64)
    assert np.abs(gl.one_over_one_plus_x_for_x_in_0_1(x) / 2.0**31
                  - 1 / (1 + x / 2.0**31)).max() < 1e-8
    v = np.arange(1, 1 << 31, 1 << 20, dtype=np.int64)
    raw, bits = gl.get_reciprocal(v, 12)
    # 1 / (v in Q12.19) = raw / 2^31 / 2^num_bits_over_unit
    assert np.allclose(raw / 2.0**31 / 2.0 ** bits.astype(np.float64), 2.0**19 / v, rtol=1e-8)
    assert gl.count_leading_zeros_u32(np.array([0, 1, 2**31 - 1, -1]).astype(np.int64)).tolist() \
        == [32, 31, 1, 0]
    assert math.isclose(gl.exp_on_interval_between_negative_one_quarter_and_0_excl(-(1 << 29))
                        / 2.0**31, math.exp(-0.25), abs_tol=5e-7)


def test_softmax_refuses_sums_outside_tflm_range():
    # 600 equal classes: the Q12.19 sum of exps needs exponent 32 > 31, where TFLite Micro's
    # TFLITE_CHECK aborts the process (so TFLM itself is not run here).
    model = load_model(softmax_model((1, 600), 0.1, 0))
    x = np.zeros((1, 1, 600), np.int8)
    with pytest.raises(UnsupportedModelError, match="600 classes"):
        Interpreter(model).run([x])
    Interpreter(model).run([np.arange(600).reshape(1, 1, 600).astype(np.int8)])  # spread: fine
