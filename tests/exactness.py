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


def _identical(r: np.ndarray, g: np.ndarray) -> bool:
    """Byte-identical: floats compared by their bits (-0.0 != 0.0, NaN == NaN of the same bits)."""
    return np.ascontiguousarray(r).tobytes() == np.ascontiguousarray(g).tobytes()


def assert_exact(model_bytes: bytes, batch: int = 4, seed: int = 0,
                 runners=("tflm", "tflite"), inputs=None) -> list[np.ndarray]:
    """Every runner's outputs must equal, to the byte, the reference run in that runner's own
    semantics profile (runner.profile: tflm for TFLite Micro, litert for LiteRT's reference
    kernels, ...). Returns the tflm profile's outputs (the default judge)."""
    model = load_model(model_bytes)
    inputs = inputs if inputs is not None else random_inputs(model, batch, seed)
    refs: dict[str, list[np.ndarray]] = {}

    def reference(profile: str) -> list[np.ndarray]:
        if profile not in refs:
            refs[profile] = make_runner("reference", model, profile=profile).run(inputs).outputs
        return refs[profile]

    for name in runners:
        runner = make_runner(name, model)
        got = runner.run(inputs).outputs
        for k, (r, g) in enumerate(zip(reference(runner.profile), got)):
            what = f"{name} output {k} (vs the reference in profile {runner.profile})"
            assert r.shape == g.shape, f"{what}: shape {g.shape} vs ref {r.shape}"
            assert r.dtype == g.dtype, f"{what}: dtype {g.dtype} vs ref {r.dtype}"
            if not _identical(r, g):
                raise AssertionError(describe_mismatch(what, r, g))
    return reference("tflm")
