"""SOFTMAX C kernel == reference on the property-test cases and their extreme inputs
(host ASan+UBSan build, and a smaller batch on Cortex-M4 under QEMU)."""
from mcuq.testing.cbatch import Case, run_batch
from tests.exactness import EXAMPLES
from tests.firmware.cases import collect_cases
from tests.reference.test_softmax import extreme_inputs, softmax_models


def check(target: str, examples: int, extra_cflags=()) -> list[str]:
    cases = [Case(c.model, extreme_inputs(c.model, 6, k))
             for k, c in enumerate(collect_cases(softmax_models(), examples))]
    return run_batch(cases, target, extra_cflags)


def test_softmax_c_host(host_cc):
    failures = check("host", EXAMPLES)
    assert not failures, "\n".join(failures[:10])


def test_softmax_c_cortex_m4(cortex_m4):
    failures = check("cortex-m4", 6)
    assert not failures, "\n".join(failures[:10])


def test_softmax_c_batch_catches_a_gemmlowp_fault(host_cc):
    assert check("host", 4, ("-DMCUQ_TEST_GEMMLOWP_FAULT",))
