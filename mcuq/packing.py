"""Distinct values per output channel and the packed size of weights stored as look-up tables.

A weight tensor whose every output channel holds at most K distinct int8 values can be stored
as k-bit indices (k = ceil(log2 K), at least 1) plus, per output channel, a K-entry int8
table: ceil(elements x k / 8) + channels x K bytes. That is the form `mcuq compress --cluster K`
produces and TFLite Micro's compression (DESIGN.md) and issue 13's device kernels decode.
A tensor gains nothing when k >= 8: it stays raw.

Pure numpy over a parsed model (mcuq.model); no TensorFlow, no reference. Used by `mcuq
compress` (summary, benchmark), by `inspect` (distinct values per channel, packed size) and by
the C target (`generate --target c --pack`): `plan_packing` decides which weight tensors are
stored as k-bit indices + int8 tables, and `encode_lut` lays them out as the C kernels read
them (firmware/kernels/packed.h):

- a tensor is cut into *segments*, the unit a kernel decodes at a time: one output channel's
  filter (CONV_2D / TRANSPOSE_CONV: KH*KW*Cin values in OHWI order; FULLY_CONNECTED: one
  row; DEPTHWISE_CONV_2D: the KH*KW taps of one channel), or one column of a constant
  BATCH_MATMUL right-hand side (its depth values, per batch matrix);
- each segment's indices are k-bit fields, least significant bits first, starting on a byte
  boundary (a segment of L values takes ceil(L*k/8) bytes; the last byte may be part-filled);
- tables: one per channel (`stride` entries each, the channel's sorted distinct values, padded
  with its last value), or one for the whole tensor when that is smaller.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .model import Model, load_model

#: The weight operand's output-channel axis, by op (TFLite layouts).
WEIGHT_CHANNEL_AXIS = {"CONV_2D": 0, "FULLY_CONNECTED": 0, "DEPTHWISE_CONV_2D": 3,
                       "TRANSPOSE_CONV": 0, "CONV_3D": 4}
#: Ops whose weight operand (input 1) the C target can read packed (firmware/kernels/packed.c).
C_PACKED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV",
                "BATCH_MATMUL")
#: Widest index the C target's decoders read (firmware/kernels/packed.h).
C_MAX_BITS = 6
#: TFLite Micro's compression: 1..7-bit indices, tables of at most 128 values (DESIGN.md).
TFLM_MAX_BITS = 7


def weight_axis(model: Model, op) -> int | None:
    """The output-channel axis of `op`'s constant weight operand (input 1), or None when the op
    has none: BATCH_MATMUL's is the column axis of a constant right-hand side."""
    if op.opcode == "BATCH_MATMUL":
        if len(op.inputs) < 2 or op.inputs[1] < 0:
            return None
        rank = len(model.tensors[op.inputs[1]].shape)
        if rank < 2:
            return None
        return rank - 2 if op.options.get("adj_y", False) else rank - 1
    return WEIGHT_CHANNEL_AXIS.get(op.opcode)


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


def tensor_packed_bytes(elements: int, channels: int, distinct: int,
                        tensor_distinct: int) -> tuple[int, str]:
    """(bytes, "channel" | "tensor" | "raw"): the smaller of per-channel tables (k from the most
    distinct values in one channel) and one table for the tensor (k from its distinct values),
    or the raw size when neither is smaller."""
    raw = int(elements)
    best = (raw, "raw")
    for n, distinct_n, form in ((channels, distinct, "channel"), (1, tensor_distinct, "tensor")):
        bits = index_bits(distinct_n)
        if bits < 8:
            size = (raw * bits + 7) // 8 + int(n) * int(distinct_n)
            if size < best[0]:
                best = (size, form)
    return best


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
    tensor_distinct: int = 0  # distinct values in the whole tensor
    min_bits: int = 8  # the smallest k whose 2^k holds every channel's distinct values
    tables: str = "channel"  # "channel", "tensor" (one table) or "raw" (not packed)
    c_bytes: int | None = None  # the C target's layout (--pack auto): indices + tables
    c_bits: int | None = None  # index bits of the C layout (None: the C target keeps it raw)
    tflm_bytes: int | None = None  # TFLite Micro's compression (--compress), tensor's share
    tflm_bits: int | None = None


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
    def c_weight_bytes(self) -> int:
        """Every constant tensor as the C target stores it with --pack auto."""
        return self.weight_bytes - sum(t.raw_bytes - t.c_bytes for t in self.tensors
                                       if t.c_bytes is not None)

    @property
    def tflm_weight_bytes(self) -> int:
        """Every constant tensor with TFLite Micro's compression of the tensors it shrinks
        (indices, headers and tables; the flatbuffer adds DECODE ops and alignment)."""
        return self.weight_bytes - sum(t.raw_bytes - t.tflm_bytes for t in self.tensors
                                       if t.tflm_bytes is not None)

    @property
    def max_distinct(self) -> int:
        return max((t.distinct_max for t in self.tensors), default=0)

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(c_weight_bytes=self.c_weight_bytes, tflm_weight_bytes=self.tflm_weight_bytes)
        return d


