"""RELU, RELU6, LEAKY_RELU, HARD_SWISH C kernels == reference on the property-test models,
every int8 input value (host ASan+UBSan build, and a smaller batch on Cortex-M4 under QEMU)."""
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from mcuq.testing.cbatch import Case, run_batch
from tests.exactness import EXAMPLES
from tests.reference.test_activations import (all_int8_inputs, hard_swish_models,
                                              leaky_relu_models, relu6_models, relu_models)

ACTIVATION_MODELS = st.one_of(relu_models(), relu6_models(), relu6_models(same_quant=False),
                              leaky_relu_models(), hard_swish_models())


def collect(strategy, inputs_fn, examples: int) -> list[Case]:
    cases: list[Case] = []

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy, st.integers(0, 2**16))
    def gather(model, seed):
        cases.append(Case(model, inputs_fn(model, seed)))

    gather()
    return cases


def check(target: str, examples: int) -> int:
    cases = collect(ACTIVATION_MODELS, all_int8_inputs, examples)
    failures = run_batch(cases, target)
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(failures[:10])
    return len(cases)


def test_activations_c_host(host_cc):
    assert check("host", 2 * EXAMPLES) > 0


def test_activations_c_cortex_m4(cortex_m4):
    assert check("cortex-m4", 6) > 0
