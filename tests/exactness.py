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


def _lsb_diff(model, k: int, r: np.ndarray, g: np.ndarray) -> float:
    """Largest difference in LSBs of output k: integers exactly; float outputs (DEQUANTIZE)
    in units of the scale they were dequantized with, never truncated to integers."""
    if np.issubdtype(r.dtype, np.integer):
        return float(np.abs(r.astype(np.int64) - g.astype(np.int64)).max(initial=0))
    from mcuq.verification import _lsb

    lsb = _lsb(model, model.output_tensors()[k])
    diff = np.abs(r.astype(np.float64) - g.astype(np.float64))
    if np.isnan(diff).any():
        return float("inf")
    worst = float(diff.max(initial=0.0))
    if lsb <= 0:
        return 0.0 if worst == 0.0 else float("inf")
    return worst / lsb


def fc_requantization_overflows(model, inputs) -> np.ndarray | None:
    """For a one-op FULLY_CONNECTED model: the output elements whose requantization leaves
    int32 in TFLite Micro's arithmetic (the accumulator wraps, acc * 2^shift overflows, or the
    offset addition wraps). LiteRT's single-rounding FULLY_CONNECTED (KNOWN_DIFFERENCES) takes
    another path through int64 there and its values differ by more than an LSB. None for
    other models."""
    from mcuq.reference import Interpreter
    from mcuq.reference import fixedpoint as fp

    if len(model.operators) != 1 or model.operators[0].opcode != "FULLY_CONNECTED":
        return None
    p = Interpreter(model).params(0)
    rows = inputs[0].reshape(-1, p.accum_depth).astype(np.int64) + p.input_offset
    acc = rows @ p.weights.astype(np.int64).T
    if p.bias is not None:
        acc = acc + p.bias.astype(np.int64)
    acc32 = fp.wrap_int32(acc)
    shifted = acc32 << np.maximum(np.asarray(p.shift, np.int64), 0)
    r = fp.multiply_by_quantized_multiplier(acc32, p.multiplier, p.shift) + p.output_offset
    over = (acc != acc32) | (shifted != fp.wrap_int32(shifted)) | (r != fp.wrap_int32(r))
    return over.reshape(inputs[0].shape[0], *model.output_tensors()[0].shape)


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
            if runner.exact and not _identical(r, g):
                raise AssertionError(describe_mismatch(f"{name} output {k}", r, g))
            if not runner.exact and _lsb_diff(model, k, r, g) > 1 + 1e-6:
                over = fc_requantization_overflows(model, inputs)
                keep = ~over if over is not None else np.ones(r.shape, bool)
                if _lsb_diff(model, k, r[keep], g[keep]) > 1 + 1e-6:
                    raise AssertionError(describe_mismatch(f"{name} output {k} (> 1 LSB)", r, g))
    return ref
