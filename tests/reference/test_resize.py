"""RESIZE_NEAREST_NEIGHBOR (int8, int16) and RESIZE_BILINEAR (int8): every align_corners /
half_pixel_centers combination TFLite Micro accepts, up- and down-sampling by integer and
non-integer ratios; reference == TFLite Micro == TFLite (reference kernels) to the byte."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mcuq.errors import UnsupportedModelError
from mcuq.reference import Interpreter
from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES, assert_exact
from tests.reference.strategies10 import quant


@st.composite
def resize_models(draw, op=None):
    op = op or draw(st.sampled_from(["RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR"]))
    n = draw(st.integers(1, 2))
    h, w, c = draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.integers(1, 3))
    if draw(st.booleans()):  # integer upsampling (Keras UpSampling2D)
        k = draw(st.integers(1, 3))
        oh, ow = h * k, w * k
    else:
        oh, ow = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    align = draw(st.booleans())
    half = draw(st.booleans()) and not (align and op == "RESIZE_BILINEAR")
    dtype = "INT16" if op == "RESIZE_NEAREST_NEIGHBOR" and draw(st.integers(0, 4)) == 0 \
        else "INT8"
    q = draw(quant()) if dtype == "INT8" else (draw(st.sampled_from([1e-4, 3e-4])), 0)
    b = ModelBuilder()
    x = b.input("x", (n, h, w, c), dtype, scale=q[0], zero_point=q[1])
    y = b.tensor("y", (n, oh, ow, c), dtype, scale=q[0], zero_point=q[1])
    b.op(op, [x, b.const("size", np.array([oh, ow], np.int32))], [y], align_corners=align,
         half_pixel_centers=half)
    b.output(y)
    return b.build()


@settings(max_examples=EXAMPLES, deadline=None)
@given(resize_models("RESIZE_NEAREST_NEIGHBOR"), st.integers(0, 1000))
def test_resize_nearest(model, seed):
    assert_exact(model, batch=2, seed=seed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(resize_models("RESIZE_BILINEAR"), st.integers(0, 1000))
def test_resize_bilinear(model, seed):
    assert_exact(model, batch=2, seed=seed)


def test_bilinear_half_pixel_hand_checked():
    """[0, 100] to width 4 with half-pixel centers: Q10 positions -256, 256, 768, 1280 give
    0, 25, 75, 100 (the border positions clamp to the edge pixels)."""
    b = ModelBuilder()
    x = b.input("x", (1, 1, 2, 1), scale=0.1, zero_point=0)
    y = b.tensor("y", (1, 1, 4, 1), scale=0.1, zero_point=0)
    b.op("RESIZE_BILINEAR", [x, b.const("size", np.array([1, 4], np.int32))], [y],
         half_pixel_centers=True)
    b.output(y)
    data = np.array([0, 100], np.int8).reshape(1, 1, 1, 2, 1)
    out = assert_exact(b.build(), inputs=[data])[0].reshape(-1)
    assert out.tolist() == [0, 25, 75, 100]


def _bilinear(align, half, size=(4, 4), const_size=True):
    b = ModelBuilder()
    x = b.input("x", (1, 2, 2, 1), scale=0.1, zero_point=0)
    s = b.const("size", np.array(size, np.int32)) if const_size else b.input("size", (2,),
                                                                             "INT32")
    y = b.tensor("y", (1, *size, 1), scale=0.1, zero_point=0)
    b.op("RESIZE_BILINEAR", [x, s], [y], align_corners=align, half_pixel_centers=half)
    b.output(y)
    return b.build()


@pytest.mark.parametrize("model, words", [
    (lambda: _bilinear(True, True), "align_corners and half_pixel_centers"),
    (lambda: _bilinear(False, False, const_size=False), "not constant"),
], ids=["align-and-half", "runtime-size"])
def test_unsupported_specs_raise_before_running(model, words):
    with pytest.raises(UnsupportedModelError) as e:
        Interpreter(model())
    assert words in e.value.message and "op #0" in e.value.message


def test_tflm_rejects_align_and_half_pixel():
    from mcuq.model import load_model
    from mcuq.runners import make_runner

    m = load_model(_bilinear(True, True))
    with pytest.raises(Exception):
        make_runner("tflm", m).run([np.zeros((1, 1, 2, 2, 1), np.int8)])
