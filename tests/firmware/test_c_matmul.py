"""TRANSPOSE_CONV and BATCH_MATMUL in the C target == reference (host ASan+UBSan and
Cortex-M4 under QEMU, one build each)."""
from mcuq.testing.cbatch import run_batch
from tests.exactness import EXAMPLES
from tests.firmware.cases import collect_cases
from tests.reference.test_batch_matmul import batch_matmul_models
from tests.reference.test_transpose_conv import transpose_conv_models

STRATEGIES = (transpose_conv_models(), batch_matmul_models())


def _check(target: str, examples: int) -> None:
    cases = [c for s in STRATEGIES for c in collect_cases(s, examples)]
    failures = run_batch(cases, target)
    assert not failures, f"{len(failures)} of {len(cases)} differ:\n" + "\n".join(failures[:10])


def test_matmul_c_host(host_cc):
    _check("host", EXAMPLES)


def test_matmul_c_cortex_m4(cortex_m4):
    _check("cortex-m4", max(EXAMPLES // 4, 4))
