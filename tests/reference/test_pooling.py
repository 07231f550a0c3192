"""AVERAGE_POOL_2D and MAX_POOL_2D: random shapes, filters, strides, paddings, quantization and
activations; reference == TFLM == TFLite (reference kernels) to the byte."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mcuq.errors import UnsupportedModelError
from mcuq.reference import Interpreter
from mcuq.reference.ops.conv import compute_padding
from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES, assert_exact

ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


def pool_model(opcode, n, h, w, c, fh, fw, sh, sw, padding, act, scale, zp, out_scale=None):
    pad = compute_padding(padding, sh, sw, 1, 1, h, w, fh, fw)
    b = ModelBuilder()
    x = b.input("x", (n, h, w, c), scale=scale, zero_point=zp)
    y = b.tensor("y", (n, pad.out_h, pad.out_w, c), scale=out_scale or scale, zero_point=zp)
    b.op(opcode, [x], [y], padding=padding, stride_h=sh, stride_w=sw, filter_height=fh,
         filter_width=fw, fused_activation_function=act)
    b.output(y)
    return b.build()


@st.composite
def pool_models(draw, opcode):
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    fh, fw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.sampled_from(["SAME", "VALID"]))
    if padding == "VALID" and (fh > h or fw > w):
        padding = "SAME"
    scale = float(np.float32(10 ** draw(st.floats(-3, 0))))
    return pool_model(opcode, draw(st.integers(1, 2)), h, w, draw(st.integers(1, 16)), fh, fw,
                      sh, sw, padding, draw(st.sampled_from(ACTIVATIONS)), scale,
                      draw(st.integers(-128, 127)))


@settings(max_examples=EXAMPLES, deadline=None)
@given(pool_models("AVERAGE_POOL_2D"), st.integers(0, 1000))
def test_average_pool_matches_tflm_and_tflite(model, seed):
    assert_exact(model, batch=3, seed=seed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(pool_models("MAX_POOL_2D"), st.integers(0, 1000))
def test_max_pool_matches_tflm_and_tflite(model, seed):
    assert_exact(model, batch=3, seed=seed)


def test_average_pool_rounds_half_away_from_zero():
    """A 2x1 window over (1, 2) and (-1, -2): TFLM gives 2 and -2 (ties away from zero)."""
    model = pool_model("AVERAGE_POOL_2D", 1, 2, 2, 1, 2, 1, 2, 1, "VALID", "NONE", 0.1, 0)
    x = np.array([[1, -1], [2, -2]], np.int8).reshape(1, 1, 2, 2, 1)
    out = assert_exact(model, inputs=[x])[0]
    assert out.reshape(-1).tolist() == [2, -2]


def test_pooling_rejects_requantization():
    model = pool_model("MAX_POOL_2D", 1, 4, 4, 2, 2, 2, 2, 2, "VALID", "NONE", 0.1, 0,
                       out_scale=0.2)
    with pytest.raises(UnsupportedModelError, match="quantization"):
        Interpreter(model)
