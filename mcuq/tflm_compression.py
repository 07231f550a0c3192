"""TensorFlow Lite Micro's own weight compression, driven from mcuq.

`compress_for_tflm(model)` picks the weight tensors TFLite Micro's look-up-table compression
can hold (at most 2^k distinct values per channel, k = 1..7, tables of at most 128 values, the
channel axis first or last: DESIGN.md) and that get smaller with it, and rewrites the model
with the installed tflite-micro package's own API (`from tflite_micro import compression`:
SpecBuilder, compress). The result has packed indices + value tables in its flatbuffer and a
`TFLM_DECODE` custom op before each consumer: TFLite Micro decodes the tensor into its arena
right before the op runs (so the arena grows by the decoded tensor), LiteRT cannot load it.

`is_tflm_compressed(model)` and `decompress_tflm(model)` go the other way: the plain model a
compressed one stands for (decoded weights back in their tensors, the DECODE ops gone, every
tensor at its index), which mcuq's reference and C target run; TFLite Micro runs the
compressed bytes (`verify` compares the two).

No TensorFlow import; tflite-micro only inside the functions that need it.
"""
from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

from .errors import InputError, ToolchainError, UnsupportedModelError
from .model import Model, load_model, parse_model, schema
from .packing import (C_PACKED_OPS, TFLM_MAX_BITS, distinct_per_channel, index_bits,
                      weight_axis)

DECODE_OP = "CUSTOM:TFLM_DECODE"
#: DECODE Common Metadata (tflite-micro compression/decode.py): 16 bytes before the tables.
DCM_BYTES = 16
_LUT = 0
_PER_TENSOR_AXIS = 0xF
MAX_TABLE = 128


@dataclass
class TflmTensor:
    """One weight tensor as TFLite Micro's compression stores it."""

    tensor: int
    name: str
    op: str
    shape: list[int]
    bits: int
    per_channel: bool
    axis: int | None  # None: one table for the tensor
    raw_bytes: int
    compressed_bytes: int  # indices + DCM + value tables (the flatbuffer's two buffers)


@dataclass
class TflmCompressed:
    data: bytes  # the compressed .tflite
    plain_bytes: int  # the model before
    tensors: list[TflmTensor] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def decoded_bytes(self) -> int:
        """Bytes of the decoded tensors (each lives in the arena while its consumer runs)."""
        return sum(t.raw_bytes for t in self.tensors)

    @property
    def largest_decoded_bytes(self) -> int:
        return max((t.raw_bytes for t in self.tensors), default=0)

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("data")
        d.update(size=self.size, decoded_bytes=self.decoded_bytes,
                 largest_decoded_bytes=self.largest_decoded_bytes)
        return d


def _compression():
    try:
        from tflite_micro import compression
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ToolchainError(f"the tflite-micro package has no compression module ({e})",
                             "install the tflite-micro version pinned in pyproject.toml") from None
    return compression


def _lut_bytes(elements: int, bits: int, tables: int, stride: int) -> int:
    return (elements * bits + 7) // 8 + DCM_BYTES + tables * stride


def plan_tflm(model) -> list[TflmTensor]:
    """The weight tensors worth compressing for TFLite Micro, with their bits and tables
    (per quantization channel for per-channel quantized tensors, else one table)."""
    m: Model = load_model(model)
    out, seen = [], set()
    for op in m.operators:
        if op.opcode not in C_PACKED_OPS or len(op.inputs) < 2 or op.inputs[1] < 0:
            continue
        t = m.tensors[op.inputs[1]]
        if (t.index in seen or weight_axis(m, op) is None or t.data is None
                or t.type_name != "INT8" or t.size == 0):
            continue
        seen.add(t.index)
        # TFLite Micro's DECODE reads the channel count and axis from the tensor's
        # quantization, not from the table header (decode_state_lut.cc, Setup): one table per
        # quantization channel, along the quantized dimension. A per-tensor table of a
        # per-channel quantized tensor is accepted by the compressor and then decoded wrongly
        # (measured: every channel after the first reads past its table), so the tables follow
        # the quantization exactly.
        options = []
        q = t.quant
        if q is None or q.scale.size <= 1:
            whole = int(np.unique(t.data).size)
            if whole <= MAX_TABLE:
                bits = index_bits(whole)
                options.append((_lut_bytes(t.size, bits, 1, whole), bits, False, None))
        elif q.axis in (0, t.data.ndim - 1) and q.scale.size == t.data.shape[q.axis]:
            counts = distinct_per_channel(t.data, q.axis)
            stride = int(counts.max())
            if stride <= MAX_TABLE:
                bits = index_bits(stride)
                options.append((_lut_bytes(t.size, bits, counts.size, stride), bits, True,
                                int(q.axis)))
        options = [o for o in options if o[1] <= TFLM_MAX_BITS and o[0] < t.nbytes]
        if not options:
            continue
        size, bits, per_channel, ax = min(options, key=lambda o: (o[0], not o[2]))
        out.append(TflmTensor(tensor=t.index, name=t.name, op=op.opcode, shape=list(t.shape),
                              bits=bits, per_channel=per_channel, axis=ax, raw_bytes=t.nbytes,
                              compressed_bytes=size))
    return out


