"""SHAPE, PACK, UNPACK, SPLIT, SPLIT_V, SLICE, GATHER (int8 and the int32 shape arithmetic):
reference == TFLite Micro == TFLite (reference kernels) to the byte on hypothesis-drawn
models; what TFLite Micro refuses raises UnsupportedModelError before running."""
import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from mcuq.errors import InputError, UnsupportedModelError
from mcuq.reference import Interpreter
from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES, assert_exact
from tests.reference.strategies10 import int8_array, quant, shape


DTYPES = st.sampled_from(["INT8", "INT8", "INT16", "INT32"])


# ---- strategies (shared with tests/firmware/test_c_select.py) --------------------------------


@st.composite
def shape_models(draw):
    """SHAPE of an int8 input, then a CONCATENATION with the input's int32 data path (the
    dynamic-batch export pattern ends in int32 shape tensors)."""
    rank = draw(st.integers(1, 5))
    shp = draw(shape(rank))
    q = draw(quant())
    b = ModelBuilder()
    x = b.input("x", shp, scale=q[0], zero_point=q[1])
    s = b.tensor("s", (rank,), "INT32")
    b.op("SHAPE", [x], [s], out_type=2)
    b.output(s)
    if draw(st.booleans()):  # also pass the int8 data through, as an output
        y = b.tensor("y", shp, scale=q[0], zero_point=q[1])
        b.op("RESHAPE", [x, b.const("ns", np.array(shp, np.int32))], [y], new_shape=list(shp))
        b.output(y)
    return b.build()


@st.composite
def pack_models(draw):
    dtype = draw(DTYPES)
    rank = draw(st.integers(0, 4))
    shp = draw(shape(rank, 1, 4))
    n = draw(st.integers(1, 4))
    axis = draw(st.integers(-(rank + 1), rank))
    q = draw(quant())
    b = ModelBuilder()
    kw = {"scale": q[0], "zero_point": q[1]} if dtype == "INT8" else {}
    ins = []
    for k in range(n):
        if draw(st.integers(0, 4)) == 0:
            arr = draw(int8_array(shp)) if dtype == "INT8" else \
                np.asarray(draw(st.lists(st.integers(-1000, 1000), min_size=int(np.prod(shp)),
                                         max_size=int(np.prod(shp))))).reshape(shp).astype(
                    {"INT16": np.int16, "INT32": np.int32}[dtype])
            ins.append(b.const(f"c{k}", arr, **kw))
        else:
            ins.append(b.input(f"x{k}", shp, dtype, **kw))
    assume(any(i in b.inputs for i in ins))
    pos = axis + rank + 1 if axis < 0 else axis
    out = shp[:pos] + (n,) + shp[pos:]
    y = b.tensor("y", out, dtype, **kw)
    b.op("PACK", ins, [y], values_count=n, axis=axis)
    b.output(y)
    return b.build()


@st.composite
def unpack_models(draw):
    dtype = draw(DTYPES)
    rank = draw(st.integers(1, 5))
    shp = draw(shape(rank, 1, 4))
    axis = draw(st.integers(-rank, rank - 1))
    pos = axis % rank
    q = draw(quant())
    kw = {"scale": q[0], "zero_point": q[1]} if dtype == "INT8" else {}
    b = ModelBuilder()
    x = b.input("x", shp, dtype, **kw)
    out = shp[:pos] + shp[pos + 1:]
    ys = [b.tensor(f"y{k}", out, dtype, **kw) for k in range(shp[pos])]
    b.op("UNPACK", [x], ys, num=shp[pos], axis=axis)
    for y in ys:
        b.output(y)
    return b.build()


