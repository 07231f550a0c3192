"""Weight sharing: k-means of each kernel to K shared values, per layer or per output channel.

    tied = cluster_model(model, k=16, per_channel=False, sparsity=0.0)   # weights set in place
    # fine-tuning (distill.py) moves tied[i].centroids and writes centroids[labels] back

Kernels of Conv1D/2D, Dense, DepthwiseConv1D/2D and SeparableConv1D/2D (both kernels) are
clustered; biases and BatchNormalization stay float (the converter folds BatchNorm into the
kernel by multiplying each output channel by one constant, which keeps <= K values per channel).
1-D k-means (Lloyd) with linear initialisation: K centroids evenly spaced between the smallest
and the largest weight, which keeps the large weights that random or density-based starts
lose. A row (the layer, or one output channel) with at most K distinct values keeps them
exactly. With `sparsity` s, the s fraction of smallest-magnitude weights of each row are set to
exactly 0 first and assigned to a centroid pinned at 0 that never moves; the other K - 1
centroids cluster the rest. Vectorized over rows: one searchsorted per iteration for all rows.

Output channels are the last kernel axis (Conv, Dense, the pointwise kernel) or the last two
(depthwise: input channel x multiplier, TFLite's channel c * multiplier + m).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..packing import distinct_per_row

CLUSTERED = {
    "Conv1D": ("kernel",), "Conv2D": ("kernel",), "Dense": ("kernel",),
    "DepthwiseConv1D": ("kernel",), "DepthwiseConv2D": ("kernel",),
    "SeparableConv1D": ("depthwise_kernel", "pointwise_kernel"),
    "SeparableConv2D": ("depthwise_kernel", "pointwise_kernel"),
}
DEPTHWISE_WEIGHTS = {("DepthwiseConv1D", "kernel"), ("DepthwiseConv2D", "kernel"),
                     ("SeparableConv1D", "depthwise_kernel"),
                     ("SeparableConv2D", "depthwise_kernel")}
MAX_ITERATIONS = 60
MAX_K = 256


@dataclass
class ClusteredWeight:
    """One kernel tied to a centroid table: value = centroids.flat[labels]."""

    layer: str
    weight: str  # "kernel", "depthwise_kernel", "pointwise_kernel"
    shape: tuple
    k: int
    per_channel: bool
    labels: np.ndarray = field(repr=False)  # int32, kernel shape, index into centroids.ravel()
    centroids: np.ndarray = field(repr=False)  # float32 (rows, k)
    trainable: np.ndarray = field(repr=False)  # float32 (rows, k): 0 for pinned centroids
    sparsity: float = 0.0  # fraction of exact zeros
    variable: object = field(default=None, repr=False)  # the keras.Variable of the kernel

    def values(self) -> np.ndarray:
        return self.centroids.reshape(-1)[self.labels].astype(np.float32)


def check_k(k: int) -> None:
    if int(k) != k or k < 2 or k > MAX_K:
        raise InputError(f"--cluster {k}: K must be an integer from 2 to {MAX_K}",
                         "give the number of shared values per layer/channel, e.g. 16 "
                         "(4-bit indices) or 4 (2-bit)")


def check_sparsity(s: float, k: int | None) -> None:
    if not (0.0 <= s < 1.0) or s != s:
        raise InputError(f"--sparsity {s} is outside [0, 1)",
                         "give the fraction of weights set to zero, e.g. 0.8")
    if s > 0 and k is None:
        raise InputError("--sparsity needs --cluster",
                         "it pins one of the K shared values at 0: pass --cluster K too")
    if s > 0 and k is not None and k < 3:
        raise InputError(f"--sparsity with --cluster {k}: one of the K values is the pinned 0, "
                         "which leaves a single value for the rest",
                         "use --cluster 3 or more with --sparsity")


def channel_rows(cls: str, weight: str, w: np.ndarray) -> np.ndarray:
    """(output channels, values per channel) view of a kernel (a copy)."""
    if (cls, weight) in DEPTHWISE_WEIGHTS:
        return w.reshape(-1, w.shape[-2] * w.shape[-1]).T.copy()
    return w.reshape(-1, w.shape[-1]).T.copy()


def from_channel_rows(cls: str, weight: str, rows: np.ndarray, shape) -> np.ndarray:
    return rows.T.reshape(shape)


def kmeans_rows(v: np.ndarray, k: int, valid: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """1-D k-means of each row of v (R, n) with linearly spaced initial centroids.
    Returns (centroids (R, k) float64 ascending, labels (R, n) int64). Entries where `valid` is
    False take no part (their label is meaningless)."""
    v = np.asarray(v, np.float64)
    R, n = v.shape
    valid = np.ones_like(v, bool) if valid is None else valid
    big = np.finfo(np.float64).max
    lo = np.where(valid, v, big).min(axis=1)
    hi = np.where(valid, v, -big).max(axis=1)
    empty = ~valid.any(axis=1)
    lo[empty], hi[empty] = 0.0, 0.0
    c = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, k)[None, :]
    # rows are shifted apart so one searchsorted serves them all
    span = float(np.max(hi - lo)) if R else 0.0
    step = 2.0 * (span + 1.0) + 2.0 * float(np.max(np.abs(np.concatenate([lo, hi])))) if R else 1.0
    offset = (np.arange(R, dtype=np.float64) * step)[:, None]
    rows = np.repeat(np.arange(R), n).reshape(R, n)
    w = valid.astype(np.float64).ravel()
    labels = np.zeros((R, n), np.int64)
    for _ in range(MAX_ITERATIONS):
        c = np.sort(c, axis=1)
        mid = (c[:, 1:] + c[:, :-1]) / 2.0 + offset
        found = np.searchsorted(mid.ravel(), (v + offset).ravel(), side="left")
        new = (found - rows.ravel() * (k - 1)).reshape(R, n)
        new = np.clip(new, 0, k - 1)
        flat = (rows * k + new).ravel()
        sums = np.bincount(flat, weights=v.ravel() * w, minlength=R * k).reshape(R, k)
        counts = np.bincount(flat, weights=w, minlength=R * k).reshape(R, k)
        moved = np.where(counts > 0, sums / np.maximum(counts, 1e-300), c)
        done = np.array_equal(new, labels) and np.allclose(moved, c, rtol=0, atol=1e-12)
        labels, c = new, moved
        if done:
            break
    return c, labels


def cluster_array(w: np.ndarray, cls: str, weight: str, k: int, per_channel: bool,
                  sparsity: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels int32 kernel-shaped, centroids float32 (rows, k), trainable (rows, k))."""
    rows2d = channel_rows(cls, weight, w) if per_channel else w.reshape(1, -1).copy()
    R, n = rows2d.shape
    zero = np.zeros((R, n), bool)
    if sparsity > 0:
        nz = int(np.floor(sparsity * n))
        if nz:
            order = np.argsort(np.abs(rows2d), axis=1, kind="stable")[:, :nz]
            np.put_along_axis(zero, order, True, axis=1)
    free_k = k - 1 if sparsity > 0 else k
    centroids, labels = kmeans_rows(rows2d, free_k, ~zero)
    # rows with at most free_k distinct values keep them exactly
    fill = np.where(zero, -np.inf, rows2d).max(axis=1, keepdims=True)  # a valid value per row
    exact = np.flatnonzero(distinct_per_row(np.where(zero, fill, rows2d)) <= free_k)
    for r in exact:
        vals = rows2d[r][~zero[r]]
        uniq = np.unique(vals) if vals.size else np.zeros(1)
        centroids[r] = np.concatenate([uniq, np.repeat(uniq[-1], free_k - uniq.size)])
        labels[r] = np.searchsorted(uniq, np.clip(rows2d[r], uniq[0], uniq[-1]))
        labels[r] = np.minimum(labels[r], uniq.size - 1)
    trainable = np.ones((R, k), np.float32)
    if sparsity > 0:
        centroids = np.concatenate([np.zeros((R, 1)), centroids], axis=1)
        labels = np.where(zero, 0, labels + 1)
        trainable[:, 0] = 0.0
    flat = (np.arange(R)[:, None] * k + labels).astype(np.int32)
    if per_channel:
        labels_w = from_channel_rows(cls, weight, flat, w.shape)
    else:
        labels_w = flat.reshape(w.shape)
    return np.ascontiguousarray(labels_w, np.int32), centroids.astype(np.float32), trainable


