"""Shape / data-movement ops: random ranks, shapes, axes, paddings, slice specs and perms;
reference == TFLM == TFLite (reference kernels) to the byte. Specs TFLite Micro rejects or
ignores must raise UnsupportedModelError before anything runs."""
import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from mcuq.errors import UnsupportedModelError
from mcuq.reference import Interpreter
from mcuq.reference.ops.shape import eval_start_stop, prepare_start_stop
from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES, assert_exact


def _quant(rng):
    return float(np.float32(10 ** rng.uniform(-3, 0))), int(rng.integers(-128, 128))


def _shape(draw, rank, lo=1, hi=5):
    return tuple(draw(st.lists(st.integers(lo, hi), min_size=rank, max_size=rank)))


# ---- strategies (shared with tests/firmware/test_c_shape.py) --------------------------------


@st.composite
def reshape_models(draw):
    """RESHAPE -> SQUEEZE -> EXPAND_DIMS chain (all byte copies in TFLM)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    s, zp = _quant(rng)
    rank = draw(st.integers(1, 4))
    shape = _shape(draw, rank)
    size = int(np.prod(shape))
    # reshape to a random factorisation of `size` with a unit axis somewhere
    new = [size]
    for _ in range(draw(st.integers(0, 2))):
        f = draw(st.sampled_from([d for d in range(1, new[-1] + 1) if new[-1] % d == 0]))
        new[-1] //= f
        new.append(f)
    unit = draw(st.integers(0, len(new)))
    new.insert(unit, 1)
    b = ModelBuilder()
    x = b.input("x", shape, scale=s, zero_point=zp)
    r = b.tensor("r", new, scale=s, zero_point=zp)
    b.op("RESHAPE", [x, b.const("shape", np.array(new, np.int32))], [r], new_shape=new)
    sq_shape = [d for k, d in enumerate(new) if k != unit]
    sq = b.tensor("sq", sq_shape, scale=s, zero_point=zp)
    squeeze_dims = [draw(st.sampled_from([unit, unit - len(new)]))]
    b.op("SQUEEZE", [r], [sq], squeeze_dims=squeeze_dims)
    axis = draw(st.integers(-len(sq_shape) - 1, len(sq_shape)))
    pos = axis if axis >= 0 else axis + len(sq_shape) + 1
    e_shape = sq_shape[:pos] + [1] + sq_shape[pos:]
    e = b.tensor("e", e_shape, scale=s, zero_point=zp)
    b.op("EXPAND_DIMS", [sq, b.const("axis", np.array([axis], np.int32))], [e])
    b.output(e)
    return b.build()


@st.composite
def concat_models(draw, max_rank=4):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    s, zp = _quant(rng)
    rank = draw(st.integers(1, max_rank))
    axis = draw(st.integers(-rank, rank - 1))
    pos = axis % rank
    base = list(_shape(draw, rank, 1, 4))
    n = draw(st.integers(2, 4))
    b = ModelBuilder()
    ins, total = [], 0
    for k in range(n):
        shp = list(base)
        shp[pos] = draw(st.integers(1, 4))
        total += shp[pos]
        if draw(st.integers(0, 4)) == 0:  # a constant operand now and then
            ins.append(b.const(f"c{k}", rng.integers(-128, 128, shp, dtype=np.int8),
                               scale=s, zero_point=zp))
        else:
            ins.append(b.input(f"x{k}", shp, scale=s, zero_point=zp))
    assume(any(i in b.inputs for i in ins))
    out = list(base)
    out[pos] = total
    y = b.tensor("y", out, scale=s, zero_point=zp)
    b.op("CONCATENATION", ins, [y], axis=axis)
    b.output(y)
    return b.build()


@st.composite
def pad_models(draw, max_rank=5, allow_value_input=True):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    s, zp = _quant(rng)
    rank = draw(st.integers(1, max_rank))
    shape = _shape(draw, rank, 1, 4)
    pads = np.array(draw(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)),
                                  min_size=rank, max_size=rank)), np.int32).reshape(rank, 2)
    kind = draw(st.sampled_from(["PAD", "PADV2", "PADV2-input"] if allow_value_input
                                else ["PAD", "PADV2"]))
    b = ModelBuilder()
    x = b.input("x", shape, scale=s, zero_point=zp)
    ins = [x, b.const("paddings", pads)]
    if kind == "PADV2":
        ins.append(b.const("value", np.array([rng.integers(-128, 128)], np.int8),
                           scale=s, zero_point=zp))
    elif kind == "PADV2-input":
        ins.append(b.input("value", (1,), scale=s, zero_point=zp))
    out = [d + int(p.sum()) for d, p in zip(shape, pads)]
    y = b.tensor("y", out, scale=s, zero_point=zp)
    b.op("PAD" if kind == "PAD" else "PADV2", ins, [y])
    b.output(y)
    return b.build()


def slice_output_shape(shape, begin, end, strides, bm, em, sm):
    """Output shape per TFLM's Prepare, or None when the spec selects nothing."""
    out = []
    for a, size in enumerate(shape):
        flags = (bool(bm >> a & 1), bool(em >> a & 1), bool(sm >> a & 1))
        _, _, dim = prepare_start_stop(begin[a], end[a], strides[a], size, *flags)
        start, stop = eval_start_stop(begin[a], end[a], strides[a], size, *flags)
        n = len(range(start, stop, strides[a]))
        if flags[2]:
            if n != 1:
                return None
        else:
            if n == 0:
                return None
            out.append(dim)
    return out


