"""ADD, SUB, MUL, MAXIMUM, MINIMUM: random ranks, broadcast patterns, scales, zero points
(-128/127/0 weighted: mcuq.testing.strategies), activations, constant operands and edge
inputs; reference == TFLM == TFLite to the byte."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mcuq.errors import UnsupportedModelError
from mcuq.model import load_model
from mcuq.reference import Interpreter
from mcuq.reference.ops.elementwise import MAX_RANK
from mcuq.testing import strategies as S
from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES, assert_exact

ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]
MAX_ELEMENTS = 720


def _out_dims(draw, rank: int) -> list[int]:
    dims = [draw(st.integers(1, 6)) for _ in range(rank)]
    while int(np.prod(dims)) > MAX_ELEMENTS:  # keep models (and C batches) small
        k = int(np.argmax(dims))
        dims[k] = max(1, dims[k] // 2)
    return dims


@st.composite
def binary_shapes(draw, max_rank: int = 6):
    """(shape1, shape2, out_shape, const_input): TFLite broadcasting patterns. const_input is
    None, 0 or 1 (that operand is a constant tensor; it alone may be a rank-0 scalar)."""
    pattern = draw(st.sampled_from(["same", "channel", "scalar", "random", "random"]))
    const = draw(st.sampled_from([None, None, 0, 1]))
    rank = draw(st.integers(1, max_rank))
    out = _out_dims(draw, rank)
    full = tuple(out)
    if pattern == "same":
        shapes = [full, full]
    elif pattern == "channel":  # (1,8,8,4) + (1,1,1,4) or (4,)
        ch = tuple([1] * (rank - 1) + [out[-1]]) if draw(st.booleans()) else (out[-1],)
        shapes = [full, ch]
    elif pattern == "scalar":
        small = () if const is not None and draw(st.booleans()) else (1,) * draw(
            st.integers(1, rank))
        shapes = [full, small]
    else:
        ranks = [rank, draw(st.integers(0 if const is not None else 1, rank))]
        shapes = []
        for r in ranks:
            keep = [draw(st.booleans()) for _ in range(r)]
            shapes.append([d if k else 1 for d, k in zip(out[rank - r:], keep)])
        for i in range(rank):  # every output dim > 1 must come from some input
            j = i - (rank - len(shapes[1]))
            if out[i] > 1 and shapes[0][i] != out[i] and not (j >= 0 and shapes[1][j] == out[i]):
                shapes[0][i] = out[i]  # shapes[0] has the full rank
        shapes = [tuple(s) for s in shapes]
    if draw(st.booleans()):
        shapes.reverse()
        if const is not None:
            const = 1 - const
    empty = [i for i, s in enumerate(shapes) if len(s) == 0]
    if empty:  # rank-0 operands are constants (the runners cannot feed a rank-0 input)
        const = empty[0]
    return shapes[0], shapes[1], full, const


def _scale(rng, lo=-3.0, hi=0.0) -> float:
    return float(np.float32(10 ** rng.uniform(lo, hi)))


def build_binary(opcode, s1, s2, so, const, scales, zps, act=None, seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    ins = []
    for k, shape in enumerate((s1, s2)):
        if const == k:
            data = rng.integers(-128, 128, size=shape, dtype=np.int8)
            ins.append(b.const(f"c{k}", data, scale=scales[k], zero_point=zps[k]))
        else:
            ins.append(b.input(f"x{k}", shape, scale=scales[k], zero_point=zps[k]))
    y = b.tensor("y", so, scale=scales[2], zero_point=zps[2])
    opts = {} if act is None else {"fused_activation_function": act}
    b.op(opcode, ins, [y], **opts)
    b.output(y)
    return b.build()


@st.composite
def arith_models(draw, ops=("ADD", "SUB", "MUL")):
    opcode = draw(st.sampled_from(ops))
    s1, s2, so, const = draw(binary_shapes(MAX_RANK[opcode]))
    s_1 = draw(S.scales(-3.0, 0.0))
    # often very different scales between the two inputs
    s_2 = draw(S.scales(-3.0, 0.0)) if draw(st.booleans()) else S.f32(
        s_1 * 10 ** draw(st.floats(-3, 3)))
    s_2 = min(max(s_2, 1e-5), 10.0)
    s_o = draw(S.scales(-3.0, 0.5))
    if opcode == "MUL" and draw(st.integers(0, 3)):  # mostly (q1 * q2) << shift inside int32,
        s_o = max(s_o, s_1 * s_2 / 1000.0)  # as real models have it; else any (it wraps)
    zps = [draw(S.zero_points()) for _ in range(3)]
    act = draw(st.sampled_from(ACTIVATIONS))
    return build_binary(opcode, s1, s2, so, const, (s_1, s_2, s_o), zps, act,
                        seed=draw(st.integers(0, 2**31 - 1)))


@st.composite
def minmax_models(draw):
    opcode = draw(st.sampled_from(["MAXIMUM", "MINIMUM"]))
    s1, s2, so, const = draw(binary_shapes(MAX_RANK[opcode]))
    if draw(st.booleans()):  # what converters emit: one shared quantization
        scales, zps = (draw(S.scales(-3.0, 0.0)),) * 3, (draw(S.zero_points()),) * 3
    else:  # mismatched: TFLM compares raw int8 and rescales nothing
        scales = tuple(draw(S.scales(-3.0, 0.0)) for _ in range(3))
        zps = tuple(draw(S.zero_points()) for _ in range(3))
    return build_binary(opcode, s1, s2, so, const, scales, zps,
                        seed=draw(st.integers(0, 2**31 - 1)))


def elementwise_models():
    """Every op of the family (used by the C tests)."""
    return st.one_of(arith_models(), minmax_models())


@settings(max_examples=EXAMPLES, deadline=None)
@given(S.cases(arith_models(("ADD", "SUB")), batch=2))
def test_add_sub_match_tflm_and_tflite(case):
    model, inputs = case
    assert_exact(model, inputs=inputs)


@settings(max_examples=EXAMPLES, deadline=None)
@given(S.cases(arith_models(("MUL",)), batch=2))
def test_mul_matches_tflm_and_tflite(case):
    model, inputs = case
    assert_exact(model, inputs=inputs)


@settings(max_examples=EXAMPLES, deadline=None)
@given(S.cases(minmax_models(), batch=2))
def test_maximum_minimum_match_tflm_and_tflite(case):
    model, inputs = case
    ref = assert_exact(model, inputs=inputs)[0]
    assert ref.dtype == np.int8


# -- every int8 pair at once: (256, 1) op (1, 256) broadcasts to the full 256 x 256 table ------

ALL_PAIRS = [np.arange(-128, 128, dtype=np.int8).reshape(1, 256, 1),
             np.arange(-128, 128, dtype=np.int8).reshape(1, 1, 256)]


# Scales and zero points where computing SUB's (or ADD's) rescale ratios in float32 instead
# of double changes outputs; found by search. They pin that the tflite-micro build computes
# both in double (sub_common.cc in some TFLM versions uses float).
PINNED = [
    ("SUB", (0.003940609749406576, 0.012285160832107067, 0.003453170880675316), (-27, -40, -49)),
    ("SUB", (0.6531664133071899, 0.04122770205140114, 0.2721211016178131), (-17, 40, -73)),
    ("ADD", (0.011647731065750122, 0.03608240187168121, 0.19757962226867676), (74, 104, 127)),
    ("ADD", (0.6874088644981384, 0.013140792027115822, 0.6616500616073608), (40, -25, 63)),
]


def _float_ratio_variant(params, scales):
    """The same op with the ratios computed in float32 (the alternative TFLM source)."""
    from dataclasses import replace

    from mcuq.reference import fixedpoint as fp

    s1, s2, so = (np.float32(s) for s in scales)
    tm = np.float32(2) * max(s1, s2)
    m = [fp.quantize_multiplier(float(np.float32(v)))
         for v in (s1 / tm, s2 / tm, tm / (np.float32(1 << 20) * so))]
    return replace(params, input1_multiplier=m[0][0], input1_shift=m[0][1],
                   input2_multiplier=m[1][0], input2_shift=m[1][1],
                   output_multiplier=m[2][0], output_shift=m[2][1])


@pytest.mark.parametrize("opcode,scales,zps", PINNED)
def test_add_sub_ratios_are_double_like_tflm(opcode, scales, zps):
    from mcuq.reference.ops.elementwise import run_add_sub

    data = build_binary(opcode, (256, 1), (1, 256), (256, 256), None, scales, zps, "NONE")
    ref = assert_exact(data, inputs=ALL_PAIRS)[0]
    params = Interpreter(load_model(data)).params(0)
    other = run_add_sub(_float_ratio_variant(params, scales), ALL_PAIRS)[0]
    assert not np.array_equal(ref, other)  # the case discriminates the two choices


@pytest.mark.parametrize("opcode", ["ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM"])
@pytest.mark.parametrize("seed", [1, 2])
def test_every_int8_pair(opcode, seed):
    rng = np.random.default_rng(seed)
    scales = (_scale(rng), _scale(rng, -4, 1), _scale(rng, -2, 0.5))
    zps = tuple(int(v) for v in rng.integers(-128, 128, 3))
    act = None if opcode in ("MAXIMUM", "MINIMUM") else ACTIVATIONS[seed % 4]
    data = build_binary(opcode, (256, 1), (1, 256), (256, 256), None, scales, zps, act)
    ref = assert_exact(data, inputs=ALL_PAIRS)[0]
    assert len(np.unique(ref)) > 1


def test_maximum_minimum_ignore_quantization():
    """TFLM (and TFLite) compare raw int8 values, even when the scales differ."""
    for opcode, fn in (("MAXIMUM", np.maximum), ("MINIMUM", np.minimum)):
        data = build_binary(opcode, (256, 1), (1, 256), (256, 256), None,
                            (0.01, 0.5, 0.1), (5, -20, 3))
        ref = assert_exact(data, inputs=ALL_PAIRS)[0]
        assert np.array_equal(ref, fn(ALL_PAIRS[0], ALL_PAIRS[1]))


def test_mul_multiplier_above_one_and_const_channel_operand():
    # s1 * s2 / s_out = 3.2: a positive shift in MultiplyByQuantizedMultiplier.
    data = build_binary("MUL", (1, 8, 8, 4), (1, 1, 1, 4), (1, 8, 8, 4), 1,
                        (0.4, 0.08, 0.01), (-3, 9, 4), "RELU")
    assert Interpreter(load_model(data)).params(0).output_shift > 0
    assert_exact(data, batch=3)


# -- what is refused, and why --------------------------------------------------------------

def _refused(data, match):
    with pytest.raises(UnsupportedModelError, match=match):
        Interpreter(load_model(data))


def test_rank_above_limit_is_refused():
    # The tflite-micro package gives wrong bytes for rank-8 ADD/SUB/MUL/MAXIMUM/MINIMUM
    # (measured); rank 7 already overruns TFLite Micro's 6-dimension RuntimeShape: both refused.
    for shape in ((2, 1, 2, 1, 2, 1, 2, 1), (2, 1, 2, 1, 2, 1, 2)):
        for opcode in MAX_RANK:
            data = build_binary(opcode, shape, (2,), shape[:-1] + (2,), None, (0.1, 0.1, 0.1),
                                (0, 0, 0))
            _refused(data, f"rank {len(shape)}")


def test_output_scale_too_small_for_add_is_refused():
    # 2 * max_in / (2^20 * s_out) >= 1: TFLM's QuantizeMultiplierSmallerThanOneExp aborts.
    data = build_binary("ADD", (4,), (4,), (4,), None, (1.0, 1.0, 1e-6), (0, 0, 0), "NONE")
    _refused(data, "outside")


def test_non_int8_is_refused():
    """(int16 ADD has its own kernel since issue 11: mcuq/reference/ops/elementwise16.py.)"""
    b = ModelBuilder()
    x = b.input("x", (4,), dtype="INT32", scale=0.1, zero_point=0)
    z = b.input("z", (4,), dtype="INT32", scale=0.1, zero_point=0)
    y = b.tensor("y", (4,), dtype="INT32", scale=0.1, zero_point=0)
    b.op("ADD", [x, z], [y], fused_activation_function="NONE")
    b.output(y)
    _refused(b.build(), "INT32")
