"""SUM, REDUCE_MAX, ARG_MAX, ARG_MIN in the C target == reference (host ASan+UBSan and
Cortex-M4 under QEMU, one build each)."""
from mcuq.testing.cbatch import run_batch
from tests.exactness import EXAMPLES
from tests.firmware.cases import collect_cases
from tests.reference.test_reductions import arg_models, reduce_models

STRATEGIES = (reduce_models("SUM"), reduce_models("REDUCE_MAX"), arg_models())


def _check(target: str, examples: int) -> None:
    cases = [c for s in STRATEGIES for c in collect_cases(s, examples)]
    failures = run_batch(cases, target)
    assert not failures, f"{len(failures)} of {len(cases)} differ:\n" + "\n".join(failures[:10])


def test_reductions_c_host(host_cc):
    _check("host", EXAMPLES)


def test_reductions_c_cortex_m4(cortex_m4):
    _check("cortex-m4", max(EXAMPLES // 4, 4))