@st.composite
def strided_slice_models(draw, max_rank=4):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    s, zp = _quant(rng)
    rank = draw(st.integers(1, max_rank))
    shape = _shape(draw, rank, 1, 6)
    begin = [draw(st.integers(-d - 2, d + 2)) for d in shape]
    end = [draw(st.integers(-d - 2, d + 2)) for d in shape]
    strides = [draw(st.sampled_from([-3, -2, -1, 1, 1, 2, 3])) for _ in shape]
    bm, em = draw(st.integers(0, 2**rank - 1)), draw(st.integers(0, 2**rank - 1))
    sm = draw(st.integers(0, 2**rank - 1)) if draw(st.booleans()) else 0
    for a in range(rank):  # shrink: a positive stride and an index inside the axis
        if sm >> a & 1:
            strides[a] = 1
            begin[a] = draw(st.integers(-shape[a], shape[a] - 1))
    out = slice_output_shape(shape, begin, end, strides, bm, em, sm)
    assume(out is not None)
    b = ModelBuilder()
    x = b.input("x", shape, scale=s, zero_point=zp)
    idx = [b.const(n, np.array(v, np.int32)) for n, v in
           (("begin", begin), ("end", end), ("strides", strides))]
    y = b.tensor("y", out, scale=s, zero_point=zp)
    b.op("STRIDED_SLICE", [x, *idx], [y], begin_mask=bm, end_mask=em, shrink_axis_mask=sm)
    b.output(y)
    return b.build()


@st.composite
def transpose_models(draw, max_rank=5):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    s, zp = _quant(rng)
    rank = draw(st.integers(1, max_rank))
    shape = _shape(draw, rank, 1, 4)
    perm = draw(st.permutations(list(range(rank))))
    b = ModelBuilder()
    x = b.input("x", shape, scale=s, zero_point=zp)
    y = b.tensor("y", [shape[k] for k in perm], scale=s, zero_point=zp)
    b.op("TRANSPOSE", [x, b.const("perm", np.array(perm, np.int32))], [y])
    b.output(y)
    return b.build()


# ---- exactness -------------------------------------------------------------------------------