def _compress(comp, m: Model, tensors: list[TflmTensor]) -> bytes:
    builder = comp.SpecBuilder()
    for t in tensors:
        mode = comp.spec.PerChannel(axis=t.axis) if t.per_channel else comp.spec.PerTensor()
        builder.add_tensor(subgraph=0, tensor=t.tensor).with_lut(index_bitwidth=t.bits,
                                                                  mode=mode)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            return bytes(comp.compress(m.data, builder.build()))
    except Exception as e:  # noqa: BLE001 - the compressor's own error classes vary
        raise UnsupportedModelError(
            f"{m.source}: TFLite Micro's compression refused the model ({type(e).__name__}: "
            f"{e})", "generate without --compress (or report the model to mcuq)") from None


def compress_for_tflm(model, tensors: list[TflmTensor] | None = None) -> TflmCompressed:
    """The model with `tensors` compressed by tflite-micro's own API. Default: the tensors of
    plan_tflm whose compression shrinks the whole flatbuffer (each is measured alone: the
    DECODE op, the decoded tensor's metadata and 16-byte buffer alignment cost 200-1,700
    bytes per tensor on the zoo models); if all of them together do not shrink it, the best
    one alone. Raises UnsupportedModelError when nothing shrinks the model or the compressor
    refuses it."""
    m: Model = load_model(model)
    if is_tflm_compressed(m):
        raise InputError(f"{m.source}: is already compressed for TFLite Micro (TFLM_DECODE ops)",
                         "pass the uncompressed .tflite")
    comp = _compression()
    if tensors is None:
        gains = [(m.size - len(_compress(comp, m, [t])), t) for t in plan_tflm(m)]
        tensors = [t for g, t in gains if g > 0]
        if not tensors:
            raise UnsupportedModelError(
                f"{m.source}: no weight tensor makes the model smaller with TFLite Micro's "
                f"compression (it needs at most 2^k distinct values per channel, k <= "
                f"{TFLM_MAX_BITS}; tables, DECODE ops and alignment cost bytes)",
                "share weights first (mcuq compress --cluster 16), or generate without "
                "--compress")
        data = _compress(comp, m, tensors)
        if len(data) >= m.size:
            best = max(gains, key=lambda gt: gt[0])[1]
            tensors, data = [best], _compress(comp, m, [best])
    else:
        data = _compress(comp, m, tensors)
    return TflmCompressed(data=data, plain_bytes=m.size, tensors=tensors)


# -- reading a compressed model back ---------------------------------------------------------

def is_tflm_compressed(model) -> bool:
    m = load_model(model)
    return any(op.opcode == DECODE_OP for op in m.operators)


