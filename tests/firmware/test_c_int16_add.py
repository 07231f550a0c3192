"""The folded int16 ADD/SUB kernel (firmware/kernels/elementwise16.c, fields from
mcuq/codegen/c_ops/int16.py: add16_fold): the larger-scale input as x << 14, the other input and
the output each one SMMLAR and a shift.

- the numpy model of the folded arithmetic == the reference (TFLM's double rounding) for every
  pair of int16 extremes and random pairs, on drawn scales (equal scales included), and
  add16_fold refuses an output shift of 0;
- add16_models (runs of up to 75 elements, odd and even, broadcasts, equal scales, either input
  the larger, every activation): reference == TFLite Micro, and the C == reference on the host
  (ASan/UBSan), on Cortex-M4 (QEMU) and on Cortex-M4 without the assembly (-DMCUQ_NO_ASM) and at
  -O0, the folded path and the generic one (output shift 0) asserted.
"""
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcuq.codegen.c_ops.int16 import _fold_input, add16_fold
from mcuq.reference.ops.elementwise import ElementwiseParams
from mcuq.reference.ops.elementwise16 import add_sub16_values
from mcuq.reference import fixedpoint as fp
from mcuq.testing import strategies16 as S16
from mcuq.testing.cbatch import run_batch
from tests.exactness import EXAMPLES, assert_exact
from tests.firmware.test_c_int16 import collect_cases16


def _params(op: str, s1: float, s2: float, so: float, lo: int, hi: int) -> ElementwiseParams:
    twice = 2.0 * max(s1, s2)
    m1, e1 = fp.quantize_multiplier(s1 / twice)
    m2, e2 = fp.quantize_multiplier(s2 / twice)
    mo, eo = fp.quantize_multiplier(twice / (32768 * so))
    return ElementwiseParams(op=op, shape1=(1,), shape2=(1,), output_shape=(1,), left_shift=15,
                             input1_multiplier=m1, input1_shift=e1, input2_multiplier=m2,
                             input2_shift=e2, output_multiplier=mo, output_shift=eo,
                             act_min=lo, act_max=hi)


def _folded(f: dict, a: np.ndarray, b: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """elementwise16.c's fold16_one in numpy (int64)."""
    xa, xb = (a, b) if not f["a_second"] else (b, a)
    xa, xb = xa.astype(np.int64), xb.astype(np.int64)
    vb = _fold_input(xb << 16, f["m_b"], f["e_b"])
    raw = xa * f["k_a"] + vb
    assert np.abs(raw).max() <= 2**30
    return np.clip(_fold_input(2 * raw, f["m_o"], f["e_o"]), lo, hi)


@settings(max_examples=max(EXAMPLES * 2, 20), deadline=None)
@given(st.sampled_from(["ADD", "SUB"]), st.floats(-5, -2), st.floats(-5, -2), st.booleans(),
       st.floats(-0.2, 1.5), st.sampled_from([(-32768, 32767), (0, 32767), (-300, 300)]),
       st.integers(0, 2**32 - 1))
def test_folded_arithmetic_equals_reference(op, e1, e2, equal, eo, act, seed):
    s1 = float(np.float32(10.0 ** e1))
    s2 = s1 if equal else float(np.float32(10.0 ** e2))
    so = float(np.float32(max(s1, s2) * 10.0 ** eo))
    p = _params(op, s1, s2, so, *act)
    f = add16_fold(p)
    if op == "SUB" and s1 > s2:  # input 1 the larger: x1 << 14 - v_B is not the folded form
        assert f is None
        return
    assert f is not None, p
    ext = np.array([-32768, -32767, -1, 0, 1, 32766, 32767], np.int64)
    rng = np.random.default_rng(seed)
    a = np.concatenate([np.repeat(ext, ext.size), rng.integers(-32768, 32768, 4000)])
    b = np.concatenate([np.tile(ext, ext.size), rng.integers(-32768, 32768, 4000)])
    np.testing.assert_array_equal(_folded(f, a, b, *act), add_sub16_values(p, a, b))


def test_fold_refused_without_a_right_shift():
    s = 2.0 ** -10
    assert add16_fold(_params("ADD", s, s / 3, s * 2.0 ** -13, -32768, 32767)) is None  # eo 0
    f = add16_fold(_params("SUB", s / 3, s, s, -32768, 32767))
    assert f["a_second"] == 1 and f["k_a"] == -16384
    assert add16_fold(_params("SUB", s, s / 3, s, -32768, 32767)) is None


@settings(max_examples=max(EXAMPLES // 2, 6), deadline=None)
@given(S16.cases16(S16.add16_models()))
def test_add16_models_match_tflm(case):
    model, inputs = case
    assert_exact(model, inputs=inputs, runners=("tflm",))


_CASES = {}


def _cases():
    if "c" not in _CASES:
        _CASES["c"] = collect_cases16([S16.add16_models("ADD"), S16.add16_models("SUB")],
                                      max(EXAMPLES, 12))
    return _CASES["c"]


def _check(target: str, flags=()) -> None:
    cases = _cases()
    failures = run_batch(cases, target, extra_cflags=flags)
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(
        failures[:10])
    hits = Counter(p for c in cases for p in set(c.paths))
    assert hits["elementwise16/folded"] >= len(cases) // 2, hits
    assert {"elementwise16/add", "elementwise16/sub", "elementwise16/broadcast"} <= set(hits)


def test_add16_folded_c_host(host_cc):
    _check("host")


@pytest.mark.parametrize("flags", [(), ("-DMCUQ_NO_ASM",), ("-O0",)],
                         ids=["asm", "no-asm", "O0"])
def test_add16_folded_c_cortex_m4(cortex_m4, flags):
    _check("cortex-m4", flags)
