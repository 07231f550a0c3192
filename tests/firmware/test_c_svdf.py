"""SVDF C kernel (firmware/kernels/svdf.c) == reference on hypothesis-drawn one-op SVDF models,
each run as a sequence (the state in its static buffer, carried between invocations): one
host build under ASan + UBSan and one Cortex-M4 build (QEMU)."""
from collections import Counter

from hypothesis import HealthCheck, Phase, given, settings

from mcuq.testing.cbatch import Case, run_batch
from mcuq.testing.svdf import svdf_cases, wrapping_case
from tests.exactness import EXAMPLES


def svdf_c_cases(n: int) -> list[Case]:
    cases: list[Case] = []

    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(svdf_cases(steps=(3, 8)))
    def collect(case):
        cases.append(Case(*case))

    collect()
    return cases + [Case(*wrapping_case())]  # the int32 time sum wraps


def _check(target: str, n: int) -> None:
    cases = svdf_c_cases(n)
    failures = run_batch(cases, target)
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(
        failures[:10])
    hits = Counter(p for c in cases for p in set(c.paths))
    assert {"svdf/state-s16", "svdf/state-s8"} <= set(hits), hits


def test_svdf_c_host_sanitized(host_cc):
    _check("host", max(EXAMPLES // 2, 12))


def test_svdf_c_cortex_m4(cortex_m4):
    _check("cortex-m4", max(EXAMPLES // 4, 6))


def test_svdf_c_single_rounding_host(host_cc):
    """Built with -DMCUQ_SINGLE_ROUNDING=1 against the reference's single-rounding profile."""
    cases = svdf_c_cases(6)
    failures = run_batch(cases, "host", rounding="single")
    assert not failures, "\n".join(failures[:10])
