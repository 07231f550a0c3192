"""Comparison metrics (DESIGN.md's verification vocabulary).

Two families:
- integer comparison of a runner's output with the reference's, in LSBs of the tensor:
  `compare_exact` -> exact (fraction of identical elements), max_abs_lsb, mismatched_elements;
- float metrics of dequantized int8 outputs against the float model's outputs:
  `sqnr_db`, `cosine`, `rmse`, `mae`, `top1_agreement`, `accuracy`.

Everything takes arrays with a leading sample axis, shape (N, ...). Integer differences are
computed in int64 (never float), so they are exact for any integer dtype.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ExactComparison:
    elements: int
    exact: float  # fraction of elements identical to the reference
    max_abs_lsb: int
    mismatched_elements: int


def lsb_difference(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """other - reference, elementwise, as int64 (integer tensors) or float64 (float tensors)."""
    reference, other = np.asarray(reference), np.asarray(other)
    if reference.shape != other.shape:
        raise ValueError(f"shape {other.shape} vs reference {reference.shape}")
    if np.issubdtype(reference.dtype, np.integer) and np.issubdtype(other.dtype, np.integer):
        return other.astype(np.int64) - reference.astype(np.int64)
    return other.astype(np.float64) - reference.astype(np.float64)


def compare_exact(reference: np.ndarray, other: np.ndarray, lsb: float = 1.0) -> ExactComparison:
    """Elementwise comparison. For float tensors pass `lsb` (the quantization step the values
    were dequantized with) to express max_abs_lsb in LSBs; integer tensors use 1."""
    diff = lsb_difference(reference, other)
    n = int(diff.size)
    bad = int(np.count_nonzero(diff))
    if n == 0 or bad == 0:
        return ExactComparison(n, 1.0, 0, 0)
    biggest = np.abs(diff).max()
    if np.issubdtype(diff.dtype, np.integer):
        max_lsb = int(biggest)
    else:
        max_lsb = int(np.ceil(float(biggest) / lsb - 1e-9)) if lsb > 0 else int(np.ceil(biggest))
    return ExactComparison(n, (n - bad) / n, max_lsb, bad)


def first_differences(reference: np.ndarray, other: np.ndarray, limit: int = 5,
                      sample_ids: np.ndarray | None = None) -> list[dict]:
    """Up to `limit` differing positions: sample (index into the data set), position within
    the tensor, reference value, other value."""
    diff = lsb_difference(reference, other)
    out = []
    for p in np.argwhere(diff != 0)[:limit]:
        s = int(p[0]) if sample_ids is None else int(sample_ids[p[0]])
        out.append({"sample": s, "position": [int(v) for v in p[1:]],
                    "reference": reference[tuple(p)].item(), "runner": other[tuple(p)].item()})
    return out


# -- float metrics ---------------------------------------------------------------------------
def _pair(signal, test) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(signal, np.float64)
    t = np.asarray(test, np.float64)
    if s.shape != t.shape:
        raise ValueError(f"shape {t.shape} vs {s.shape}")
    return s, t


def sqnr_db(signal, test) -> float:
    """Signal-to-quantization-noise ratio in dB: 10·log10(Σ signal² / Σ (test − signal)²).
    `signal` is the float model's output, `test` the dequantized int8 output. +inf when the
    two are identical, -inf when the signal is all zeros but the test is not."""
    s, t = _pair(signal, test)
    noise = float(np.sum((t - s) ** 2))
    power = float(np.sum(s ** 2))
    if noise == 0.0:
        return float("inf")
    if power == 0.0:
        return float("-inf")
    return float(10.0 * np.log10(power / noise))


def cosine(a, b) -> float:
    """Mean over samples of the cosine similarity of the flattened per-sample outputs.
    Two all-zero samples count as 1.0, one all-zero sample as 0.0."""
    x, y = _pair(a, b)
    x = x.reshape(x.shape[0], -1) if x.ndim > 1 else x.reshape(1, -1)
    y = y.reshape(y.shape[0], -1) if y.ndim > 1 else y.reshape(1, -1)
    nx = np.linalg.norm(x, axis=1)
    ny = np.linalg.norm(y, axis=1)
    dot = np.sum(x * y, axis=1)
    both_zero = (nx == 0) & (ny == 0)
    denom = np.where(nx * ny == 0, 1.0, nx * ny)
    c = np.where(both_zero, 1.0, np.where(nx * ny == 0, 0.0, dot / denom))
    return float(np.mean(np.clip(c, -1.0, 1.0))) if c.size else float("nan")


def rmse(a, b) -> float:
    x, y = _pair(a, b)
    return float(np.sqrt(np.mean((x - y) ** 2))) if x.size else float("nan")


def mae(a, b) -> float:
    x, y = _pair(a, b)
    return float(np.mean(np.abs(x - y))) if x.size else float("nan")


def top1(scores) -> np.ndarray:
    """Arg-max class of each sample (scores flattened per sample)."""
    s = np.asarray(scores)
    return np.argmax(s.reshape(s.shape[0], -1), axis=1).astype(np.int64)


def top1_agreement(a, b) -> float:
    """Fraction of samples whose arg-max class is the same in `a` and `b`."""
    ta, tb = top1(a), top1(b)
    if ta.shape != tb.shape:
        raise ValueError(f"{ta.shape[0]} vs {tb.shape[0]} samples")
    return float(np.mean(ta == tb)) if ta.size else float("nan")


def accuracy(scores, labels) -> float:
    """Fraction of samples whose arg-max class equals the integer label."""
    t = top1(scores)
    y = np.asarray(labels).reshape(-1).astype(np.int64)
    if t.shape != y.shape:
        raise ValueError(f"{t.shape[0]} predictions vs {y.shape[0]} labels")
    return float(np.mean(t == y)) if t.size else float("nan")


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """real = (q − zero_point) × scale, in float64 (the quantization spec)."""
    return (np.asarray(q).astype(np.int64) - int(zero_point)).astype(np.float64) * float(scale)


def quantize(x: np.ndarray, scale: float, zero_point: int, dtype=np.int8) -> np.ndarray:
    """Float data to the int type exactly as TFLite / TFLite Micro's QUANTIZE does it:
    x / scale divided in float32, rounded half away from zero (TfLiteRound), plus the zero
    point, clamped to the type's range."""
    from .reference.fixedpoint import affine_quantize  # here: importing metrics stays light

    info = np.iinfo(dtype)
    return affine_quantize(x, scale, zero_point, info.min, info.max).astype(dtype)
