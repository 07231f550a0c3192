"""Hypothesis strategies for packed (look-up-table) weights: any one-op model of
mcuq.testing.strategies (or another model strategy) with its weight operand snapped to at most
2^k distinct values per output channel (or per tensor), to be packed with k-bit indices
(mcuq.packing.plan_packing, firmware/kernels/packed.c).

The levels of a channel are drawn from its own values, with its extremes always kept (so
-128/127 weights and the accumulators that wrap on them survive), and the drawn shapes keep
their odd sizes: segments whose indices end inside a byte, fewer than 8 indices after the last
group, tables shorter than 2^k (a channel with fewer distinct values).

    cases = packed_cases(S.conv_models("im2col"), bits=3, tables="tensor")
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ..model import load_model
from ..packing import C_PACKED_OPS, weight_axis
from .clustered import replace_constants
from .strategies import inputs_for


def snap_to_levels(values: np.ndarray, levels: int, rng: np.random.Generator) -> np.ndarray:
    """int8 `values` mapped to at most `levels` of their own distinct values (the smallest and
    the largest always among them), each value to the nearest level."""
    v = np.asarray(values, np.int64)
    distinct = np.unique(v)
    if distinct.size <= levels:
        return v.astype(np.int8)
    inner = distinct[1:-1]
    chosen = rng.choice(inner, size=max(levels - 2, 0), replace=False) if levels > 2 else []
    keep = np.unique(np.concatenate([[distinct[0], distinct[-1]], chosen]))[:levels]
    return keep[np.abs(v[..., None] - keep).argmin(axis=-1)].astype(np.int8)


def snap_model(data: bytes, bits: int, per_channel: bool, seed: int) -> bytes:
    """`data` with every packable weight operand holding <= 2^bits distinct values per output
    channel (per_channel) or in the whole tensor."""
    m = load_model(data)
    rng = np.random.default_rng(seed)
    new: dict[int, np.ndarray] = {}
    for op in m.operators:
        if op.opcode not in C_PACKED_OPS or len(op.inputs) < 2 or op.inputs[1] < 0:
            continue
        t = m.tensors[op.inputs[1]]
        axis = weight_axis(m, op)
        if t.data is None or t.type_name != "INT8" or axis is None or t.index in new:
            continue
        if per_channel:
            moved = np.moveaxis(np.asarray(t.data), axis, 0)
            snapped = np.stack([snap_to_levels(c, 1 << bits, rng) for c in moved])
            new[t.index] = np.moveaxis(snapped, 0, axis).astype(np.int8)
        else:
            new[t.index] = snap_to_levels(t.data, 1 << bits, rng)
    return replace_constants(m.data, new) if new else m.data


@st.composite
def packed_cases(draw, models: st.SearchStrategy[bytes], bits: int | None = None,
                 tables: str | None = None, batch: int = 3):
    """(model bytes, inputs, bits, tables) for mcuq.testing.cbatch.Case(model, inputs,
    pack=bits, tables=tables): the weights fit `bits`-bit indices with per-channel
    ("channel") or one ("tensor") table."""
    bits = draw(st.integers(1, 6)) if bits is None else bits
    tables = draw(st.sampled_from(["channel", "tensor"])) if tables is None else tables
    model = snap_model(draw(models), bits, tables == "channel", draw(st.integers(0, 2**32 - 1)))
    return model, draw(inputs_for(model, batch)), bits, tables


__all__ = ["packed_cases", "snap_model", "snap_to_levels"]