@st.composite
def split_models(draw):
    dtype = draw(DTYPES)
    rank = draw(st.integers(1, 5))
    shp = list(draw(shape(rank, 1, 4)))
    axis = draw(st.integers(-rank, rank - 1))
    pos = axis % rank
    kind = draw(st.sampled_from(["SPLIT", "SPLIT_V"]))
    if kind == "SPLIT":
        n = draw(st.integers(1, 4))
        shp[pos] *= n
        sizes = [shp[pos] // n] * n
    else:
        sizes = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
        shp[pos] = sum(sizes)
    q = draw(quant())
    kw = {"scale": q[0], "zero_point": q[1]} if dtype == "INT8" else {}
    b = ModelBuilder()
    x = b.input("x", shp, dtype, **kw)
    ys = []
    for k, s in enumerate(sizes):
        o = list(shp)
        o[pos] = s
        ys.append(b.tensor(f"y{k}", o, dtype, **kw))
    ax = b.const("axis", np.array(axis if draw(st.booleans()) else [axis], np.int32))
    if kind == "SPLIT":
        b.op("SPLIT", [ax, x], ys, num_splits=n)
    else:
        split_sizes = list(sizes)
        if len(sizes) > 1 and draw(st.booleans()):
            split_sizes[draw(st.integers(0, len(sizes) - 1))] = -1
        b.op("SPLIT_V", [x, b.const("sizes", np.array(split_sizes, np.int32)), ax], ys,
             num_splits=len(sizes))
    for y in ys:
        b.output(y)
    return b.build()


@st.composite
def slice_models(draw):
    dtype = draw(DTYPES)
    rank = draw(st.integers(1, 5))
    shp = draw(shape(rank, 1, 6))
    begin = [draw(st.integers(0, d - 1)) for d in shp]
    size = [draw(st.one_of(st.just(-1), st.integers(1, d - bg))) for d, bg in zip(shp, begin)]
    out = [d - bg if s == -1 else s for d, bg, s in zip(shp, begin, size)]
    itype = draw(st.sampled_from([np.int32, np.int64]))
    q = draw(quant())
    kw = {"scale": q[0], "zero_point": q[1]} if dtype == "INT8" else {}
    b = ModelBuilder()
    x = b.input("x", shp, dtype, **kw)
    y = b.tensor("y", out, dtype, **kw)
    b.op("SLICE", [x, b.const("begin", np.array(begin, itype)),
                   b.const("size", np.array(size, itype))], [y])
    b.output(y)
    return b.build()


@st.composite
def gather_models(draw, runtime_indices=None):
    rank = draw(st.integers(1, 4))
    shp = draw(shape(rank, 1, 5))
    axis = draw(st.integers(-rank, rank - 1))
    pos = axis % rank
    crank = draw(st.integers(0, 3))
    bd = draw(st.integers(0, min(pos, crank, rank - 1)))
    cshape = tuple(shp[:bd]) + draw(shape(crank - bd, 1, 4))
    runtime = draw(st.booleans()) if runtime_indices is None else runtime_indices
    q = draw(quant())
    b = ModelBuilder()
    x = b.input("x", shp, scale=q[0], zero_point=q[1])
    if runtime:
        idx = b.input("idx", cshape, "INT32")
    else:
        vals = draw(st.lists(st.integers(0, shp[pos] - 1), min_size=int(np.prod(cshape)),
                             max_size=int(np.prod(cshape))))
        idx = b.const("idx", np.array(vals, np.int32).reshape(cshape))
    out = tuple(shp[:pos]) + cshape[bd:] + tuple(shp[pos + 1:])
    y = b.tensor("y", out, scale=q[0], zero_point=q[1])
    b.op("GATHER", [x, idx], [y], axis=axis, batch_dims=bd)
    b.output(y)
    return b.build()


def gather_inputs(model_bytes, batch, seed):
    """Random int8 params and in-range int32 positions for a GATHER model."""
    from mcuq.model import load_model
    from mcuq.vectors import random_inputs

    m = load_model(model_bytes)
    xs = random_inputs(m, batch, seed)
    if len(xs) == 2:
        op = m.operators[0]
        x = m.tensors[op.inputs[0]]
        axis = op.options.get("axis", 0)
        size = x.shape[axis % len(x.shape)]
        rng = np.random.default_rng(seed)
        xs[1] = rng.integers(0, size, xs[1].shape).astype(np.int32)
    return xs


# ---- exactness -------------------------------------------------------------------------------


@settings(max_examples=EXAMPLES, deadline=None)
@given(shape_models(), st.integers(0, 1000))
def test_shape(model, seed):
    assert_exact(model, batch=2, seed=seed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(pack_models(), st.integers(0, 1000))
def test_pack(model, seed):
    assert_exact(model, batch=2, seed=seed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(unpack_models(), st.integers(0, 1000))
def test_unpack(model, seed):
    assert_exact(model, batch=2, seed=seed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(split_models(), st.integers(0, 1000))
def test_split_and_split_v(model, seed):
    assert_exact(model, batch=2, seed=seed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(slice_models(), st.integers(0, 1000))
def test_slice(model, seed):
    assert_exact(model, batch=2, seed=seed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(gather_models(), st.integers(0, 1000))
def test_gather(model, seed):
    assert_exact(model, inputs=gather_inputs(model, 2, seed))


def test_dynamic_batch_shape_arithmetic():
    """The int32 path of a Keras Flatten exported with a dynamic batch: SHAPE ->
    STRIDED_SLICE (shrink) -> PACK -> RESHAPE with a computed shape tensor."""
    b = ModelBuilder()
    x = b.input("x", (1, 3, 4, 2), scale=0.1, zero_point=-5)
    s = b.tensor("s", (4,), "INT32")
    b.op("SHAPE", [x], [s], out_type=2)
    n = b.tensor("n", (), "INT32")
    idx = [b.const(k, np.array(v, np.int32)) for k, v in
           (("begin", [0]), ("end", [1]), ("strides", [1]))]
    b.op("STRIDED_SLICE", [s, *idx], [n], shrink_axis_mask=1)
    packed = b.tensor("packed", (2,), "INT32")
    b.op("PACK", [n, b.const("minus1", np.array(24, np.int32))], [packed], values_count=2,
         axis=0)
    y = b.tensor("y", (1, 24), scale=0.1, zero_point=-5)
    b.op("RESHAPE", [x, packed], [y])
    b.output(y)
    b.output(packed)
    out = assert_exact(b.build(), batch=3, seed=4)
    assert out[1].tolist() == [[1, 24]] * 3


# ---- rejected specs --------------------------------------------------------------------------


def _gather(idx_dtype="INT32", axis=0, batch_dims=0, const_idx=None):
    b = ModelBuilder()
    x = b.input("x", (3, 4), scale=0.1, zero_point=0)
    if const_idx is not None:
        idx = b.const("idx", np.asarray(const_idx, np.int32))
    else:
        idx = b.input("idx", (2,), idx_dtype)
    out = (2, 4) if axis == 0 else (3, 2)
    y = b.tensor("y", out, scale=0.1, zero_point=0)
    b.op("GATHER", [x, idx], [y], axis=axis, batch_dims=batch_dims)
    b.output(y)
    return b.build()


def _argless(op, **kw):
    b = ModelBuilder()
    x = b.input("x", (2, 4), scale=0.1, zero_point=0)
    if op == "SHAPE64":
        s = b.tensor("s", (2,), "INT64")
        b.op("SHAPE", [x], [s], out_type=2)
        b.output(s)
    elif op == "SPLIT-input-axis":
        ax = b.input("axis", (1,), "INT32")
        ys = [b.tensor(f"y{k}", (1, 4), scale=0.1, zero_point=0) for k in range(2)]
        b.op("SPLIT", [ax, x], ys, num_splits=2)
        for y in ys:
            b.output(y)
    elif op == "PACK-quant":
        x2 = b.input("x2", (2, 4), scale=0.2, zero_point=0)
        y = b.tensor("y", (2, 2, 4), scale=0.1, zero_point=0)
        b.op("PACK", [x, x2], [y], values_count=2, axis=0)
        b.output(y)
    elif op == "SLICE-begin":
        y = b.tensor("y", (2, 2), scale=0.1, zero_point=0)
        b.op("SLICE", [x, b.const("b", np.array([0, 3], np.int32)),
                       b.const("s", np.array([-1, 2], np.int32))], [y])
        b.output(y)
    return b.build()


@pytest.mark.parametrize("model, words", [
    (lambda: _gather(idx_dtype="INT16"), "are INT16"),
    (lambda: _gather(const_idx=[0, 3]), "outside [0, 3)"),
    (lambda: _gather(axis=1, batch_dims=2), "batch_dims"),
    (lambda: _argless("SHAPE64"), "INT64"),
    (lambda: _argless("SPLIT-input-axis"), "not constant"),
    (lambda: _argless("PACK-quant"), "quantized differently"),
    (lambda: _argless("SLICE-begin"), "size 2 on axis 1"),
], ids=["gather-int16-idx", "gather-const-range", "gather-batch-dims", "shape-int64",
        "split-axis-input", "pack-quant", "slice-range"])
def test_unsupported_specs_raise_before_running(model, words):
    with pytest.raises(UnsupportedModelError) as e:
        Interpreter(model())
    assert words in e.value.message and "op #0" in e.value.message
    assert e.value.hint


@pytest.mark.parametrize("model", [lambda: _gather(idx_dtype="INT16"),
                                   lambda: _argless("SHAPE64")])
def test_tflm_rejects_what_the_reference_rejects(model):
    from mcuq.model import load_model
    from mcuq.runners import make_runner

    m = load_model(model())
    xs = [np.zeros((1, *t.shape), t.dtype) for t in m.input_tensors()]
    with pytest.raises(Exception):
        make_runner("tflm", m).run(xs)


def test_gather_index_out_of_range_at_run_time():
    """TFLite Micro's Eval fails on a position outside the axis; the reference raises a clear
    error naming the op and the indices tensor."""
    from mcuq.model import load_model
    from mcuq.runners import make_runner

    model = _gather()
    x = np.zeros((1, 3, 4), np.int8)
    idx = np.array([[0, 3]], np.int32)
    with pytest.raises(InputError, match="outside"):
        Interpreter(model).run([x, idx])
    with pytest.raises(Exception):
        make_runner("tflm", load_model(model)).run([x, idx])
