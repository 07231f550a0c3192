"""The C target's fast 16x8 kernels (firmware/kernels/linear16.c: int32 sums where the weights
prove them exact, TFLM's int64 bias and requantization folded into one SMLAL per output):

- the folded table (mcuq/codegen/c_ops/int16.py: rq16_table, its numpy model rq16_apply) ==
  TFLM's MultiplyByQuantizedMultiplier(int64) for every int32 sum, any multiplier, shift from
  -40 to 14 and bias below 2^47, in each of its three forms;
- models exactly at the int32 limit of the sums (strategies16.boundary16_models): at
  sum|w| = 65535 the fast kernels (sums of 2^31 - 32768), at 65536 the 64-bit ones (a sum of
  exactly 2^31, which int32 would wrap), == reference on the host (ASan/UBSan) and Cortex-M4,
  the path asserted;
- the kernels' C beside the assembly on Cortex-M4 (-DMCUQ_NO_ASM, and -O0) on random fast
  cases (odd channels and pixels, padding, stride, dilation, pointwise, all three table forms).
"""
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcuq.codegen.c_ops.int16 import int32_sums, rq16_apply, rq16_table
from mcuq.reference.ops.linear16 import mbqm64
from mcuq.testing import strategies16 as S16
from mcuq.testing.cbatch import Case, run_batch
from tests.exactness import EXAMPLES
from tests.firmware.test_c_int16 import collect_cases16


@settings(max_examples=max(EXAMPLES * 4, 40), deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([-40, -17, -6]), st.booleans())
def test_folded_table_equals_tflm_int64_requantization(seed, lowest_shift, big_bias):
    rng = np.random.default_rng(seed)
    c = 6
    mult = rng.integers(1 << 30, 1 << 31, c)
    mult[0] = 0x7FFFFFFF  # reduced to 0x7FFF (the saturating case)
    mult[1] = 0  # a dead channel
    shift = rng.integers(lowest_shift, 15, c)
    hi = (1 << 47) - 1 if big_bias else 1 << 20
    bias = rng.integers(-hi, hi + 1, c)
    acc = rng.integers(-(1 << 31), 1 << 31, (64, c))
    acc[0], acc[1] = -(1 << 31), (1 << 31) - 1
    table = rq16_table(mult, shift, bias)
    if table is None:  # a wrapped channel next to a post > 0 one: the generic kernels
        total = 15 - shift
        assert total.max() > 32
        return
    rq, wrap = table
    np.testing.assert_array_equal(rq16_apply(acc, rq, wrap), mbqm64(acc + bias, mult, shift))


def test_int32_sums_bound():
    assert int32_sums(np.full((1, 516), -127, np.int8)) and int32_sums(np.zeros((2, 0), np.int8))
    row = np.zeros((2, 517), np.int8)
    row[:, :516], row[:, 516] = 127, 3  # sum|w| = 65535: 32768 * 65535 = 2^31 - 32768
    assert int32_sums(row)
    row[1, 516] = -4  # 65536: -32768 * -65536 = 2^31 leaves int32
    assert not int32_sums(row)


def _boundary_cases() -> list[tuple[str, str, Case]]:
    return [(op, limit, Case(model, inputs))
            for op, limit, model, inputs in S16.boundary16_models()]


FAST = {"FULLY_CONNECTED": "fully_connected16/fast", "CONV_2D": "conv16/fast",
        "DEPTHWISE_CONV_2D": "depthwise16/fast"}
WIDE = {"FULLY_CONNECTED": "fully_connected16/wide", "CONV_2D": "conv16/wide",
        "DEPTHWISE_CONV_2D": "depthwise16/generic"}


def _long_rows_case() -> Case:
    """A FULLY_CONNECTED whose rows (1,030 values, not a multiple of 4) are too long to copy
    into the patch buffer: the generic kernel."""
    from mcuq.testing.builder import ModelBuilder

    rng = np.random.default_rng(7)
    b = ModelBuilder()
    x = b.input("x", (2, 1030), "INT16", scale=2.0 ** -10, zero_point=0)
    w = b.const("w", rng.integers(-127, 128, (3, 1030)).astype(np.int8),
                scale=np.full(3, 2.0 ** -7, np.float32), zero_point=0, axis=0)
    y = b.tensor("y", (2, 3), "INT16", scale=64.0, zero_point=0)
    b.op("FULLY_CONNECTED", [x, w, -1], [y], version=7)
    b.output(y)
    return Case(b.build(), [rng.integers(-32768, 32768, (3, 2, 1030)).astype(np.int16)])


def _check_boundary(target: str) -> None:
    cases = _boundary_cases()
    long_rows = _long_rows_case()
    failures = run_batch([c for _, _, c in cases] + [long_rows], target)
    assert not failures, "\n".join(failures)
    assert "fully_connected16/generic" in long_rows.paths, long_rows.paths
    for op, limit, c in cases:
        if limit == "edge":
            assert FAST[op] in c.paths and "linear16/int64-sums" not in c.paths, (op, c.paths)
        else:
            assert WIDE[op] in c.paths and "linear16/int64-sums" in c.paths, (op, c.paths)


def test_int32_limit_of_the_sums_c_host(host_cc):
    _check_boundary("host")


def test_int32_limit_of_the_sums_c_cortex_m4(cortex_m4):
    _check_boundary("cortex-m4")


def _fast_cases(per_kind: int) -> list[Case]:
    return collect_cases16(
        (S16.fully_connected16_models(), S16.conv16_models(), S16.conv16_models(depthwise=True),
         S16.conv16_models(depthwise=True, multipliers=(3, 4, 8)),
         S16.conv16_models(wide_channels=True), S16.conv16_models(pointwise=True),
         S16.conv16_models(limit="edge") | S16.fully_connected16_models(limit="edge")
         | S16.conv16_models(depthwise=True, limit="edge")),
        per_kind, [c for _, _, c in _boundary_cases()])


@pytest.mark.parametrize("flags", [("-DMCUQ_NO_ASM",), ("-O0",)], ids=["no-asm", "O0"])
def test_fast_kernels_c_fallback_cortex_m4(cortex_m4, flags):
    cases = _fast_cases(max(EXAMPLES // 8, 3))
    failures = run_batch(cases, "cortex-m4", extra_cflags=flags)
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(
        failures[:10])
    hits = Counter(p for c in cases for p in set(c.paths))
    assert {"conv16/fast", "conv16/fast-direct", "depthwise16/fast", "fully_connected16/fast",
            "depthwise16/fast-multiplier", "depthwise16/fast-multiplier4",
            "fully_connected16/fast-direct", "linear16/rq-post", "linear16/rq-wrap"} <= set(hits), hits
