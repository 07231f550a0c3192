"""Mutants of the zoo models (structured edits and raw byte edits, mcuq.testing.mutate) through
`inspect`, `verify --runners reference,tflm` and `generate --target c` (+ a host build and the
self-test of the project when generate succeeds): every command ends with exit 0, a clean
error (2, 3; 5 for a runner that could not run), never a traceback, a signal, a broken project
or a leftover file.

Click's CliRunner runs the commands in this process (mcuq itself puts TFLite Micro and LiteRT
in child processes, so a signal from them cannot reach the test). The draws are hypothesis's,
derandomized in CI (conftest.py). MCUQ_FUZZ=N runs N mutants (default 120, about 2 minutes on
2 cores); benchmarks/fuzz.py runs 10,000 in child processes, with a second set of mutators.
"""
from __future__ import annotations

import os
from unittest import mock

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings, strategies as st

from mcuq.testing import fuzz
from mcuq.testing.mutate import TEST_SET, mutate

MUTANTS = int(os.environ.get("MCUQ_FUZZ", "120"))
#: The smaller zoo models: the native runs and host builds of their mutants are quick.
MODELS = ("mlp", "cnn", "autoencoder", "two_in_two_out")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def no_cross_toolchain():
    """generate's Cortex-M4 figures become the 'install arm-none-eabi-gcc' note: the fuzz
    measures mcuq, not the cross compiler (benchmarks/fuzz.py hides it from PATH the same way)."""
    with mock.patch("mcuq.footprint.missing_tools", lambda target: ["arm-none-eabi-gcc"]):
        yield


def test_the_unmutated_models_pass_every_command(zoo, workdir, no_cross_toolchain, host_cc):
    """The harness itself: the originals are ok everywhere (so a mutant's outcome is its own)."""
    for name in MODELS[:2]:
        res = fuzz.in_process(zoo[name], workdir)
        assert [o.kind for o in res.outcomes] == ["ok", "ok", "ok"], res.outcomes


def test_mutants_end_cleanly(zoo, workdir, no_cross_toolchain, host_cc):
    seen: dict[str, int] = {}

    @settings(max_examples=MUTANTS, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(MODELS), st.sampled_from(TEST_SET), st.integers(0, 2**31 - 1))
    def check(model, mutator, seed):
        data = mutate(zoo[model], mutator, seed)
        assume(data is not None)
        res = fuzz.in_process(data, workdir)
        for o in res.outcomes:
            seen[o.kind] = seen.get(o.kind, 0) + 1
        bad = [o for o in res.outcomes if o.kind not in ("ok", "refused")]
        assert not bad, (f"mutate(zoo['{model}'], '{mutator}', {seed}): "
                         + "; ".join(f"{o.command} {o.kind} (exit {o.exit_code}): "
                                     f"{o.detail[-1500:]}" for o in bad))

    check()
    # the mutants exercise both paths: refusals and models that run end to end
    assert seen.get("refused", 0) > 0 and seen.get("ok", 0) > 0, seen
    assert not os.listdir(workdir), os.listdir(workdir)
