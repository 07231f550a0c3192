"""PRELU, SQUARED_DIFFERENCE, RSQRT, L2_NORMALIZATION in the C target == reference (host
ASan+UBSan and Cortex-M4 under QEMU, one build each)."""
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from mcuq.testing.cbatch import Case, run_batch
from tests.exactness import EXAMPLES
from tests.firmware.cases import collect_cases
from tests.reference.test_arith import (l2norm_models, prelu_models, rsqrt_inputs,
                                        rsqrt_models, squared_difference_models)

STRATEGIES = (prelu_models(), squared_difference_models(), l2norm_models())


def rsqrt_cases(examples: int) -> list[Case]:
    cases: list[Case] = []

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(rsqrt_models(), st.integers(0, 2**16))
    def collect(model, seed):
        cases.append(Case(model, rsqrt_inputs(model, 3, seed)))

    collect()
    return cases


def _check(target: str, examples: int) -> None:
    cases = [c for s in STRATEGIES for c in collect_cases(s, examples)] + rsqrt_cases(examples)
    failures = run_batch(cases, target)
    assert not failures, f"{len(failures)} of {len(cases)} differ:\n" + "\n".join(failures[:10])


def test_arith_c_host(host_cc):
    _check("host", EXAMPLES)


def test_arith_c_cortex_m4(cortex_m4):
    _check("cortex-m4", max(EXAMPLES // 4, 4))
