"""16x8 FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D: reference == TFLite Micro to the byte
on one-op models (int16 activations, int8 weights per-channel or per-tensor, int64 bias;
CONV_2D also int32), drawn by mcuq.testing.strategies16."""
import numpy as np
import pytest
from hypothesis import given, settings

from mcuq.errors import UnsupportedModelError
from mcuq.reference import Interpreter
from mcuq.reference.ops.linear16 import mbqm64
from mcuq.testing import strategies16 as S16
from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES, assert_exact


@settings(max_examples=EXAMPLES, deadline=None)
@given(S16.cases16(S16.fully_connected16_models()))
def test_fully_connected_16x8_matches_tflm(case):
    model, inputs = case
    assert_exact(model, inputs=inputs, runners=("tflm",))


@settings(max_examples=EXAMPLES, deadline=None)
@given(S16.cases16(S16.conv16_models()))
def test_conv_2d_16x8_matches_tflm(case):
    model, inputs = case
    assert_exact(model, inputs=inputs, runners=("tflm",))


@settings(max_examples=EXAMPLES, deadline=None)
@given(S16.cases16(S16.conv16_models(depthwise=True)))
def test_depthwise_conv_2d_16x8_matches_tflm(case):
    model, inputs = case
    assert_exact(model, inputs=inputs, runners=("tflm",))


@settings(max_examples=max(EXAMPLES // 5, 3), deadline=None)
@given(S16.cases16(S16.fully_connected16_models(limit="wide") | S16.conv16_models(limit="over")
                   | S16.conv16_models(depthwise=True, limit="edge")))
def test_16x8_sums_around_the_int32_limit_match_tflm(case):
    """Weights whose sums can leave int32 (the C target's 64-bit kernels) or just cannot."""
    model, inputs = case
    assert_exact(model, inputs=inputs, runners=("tflm",))


@pytest.mark.parametrize("index", range(6))
def test_16x8_sums_exactly_at_the_int32_limit_match_tflm(index):
    """2^31 - 32768 and 2^31 (int64 sums in TFLM: +16384 where int32 would give -16384)."""
    _op, limit, model, inputs = S16.boundary16_models()[index]
    assert_exact(model, inputs=inputs, runners=("tflm",))
    out = Interpreter(model).run(inputs).outputs[0].reshape(2, -1)
    assert (out[0] == 16384).all() and (out[1] == -16383).all()


def test_int64_requantization_reduces_the_multiplier_to_16_bits():
    """(q + 2^15) >> 16, saturating at 0x7FFF from 0x7FFF0000, then one rounding shift."""
    assert mbqm64(np.int64(1 << 20), 1 << 30, 0)[()] == 1 << 19
    assert mbqm64(np.int64(3), 0x7FFF0000, 0)[()] == 3  # 3 * 0x7FFF / 2^15 rounds to 3
    assert mbqm64(np.int64(-3), 1 << 30, -1)[()] == -1  # -0.75 -> -1 (floor of x + 0.5)


def _conv_without_bias() -> bytes:
    b = ModelBuilder()
    x = b.input("x", (1, 4, 4, 2), "INT16", scale=0.001, zero_point=0)
    w = b.const("w", np.ones((3, 1, 1, 2), np.int8), scale=np.full(3, 0.01, np.float32))
    y = b.tensor("y", (1, 4, 4, 3), "INT16", scale=0.001, zero_point=0)
    b.op("CONV_2D", [x, w], [y], version=4, padding="VALID", stride_h=1, stride_w=1)
    b.output(y)
    return b.build()


def test_int16_conv_without_bias_is_refused_as_tflm_crashes_on_it():
    with pytest.raises(UnsupportedModelError, match="needs a bias"):
        Interpreter(_conv_without_bias())


def test_int16_activation_with_a_zero_point_is_refused():
    b = ModelBuilder()
    x = b.input("x", (1, 4), "INT16", scale=0.001, zero_point=3)
    w = b.const("w", np.ones((2, 4), np.int8), scale=0.01)
    y = b.tensor("y", (1, 2), "INT16", scale=0.001, zero_point=0)
    b.op("FULLY_CONNECTED", [x, w, -1], [y], version=7)
    b.output(y)
    with pytest.raises(UnsupportedModelError, match="zero point 3"):
        Interpreter(b.build())


def test_an_op_without_an_int16_kernel_is_named():
    b = ModelBuilder()
    x = b.input("x", (1, 4), "INT16", scale=0.001, zero_point=0)
    y = b.tensor("y", (1, 4), "INT16", scale=0.001, zero_point=0)
    b.op("HARD_SWISH", [x], [y])
    b.output(y)
    with pytest.raises(UnsupportedModelError, match=r"HARD_SWISH.*INT16"):
        Interpreter(b.build())


def test_a_fused_bound_overflowing_int32_is_refused_as_tflm_does():
    """RELU6 with output scale 1e-9: 6 / 1e-9 leaves int32; TFLite Micro's Prepare fails
    (no_integer_overflow_from_quantization)."""
    b = ModelBuilder()
    x = b.input("x", (1, 1), "INT16", scale=1e-5, zero_point=0)
    w = b.const("w", np.full((1, 1), 89, np.int8), scale=0.001)
    bias = b.const("b", np.array([4595671], np.int64), scale=1e-8)
    y = b.tensor("y", (1, 1), "INT16", scale=1e-9, zero_point=0)
    b.op("FULLY_CONNECTED", [x, w, bias], [y], version=7, fused_activation_function="RELU6")
    b.output(y)
    with pytest.raises(UnsupportedModelError, match="overflows int32"):
        Interpreter(b.build())
