"""QUANTIZE (float32 -> int8, int8 -> int8, uint8 <-> int8) and DEQUANTIZE (int8/uint8 ->
float32): reference == TFLM == TFLite to the byte, float inputs hitting exact .5 ties and
clamping, every integer input value."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mcuq.errors import UnsupportedModelError
from mcuq.model import load_model
from mcuq.reference import Interpreter
from mcuq.runners import make_runner
from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES, assert_exact

INT_RANGE = {"INT8": (-128, 127), "UINT8": (0, 255)}


def one_op(opcode, shape, in_type, s_in, zp_in, out_type, s_out, zp_out) -> bytes:
    b = ModelBuilder()
    x = b.input("x", shape, in_type, scale=s_in, zero_point=zp_in)
    y = b.tensor("y", shape, out_type, scale=s_out, zero_point=zp_out)
    b.op(opcode, [x], [y])
    b.output(y)
    return b.build()


def all_int_inputs(model_bytes: bytes, seed: int) -> list[np.ndarray]:
    """Every value of the input's integer type at least once, then random values."""
    t = load_model(model_bytes).input_tensors()[0]
    info = np.iinfo(t.dtype)
    rng = np.random.default_rng(seed)
    batch = max(1, -(-256 // t.size))
    vals = rng.integers(info.min, info.max + 1, size=batch * t.size)
    vals[:256] = rng.permutation(np.arange(info.min, info.max + 1))
    return [vals.astype(t.dtype).reshape(batch, *t.shape)]


def float_inputs(model_bytes: bytes, seed: int) -> list[np.ndarray]:
    """Float32 values for a QUANTIZE input: exact ties (k + 0.5) * scale and their float
    neighbours, values spanning and overshooting the int8 range, zeros and tiny values."""
    m = load_model(model_bytes)
    t, q = m.input_tensors()[0], m.output_tensors()[0]
    s, zp = np.float32(q.scale), q.zero_point
    rng = np.random.default_rng(seed)
    k = np.arange(-140 - zp, 140 - zp, dtype=np.float32)
    ties = (k + np.float32(0.5)) * s
    pool = [ties, np.nextafter(ties, np.float32(np.inf)), np.nextafter(ties, np.float32(-np.inf)),
            k * s, np.float32([0.0, -0.0, 1e-30, -1e-30, 1e-45]),
            rng.uniform((-200 - zp) * s, (200 - zp) * s, 512).astype(np.float32),
            rng.uniform(-1e4 * s, 1e4 * s, 64).astype(np.float32)]
    pool = np.concatenate(pool).astype(np.float32)
    batch = max(1, -(-pool.size // t.size))
    vals = np.resize(rng.permutation(pool), batch * t.size).astype(np.float32)
    return [vals.reshape(batch, *t.shape)]


@st.composite
def shapes(draw):
    rank = draw(st.integers(1, 4))
    return tuple(draw(st.lists(st.integers(1, 6), min_size=rank, max_size=rank)))


def _scale(draw, lo=-3.0, hi=0.0):
    if draw(st.integers(0, 4)) == 0:  # powers of two make every (k + 0.5) * scale a tie
        return float(2.0 ** draw(st.integers(-10, 0)))
    return float(np.float32(10 ** draw(st.floats(lo, hi))))


@st.composite
def float_quantize_models(draw):
    return one_op("QUANTIZE", draw(shapes()), "FLOAT32", None, 0, "INT8", _scale(draw),
                  draw(st.integers(-128, 127)))


@st.composite
def requantize_models(draw):
    in_t, out_t = draw(st.sampled_from([("INT8", "INT8"), ("INT8", "UINT8"),
                                        ("UINT8", "INT8")]))
    s_in = _scale(draw)
    zp_in = draw(st.integers(*INT_RANGE[in_t]))
    if draw(st.booleans()):  # what `--io uint8` conversion gives: same scale, zp +- 128
        s_out, zp_out = s_in, zp_in + (128 if out_t == "UINT8" else -128)
        zp_out = int(np.clip(zp_out, *INT_RANGE[out_t]))
    else:
        s_out, zp_out = _scale(draw, -3.0, 0.5), draw(st.integers(*INT_RANGE[out_t]))
    return one_op("QUANTIZE", draw(shapes()), in_t, s_in, zp_in, out_t, s_out, zp_out)


@st.composite
def dequantize_models(draw):
    in_t = draw(st.sampled_from(["INT8", "UINT8"]))
    return one_op("DEQUANTIZE", draw(shapes()), in_t, _scale(draw, -4.0, 1.0),
                  draw(st.integers(*INT_RANGE[in_t])), "FLOAT32", None, 0)


@settings(max_examples=EXAMPLES, deadline=None)
@given(float_quantize_models(), st.integers(0, 1000))
def test_quantize_float_matches_tflm_and_tflite(model, seed):
    assert_exact(model, inputs=float_inputs(model, seed))


@settings(max_examples=EXAMPLES, deadline=None)
@given(requantize_models(), st.integers(0, 1000))
def test_requantize_matches_tflm_and_tflite(model, seed):
    assert_exact(model, inputs=all_int_inputs(model, seed))


@settings(max_examples=EXAMPLES, deadline=None)
@given(dequantize_models(), st.integers(0, 1000))
def test_dequantize_matches_tflm_and_tflite_bitwise(model, seed):
    x = all_int_inputs(model, seed)
    ref = assert_exact(model, inputs=x)[0]
    got = make_runner("tflm", load_model(model)).run(x).outputs[0]
    assert ref.dtype == np.float32
    assert np.array_equal(ref.view(np.uint32), got.view(np.uint32))


def test_quantize_rounds_ties_away_from_zero():
    """x / scale exactly k + 0.5 rounds away from zero (std::round), not to even."""
    model = one_op("QUANTIZE", (8,), "FLOAT32", None, 0, "INT8", 0.5, 0)
    x = np.float32([[0.25, -0.25, 0.75, -0.75, 1.25, -1.25, 100.0, -100.0]])
    ref = assert_exact(model, inputs=[x])[0]
    assert ref.tolist() == [[1, -1, 2, -2, 3, -3, 127, -128]]


def test_quantize_divides_in_float32():
    """TFLM divides in single precision: a value whose float32 quotient is an exact tie but
    whose exact quotient lies below it rounds up (a double division would round down)."""
    scale = np.float32(0.1)
    rng = np.random.default_rng(0)
    x = (rng.integers(-100, 100, 20000) + np.float32(0.5)).astype(np.float32) * scale
    x = np.nextafter(x, np.float32(-np.inf)).astype(np.float32)
    f32 = x / scale
    f64 = x.astype(np.float64) / np.float64(scale)
    pick = x[(f32 == np.trunc(f32) + np.sign(f32) * 0.5) & (np.abs(f64) < np.abs(f32))][:8]
    assert pick.size > 0
    model = one_op("QUANTIZE", (pick.size,), "FLOAT32", None, 0, "INT8", float(scale), 0)
    ref = assert_exact(model, inputs=[pick[None]])[0][0].astype(int)
    q = pick / scale  # float32 quotients, exact ties
    assert np.array_equal(ref, np.trunc(q + np.sign(q) * np.float32(0.5)))
    assert not np.array_equal(ref, np.round(pick.astype(np.float64) / np.float64(scale)))


@pytest.mark.parametrize("pair", [("UINT8", "UINT8"), ("INT8", "FLOAT32"), ("FLOAT32", "UINT8")])
def test_quantize_rejects_unsupported_types(pair):
    model = one_op("QUANTIZE", (4,), pair[0], None if pair[0] == "FLOAT32" else 0.1, 0,
                   pair[1], None if pair[1] == "FLOAT32" else 0.1, 0)
    with pytest.raises(UnsupportedModelError, match="QUANTIZE"):
        Interpreter(model)