def clusterable(model) -> list[tuple[object, str]]:
    """(layer, weight name) of every kernel that gets clustered, in model order."""
    out = []
    for layer in _all_layers(model):
        names = CLUSTERED.get(type(layer).__name__)
        if not names or type(layer).__module__.split(".")[0] != "keras":
            continue
        have = {w.name for w in layer.weights}
        out.extend((layer, n) for n in names if n in have)
    return out


def _all_layers(model):
    for layer in model.layers:
        sub = getattr(layer, "layers", None)
        if sub is not None and layer is not model and hasattr(layer, "inputs"):
            yield from _all_layers(layer)
        else:
            yield layer


def cluster_model(model, k: int, per_channel: bool = False, sparsity: float = 0.0
                  ) -> list[ClusteredWeight]:
    """Cluster every kernel in place (the model's weights become centroid values)."""
    check_k(k)
    check_sparsity(sparsity, k)
    tied = []
    for layer, name in clusterable(model):
        var = next(w for w in layer.weights if w.name == name)
        w = np.asarray(var.numpy(), np.float32)
        labels, centroids, trainable = cluster_array(w, type(layer).__name__, name, k,
                                                     per_channel, sparsity)
        cw = ClusteredWeight(layer=layer.name, weight=name, shape=tuple(w.shape), k=k,
                             per_channel=per_channel, labels=labels, centroids=centroids,
                             trainable=trainable, sparsity=sparsity, variable=var)
        var.assign(cw.values())
        tied.append(cw)
    return tied


def kernel_distinct(layer, name: str) -> np.ndarray:
    """Distinct float values per output channel of a layer's kernel."""
    var = next(w for w in layer.weights if w.name == name)
    return distinct_per_row(channel_rows(type(layer).__name__, name, np.asarray(var.numpy())))
