"""MEAN (int8): random shapes, axes (negative, duplicated), keep_dims, equal and different
input/output quantization; reference == TFLM == TFLite (reference kernels) to the byte."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mcuq.errors import UnsupportedModelError
from mcuq.reference import Interpreter
from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES, assert_exact


def mean_model(shape, axes, keep_dims, s_in, zp_in, s_out, zp_out):
    rank = len(shape)
    resolved = {a % rank for a in axes}
    out_shape = [1 if i in resolved else d for i, d in enumerate(shape)] if keep_dims else \
        [d for i, d in enumerate(shape) if i not in resolved]
    b = ModelBuilder()
    x = b.input("x", shape, scale=s_in, zero_point=zp_in)
    ax = b.const("axis", np.asarray(axes, np.int32))
    y = b.tensor("y", out_shape, scale=s_out, zero_point=zp_out)
    b.op("MEAN", [x, ax], [y], version=2, keep_dims=keep_dims)
    b.output(y)
    return b.build()


@st.composite
def mean_models(draw):
    rank = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=rank, max_size=rank)))
    picked = draw(st.lists(st.integers(0, rank - 1), min_size=1, max_size=2, unique=True))
    axes = [a - rank if draw(st.booleans()) else a for a in picked]
    if draw(st.booleans()):
        axes.append(axes[0])  # duplicates are ignored
    s_in = float(np.float32(10 ** draw(st.floats(-3, 0))))
    zp_in = draw(st.integers(-128, 127))
    if draw(st.booleans()):  # older TFLM took a truncating shortcut here
        s_out, zp_out = s_in, zp_in
    else:
        s_out = float(np.float32(s_in * 10 ** draw(st.floats(-1, 1))))
        zp_out = draw(st.integers(-128, 127))
    return mean_model(shape, axes, draw(st.booleans()), s_in, zp_in, s_out, zp_out)


@st.composite
def global_average_pool_models(draw):
    """Keras GlobalAveragePooling2D: MEAN over [1, 2] of NHWC, usually requantizing."""
    shape = (1, draw(st.integers(1, 12)), draw(st.integers(1, 12)), draw(st.integers(1, 16)))
    s_in = float(np.float32(10 ** draw(st.floats(-3, 0))))
    s_out = float(np.float32(s_in * 10 ** draw(st.floats(-1, 0.5))))
    return mean_model(shape, [1, 2], draw(st.booleans()), s_in, draw(st.integers(-128, 127)),
                      s_out, draw(st.integers(-128, 127)))


@settings(max_examples=EXAMPLES, deadline=None)
@given(mean_models(), st.integers(0, 1000))
def test_mean_matches_tflm_and_tflite(model, seed):
    assert_exact(model, batch=3, seed=seed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(global_average_pool_models(), st.integers(0, 1000))
def test_global_average_pool_mean_matches_tflm_and_tflite(model, seed):
    assert_exact(model, batch=3, seed=seed)


def test_mean_same_quantization_requantizes():
    """Equal quantization still requantizes in TFLM (no truncating shortcut): 5/2 -> 3
    (truncation would give 2); -5/2 -> -2 (SaturatingRoundingDoublingHighMul's tie rule)."""
    model = mean_model((2, 2), [1], False, 0.1, 0, 0.1, 0)
    x = np.array([[[2, 3], [-2, -3]]], np.int8)
    out = assert_exact(model, inputs=[x])[0]
    assert out.reshape(-1).tolist() == [3, -2]


def test_mean_over_three_axes_is_rejected():
    model = mean_model((1, 2, 2, 3), [0, 1, 2], False, 0.1, 0, 0.2, 0)
    with pytest.raises(UnsupportedModelError, match="at most 2"):
        Interpreter(model)