@settings(max_examples=EXAMPLES, deadline=None)
@given(reshape_models(), st.integers(0, 1000))
def test_reshape_squeeze_expand_dims(model, seed):
    assert_exact(model, batch=2, seed=seed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(concat_models(), st.integers(0, 1000))
def test_concatenation(model, seed):
    assert_exact(model, batch=2, seed=seed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(pad_models(), st.integers(0, 1000))
def test_pad(model, seed):
    assert_exact(model, batch=2, seed=seed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(strided_slice_models(), st.integers(0, 1000))
def test_strided_slice(model, seed):
    assert_exact(model, batch=2, seed=seed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(transpose_models(), st.integers(0, 1000))
def test_transpose(model, seed):
    assert_exact(model, batch=2, seed=seed)


def test_reference_moves_the_right_bytes():
    """Independent of the runners: a hand-checked slice, pad and transpose."""
    b = ModelBuilder()
    x = b.input("x", (1, 4, 3), scale=0.1, zero_point=-7)
    idx = [b.const(n, np.array(v, np.int32)) for n, v in
           (("begin", [0, -1, 0]), ("end", [1, 0, 3]), ("strides", [1, -2, 2]))]
    y = b.tensor("y", (2, 2), scale=0.1, zero_point=-7)
    b.op("STRIDED_SLICE", [x, *idx], [y], shrink_axis_mask=1, end_mask=2)
    p = b.tensor("p", (3, 3), scale=0.1, zero_point=-7)
    b.op("PAD", [y, b.const("pads", np.array([[0, 1], [1, 0]], np.int32))], [p])
    t = b.tensor("t", (3, 3), scale=0.1, zero_point=-7)
    b.op("TRANSPOSE", [p, b.const("perm", np.array([1, 0], np.int32))], [t])
    b.output(t)
    data = np.arange(12, dtype=np.int8).reshape(1, 1, 4, 3)
    got = Interpreter(b.build()).run([data]).outputs[0][0]
    sl = data[0, 0, ::-2][:, ::2]  # rows 3, 1; cols 0, 2
    want = np.full((3, 3), -7, np.int8)
    want[:2, 1:] = sl
    assert np.array_equal(got, want.T)


# ---- rejected specs --------------------------------------------------------------------------


def _slice_model(**options):
    b = ModelBuilder()
    x = b.input("x", (1, 6), scale=0.1, zero_point=3)
    idx = [b.const(n, np.array(v, np.int32)) for n, v in
           (("begin", [0, 1]), ("end", [1, 4]), ("strides", [1, 1]))]
    y = b.tensor("y", (1, 3), scale=0.1, zero_point=3)
    b.op("STRIDED_SLICE", [x, *idx], [y], **options)
    b.output(y)
    return b.build()


def _concat_model(s2=0.1, zp2=3, act="NONE"):
    b = ModelBuilder()
    x = b.input("x", (1, 2), scale=0.1, zero_point=3)
    x2 = b.input("x2", (1, 3), scale=s2, zero_point=zp2)
    y = b.tensor("y", (1, 5), scale=0.1, zero_point=3)
    b.op("CONCATENATION", [x, x2], [y], axis=1, fused_activation_function=act)
    b.output(y)
    return b.build()


def _pad_model(pads):
    pads = np.asarray(pads)
    b = ModelBuilder()
    x = b.input("x", (1, 3, 2), scale=0.1, zero_point=3)
    out = [d + int(p.sum()) for d, p in zip((1, 3, 2), pads.reshape(-1, 2))]
    y = b.tensor("y", out, scale=0.1, zero_point=3)
    b.op("PAD", [x, b.const("p", pads)], [y])
    b.output(y)
    return b.build()


def _transpose_model(rank):
    b = ModelBuilder()
    x = b.input("x", [2] * rank, scale=0.1, zero_point=0)
    y = b.tensor("y", [2] * rank, scale=0.1, zero_point=0)
    b.op("TRANSPOSE", [x, b.const("perm", np.arange(rank, dtype=np.int32)[::-1].copy())], [y])
    b.output(y)
    return b.build()


@pytest.mark.parametrize("model, words", [
    (lambda: _slice_model(ellipsis_mask=1), "ellipsis_mask"),
    (lambda: _slice_model(new_axis_mask=2), "new_axis_mask"),
    (lambda: _slice_model(offset=True), "offset"),
    (lambda: _concat_model(s2=0.2), "quantized differently"),
    (lambda: _concat_model(zp2=0), "quantized differently"),
    (lambda: _concat_model(act="RELU"), "fused activation RELU"),
    (lambda: _pad_model(np.array([[0, 0], [1, 2], [0, 1]], np.int64)), "INT64"),
    (lambda: _pad_model(np.array([[0, 0], [-1, 2], [0, 1]], np.int32)), "negative"),
    (lambda: _transpose_model(6), "rank 6"),
], ids=["ellipsis", "new-axis", "offset", "concat-scale", "concat-zp", "concat-relu",
        "pad-int64", "pad-negative", "transpose-6d"])
def test_unsupported_specs_raise_before_running(model, words):
    with pytest.raises(UnsupportedModelError) as e:
        Interpreter(model())
    assert words in e.value.message and "op #0" in e.value.message
    assert e.value.hint


@pytest.mark.parametrize("model", [
    lambda: _concat_model(s2=0.2),
    lambda: _concat_model(act="RELU"),
    lambda: _pad_model(np.array([[0, 0], [1, 2], [0, 1]], np.int64))])
def test_tflm_rejects_what_the_reference_rejects(model):
    """The rejections follow TFLite Micro: its Prepare fails on the same models."""
    from mcuq.model import load_model
    from mcuq.runners import make_runner

    m = load_model(model())
    xs = [np.zeros((1, *t.shape), np.int8) for t in m.input_tensors()]
    with pytest.raises(Exception):
        make_runner("tflm", m).run(xs)


@pytest.mark.parametrize("options", [{"offset": True}, {"ellipsis_mask": 1}])
def test_tflm_ignores_offset_and_ellipsis(options):
    """Why mcuq rejects these flags: TFLite Micro runs the slice as if they were not set."""
    from mcuq.model import load_model
    from mcuq.runners import make_runner

    m = load_model(_slice_model(**options))
    x = np.arange(12, dtype=np.int8).reshape(2, 1, 6)
    got = make_runner("tflm", m).run([x]).outputs[0]
    assert np.array_equal(got, x[:, :, 1:4])
