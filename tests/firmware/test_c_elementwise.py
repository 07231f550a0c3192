"""ADD/SUB/MUL/MAXIMUM/MINIMUM C kernels == reference on the property-test cases (host
ASan+UBSan build, and a smaller batch on Cortex-M4 under QEMU), plus the broadcast walk the
emitter plans, checked against numpy's broadcasting."""
import numpy as np
from hypothesis import given, settings, strategies as st

from mcuq.codegen.c_ops.elementwise import MAX_RANK, broadcast_walk
from mcuq.testing.cbatch import Case, run_batch
from mcuq.model import load_model
from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES, assert_exact, random_inputs
from tests.firmware.cases import assert_c_matches_reference
from tests.reference.test_elementwise import (ALL_PAIRS, binary_shapes, build_binary,
                                              elementwise_models)


def _walk_indices(extents, st1, st2):
    """The flat input indices the C odometer (ew_run + row loop) visits, in output order."""
    idx1, idx2 = [], []
    for flat in range(int(np.prod(extents))):
        rem, o1, o2 = flat, 0, 0
        for d in range(len(extents) - 1, -1, -1):
            i = rem % extents[d]
            rem //= extents[d]
            o1 += i * st1[d]
            o2 += i * st2[d]
        idx1.append(o1)
        idx2.append(o2)
    return np.array(idx1, np.int64), np.array(idx2, np.int64)


@settings(max_examples=EXAMPLES * 4, deadline=None)
@given(binary_shapes(MAX_RANK))
def test_broadcast_walk_matches_numpy(shapes):
    s1, s2, out, _ = shapes
    extents, st1, st2 = broadcast_walk(s1, s2, out)
    assert 1 <= len(extents) <= MAX_RANK and int(np.prod(extents)) == int(np.prod(out))
    n1, n2 = int(np.prod(s1)), int(np.prod(s2))
    want1 = np.broadcast_to(np.arange(n1).reshape(s1), out).reshape(-1)
    want2 = np.broadcast_to(np.arange(n2).reshape(s2), out).reshape(-1)
    got1, got2 = _walk_indices(extents, st1, st2)
    assert np.array_equal(got1, want1) and np.array_equal(got2, want2)


def test_broadcast_walk_merges_dimensions():
    assert broadcast_walk((1, 8, 8, 4), (1, 8, 8, 4), (1, 8, 8, 4)) == ([256], [1], [1])
    assert broadcast_walk((1, 8, 8, 4), (1, 1, 1, 4), (1, 8, 8, 4)) == ([64, 4], [4, 1], [0, 1])
    assert broadcast_walk((1, 8, 8, 4), (), (1, 8, 8, 4)) == ([256], [1], [0])


def test_elementwise_c_host(host_cc):
    assert assert_c_matches_reference(elementwise_models()) > 0


def test_elementwise_c_every_int8_pair_host(host_cc):
    """Each op over the full 256 x 256 input table, with different scales per input."""
    cases = []
    for k, op in enumerate(["ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM"]):
        act = None if op in ("MAXIMUM", "MINIMUM") else ["RELU", "NONE", "RELU6"][k % 3]
        data = build_binary(op, (256, 1), (1, 256), (256, 256), None,
                            (0.02, 0.0007, 0.05), (-5, 17, 3), act)
        cases.append(Case(data, list(ALL_PAIRS)))
    failures = run_batch(cases, "host")
    assert not failures, "\n".join(failures)


def _chain_model() -> bytes:
    """x -> ADD(x, const channel) -> MUL(t, t) -> MAXIMUM(., x) -> SUB(x, .): arena tensors,
    a tensor used as both operands, a model input read by three ops."""
    b = ModelBuilder()
    x = b.input("x", (1, 6, 6, 4), scale=0.03, zero_point=-4)
    c = b.const("c", np.array([[[[-100, -3, 40, 127]]]], np.int8), scale=0.01, zero_point=2)
    t = b.tensor("t", (1, 6, 6, 4), scale=0.04, zero_point=1)
    u = b.tensor("u", (1, 6, 6, 4), scale=0.02, zero_point=-9)
    v = b.tensor("v", (1, 6, 6, 4), scale=0.03, zero_point=-4)
    y = b.tensor("y", (1, 6, 6, 4), scale=0.05, zero_point=6)
    b.op("ADD", [x, c], [t], fused_activation_function="RELU")
    b.op("MUL", [t, t], [u], fused_activation_function="NONE")
    b.op("MAXIMUM", [u, x], [v])
    b.op("SUB", [x, v], [y], fused_activation_function="RELU_N1_TO_1")
    b.output(y)
    return b.build()


def test_elementwise_c_chain_host(host_cc):
    model = _chain_model()
    assert_exact(model, batch=3, seed=7)  # the reference itself agrees with TFLM and TFLite
    failures = run_batch([Case(model, random_inputs(load_model(model), 3, 7))], "host")
    assert not failures, "\n".join(failures)


def test_elementwise_c_cortex_m4(cortex_m4):
    assert assert_c_matches_reference(elementwise_models(), target="cortex-m4", examples=6) > 0


def _table_cases() -> list[Case]:
    """ADD/SUB of equal shapes large enough for the inputs' tables (the emitter's
    LUT_MIN_ELEMENTS), every int8 value on both inputs, output scales that put the output
    rescaling's shift inside and outside mcuq_requant_rshift's range."""
    from mcuq.codegen.c_ops.elementwise import LUT_MIN_ELEMENTS

    n = max(LUT_MIN_ELEMENTS, 256 * 4)
    rng = np.random.default_rng(5)
    x = np.tile(np.arange(-128, 128, dtype=np.int8), n // 256).reshape(1, 1, n)
    inputs = [x, rng.permutation(x.reshape(-1)).reshape(1, 1, n)]
    cases = []
    for k, (op, s_out) in enumerate([("ADD", 0.05), ("SUB", 0.02), ("ADD", 1e-7),
                                     ("SUB", 5e-8)]):
        data = build_binary(op, (1, n), (1, n), (1, n), None, (0.02, 0.0007 * (k + 1), s_out),
                            (-5, 17, 3 - k), ["RELU", "NONE", "RELU6", "NONE"][k])
        cases.append(Case(data, [a.copy() for a in inputs]))
    return cases


def test_elementwise_c_tables_host_and_cortex_m4(host_cc, cortex_m4):
    from mcuq.reference import Interpreter

    cases = _table_cases()
    shifts = {Interpreter(load_model(c.model)).params(0).output_shift for c in cases}
    assert min(shifts) <= -2 < max(shifts)  # both output rescaling loops
    for target in ("host", "cortex-m4"):
        failures = run_batch(cases, target)
        assert not failures, "\n".join(failures)
        assert all(any(path.endswith("/tables") for path in c.paths) for c in cases)
