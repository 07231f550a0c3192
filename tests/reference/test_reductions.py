"""SUM, REDUCE_MAX, ARG_MAX, ARG_MIN (int8): reference (tflm profile) == TFLite Micro and reference
(litert profile) == TFLite's reference kernels, to the byte (LiteRT 2.3's int8 SUM runs its uint8
kernel on the int8 bytes: the litert profile reproduces that, proved below)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mcuq.errors import UnsupportedModelError
from mcuq.reference import Interpreter
from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES, assert_exact
from tests.reference.strategies10 import ZERO_POINTS, int8_array, quant, shape


@st.composite
def reduce_models(draw, op=None):
    op = op or draw(st.sampled_from(["SUM", "REDUCE_MAX"]))
    rank = draw(st.integers(1, 5 if op == "SUM" else 5))
    shp = draw(shape(rank, 1, 6 if rank < 4 else 3))
    max_axes = 2 if op == "SUM" else rank
    picked = draw(st.lists(st.integers(0, rank - 1), min_size=1, max_size=max_axes,
                           unique=True))
    axes = [a - rank if draw(st.booleans()) else a for a in picked]
    if draw(st.booleans()):
        axes.append(axes[0])  # duplicates are ignored
    keep = draw(st.booleans())
    resolved = {a % rank for a in axes}
    out = [1 if i in resolved else d for i, d in enumerate(shp)] if keep else \
        [d for i, d in enumerate(shp) if i not in resolved]
    q_in = draw(quant())
    q_out = q_in if op == "REDUCE_MAX" else draw(quant())
    b = ModelBuilder()
    x = b.input("x", shp, scale=q_in[0], zero_point=q_in[1])
    y = b.tensor("y", out, scale=q_out[0], zero_point=q_out[1])
    b.op(op, [x, b.const("axis", np.array(axes, np.int32))], [y], keep_dims=keep)
    b.output(y)
    return b.build()


@st.composite
def arg_models(draw):
    op = draw(st.sampled_from(["ARG_MAX", "ARG_MIN"]))
    rank = draw(st.integers(1, 4))
    shp = draw(shape(rank, 1, 6))
    axis = draw(st.integers(-rank, rank - 1))
    q = draw(quant())
    b = ModelBuilder()
    if draw(st.integers(0, 3)) == 0:  # a constant input (ties resolved to the first index)
        src = b.const("c", draw(int8_array(shp)), scale=q[0], zero_point=q[1])
        x = b.input("x", shp, scale=q[0], zero_point=q[1])
        s = b.tensor("s", shp, scale=q[0], zero_point=q[1])
        b.op("MAXIMUM", [x, src], [s])
    else:
        x = s = b.input("x", shp, scale=q[0], zero_point=q[1])
    out = [d for i, d in enumerate(shp) if i != axis % rank]
    y = b.tensor("y", out, "INT32")
    ax = np.array(axis if draw(st.booleans()) else [axis], np.int32)
    b.op(op, [s, b.const("axis", ax)], [y], output_type=2)
    b.output(y)
    return b.build()


@settings(max_examples=EXAMPLES, deadline=None)
@given(reduce_models("SUM"), st.integers(0, 1000))
def test_sum_matches_tflm_and_litert(model, seed):
    assert_exact(model, batch=3, seed=seed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(reduce_models("REDUCE_MAX"), st.integers(0, 1000))
def test_reduce_max(model, seed):
    assert_exact(model, batch=3, seed=seed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(arg_models(), st.integers(0, 1000))
def test_arg_max_and_min(model, seed):
    assert_exact(model, batch=3, seed=seed)


@settings(max_examples=max(EXAMPLES // 2, 5), deadline=None)
@given(st.integers(1, 40), ZERO_POINTS, ZERO_POINTS, st.integers(0, 1000))
def test_sum_saturates_and_matches_tflm(n, zp_in, zp_out, seed):
    """Long sums saturate the int8 output: checked against TFLite Micro at extreme zero points."""
    b = ModelBuilder()
    x = b.input("x", (2, n), scale=0.05, zero_point=zp_in)
    y = b.tensor("y", (2,), scale=0.04, zero_point=zp_out)
    b.op("SUM", [x, b.const("axis", np.array([1], np.int32))], [y])
    b.output(y)
    assert_exact(b.build(), batch=3, seed=seed)


def test_tflite_sum_differs_from_tflm():
    """LiteRT's int8 SUM gives other values: its uint8 kernel on the int8 bytes (-100 read as
    156, the result clamped to [0, 255]); the litert profile reproduces it."""
    from mcuq.model import load_model
    from mcuq.runners import make_runner

    b = ModelBuilder()
    x = b.input("x", (1, 4), scale=0.05, zero_point=3)
    y = b.tensor("y", (1,), scale=0.1, zero_point=-5)
    b.op("SUM", [x, b.const("ax", np.array([1], np.int32))], [y])
    b.output(y)
    m = load_model(b.build())
    xs = [np.array([[[10, -20, 30, 40]], [[-100, 5, 7, 9]]], np.int8)]
    ref = make_runner("reference", m).run(xs).outputs[0]
    from mcuq.runners.tflite import KNOWN_DIFFERENCES

    assert np.array_equal(ref, make_runner("tflm", m).run(xs).outputs[0])
    tfl = make_runner("tflite", m).run(xs).outputs[0]
    assert not np.array_equal(ref, tfl)
    litert = make_runner("reference", m, profile="litert").run(xs).outputs[0]
    assert "SUM" in KNOWN_DIFFERENCES and np.array_equal(tfl, litert)


def _model(op, q_out=(0.1, 0), out_type="INT32", axes=(1,), rank=2):
    b = ModelBuilder()
    x = b.input("x", (2, 3, 2)[:rank], scale=0.1, zero_point=0)
    if op.startswith("ARG"):
        y = b.tensor("y", (2,) if rank == 2 else (2, 2), out_type)
        b.op(op, [x, b.const("axis", np.array(list(axes), np.int32))], [y],
             output_type=4 if out_type == "INT64" else 2)
    else:
        resolved = {a % rank for a in axes}
        out = [d for i, d in enumerate((2, 3, 2)[:rank]) if i not in resolved]
        y = b.tensor("y", out, scale=q_out[0], zero_point=q_out[1])
        b.op(op, [x, b.const("axis", np.array(list(axes), np.int32))], [y])
    b.output(y)
    return b.build()


@pytest.mark.parametrize("model, words", [
    (lambda: _model("REDUCE_MAX", q_out=(0.2, 0)), "differ from the output"),
    (lambda: _model("ARG_MAX", out_type="INT64"), "INT64"),
    (lambda: _model("SUM", axes=(0, 1, 2), rank=3), "SUM over 3 axes"),
], ids=["max-quant", "argmax-int64", "sum-3-axes"])
def test_unsupported_specs_raise_before_running(model, words):
    with pytest.raises(UnsupportedModelError) as e:
        Interpreter(model())
    assert words in e.value.message and "op #0" in e.value.message


@pytest.mark.parametrize("model", [lambda: _model("REDUCE_MAX", q_out=(0.2, 0)),
                                   lambda: _model("ARG_MAX", out_type="INT64")],
                         ids=["max-quant", "argmax-int64"])
def test_tflm_rejects_what_the_reference_rejects(model):
    from mcuq.model import load_model
    from mcuq.runners import make_runner

    m = load_model(model())
    with pytest.raises(Exception):
        make_runner("tflm", m).run([np.zeros((1, *m.input_tensors()[0].shape), np.int8)])
