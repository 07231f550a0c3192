"""LOGISTIC and TANH C kernels == reference on the property-test cases (small and large input
scales), each case fed every int8 value (host ASan+UBSan build, and a smaller batch on
Cortex-M4 under QEMU)."""
from hypothesis import strategies as st

from mcuq.testing.cbatch import Case, run_batch
from tests.exactness import EXAMPLES
from tests.firmware.cases import collect_cases
from tests.reference.test_sigmoid_tanh import every_value, sigmoid_tanh_models

MODELS = st.one_of(sigmoid_tanh_models(), sigmoid_tanh_models(log_scale=(0.0, 2.5)))


def check(strategy, target: str, examples: int, extra_cflags=()) -> list[str]:
    cases = [Case(c.model, every_value(c.model, k))
             for k, c in enumerate(collect_cases(strategy, examples))]
    return run_batch(cases, target, extra_cflags)


def test_sigmoid_tanh_c_host(host_cc):
    failures = check(MODELS, "host", EXAMPLES)
    assert not failures, "\n".join(failures[:10])


def test_sigmoid_tanh_c_cortex_m4(cortex_m4):
    failures = check(sigmoid_tanh_models(), "cortex-m4", 6)
    assert not failures, "\n".join(failures[:10])


def test_sigmoid_tanh_c_batch_catches_a_gemmlowp_fault(host_cc):
    assert check(sigmoid_tanh_models(), "host", 4, ("-DMCUQ_TEST_GEMMLOWP_FAULT",))
