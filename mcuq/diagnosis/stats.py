"""Error statistics accumulated over chunks of samples (nothing holds every sample at once).

All in float64. SQNR = 10·log10(Σ signal² / Σ error²) (mcuq.metrics.sqnr_db, accumulated);
RMSE/scale is the ratio TFLite's QuantizationDebugger reports (its rule of thumb: > 0.7 is worth
a look; uniform rounding alone gives 1/√12 ≈ 0.29).
"""
from __future__ import annotations

import math

import numpy as np


def db(power_ratio: float) -> float:
    if power_ratio == 0.0:
        return float("-inf")
    if not math.isfinite(power_ratio):
        return float("inf")
    return 10.0 * math.log10(power_ratio)


class ErrStats:
    """Σ signal², Σ error², max |error|, element count, and the same per channel (last axis)."""

    def __init__(self, channels: int = 0):
        self.n = 0
        self.signal = 0.0
        self.noise = 0.0
        self.max_abs = 0.0
        self.channels = channels
        self.ch_signal = np.zeros(channels)
        self.ch_noise = np.zeros(channels)

    def add(self, ref: np.ndarray, test: np.ndarray) -> None:
        ref = np.asarray(ref, np.float64)
        e = np.asarray(test, np.float64) - ref
        if e.size == 0:
            return
        self.n += e.size
        self.signal += float(np.sum(ref * ref))
        self.noise += float(np.sum(e * e))
        self.max_abs = max(self.max_abs, float(np.max(np.abs(e))))
        if self.channels:
            c = self.channels
            self.ch_signal += np.sum((ref * ref).reshape(-1, c), axis=0)
            self.ch_noise += np.sum((e * e).reshape(-1, c), axis=0)

    @property
    def sqnr_db(self) -> float:
        if self.noise == 0.0:
            return float("inf")
        return db(self.signal / self.noise)

    @property
    def rmse(self) -> float:
        return math.sqrt(self.noise / self.n) if self.n else float("nan")

    def channel_sqnr_db(self) -> float | None:
        """SQNR with every output channel weighted alike: -10·log10(mean_c noise_c/signal_c)
        (signals below 10% of the median channel's count as 10% of it: nearly dead channels
        do not dominate). A tensor whose SQNR is carried by
        one loud channel while the others drown in noise scores low here."""
        if not self.channels:
            return None
        sig = self.ch_signal
        med = float(np.median(sig))
        floor = 0.1 * med if med > 0 else (float(np.mean(sig)) or 1.0)
        nsr = float(np.mean(self.ch_noise / np.maximum(sig, floor)))
        return float("inf") if nsr == 0.0 else db(1.0 / nsr)


class TensorStats:
    """What one int8 tensor looks like next to its float counterpart, over all samples."""

    def __init__(self, scale: float, zero_point: int, qmin: int, qmax: int, channels: int = 0):
        self.scale, self.zero_point = float(scale), int(zero_point)
        self.lo = (qmin - self.zero_point) * self.scale
        self.hi = (qmax - self.zero_point) * self.scale
        self.total = ErrStats(channels)
        self.float_inputs = ErrStats(channels)  # the int8 op alone, inputs = quantized float
        self.added = ErrStats(channels)  # ... compared with the float op on the same inputs
        self.fmin = float("inf")
        self.fmax = float("-inf")
        self.below = 0
        self.above = 0
        self.count = 0
        self.channels = channels
        self.ch_min = np.full(channels, np.inf)
        self.ch_max = np.full(channels, -np.inf)

    def add_float(self, f: np.ndarray) -> None:
        f = np.asarray(f, np.float64)
        if f.size == 0:
            return
        half = 0.5 * self.scale
        self.fmin = min(self.fmin, float(f.min()))
        self.fmax = max(self.fmax, float(f.max()))
        self.below += int(np.count_nonzero(f < self.lo - half))
        self.above += int(np.count_nonzero(f > self.hi + half))
        self.count += f.size
        if self.channels:
            g = f.reshape(-1, self.channels)
            self.ch_min = np.minimum(self.ch_min, g.min(axis=0))
            self.ch_max = np.maximum(self.ch_max, g.max(axis=0))

    @property
    def saturation(self) -> float:
        return (self.below + self.above) / self.count if self.count else 0.0

    @property
    def range_used(self) -> float:
        """Share of the int8 range that the float values reach (1.0: all of it or more)."""
        width = self.hi - self.lo
        if width <= 0 or self.count == 0:
            return 0.0
        lo, hi = max(self.fmin, self.lo), min(self.fmax, self.hi)
        return max(0.0, min(1.0, (hi - lo) / width))


__all__ = ["ErrStats", "TensorStats", "db"]
