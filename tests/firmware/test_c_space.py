"""SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND, DEPTH_TO_SPACE, SPACE_TO_DEPTH in the C target ==
reference (host ASan+UBSan and Cortex-M4 under QEMU, one build each)."""
from mcuq.testing.cbatch import run_batch
from tests.exactness import EXAMPLES
from tests.firmware.cases import collect_cases
from tests.reference.test_space import (batch_to_space_models, depth_space_models,
                                        space_to_batch_models)

STRATEGIES = (space_to_batch_models(), batch_to_space_models(), depth_space_models())


def _check(target: str, examples: int) -> None:
    cases = [c for s in STRATEGIES for c in collect_cases(s, examples)]
    failures = run_batch(cases, target)
    assert not failures, f"{len(failures)} of {len(cases)} differ:\n" + "\n".join(failures[:10])


def test_space_c_host(host_cc):
    _check("host", EXAMPLES)


def test_space_c_cortex_m4(cortex_m4):
    _check("cortex-m4", max(EXAMPLES // 4, 4))
