"""Mutants of the zoo models (structured edits and raw byte edits, mcuq.testing.mutate) through
`inspect`, `verify --runners reference,tflm` and `generate --target c` (+ a host build and the
self-test of the project when generate succeeds): every command ends with exit 0, a clean
error (2, 3; 5 for a runner that could not run), never a traceback, a signal, a broken project
or a leftover file.

Hypothesis draws the mutants (derandomized in CI: the same ones every run); click's CliRunner
runs the commands in two worker processes, one per core (mcuq itself puts TFLite Micro and
LiteRT in child processes). MCUQ_FUZZ=N runs N mutants (default 160: about 2 minutes on 2
cores) of the zoo models and N // 4 of the stateful and 16-bit models (SVDF keyword spotter,
one-op LSTMs in int8 and 16x8: where benchmarks/fuzz.py --models extra found 9 holes in stop
22); benchmarks/fuzz.py runs 10,000 in child processes, and a second set of mutators.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from mcuq.testing import fuzz
from mcuq.testing.mutate import TEST_SET, mutate

MUTANTS = int(os.environ.get("MCUQ_FUZZ", "160"))
#: The smaller zoo models: the native runs and host builds of their mutants are quick.
MODELS = ("mlp", "cnn", "autoencoder", "two_in_two_out")


def draw_mutants(zoo, n: int, models=MODELS) -> list[tuple[str, str, int, bytes]]:
    """n applicable mutants (model, mutator, seed, bytes) of zoo[m] for m in models, drawn by
    hypothesis."""
    drawn = []

    @settings(max_examples=n * 2, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(models), st.sampled_from(TEST_SET), st.integers(0, 2**31 - 1))
    def draw(model, mutator, seed):
        if len(drawn) < n:
            data = mutate(zoo[model], mutator, seed)
            if data is not None:
                drawn.append((model, mutator, seed, data))

    draw()
    return drawn


def _assert_clean(mutants, results) -> dict[str, int]:
    bad = []
    kinds: dict[str, int] = {}
    for (model, mutator, seed, _), res in zip(mutants, results):
        for o in res.outcomes:
            kinds[o.kind] = kinds.get(o.kind, 0) + 1
            if o.kind not in ("ok", "refused"):
                bad.append(f"mutate({model}, '{mutator}', {seed}): {o.command} {o.kind} "
                           f"(exit {o.exit_code}): {o.detail[-1500:]}")
    assert not bad, f"{len(bad)} of {3 * len(mutants)} runs not clean:\n" + "\n".join(bad[:5])
    return kinds


def test_mutants_end_cleanly(zoo, tmp_path, host_cc):
    originals = [zoo[m] for m in MODELS[:2]]  # the harness itself: these pass everything
    mutants = draw_mutants(zoo, MUTANTS)
    results = fuzz.run_many(originals + [m[3] for m in mutants], tmp_path)
    for res in results[:len(originals)]:
        assert [o.kind for o in res.outcomes] == ["ok", "ok", "ok"], res.outcomes
    kinds = _assert_clean(mutants, results[len(originals):])
    # the mutants exercise both paths: refusals and models that run end to end
    assert kinds.get("refused", 0) > 0 and kinds.get("ok", 0) > 0, kinds
    assert not os.listdir(tmp_path), os.listdir(tmp_path)


def test_stateful_and_int16_mutants_end_cleanly(tmp_path, host_cc):
    """SVDF with its variable state tensors, UNIDIRECTIONAL_SEQUENCE_LSTM's 24 inputs and int16
    cell state, 16x8 tensors: the structures the zoo models do not have."""
    import numpy as np

    from mcuq.testing.lstm import lstm_model, random_spec
    from mcuq.testing.svdf import keyword_model

    extra = {"svdf_keyword": keyword_model(0),
             "lstm_int8": lstm_model(random_spec(np.random.default_rng(1))),
             "lstm_16x8": lstm_model(random_spec(np.random.default_rng(2), int16=True))}
    mutants = draw_mutants(extra, max(1, MUTANTS // 4), tuple(extra))
    results = fuzz.run_many([extra["svdf_keyword"]] + [m[3] for m in mutants], tmp_path)
    assert [o.kind for o in results[0].outcomes] == ["ok", "ok", "ok"], results[0].outcomes
    kinds = _assert_clean(mutants, results[1:])
    assert kinds.get("refused", 0) > 0 and kinds.get("ok", 0) > 0, kinds
    assert not os.listdir(tmp_path), os.listdir(tmp_path)
