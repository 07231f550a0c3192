"""TRANSPOSE_CONV (int8, per-channel and per-tensor weights, with and without bias, SAME and
VALID, strides 1-3, fused activations): reference == TFLite Micro == TFLite (reference
kernels) to the byte."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from mcuq.errors import UnsupportedModelError
from mcuq.reference import Interpreter
from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES, assert_exact
from tests.reference.strategies10 import SCALES, ZERO_POINTS, int8_array


def _out_size(padding, size, k, s):
    return size * s if padding == "SAME" else (size - 1) * s + k


@st.composite
def transpose_conv_models(draw):
    n = draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    ci, co = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.sampled_from(["SAME", "VALID"]))
    oh, ow = _out_size(padding, h, kh, sh), _out_size(padding, w, kw, sw)
    s_in, s_out = draw(SCALES), draw(SCALES)
    per_channel = draw(st.booleans())
    w_scales = [draw(st.floats(1e-3, 0.05)) for _ in range(co if per_channel else 1)]
    weights = draw(int8_array((co, kh, kw, ci)))
    act = draw(st.sampled_from(["NONE", "NONE", "RELU", "RELU6"]))
    b = ModelBuilder()
    x = b.input("x", (n, h, w, ci), scale=s_in, zero_point=draw(ZERO_POINTS))
    wt = b.const("w", weights, scale=w_scales, zero_point=0, axis=0)
    ins = [b.const("out_shape", np.array([n, oh, ow, co], np.int32)), wt, x]
    if draw(st.booleans()):
        bias = draw(hnp.arrays(np.int32, (co,), elements=st.integers(-(1 << 16), 1 << 16)))
        ins.append(b.const("bias", bias, scale=[s_in * s for s in np.resize(w_scales, co)]))
    y = b.tensor("y", (n, oh, ow, co), scale=s_out, zero_point=draw(ZERO_POINTS))
    b.op("TRANSPOSE_CONV", ins, [y], padding=padding, stride_h=sh, stride_w=sw,
         fused_activation_function=act)
    b.output(y)
    return b.build()


@settings(max_examples=EXAMPLES, deadline=None)
@given(transpose_conv_models(), st.integers(0, 1000))
def test_transpose_conv(model, seed):
    assert_exact(model, batch=2, seed=seed)


def test_transpose_conv_hand_checked():
    """Stride 2, 2x2 all-ones kernel, VALID: every input pixel becomes a 2x2 block."""
    b = ModelBuilder()
    x = b.input("x", (1, 2, 2, 1), scale=1.0, zero_point=0)
    w = b.const("w", np.ones((1, 2, 2, 1), np.int8), scale=1.0, zero_point=0)
    y = b.tensor("y", (1, 4, 4, 1), scale=1.0, zero_point=0)
    b.op("TRANSPOSE_CONV", [b.const("s", np.array([1, 4, 4, 1], np.int32)), w, x], [y],
         padding="VALID", stride_h=2, stride_w=2)
    b.output(y)
    data = np.array([1, 2, 3, 4], np.int8).reshape(1, 1, 2, 2, 1)
    out = assert_exact(b.build(), inputs=[data])[0].reshape(4, 4)
    assert out.tolist() == [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]


def test_nonzero_weight_zero_point_is_rejected():
    b = ModelBuilder()
    x = b.input("x", (1, 2, 2, 1), scale=1.0, zero_point=0)
    w = b.const("w", np.ones((1, 2, 2, 1), np.int8), scale=1.0, zero_point=3)
    y = b.tensor("y", (1, 4, 4, 1), scale=1.0, zero_point=0)
    b.op("TRANSPOSE_CONV", [b.const("s", np.array([1, 4, 4, 1], np.int32)), w, x], [y],
         padding="VALID", stride_h=2, stride_w=2)
    b.output(y)
    with pytest.raises(UnsupportedModelError, match="non-zero zero points"):
        Interpreter(b.build())
