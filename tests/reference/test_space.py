"""SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND, DEPTH_TO_SPACE, SPACE_TO_DEPTH: reference == TFLite
Micro == TFLite (reference kernels) to the byte on hypothesis-drawn models.

SPACE_TO_BATCH_ND with padding is compared with TFLite only: the tflite-micro build leaves its
pad value uninitialised (see mcuq/reference/ops/space.py; the test below proves it)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mcuq.errors import UnsupportedModelError
from mcuq.reference import Interpreter
from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES, assert_exact
from tests.reference.strategies10 import quant


@st.composite
def space_to_batch_models(draw, padded=None):
    rank = draw(st.sampled_from([3, 4]))
    spatial = rank - 2
    block = [draw(st.integers(1, 3)) for _ in range(spatial)]
    pad_any = draw(st.booleans()) if padded is None else padded
    pads = [[draw(st.integers(0, 2)), draw(st.integers(0, 2))] if pad_any else [0, 0]
            for _ in range(spatial)]
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    dims = []
    for k in range(spatial):  # padded extent must be a multiple of the block
        total = block[k] * draw(st.integers(1, 3))
        inner = total - sum(pads[k])
        if inner < 1:
            pads[k] = [0, 0]
            inner = total
        dims.append(inner)
    shp = (n, *dims, c)
    out = (n * int(np.prod(block)), *[(d + sum(p)) // bk for d, p, bk in zip(dims, pads, block)],
           c)
    q = draw(quant())
    b = ModelBuilder()
    x = b.input("x", shp, scale=q[0], zero_point=q[1])
    y = b.tensor("y", out, scale=q[0], zero_point=q[1])
    b.op("SPACE_TO_BATCH_ND", [x, b.const("block", np.array(block, np.int32)),
                               b.const("pads", np.array(pads, np.int32))], [y])
    b.output(y)
    return b.build()


@st.composite
def batch_to_space_models(draw):
    rank = draw(st.sampled_from([3, 4]))
    spatial = rank - 2
    block = [draw(st.integers(1, 3)) for _ in range(spatial)]
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    dims = [draw(st.integers(1, 3)) for _ in range(spatial)]
    crops = []
    for d, bk in zip(dims, block):
        full = d * bk
        top = draw(st.integers(0, min(2, full - 1)))
        bottom = draw(st.integers(0, min(2, full - 1 - top)))
        crops.append([top, bottom])
    shp = (n * int(np.prod(block)), *dims, c)
    out = (n, *[d * bk - sum(cr) for d, bk, cr in zip(dims, block, crops)], c)
    q = draw(quant())
    b = ModelBuilder()
    x = b.input("x", shp, scale=q[0], zero_point=q[1])
    y = b.tensor("y", out, scale=q[0], zero_point=q[1])
    b.op("BATCH_TO_SPACE_ND", [x, b.const("block", np.array(block, np.int32)),
                               b.const("crops", np.array(crops, np.int32))], [y])
    b.output(y)
    return b.build()


@st.composite
def depth_space_models(draw):
    bs = draw(st.integers(1, 3))
    n = draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    c = draw(st.integers(1, 3))
    q = draw(quant())
    b = ModelBuilder()
    if draw(st.booleans()):
        x = b.input("x", (n, h, w, c * bs * bs), scale=q[0], zero_point=q[1])
        y = b.tensor("y", (n, h * bs, w * bs, c), scale=q[0], zero_point=q[1])
        b.op("DEPTH_TO_SPACE", [x], [y], block_size=bs)
    else:
        x = b.input("x", (n, h * bs, w * bs, c), scale=q[0], zero_point=q[1])
        y = b.tensor("y", (n, h, w, c * bs * bs), scale=q[0], zero_point=q[1])
        b.op("SPACE_TO_DEPTH", [x], [y], block_size=bs)
    b.output(y)
    return b.build()


@settings(max_examples=EXAMPLES, deadline=None)
@given(space_to_batch_models(padded=False), st.integers(0, 1000))
def test_space_to_batch_unpadded(model, seed):
    assert_exact(model, batch=2, seed=seed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(space_to_batch_models(padded=True), st.integers(0, 1000))
def test_space_to_batch_padded_vs_tflite(model, seed):
    assert_exact(model, batch=2, seed=seed, runners=("tflite",))


@settings(max_examples=EXAMPLES, deadline=None)
@given(batch_to_space_models(), st.integers(0, 1000))
def test_batch_to_space(model, seed):
    assert_exact(model, batch=2, seed=seed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(depth_space_models(), st.integers(0, 1000))
def test_depth_to_space_and_space_to_depth(model, seed):
    assert_exact(model, batch=2, seed=seed)


def test_reference_rearranges_like_tensorflow():
    """Hand-checked: SPACE_TO_BATCH_ND of a 4x4 image with block 2 gathers the four phases
    (0,0), (0,1), (1,0), (1,1) into batches 0..3; DEPTH_TO_SPACE interleaves channels."""
    b = ModelBuilder()
    x = b.input("x", (1, 4, 4, 1), scale=0.1, zero_point=0)
    y = b.tensor("y", (4, 2, 2, 1), scale=0.1, zero_point=0)
    b.op("SPACE_TO_BATCH_ND", [x, b.const("bs", np.array([2, 2], np.int32)),
                               b.const("p", np.zeros((2, 2), np.int32))], [y])
    d = b.tensor("d", (1, 4, 4, 1), scale=0.1, zero_point=0)
    t = b.tensor("t", (1, 2, 2, 4), scale=0.1, zero_point=0)
    b.op("SPACE_TO_DEPTH", [x], [t], block_size=2)
    b.op("DEPTH_TO_SPACE", [t], [d], block_size=2)
    b.output(y)
    b.output(d)
    img = np.arange(16, dtype=np.int8).reshape(1, 1, 4, 4, 1)
    out = Interpreter(b.build()).run([img]).outputs
    assert out[0][0, :, :, :, 0].tolist() == [[[0, 2], [8, 10]], [[1, 3], [9, 11]],
                                             [[4, 6], [12, 14]], [[5, 7], [13, 15]]]
    assert np.array_equal(out[1], img)  # SPACE_TO_DEPTH then DEPTH_TO_SPACE: identity


def test_tflm_space_to_batch_pad_value_is_uninitialized():
    """Why padded SPACE_TO_BATCH_ND is not compared with TFLite Micro: its padded positions do
    not hold the zero point (TFLite and mcuq do); after another interpreter ran in the
    process, they hold stale arena bytes."""
    from mcuq.model import load_model
    from mcuq.runners import make_runner

    b = ModelBuilder()
    x = b.input("x", (1, 3, 3, 1), scale=0.05, zero_point=7)
    y = b.tensor("y", (4, 2, 2, 1), scale=0.05, zero_point=7)
    b.op("SPACE_TO_BATCH_ND", [x, b.const("bs", np.array([2, 2], np.int32)),
                               b.const("pad", np.array([[0, 1], [0, 1]], np.int32))], [y])
    b.output(y)
    m = load_model(b.build())
    data = np.arange(1, 10, dtype=np.int8).reshape(1, 1, 3, 3, 1)
    ref = make_runner("reference", m).run([data]).outputs[0].reshape(-1)
    lite = make_runner("tflite", m).run([data]).outputs[0].reshape(-1)
    micro = make_runner("tflm", m).run([data]).outputs[0].reshape(-1)
    padded = ~np.isin(np.arange(16), [0, 1, 2, 3, 4, 6, 8, 9, 12])
    assert np.array_equal(ref, lite) and (ref[padded] == 7).all()
    assert (micro[padded] != 7).all()  # whatever the arena held, not the zero point
    assert np.array_equal(micro[~padded], ref[~padded])


def _s2b(pads, zp_out=0, block=(2, 2)):
    b = ModelBuilder()
    x = b.input("x", (1, 4, 4, 1), scale=0.1, zero_point=0)
    hp = 4 + sum(pads[0])
    y = b.tensor("y", (4, hp // 2, (4 + sum(pads[1])) // 2, 1), scale=0.1, zero_point=zp_out)
    b.op("SPACE_TO_BATCH_ND", [x, b.const("bs", np.array(block, np.int32)),
                               b.const("p", np.array(pads, np.int32))], [y])
    b.output(y)
    return b.build()


@pytest.mark.parametrize("model, words", [
    (lambda: _s2b([[0, 0], [0, 0]], zp_out=3), "quantized differently"),
    (lambda: _s2b([[0, 1], [0, 0]]), "not multiples"),
    (lambda: _s2b([[-2, 0], [0, 2]]), "negative"),
], ids=["s2b-quant", "s2b-indivisible", "s2b-negative"])
def test_unsupported_specs_raise_before_running(model, words):
    with pytest.raises(UnsupportedModelError) as e:
        Interpreter(model())
    assert words in e.value.message and "op #0" in e.value.message


def test_dynamic_batch_space_to_batch_is_refused_with_a_hint():
    """What TFLiteConverter writes for a dilated Keras conv with a dynamic batch: the stored
    batch of SPACE_TO_BATCH_ND's output is 1, not 4 (TFLite Micro computes garbage on it)."""
    b = ModelBuilder()
    x = b.input("x", (1, 8, 8, 1), scale=0.1, zero_point=0, shape_signature=(-1, 8, 8, 1))
    y = b.tensor("y", (1, 4, 4, 1), scale=0.1, zero_point=0, shape_signature=(-1, 4, 4, 1))
    b.op("SPACE_TO_BATCH_ND", [x, b.const("bs", np.array([2, 2], np.int32)),
                               b.const("p", np.zeros((2, 2), np.int32))], [y])
    b.output(y)
    with pytest.raises(UnsupportedModelError) as e:
        Interpreter(b.build())
    assert "dynamic" in e.value.message and "fixed batch" in e.value.hint
