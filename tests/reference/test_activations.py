"""RELU, RELU6, LEAKY_RELU, HARD_SWISH on int8: random shapes and quantization, every int8
input value; reference (tflm profile) == TFLM and reference (litert profile) == LiteRT (RELU6
with differing input/output quantization: TFLite Micro clamps in the input's quantization,
LiteRT requantizes; each profile follows its runtime)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mcuq.errors import UnsupportedModelError
from mcuq.model import load_model
from mcuq.reference import Interpreter
from mcuq.runners import make_runner
from mcuq.testing import strategies as S
from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES, assert_exact

ALPHAS = [0.0, 0.01, 0.1, 0.2, 0.3, 0.5, 0.99, 1.0, 1.5, 3.0, -0.25, -1.0]


def one_op(opcode, shape, s_in, zp_in, s_out, zp_out, **options) -> bytes:
    b = ModelBuilder()
    x = b.input("x", shape, scale=s_in, zero_point=zp_in)
    y = b.tensor("y", shape, scale=s_out, zero_point=zp_out)
    b.op(opcode, [x], [y], **options)
    b.output(y)
    return b.build()


def all_int8_inputs(model_bytes: bytes, seed: int) -> list[np.ndarray]:
    """Every int8 value at least once (shuffled), then random values; batch sized to fit."""
    t = load_model(model_bytes).input_tensors()[0]
    rng = np.random.default_rng(seed)
    batch = max(1, -(-256 // t.size))
    vals = rng.integers(-128, 128, size=batch * t.size)
    vals[:256] = rng.permutation(np.arange(-128, 128))
    return [vals.astype(np.int8).reshape(batch, *t.shape)]


@st.composite
def shapes(draw):
    rank = draw(st.integers(1, 4))
    return tuple(draw(st.lists(st.integers(1, 6), min_size=rank, max_size=rank)))


@st.composite
def quant(draw, lo=-3.0, hi=0.0):
    """(scale, zero point): hypothesis-drawn, zero points -128/127/0 weighted."""
    return draw(S.scales(lo, hi)), draw(S.zero_points())


@st.composite
def relu_models(draw):
    s_in, zp_in = draw(quant())
    s_out, zp_out = (s_in, zp_in) if draw(st.booleans()) else draw(quant())
    return one_op("RELU", draw(shapes()), s_in, zp_in, s_out, zp_out)


@st.composite
def relu6_models(draw, same_quant=True):
    s_in, zp_in = draw(quant(-3.0, 0.3))
    s_out, zp_out = (s_in, zp_in) if same_quant else draw(quant())
    return one_op("RELU6", draw(shapes()), s_in, zp_in, s_out, zp_out)


@st.composite
def leaky_relu_models(draw):
    s_in, zp_in = draw(quant())
    s_out, zp_out = draw(quant())
    alpha = draw(st.one_of(st.sampled_from(ALPHAS),
                           st.floats(-2.0, 4.0, width=32, allow_subnormal=False)))
    return one_op("LEAKY_RELU", draw(shapes()), s_in, zp_in, s_out, zp_out, version=2,
                  alpha=alpha)


@st.composite
def hard_swish_models(draw):
    s_in, zp_in = draw(quant(-3.0, 1.0))
    # output multiplier s_in / (128 s_out) must be < 1 (TFLM's Prepare); far below 2^-16
    # exercises gemmlowp's int16 RoundingDivideByPOT with exponents >= 16.
    ratio = draw(st.one_of(st.floats(-2.0, 1.0), st.floats(1.0, 4.5)))
    s_out = float(np.float32(s_in * 10 ** ratio))
    zp_out = draw(S.zero_points())
    return one_op("HARD_SWISH", draw(shapes()), s_in, zp_in, s_out, zp_out)


def _check(model, seed, runners=("tflm", "tflite")):
    assert_exact(model, seed=seed, runners=runners, inputs=all_int8_inputs(model, seed))


@settings(max_examples=EXAMPLES, deadline=None)
@given(relu_models(), st.integers(0, 1000))
def test_relu_matches_tflm_and_tflite(model, seed):
    _check(model, seed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(relu6_models(), st.integers(0, 1000))
def test_relu6_matches_tflm_and_tflite(model, seed):
    _check(model, seed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(relu6_models(same_quant=False), st.integers(0, 1000))
def test_relu6_requantizing_matches_tflm_and_litert(model, seed):
    _check(model, seed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(leaky_relu_models(), st.integers(0, 1000))
def test_leaky_relu_matches_tflm_and_tflite(model, seed):
    _check(model, seed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(hard_swish_models(), st.integers(0, 1000))
def test_hard_swish_matches_tflm_and_tflite(model, seed):
    _check(model, seed)


def test_relu6_tflm_ignores_output_quantization_tflite_does_not():
    """TFLM clamps RELU6 in the input's quantization; TFLite requantizes to the output's.
    mcuq follows TFLM: the reference's bytes are the clamped input bytes."""
    model = one_op("RELU6", (4, 64), 0.05, -3, 0.03, -100)
    x = all_int8_inputs(model, 0)
    ref = make_runner("reference", load_model(model)).run(x).outputs[0]
    six = -3 + 120  # round(6 / 0.05) + zero point
    assert np.array_equal(ref, np.clip(x[0], -3, six))
    assert np.array_equal(ref, make_runner("tflm", load_model(model)).run(x).outputs[0])
    lite = make_runner("tflite", load_model(model)).run(x).outputs[0]
    assert np.abs(lite.astype(int) - ref).max() > 1
    litert = make_runner("reference", load_model(model), profile="litert").run(x).outputs[0]
    assert np.array_equal(lite, litert)


def test_hard_swish_rejects_output_scale_below_input_scale_over_128():
    model = one_op("HARD_SWISH", (8,), 0.5, 0, 0.5 / 200, 0)
    with pytest.raises(UnsupportedModelError, match="HARD_SWISH"):
        Interpreter(model)


def test_activations_reject_non_int8():
    """(RELU has an int16 kernel since issue 11: mcuq/reference/ops/activations16.py.)"""
    b = ModelBuilder()
    x = b.input("x", (4,), "INT16", scale=0.01, zero_point=0)
    y = b.tensor("y", (4,), "INT16", scale=0.01, zero_point=0)
    b.op("HARD_SWISH", [x], [y])
    b.output(y)
    with pytest.raises(UnsupportedModelError, match="INT16"):
        Interpreter(b.build())


@pytest.mark.parametrize("s_in, alpha, s_out", [(0.25, 0.0, 0.1), (0.5, 0.3, 0.1),
                                                (0.265625, 1.2975779, 0.375)])
def test_leaky_relu_multipliers_are_computed_in_double_as_tflm(s_in, alpha, s_out):
    """Found by the edge strategies (power-of-two scales make exact ties): TFLite Micro takes
    both LEAKY_RELU multipliers in double. (0.25, 0.1): the float quotient is exactly 2.5, so
    x - zp = 1 would round up to 3; the double one is just below 2.5: 2. The last case
    separates double(s_in) * double(alpha) from a float product s_in * alpha."""
    model = one_op("LEAKY_RELU", (1,), s_in, 0, s_out, 0, version=2, alpha=alpha)
    xs = [np.arange(-128, 128, dtype=np.int8).reshape(256, 1)]
    assert_exact(model, inputs=xs, runners=("tflm",))
