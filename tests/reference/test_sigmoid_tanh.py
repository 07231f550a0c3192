"""LOGISTIC and TANH int8: random shapes, input scales 1e-3..1 and zero points, every int8 input
value; reference (tflm profile) == TFLM and reference (litert profile) == LiteRT, to the byte.

The two runtimes compute differently: LiteRT's int8 LOGISTIC/TANH (reference resolver too) read
a 256-entry table filled in float (LUTPopulate with 1/(1+expf(-x)) and tanhf), TFLite Micro
evaluates gemmlowp's fixed-point logistic/tanh; the litert profile builds the same table.
test_tflite_float_table_differs_from_tflm pins concrete cases where they differ.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mcuq.errors import UnsupportedModelError
from mcuq.model import load_model
from mcuq.reference import gemmlowp as gl
from mcuq.reference.interpreter import Interpreter
from mcuq.runners import make_runner
from mcuq.runners.tflite import KNOWN_DIFFERENCES
from mcuq.testing import strategies as S
from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES, assert_exact

OUT = {"LOGISTIC": (1.0 / 256, -128), "TANH": (1.0 / 128, 0)}


def act_model(opcode, shape, s_in, zp_in, out=None) -> bytes:
    s_out, zp_out = out or OUT[opcode]
    b = ModelBuilder()
    x = b.input("x", shape, scale=s_in, zero_point=zp_in)
    y = b.tensor("y", shape, scale=s_out, zero_point=zp_out)
    b.op(opcode, [x], [y])
    b.output(y)
    return b.build()


@st.composite
def sigmoid_tanh_models(draw, opcodes=("LOGISTIC", "TANH"), log_scale=(-3.0, 0.0)):
    opcode = draw(st.sampled_from(opcodes))
    rank = draw(st.integers(1, 4))
    shape = tuple(draw(st.integers(1, 8)) for _ in range(rank))
    s_in = draw(S.scales(*log_scale))
    return act_model(opcode, shape, s_in, draw(S.zero_points()))


def every_value(model_bytes: bytes, seed: int = 0) -> list[np.ndarray]:
    """A batch holding all 256 int8 values (shuffled), padded with random values."""
    t = load_model(model_bytes).input_tensors()[0]
    size = int(np.prod(t.shape))
    batch = -(-256 // size)
    rng = np.random.default_rng(seed)
    vals = np.concatenate([np.arange(-128, 128), rng.integers(-128, 128, batch * size - 256)])
    return [rng.permutation(vals).astype(np.int8).reshape(batch, *t.shape)]


@settings(max_examples=EXAMPLES, deadline=None)
@given(sigmoid_tanh_models(), st.integers(0, 1000))
def test_sigmoid_tanh_match_tflm_and_litert(model, seed):
    assert_exact(model, seed=seed, inputs=every_value(model, seed))


@settings(max_examples=max(EXAMPLES // 3, 3), deadline=None)
@given(sigmoid_tanh_models(log_scale=(0.0, 2.5)), st.integers(0, 1000))
def test_sigmoid_tanh_large_input_scales_match_tflm(model, seed):
    # Large scales shrink input_range_radius to a few LSB (to 0 above scale 15/8).
    assert_exact(model, seed=seed, inputs=every_value(model, seed))


# (op, input scale, input zero point, input value, TFLite Micro's output), found by search.
TFLITE_DIFFERS = [("LOGISTIC", 0.001467994530685246, -128, 27, 14),
                  ("LOGISTIC", 0.07779364287853241, -128, -73, 125),
                  ("TANH", 0.0032629917841404676, -128, -51, 32)]


@pytest.mark.parametrize("opcode,s_in,zp_in,value,expected", TFLITE_DIFFERS)
def test_tflite_float_table_differs_from_tflm(opcode, s_in, zp_in, value, expected):
    """TFLite Micro and LiteRT differ by 1 LSB here; each equals the reference in its profile."""
    assert opcode in KNOWN_DIFFERENCES
    model = load_model(act_model(opcode, (1, 1), s_in, zp_in))
    x = [np.array([[[value]]], np.int8)]
    one = lambda r, **o: int(make_runner(r, model, **o).run(x).outputs[0].ravel()[0])  # noqa
    ref, tflm, tfl = one("reference"), one("tflm"), one("tflite")
    assert ref == tflm == expected
    assert abs(tfl - ref) == 1
    assert tfl == one("reference", profile="litert")


def test_prepare_follows_tflm_formulas():
    p = Interpreter(load_model(act_model("LOGISTIC", (4,), 0.125, 3))).params(0)
    # 0.125 * 2^27 = 2^24 -> frexp (0.5, 25): multiplier 2^30; radius floor(15 * 2^27 / 2^25).
    assert (p.input_multiplier, p.input_left_shift, p.input_range_radius) == (1 << 30, 25, 60)
    assert p.input_zero_point == 3


@pytest.mark.parametrize("opcode,out", [("LOGISTIC", (1 / 256, 0)), ("TANH", (1 / 256, 0))])
def test_rejects_output_quantization_the_kernel_cannot_produce(opcode, out):
    with pytest.raises(UnsupportedModelError, match="output 'y'"):
        Interpreter(load_model(act_model(opcode, (4,), 0.1, 0, out=out)))


def test_fixed_point_logistic_and_tanh_approximate_the_real_functions():
    a = np.arange(-(1 << 31) + 1, 1 << 31, 1 << 21, dtype=np.int64)  # Q4.27 over [-16, 16)
    real = a / 2.0**27
    sig = gl.logistic(a, 4) / 2.0**31
    th = gl.tanh(a, 4) / 2.0**31
    assert np.abs(sig - 1 / (1 + np.exp(-real))).max() < 1e-6
    assert np.abs(th - np.tanh(real)).max() < 1e-6
    assert gl.logistic(0, 4) == 1 << 30 and gl.tanh(0, 4) == 0
    x = np.arange(1, 1 << 31, 1 << 20, dtype=np.int64)
    f = x / 2.0**31
    assert np.abs(gl.one_minus_x_over_one_plus_x_for_x_in_0_1(x) / 2.0**31
                  - (1 - f) / (1 + f)).max() < 1e-8
    assert math.isclose(gl.logistic(1 << 27, 4) / 2.0**31, 1 / (1 + math.exp(-1)), abs_tol=1e-6)
