"""Collect a batch of hypothesis-generated one-op models, then check them all through ONE C
build (mcuq.testing.cbatch): the C kernels must give the reference's bytes on every case."""
from __future__ import annotations

from hypothesis import HealthCheck, Phase, given, settings

from mcuq.testing.cbatch import Case, run_batch
from mcuq.testing.strategies import cases as model_cases
from tests.exactness import EXAMPLES


def collect_cases(model_strategy, examples: int = EXAMPLES, batch: int = 3) -> list[Case]:
    """`examples` (model, inputs) pairs; inputs drawn by mcuq.testing.strategies.inputs_for
    (uniform, extremes, all zero point, saturated, sparse)."""
    cases: list[Case] = []

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(model_cases(model_strategy, batch))
    def collect(case):
        cases.append(Case(*case))

    collect()
    return cases


def assert_c_matches_reference(model_strategy, target: str = "host", examples: int = EXAMPLES,
                               extra_cflags: tuple[str, ...] = (),
                               rounding: str = "double") -> int:
    """rounding "single": the kernels built with -DMCUQ_SINGLE_ROUNDING=1 against the
    reference's single-rounding profile."""
    cases = collect_cases(model_strategy, examples)
    failures = run_batch(cases, target, extra_cflags, rounding=rounding)
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(failures[:10])
    return len(cases)
