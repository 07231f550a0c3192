"""SHAPE, PACK, UNPACK, SPLIT, SPLIT_V, SLICE, GATHER in the C target == reference on the
property-test models (one host ASan+UBSan build, one Cortex-M4 build under QEMU)."""
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from mcuq.testing.cbatch import Case, run_batch
from tests.exactness import EXAMPLES
from tests.firmware.cases import collect_cases
from tests.reference.test_select import (gather_inputs, gather_models, pack_models,
                                         shape_models, slice_models, split_models,
                                         unpack_models)

STRATEGIES = (shape_models(), pack_models(), unpack_models(), split_models(), slice_models())


def gather_cases(examples: int) -> list[Case]:
    cases: list[Case] = []

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(gather_models(), st.integers(0, 2**16))
    def collect(model, seed):
        cases.append(Case(model, gather_inputs(model, 3, seed)))

    collect()
    return cases


def _all_cases(examples: int) -> list[Case]:
    cases = [c for s in STRATEGIES for c in collect_cases(s, examples)]
    return cases + gather_cases(examples)


def test_select_c_host(host_cc):
    cases = _all_cases(EXAMPLES)
    failures = run_batch(cases, "host")
    assert not failures, f"{len(failures)} of {len(cases)} differ:\n" + "\n".join(failures[:10])


def test_select_c_cortex_m4(cortex_m4):
    cases = _all_cases(max(EXAMPLES // 4, 4))
    failures = run_batch(cases, "cortex-m4")
    assert not failures, f"{len(failures)} of {len(cases)} differ:\n" + "\n".join(failures[:10])
