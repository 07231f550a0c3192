"""Test vectors: deterministic inputs for a model and the reference's outputs for them."""
from __future__ import annotations

import numpy as np

from .model import Model


def random_inputs(model: Model, count: int, seed: int = 0) -> list[np.ndarray]:
    """`count` samples per model input, shape (count, *input_shape), in the input's dtype.

    Integer inputs are uniform over the type's range. Float inputs (models converted with
    float I/O) are real values spanning the quantized range of the input's scale/zero point
    of the QUANTIZE op that consumes them (or [-1, 1] when unknown).
    """
    rng = np.random.default_rng(seed)
    consumers = {}
    for op in model.operators:
        for i in op.inputs:
            consumers.setdefault(i, op)
    out = []
    for t in model.input_tensors():
        shape = (count, *t.shape)
        if np.issubdtype(t.dtype, np.integer):
            info = np.iinfo(t.dtype)
            out.append(rng.integers(info.min, info.max + 1, size=shape, dtype=t.dtype))
            continue
        op = consumers.get(t.index)
        q = model.tensors[op.outputs[0]] if op is not None and op.opcode == "QUANTIZE" else None
        if q is not None and q.quant is not None:
            info = np.iinfo(q.dtype)
            lo = (info.min - q.zero_point) * q.scale
            hi = (info.max - q.zero_point) * q.scale
        else:
            lo, hi = -1.0, 1.0
        out.append(rng.uniform(lo, hi, size=shape).astype(t.dtype))
    return out
