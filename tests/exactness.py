"""Shared checks: run a model through the reference and the real interpreters and demand
identical bytes. Used by the per-op property tests and the whole-model tests."""
from __future__ import annotations

import os

import numpy as np

from mcuq.model import load_model
from mcuq.runners import make_runner
from mcuq.vectors import random_inputs  # noqa: F401 - the shared test inputs

#: Hypothesis examples per property test. CI default keeps the suite fast; run many more
#: locally with e.g. MCUQ_EXAMPLES=1000 pytest tests/reference
EXAMPLES = int(os.environ.get("MCUQ_EXAMPLES", "25"))


def describe_mismatch(name: str, ref: np.ndarray, got: np.ndarray) -> str:
    if not np.issubdtype(ref.dtype, np.integer):
        bits = f"u{ref.itemsize}"
        bad = np.argwhere(np.ascontiguousarray(ref).view(bits)
                          != np.ascontiguousarray(got).view(bits))
        pos = ", ".join(f"{tuple(int(v) for v in p)}: ref {ref[tuple(p)]!r} vs {got[tuple(p)]!r}"
                        for p in bad[:5])
        return f"{name}: {len(bad)} of {ref.size} elements differ bitwise; e.g. {pos}"
    diff = ref.astype(np.int64) - got.astype(np.int64)
    bad = np.argwhere(diff != 0)
    pos = ", ".join(f"{tuple(int(v) for v in p)}: ref {int(ref[tuple(p)])} vs {int(got[tuple(p)])}"
                    for p in bad[:5])
    return (f"{name}: {len(bad)} of {ref.size} elements differ, max {int(np.abs(diff).max())} "
            f"LSB; e.g. {pos}")


def assert_exact(model_bytes: bytes, batch: int = 4, seed: int = 0,
                 runners=("tflm", "tflite"), inputs=None) -> list[np.ndarray]:
    """Reference outputs must equal every runner's outputs to the byte. A runner that is not
    exact by design (TFLite on an op listed in KNOWN_DIFFERENCES) may differ by 1 LSB."""
    model = load_model(model_bytes)
    inputs = inputs if inputs is not None else random_inputs(model, batch, seed)
    ref = make_runner("reference", model).run(inputs).outputs
    for name in runners:
        runner = make_runner(name, model)
        got = runner.run(inputs).outputs
        for k, (r, g) in enumerate(zip(ref, got)):
            assert r.shape == g.shape, f"{name} output {k}: shape {g.shape} vs ref {r.shape}"
            assert r.dtype == g.dtype, f"{name} output {k}: dtype {g.dtype} vs ref {r.dtype}"
            if runner.exact and not np.array_equal(r, g):
                raise AssertionError(describe_mismatch(f"{name} output {k}", r, g))
            if not runner.exact and np.abs(r.astype(np.int64) - g).max(initial=0) > 1:
                raise AssertionError(describe_mismatch(f"{name} output {k} (> 1 LSB)", r, g))
    return ref