def pack_model(model) -> Packing:
    """Distinct values per channel and packed sizes of the int8 weights of CONV_2D,
    DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV and a constant BATCH_MATMUL right-hand
    side (the weight operand, per output channel); `c_bytes` is what the C target stores with
    `--pack auto`."""
    from .tflm_compression import plan_tflm

    m: Model = load_model(model)
    c_plan = plan_packing(m, "auto")
    tflm = {t.tensor: t for t in plan_tflm(m)}
    tensors, seen = [], set()
    for op in m.operators:
        axis = weight_axis(m, op)
        if axis is None or len(op.inputs) < 2 or op.inputs[1] < 0:
            continue
        t = m.tensors[op.inputs[1]]
        if t.data is None or t.type_name != "INT8" or t.index in seen or t.data.ndim <= axis:
            continue
        seen.add(t.index)
        counts = distinct_per_channel(t.data, axis)
        k = int(counts.max()) if counts.size else 0
        whole = int(np.unique(t.data).size)
        packed, tables = tensor_packed_bytes(t.size, counts.size, k, whole)
        bits = {"channel": index_bits(k), "tensor": index_bits(whole), "raw": 8}[tables]
        lay = c_plan.get(t.index)
        tensors.append(PackedTensor(
            op_index=op.index, op=op.opcode, tensor=t.index, name=t.name, shape=list(t.shape),
            channels=int(counts.size), distinct_max=k,
            distinct_mean=float(counts.mean()) if counts.size else 0.0,
            bits=bits, raw_bytes=t.nbytes, packed_bytes=packed, tensor_distinct=whole,
            min_bits=index_bits(k),
            tables=tables, c_bytes=lay.nbytes if lay else None,
            c_bits=lay.bits if lay else None,
            tflm_bytes=tflm[t.index].compressed_bytes if t.index in tflm else None,
            tflm_bits=tflm[t.index].bits if t.index in tflm else None))
    weights = int(sum(t.nbytes for t in m.tensors if t.data is not None))
    saved = sum(t.raw_bytes - t.packed_bytes for t in tensors)
    return Packing(source=m.source, tensors=tensors, flash_bytes=m.size, weight_bytes=weights,
                   packed_weight_bytes=weights - saved, packed_flash_bytes=m.size - saved)


# -- the C target's layout ------------------------------------------------------------------

@dataclass(frozen=True)
class LutLayout:
    """One weight tensor as the C kernels read it (firmware/kernels/packed.h, mcuq_lut_t)."""

    tensor: int
    bits: int  # index width, 1..C_MAX_BITS
    per_channel: bool  # one table per channel (else one for the tensor)
    channels: int  # tables (1 when per tensor)
    stride: int  # entries per table
    segments: int  # decode units (see the module docstring)
    segment_len: int  # values per segment
    segment_bytes: int  # ceil(segment_len * bits / 8)
    tables: np.ndarray  # int8 (channels, stride)
    indices: np.ndarray  # uint8, segments * segment_bytes

    @property
    def nbytes(self) -> int:
        return int(self.indices.size + self.tables.size)

    @property
    def raw_bytes(self) -> int:
        return self.segments * self.segment_len