def decode_lut_tensor(encoded: np.ndarray, ancillary: np.ndarray, shape, dtype) -> np.ndarray:
    """The values a TFLite Micro LUT-compressed tensor stands for (decode_state_lut.cc's
    format: big-endian bit order, the DCM's byte 5 = axis << 4 | bits, byte 6 = table
    stride, value tables after the 16-byte DCM)."""
    anc = np.asarray(ancillary, np.uint8)
    if anc.size < DCM_BYTES or anc[0] != _LUT:
        raise UnsupportedModelError(
            f"DECODE type {int(anc[0]) if anc.size else '?'} is not a look-up table",
            "mcuq reads TFLite Micro's LUT compression only")
    axis, bits, stride = int(anc[5]) >> 4, int(anc[5]) & 7, int(anc[6])
    dtype = np.dtype(dtype)
    tables = anc[DCM_BYTES:].view(np.uint8).tobytes()
    values = np.frombuffer(tables[:len(tables) // dtype.itemsize * dtype.itemsize], dtype)
    shape = tuple(int(d) for d in shape)
    n = int(np.prod(shape, dtype=np.int64)) if shape else 1
    bitstream = np.unpackbits(np.asarray(encoded, np.uint8), bitorder="big")[:n * bits]
    if bitstream.size < n * bits or bits == 0:
        raise UnsupportedModelError("a compressed tensor holds fewer indices than its shape",
                                    "re-create the model with tflite-micro's compression")
    idx = (bitstream.reshape(n, bits).astype(np.int64)
           << np.arange(bits - 1, -1, -1, dtype=np.int64)).sum(axis=1)
    if axis == _PER_TENSOR_AXIS:
        chan = np.zeros(n, np.int64)
    else:
        inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
        chan = (np.arange(n) // inner) % shape[axis]
    flat = chan * stride + idx
    if flat.size and flat.max() >= values.size:
        raise UnsupportedModelError("a compressed tensor's index points past its value table",
                                    "re-create the model with tflite-micro's compression")
    return values[flat].reshape(shape)


def decompress_tflm(model) -> Model:
    """The plain model a TFLM-compressed one stands for: every DECODE op's outputs decoded
    into the tensor it encodes (its shape, type and quantization restored), consumers rewired
    to it, the DECODE ops and the tensors they appended removed; every other tensor keeps its
    index. A model without DECODE ops is returned as is."""
    import flatbuffers

    m = load_model(model)
    if not is_tflm_compressed(m):
        return m
    s = schema()
    raw = s.ModelT.InitFromPackedBuf(m.data, 0)
    sg = raw.subgraphs[0]
    decode_ops = [k for k, op in enumerate(m.operators) if op.opcode == DECODE_OP]
    rewire: dict[int, int] = {}
    for k in decode_ops:
        op = m.operators[k]
        if len(op.inputs) != 2 * len(op.outputs):
            raise UnsupportedModelError(f"{m.source}: {op.describe()} has {len(op.inputs)} "
                                        f"inputs for {len(op.outputs)} outputs",
                                        "re-create the model with tflite-micro's compression")
        for j, out in enumerate(op.outputs):
            enc, anc = m.tensors[op.inputs[2 * j]], m.tensors[op.inputs[2 * j + 1]]
            dec = m.tensors[out]
            if enc.data is None or anc.data is None:
                raise UnsupportedModelError(f"{m.source}: {op.describe()} decodes a tensor "
                                            "that is not constant",
                                            "re-create the model with tflite-micro's compression")
            values = decode_lut_tensor(enc.data.view(np.uint8), anc.data.view(np.uint8),
                                       dec.shape, dec.dtype)
            t_enc, t_dec = sg.tensors[enc.index], sg.tensors[dec.index]
            buf = s.BufferT()
            buf.data = np.frombuffer(np.ascontiguousarray(values).tobytes(), np.uint8)
            raw.buffers.append(buf)
            t_enc.buffer = len(raw.buffers) - 1
            t_enc.shape, t_enc.type = t_dec.shape, t_dec.type
            t_enc.quantization = t_dec.quantization  # the encoded tensor kept its name
            rewire[dec.index] = enc.index
    sg.operators = [op for k, op in enumerate(sg.operators) if k not in set(decode_ops)]
    for op in sg.operators:
        op.inputs = [rewire.get(int(i), int(i)) for i in op.inputs]
    sg.outputs = [rewire.get(int(i), int(i)) for i in sg.outputs]
    used = {int(i) for op in sg.operators for i in list(op.inputs) + list(op.outputs)}
    used |= {int(i) for i in list(sg.inputs) + list(sg.outputs)}
    keep = len(sg.tensors)
    while keep > 0 and keep - 1 not in used:
        keep -= 1
    if any(i >= keep for i in used):  # pragma: no cover - the rule above keeps every used one
        keep = max(used) + 1
    sg.tensors = sg.tensors[:keep]
    fb = flatbuffers.Builder(max(1024, len(m.data)))
    fb.Finish(raw.Pack(fb), file_identifier=b"TFL3")
    return parse_model(bytes(fb.Output()), m.source)


__all__ = ["TflmTensor", "TflmCompressed", "plan_tflm", "compress_for_tflm",
           "is_tflm_compressed", "decompress_tflm", "decode_lut_tensor", "DECODE_OP"]
