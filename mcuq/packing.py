"""Distinct values per output channel and the packed size of weights stored as look-up tables.

A weight tensor whose every output channel holds at most K distinct int8 values can be stored
as k-bit indices (k = ceil(log2 K), at least 1) plus, per output channel, a K-entry int8
table: ceil(elements x k / 8) + channels x K bytes. That is the form `mcuq compress --cluster K`
produces and TFLite Micro's compression (DESIGN.md) and issue 13's device kernels decode.
A tensor gains nothing when k >= 8: it stays raw.

Pure numpy over a parsed model (mcuq.model); no TensorFlow, no reference. Used by `mcuq
compress` (summary, benchmark) and by `inspect` (distinct values per layer, packed size).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .model import Model, load_model

#: The weight operand's output-channel axis, by op (TFLite layouts).
WEIGHT_CHANNEL_AXIS = {"CONV_2D": 0, "FULLY_CONNECTED": 0, "DEPTHWISE_CONV_2D": 3,
                       "TRANSPOSE_CONV": 0, "CONV_3D": 4}


def distinct_per_row(values: np.ndarray) -> np.ndarray:
    """Distinct values in each row of a 2-D array (int64 counts, one per row)."""
    v = np.asarray(values)
    if v.ndim != 2:
        raise ValueError(f"expected a 2-D array, got shape {v.shape}")
    if v.shape[1] == 0:
        return np.zeros(v.shape[0], np.int64)
    s = np.sort(v, axis=1)
    return (np.count_nonzero(s[:, 1:] != s[:, :-1], axis=1) + 1).astype(np.int64)


def distinct_per_channel(values: np.ndarray, axis: int) -> np.ndarray:
    """Distinct values in each slice along `axis` (one count per channel)."""
    v = np.moveaxis(np.asarray(values), axis, 0)
    return distinct_per_row(v.reshape(v.shape[0], -1))


def index_bits(distinct: int) -> int:
    """Bits of an index into a table of `distinct` entries (at least 1)."""
    return max(1, int(np.ceil(np.log2(max(int(distinct), 1)))))


def packed_bytes(elements: int, channels: int, distinct: int, value_bytes: int = 1) -> int:
    """k-bit indices + one `distinct`-entry table per channel; the raw size when that is not
    smaller (k >= 8 bits for int8)."""
    raw = int(elements) * value_bytes
    bits = index_bits(distinct)
    if bits >= 8 * value_bytes:
        return raw
    packed = (int(elements) * bits + 7) // 8 + int(channels) * int(distinct) * value_bytes
    return min(packed, raw)


@dataclass
class PackedTensor:
    op_index: int
    op: str
    tensor: int
    name: str
    shape: list[int]
    channels: int
    distinct_max: int  # most distinct values in one output channel
    distinct_mean: float
    bits: int  # index bits when packed (8: stays raw)
    raw_bytes: int
    packed_bytes: int


@dataclass
class Packing:
    """Every packable weight tensor of a model, and the model's bytes with them packed."""

    source: str
    tensors: list[PackedTensor]
    flash_bytes: int  # the flatbuffer as it is
    weight_bytes: int  # every constant tensor, raw
    packed_weight_bytes: int  # every constant tensor, packable ones packed
    packed_flash_bytes: int  # the flatbuffer with packable tensors packed

    @property
    def max_distinct(self) -> int:
        return max((t.distinct_max for t in self.tensors), default=0)

    def as_dict(self) -> dict:
        return asdict(self)


def pack_model(model) -> Packing:
    """Distinct values per channel and packed sizes of the int8 weights of CONV_2D,
    DEPTHWISE_CONV_2D and FULLY_CONNECTED (the weight operand, per output channel)."""
    m: Model = load_model(model)
    tensors, seen = [], set()
    for op in m.operators:
        axis = WEIGHT_CHANNEL_AXIS.get(op.opcode)
        if axis is None or len(op.inputs) < 2 or op.inputs[1] < 0:
            continue
        t = m.tensors[op.inputs[1]]
        if t.data is None or t.type_name != "INT8" or t.index in seen or t.data.ndim <= axis:
            continue
        seen.add(t.index)
        counts = distinct_per_channel(t.data, axis)
        k = int(counts.max()) if counts.size else 0
        packed = packed_bytes(t.size, counts.size, k)
        tensors.append(PackedTensor(
            op_index=op.index, op=op.opcode, tensor=t.index, name=t.name, shape=list(t.shape),
            channels=int(counts.size), distinct_max=k,
            distinct_mean=float(counts.mean()) if counts.size else 0.0,
            bits=index_bits(k) if packed < t.nbytes else 8, raw_bytes=t.nbytes,
            packed_bytes=packed))
    weights = int(sum(t.nbytes for t in m.tensors if t.data is not None))
    saved = sum(t.raw_bytes - t.packed_bytes for t in tensors)
    return Packing(source=m.source, tensors=tensors, flash_bytes=m.size, weight_bytes=weights,
                   packed_weight_bytes=weights - saved, packed_flash_bytes=m.size - saved)


__all__ = ["distinct_per_row", "distinct_per_channel", "index_bits", "packed_bytes",
           "PackedTensor", "Packing", "pack_model", "WEIGHT_CHANNEL_AXIS"]