def segments_of(op_name: str, weights: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """(segments (S, L) int8, channel of each segment (S,)) in the order the kernels decode:
    DEPTHWISE_CONV_2D (1, KH, KW, C): one segment per channel, its taps in (ky, kx) order;
    BATCH_MATMUL (..., depth, cols) or, with adj_y, (..., cols, depth): one segment per batch
    matrix and column (batch-major), its depth values in order; else (O, ...): one per output
    channel, its values in the tensor's order."""
    w = np.asarray(weights)
    if op_name == "BATCH_MATMUL":
        rank = w.ndim
        mats = w.reshape((-1,) + w.shape[-2:])
        if axis == rank - 1:  # (depth, cols): columns are strided
            mats = np.swapaxes(mats, 1, 2)
        cols = mats.shape[1]
        return mats.reshape(-1, mats.shape[2]), np.tile(np.arange(cols), mats.shape[0])
    moved = np.moveaxis(w, axis, 0)
    return moved.reshape(moved.shape[0], -1), np.arange(moved.shape[0])


def _pack_bits(idx: np.ndarray, bits: int) -> np.ndarray:
    """(S, L) indices -> (S, ceil(L*bits/8)) bytes, each index least significant bit first."""
    s, length = idx.shape
    planes = ((idx[..., None].astype(np.uint16) >> np.arange(bits, dtype=np.uint16)) & 1)
    flat = planes.reshape(s, length * bits).astype(np.uint8)
    nbytes = -(-length * bits // 8)
    padded = np.zeros((s, nbytes * 8), np.uint8)
    padded[:, :length * bits] = flat
    return np.packbits(padded, axis=1, bitorder="little")


def unpack_bits(data: np.ndarray, bits: int, segments: int, length: int) -> np.ndarray:
    """The inverse of the packing: (segments, length) indices (int64)."""
    rows = np.asarray(data, np.uint8).reshape(segments, -1)
    flat = np.unpackbits(rows, axis=1, bitorder="little")[:, :length * bits]
    planes = flat.reshape(segments, length, bits).astype(np.int64)
    return (planes << np.arange(bits, dtype=np.int64)).sum(axis=2)


def encode_lut(op_name: str, weights: np.ndarray, axis: int, bits: int,
               per_channel: bool, tensor: int = -1) -> LutLayout:
    """Lay out int8 `weights` as `bits`-bit indices into per-channel (or one) int8 tables.
    Raises ValueError when a table would need more than 2^bits entries."""
    segs, chan = segments_of(op_name, weights, axis)
    channels = int(chan.max()) + 1 if chan.size else 0
    vals = segs.astype(np.int64)
    if per_channel:
        per = [np.unique(vals[chan == c]) for c in range(channels)]
    else:
        per = [np.unique(vals)]
    stride = max((len(p) for p in per), default=1) or 1
    if stride > (1 << bits):
        raise ValueError(f"{stride} distinct values need more than {bits}-bit indices")
    tables = np.array([np.pad(p, (0, stride - len(p)), mode="edge") if len(p) else
                       np.zeros(stride, np.int64) for p in per], np.int64)
    seg_tab = chan if per_channel else np.zeros_like(chan)
    idx = np.empty(vals.shape, np.int64)
    for c in range(tables.shape[0]):
        rows = seg_tab == c
        idx[rows] = np.searchsorted(tables[c], vals[rows])
    packed = _pack_bits(idx, bits)
    return LutLayout(tensor=tensor, bits=bits, per_channel=per_channel,
                     channels=int(tables.shape[0]), stride=int(stride),
                     segments=int(segs.shape[0]), segment_len=int(segs.shape[1]),
                     segment_bytes=int(packed.shape[1]), tables=tables.astype(np.int8),
                     indices=packed.reshape(-1))


def decode_lut(layout: LutLayout, op_name: str, shape, axis: int) -> np.ndarray:
    """The int8 tensor a layout holds (the inverse of encode_lut; tests use it)."""
    idx = unpack_bits(layout.indices, layout.bits, layout.segments, layout.segment_len)
    _, chan = segments_of(op_name, np.zeros(shape, np.int8), axis)
    tab = chan if layout.per_channel else np.zeros_like(chan)
    segs = layout.tables.astype(np.int64)[tab[:, None], idx]
    shape = tuple(shape)
    if op_name == "BATCH_MATMUL":
        mats_shape = (-1,) + shape[-2:]
        rank = len(shape)
        cols = shape[-1] if axis == rank - 1 else shape[-2]
        m = segs.reshape(-1, cols, segs.shape[1])
        if axis == rank - 1:
            m = np.swapaxes(m, 1, 2)
        return m.reshape(mats_shape).reshape(shape).astype(np.int8)
    moved_shape = (shape[axis],) + tuple(d for k, d in enumerate(shape) if k != axis)
    return np.moveaxis(segs.reshape(moved_shape), 0, axis).astype(np.int8)


def _c_consumers_ok(model: Model, tensor: int) -> bool:
    """Every reader of `tensor` is a C_PACKED_OPS op reading it as its weights (input 1)."""
    users = [(op, k) for op in model.operators for k, i in enumerate(op.inputs) if i == tensor]
    return bool(users) and all(op.opcode in C_PACKED_OPS and k == 1 for op, k in users) and \
        tensor not in model.outputs


def parse_pack(value) -> str | int:
    """--pack's value: "auto", "off" or index bits 1..C_MAX_BITS (an int or its string)."""
    from .errors import InputError

    if value is None:
        return "off"
    if isinstance(value, str) and value.strip().lower() in ("auto", "off"):
        return value.strip().lower()
    try:
        bits = int(value)
    except (TypeError, ValueError):
        bits = -1
    if not 1 <= bits <= C_MAX_BITS:
        raise InputError(f"--pack {value}: expected auto, off or index bits 1..{C_MAX_BITS}",
                         "e.g. --pack auto (every tensor that fits in <= 6 bits and gets "
                         "smaller), or --pack 4 (4-bit indices wherever 16 values suffice)")
    return bits


def plan_packing(model, pack="auto", tables: str = "auto") -> dict[int, LutLayout]:
    """Which weight tensors the C target stores packed, and how: {tensor index: LutLayout}.

    pack "auto": every weight tensor of a C_PACKED_OPS op that fits in k <= C_MAX_BITS bits and
    gets smaller (indices + tables below its raw bytes), with the smallest k and the smaller of
    per-channel and per-tensor tables. pack k (1..6): every such tensor that fits in k bits, with
    k-bit indices, whether or not it gets smaller (tests reach every k this way). "off": none.
    tables: "auto" (the smaller), "channel" or "tensor" (forced; a tensor that does not fit
    that way stays raw)."""
    m: Model = load_model(model)
    pack = parse_pack(pack)
    if pack == "off":
        return {}
    plan: dict[int, LutLayout] = {}
    for op in m.operators:
        if op.opcode not in C_PACKED_OPS or len(op.inputs) < 2 or op.inputs[1] < 0:
            continue
        t = m.tensors[op.inputs[1]]
        axis = weight_axis(m, op)
        if (t.index in plan or axis is None or t.data is None or t.type_name != "INT8"
                or t.data.ndim <= axis or t.size == 0 or not _c_consumers_ok(m, t.index)):
            continue
        segs, chan = segments_of(op.opcode, t.data, axis)
        options = []
        forms = {"auto": (True, False), "channel": (True,), "tensor": (False,)}[tables]
        for per_channel in forms:
            if per_channel:
                rows = distinct_per_row(np.moveaxis(t.data, axis, 0).reshape(
                    t.data.shape[axis], -1))
                need = index_bits(int(rows.max()))
            else:
                need = index_bits(int(np.unique(t.data).size))
            if need > C_MAX_BITS or (pack != "auto" and need > pack):
                continue
            bits = need if pack == "auto" else int(pack)
            lay = encode_lut(op.opcode, t.data, axis, bits, per_channel, t.index)
            options.append(lay)
        if not options:
            continue
        best = min(options, key=lambda lay: (lay.nbytes, not lay.per_channel))
        if pack == "auto" and best.nbytes >= t.nbytes:
            continue
        plan[t.index] = best
    return plan


__all__ = ["distinct_per_row", "distinct_per_channel", "index_bits", "packed_bytes",
           "PackedTensor", "Packing", "pack_model", "WEIGHT_CHANNEL_AXIS", "C_PACKED_OPS",
           "C_MAX_BITS", "TFLM_MAX_BITS", "LutLayout", "encode_lut", "decode_lut",
           "plan_packing", "parse_pack", "segments_of", "unpack_bits", "weight_axis",
           "tensor_packed_bytes"]
