"""Read-only view of a .tflite flatbuffer: tensors, quantization, operators, buffers.

Parsed once, eagerly, with the buffer checked first, so a corrupt or truncated file fails
here with one clear error and never later with a traceback. Every verb shares this view.
The schema is the one shipped by the tflite-micro package (object API, newest schema);
importing it does not import TensorFlow.
"""
from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .text import label

_MIN_SIZE = 8
FILE_IDENTIFIER = b"TFL3"


def schema():
    """The flatbuffer schema module (object API). Imported lazily: it is large."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated

    return schema_py_generated


_TYPE_NAMES = {
    0: "FLOAT32", 1: "FLOAT16", 2: "INT32", 3: "UINT8", 4: "INT64", 5: "STRING", 6: "BOOL",
    7: "INT16", 8: "COMPLEX64", 9: "INT8", 10: "FLOAT64", 11: "COMPLEX128", 12: "UINT64",
    13: "RESOURCE", 14: "VARIANT", 15: "UINT32", 16: "UINT16", 17: "INT4", 18: "BFLOAT16",
}
_NUMPY_TYPES = {
    "FLOAT32": np.float32, "FLOAT16": np.float16, "INT32": np.int32, "UINT8": np.uint8,
    "INT64": np.int64, "BOOL": np.bool_, "INT16": np.int16, "INT8": np.int8,
    "FLOAT64": np.float64, "UINT64": np.uint64, "UINT32": np.uint32, "UINT16": np.uint16,
}
TYPE_CODES = {name: code for code, name in _TYPE_NAMES.items()}

# Options tables for ops whose options may be omitted from the file (TFLite then uses the
# table's defaults). Keyed by builtin op name.
_DEFAULT_OPTIONS = {
    "CONV_2D": "Conv2DOptionsT", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptionsT",
    "FULLY_CONNECTED": "FullyConnectedOptionsT", "AVERAGE_POOL_2D": "Pool2DOptionsT",
    "MAX_POOL_2D": "Pool2DOptionsT", "MEAN": "ReducerOptionsT", "SUM": "ReducerOptionsT",
    "ADD": "AddOptionsT", "SUB": "SubOptionsT", "MUL": "MulOptionsT",
    "CONCATENATION": "ConcatenationOptionsT", "SOFTMAX": "SoftmaxOptionsT",
    "STRIDED_SLICE": "StridedSliceOptionsT", "SQUEEZE": "SqueezeOptionsT",
    "LEAKY_RELU": "LeakyReluOptionsT", "RESHAPE": "ReshapeOptionsT",
    "CALL_ONCE": "CallOnceOptionsT", "VAR_HANDLE": "VarHandleOptionsT",
}
# Option fields whose integers are enums: field -> schema enum class name.
_ENUM_FIELDS = {
    "padding": "Padding",
    "fused_activation_function": "ActivationFunctionType",
    "weights_format": "FullyConnectedOptionsWeightsFormat",
    "quantized_bias_type": "TensorType",
}


@dataclass(frozen=True)
class Quantization:
    """Affine quantization: real = (q - zero_point) * scale, per tensor or per axis."""

    scale: np.ndarray  # float32, as stored in the file
    zero_point: np.ndarray  # int64
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return self.scale.size > 1

    def as_dict(self) -> dict:
        return {
            "scale": [float(s) for s in self.scale],
            "zero_point": [int(z) for z in self.zero_point],
            "axis": int(self.axis),
        }


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    type_name: str
    buffer: int
    quant: Quantization | None
    data: np.ndarray | None = None  # constant tensors only, read-only, in `shape`
    is_variable: bool = False
    shape_signature: tuple[int, ...] | None = None
    sparse: bool = False  # has sparsity parameters (mcuq and TFLite Micro read dense data only)

    @property
    def label(self) -> str:
        """The name for messages and reports: printable, inert, cut (mcuq.text.label)."""
        return label(self.name)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(_NUMPY_TYPES.get(self.type_name, np.uint8))

    @property
    def size(self) -> int:
        return math.prod(self.shape)  # exact: a corrupt shape must not wrap around

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def scale(self) -> float:
        """Per-tensor scale (first element for per-channel tensors)."""
        return float(self.quant.scale[0]) if self.quant is not None else 0.0

    @property
    def zero_point(self) -> int:
        return int(self.quant.zero_point[0]) if self.quant is not None else 0


@dataclass
class Operator:
    index: int
    opcode: str  # builtin name ("CONV_2D") or "CUSTOM:<name>"
    version: int
    inputs: tuple[int, ...]  # -1 marks an omitted optional input
    outputs: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return f"op #{self.index} {label(self.opcode)}"


@dataclass
class Subgraph:
    """One subgraph of the file: its own tensors (indices local to it), operators, I/O."""

    index: int
    name: str
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]


#: Ops that create, read or write resource variables or call another subgraph once.
STATE_OPS = ("VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE")
#: Ops that run a whole sequence per invocation, keeping their state in variable tensors.
SEQUENCE_OPS = ("UNIDIRECTIONAL_SEQUENCE_LSTM", "UNIDIRECTIONAL_SEQUENCE_RNN",
                "BIDIRECTIONAL_SEQUENCE_LSTM", "BIDIRECTIONAL_SEQUENCE_RNN")


@dataclass
class Model:
    """A parsed .tflite model. `tensors`, `operators`, `inputs`, `outputs` are the main
    (first) subgraph's; `subgraphs` holds every subgraph (the main one first), reached with
    `subgraph_view(k)` (a Model whose main subgraph is subgraph k)."""

    data: bytes
    version: int
    description: str
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]
    subgraph_count: int
    source: str = "<bytes>"
    subgraphs: list[Subgraph] = field(default_factory=list)
    main_index: int = 0  # which subgraph this view's tensors/operators are

    @property
    def size(self) -> int:
        return len(self.data)

    def input_tensors(self) -> list[Tensor]:
        return [self.tensors[i] for i in self.inputs]

    def output_tensors(self) -> list[Tensor]:
        return [self.tensors[i] for i in self.outputs]

    def op_inputs(self, op: Operator) -> list[Tensor | None]:
        return [self.tensors[i] if i >= 0 else None for i in op.inputs]

    def op_outputs(self, op: Operator) -> list[Tensor]:
        return [self.tensors[i] for i in op.outputs]

    def op_types(self) -> list[str]:
        """Distinct op names in order of first use."""
        return list(dict.fromkeys(op.opcode for op in self.operators))

    def all_operators(self) -> list[Operator]:
        """Every subgraph's operators, the main subgraph's first (what a TFLite Micro op
        resolver must hold)."""
        if not self.subgraphs:
            return list(self.operators)
        return [op for sg in self.subgraphs for op in sg.operators]

    def all_op_types(self) -> list[str]:
        """Distinct op names over every subgraph, in order of first use."""
        return list(dict.fromkeys(op.opcode for op in self.all_operators()))

    def producers(self) -> dict[int, Operator]:
        return {t: op for op in self.operators for t in op.outputs}

    @property
    def subgraph_ops(self) -> list[list[str]]:
        """Op names of every subgraph, in order (subgraph 0 is `operators`)."""
        return [[op.opcode for op in sg.operators] for sg in self.subgraphs] or [
            [op.opcode for op in self.operators]]

    def subgraph_view(self, k: int) -> "Model":
        """This model seen from subgraph k (its tensors, operators, inputs and outputs)."""
        if k == self.main_index:
            return self
        sg = self.subgraphs[k]
        return replace(self, tensors=sg.tensors, operators=sg.operators, inputs=sg.inputs,
                       outputs=sg.outputs, main_index=k)

    @property
    def stateful(self) -> bool:
        """True when the model keeps state between invocations (resource variables, a
        CALL_ONCE init subgraph or TFLite variable tensors): it runs as a sequence."""
        return any(op.opcode in STATE_OPS for sg in self.subgraphs or [self]
                   for op in sg.operators) or any(t.is_variable for t in self.tensors)


    @property
    def windowed(self) -> bool:
        """True when the model's state lives only in the variable tensors of sequence ops that
        take more than one time step per invocation: what TFLiteConverter makes of a Keras
        LSTM/RNN that is not `stateful`. Keras starts every window from zeros while TFLite
        keeps those tensors between invocations: each window wants a reset first."""
        if not self.stateful or any(op.opcode in STATE_OPS for sg in self.subgraphs or [self]
                                    for op in sg.operators):
            return False
        for op in self.operators:
            if not any(i >= 0 and self.tensors[i].is_variable for i in op.inputs):
                continue
            if op.opcode not in SEQUENCE_OPS or op.inputs[0] < 0:
                return False
            x = self.tensors[op.inputs[0]]
            steps = 1
            for d in x.shape[:-1]:
                steps *= int(d)
            if steps <= 1:
                return False
        return True


def load_model(source: str | Path | bytes | bytearray | Model) -> Model:
    """Parse a .tflite file or its bytes. Raises InputError on anything unreadable."""
    if isinstance(source, Model):
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        return parse_model(bytes(source), "<bytes>")
    path = Path(source)
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a .tflite file",
                         "pass the .tflite file that `mcuq convert` wrote")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file", "check the path to the .tflite model") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})", "check the file's permissions") from None
    return parse_model(data, str(path))


def parse_model(data: bytes, source: str = "<bytes>") -> Model:
    """Parse and validate (mcuq.validate: structure, indices, graph, quantization, shapes)."""
    from . import validate

    _check_buffer(data, source)
    s = schema()
    try:
        validate.check_flatbuffer(data, source)
        raw = s.ModelT.InitFromObj(s.Model.GetRootAs(data, 0))
        validate.check_subgraphs(raw, source)
        model = _build(raw, data, source, s)
    except InputError:
        raise
    except (IndexError, struct.error, ValueError, TypeError, AttributeError, UnicodeDecodeError,
            OverflowError, KeyError) as e:
        raise InputError(
            f"{source}: corrupt or truncated .tflite flatbuffer ({type(e).__name__}: "
            f"{label(str(e), 120)})",
            "re-create the file with `mcuq convert`; if it was copied, copy it again in binary mode",
        ) from None
    validate.check_model(model)
    return model


def _check_buffer(data: bytes, source: str) -> None:
    hint = "pass a .tflite flatbuffer written by TFLiteConverter or `mcuq convert`"
    if len(data) < _MIN_SIZE:
        raise InputError(f"{source}: {len(data)} bytes is too short for a .tflite model", hint)
    if data[4:8] != FILE_IDENTIFIER:
        raise InputError(
            f"{source}: not a .tflite flatbuffer (file identifier {data[4:8]!r}, expected b'TFL3')", hint)
    (root,) = struct.unpack_from("<I", data, 0)
    if root + 4 > len(data):
        raise InputError(f"{source}: corrupt or truncated .tflite flatbuffer (root table at "
                         f"{root} beyond {len(data)} bytes)", hint)


def _corrupt(source: str, what: str) -> InputError:
    return InputError(f"{source}: corrupt .tflite flatbuffer ({what})",
                      "re-create the file with `mcuq convert`")


def _build(raw, data: bytes, source: str, s) -> Model:
    if not raw.subgraphs:
        raise _corrupt(source, "no subgraph")
    buffers = raw.buffers or []
    op_names = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
    subgraphs = [_subgraph(k, sg, raw, buffers, data, source, s, op_names)
                 for k, sg in enumerate(raw.subgraphs)]
    main = subgraphs[0]
    desc = raw.description
    return Model(
        data=data, version=int(raw.version),
        description=desc.decode(errors="replace") if isinstance(desc, bytes) else (desc or ""),
        tensors=main.tensors, operators=main.operators, inputs=main.inputs,
        outputs=main.outputs, subgraph_count=len(raw.subgraphs), source=source,
        subgraphs=subgraphs,
    )


def _subgraph(k: int, sg, raw, buffers, data: bytes, source: str, s, op_names) -> Subgraph:
    where = "" if k == 0 else f"subgraph {k} "
    tensors = [_tensor(i, t, buffers, data, source) for i, t in enumerate(sg.tensors or [])]
    n = len(tensors)

    def indices(values, what) -> tuple[int, ...]:
        out = tuple(int(v) for v in (values if values is not None else []))
        for v in out:
            if v < -1 or v >= n:
                raise _corrupt(source, f"{where}{what} refers to tensor {v}, model has {n}")
        return out

    codes = raw.operatorCodes or []

    def op_name(op) -> str:
        code = codes[op.opcodeIndex]
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        name = op_names.get(builtin, f"BUILTIN_{builtin}")
        if name == "CUSTOM":
            cc = code.customCode
            name = "CUSTOM:" + (cc.decode(errors="replace") if isinstance(cc, bytes)
                                else str(cc))
        return name

    operators = []
    for i, op in enumerate(sg.operators or []):
        if not 0 <= op.opcodeIndex < len(codes):
            raise _corrupt(source, f"{where}operator {i} has opcode index {op.opcodeIndex}")
        name = op_name(op)
        operators.append(Operator(
            index=i, opcode=name, version=int(codes[op.opcodeIndex].version or 1),
            inputs=indices(op.inputs, f"operator {i} input"),
            outputs=indices(op.outputs, f"operator {i} output"),
            options=_options(name, op.builtinOptions, s),
        ))
    name = sg.name.decode(errors="replace") if isinstance(sg.name, bytes) else (sg.name or "")
    return Subgraph(index=k, name=name, tensors=tensors, operators=operators,
                    inputs=list(indices(sg.inputs, "subgraph input")),
                    outputs=list(indices(sg.outputs, "subgraph output")))


def _tensor(i: int, t, buffers, data: bytes, source: str) -> Tensor:
    type_name = _TYPE_NAMES.get(int(t.type), f"TYPE_{t.type}")
    name = t.name.decode(errors="replace") if isinstance(t.name, bytes) else (t.name or f"t{i}")
    shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
    if any(d < 0 for d in shape):
        raise _corrupt(source, f"tensor {i} '{label(name)}' has negative dimension {shape}")
    sig = tuple(int(d) for d in t.shapeSignature) if t.shapeSignature is not None else None
    q = t.quantization
    quant = None
    if q is not None and q.scale is not None and len(q.scale) > 0:
        scale = np.asarray(q.scale, dtype=np.float32).reshape(-1)
        # no zero points: kept empty, the validator refuses it (TFLite Micro and LiteRT read
        # such a tensor as not quantized, scale 0: an LSTM weight computed other bytes)
        zp = (np.asarray(q.zeroPoint, dtype=np.int64).reshape(-1)
              if q.zeroPoint is not None and len(q.zeroPoint) else np.zeros(0, np.int64))
        if zp.size == 1 and scale.size > 1:
            zp = np.repeat(zp, scale.size)
        quant = Quantization(scale=scale, zero_point=zp, axis=int(q.quantizedDimension))
    if not 0 <= t.buffer < max(len(buffers), 1):
        raise _corrupt(source, f"tensor {i} '{label(name)}' refers to buffer {t.buffer}, model "
                               f"has {len(buffers)}")
    tensor = Tensor(index=i, name=name, shape=shape, type_name=type_name, buffer=int(t.buffer),
                    quant=quant, is_variable=bool(t.isVariable), shape_signature=sig,
                    sparse=t.sparsity is not None)
    if tensor.sparse:
        from .errors import UnsupportedModelError

        raise UnsupportedModelError(
            f"{source}: tensor {i} '{tensor.label}' is sparse (sparsity parameters)",
            "TFLite Micro and mcuq read dense tensors only; convert without sparsity")
    raw_bytes = _buffer_bytes(buffers[t.buffer], data, source) if buffers else b""
    if raw_bytes:
        if type_name not in _NUMPY_TYPES:
            raise _corrupt(source, f"constant tensor {i} '{label(name)}' has type {type_name}") \
                if type_name.startswith("TYPE_") else _unsupported_const(tensor, source)
        expected = tensor.nbytes
        if len(raw_bytes) != expected:
            raise _corrupt(source, f"tensor {i} '{label(name)}' holds {len(raw_bytes)} bytes, "
                                   f"shape {list(shape)} {type_name} needs {expected}")
        arr = np.frombuffer(raw_bytes, dtype=tensor.dtype).reshape(shape)
        arr.flags.writeable = False
        tensor.data = arr
    return tensor


def _unsupported_const(tensor: Tensor, source: str):
    from .errors import UnsupportedModelError

    return UnsupportedModelError(
        f"{source}: constant tensor {tensor.index} '{tensor.label}' has type {tensor.type_name}",
        "convert with `mcuq convert` (int8 weights, int32 bias)")


def _buffer_bytes(buf, data: bytes, source: str) -> bytes:
    if buf.data is not None and len(buf.data):
        return np.asarray(buf.data, dtype=np.uint8).tobytes()
    if buf.offset > 1 and buf.size:  # data stored after the flatbuffer (models > 2 GB style)
        if buf.offset + buf.size > len(data) or buf.offset < 0 or buf.size < 0:
            raise _corrupt(source, f"buffer at offset {buf.offset} runs past the end of the file")
        return data[buf.offset: buf.offset + buf.size]
    return b""


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _options(op_name: str, opts, s) -> dict[str, Any]:
    if opts is None:
        cls = _DEFAULT_OPTIONS.get(op_name)
        if cls is None:
            return {}
        opts = getattr(s, cls)()
    out: dict[str, Any] = {}
    for key, value in vars(opts).items():
        k = _snake(key)
        if k in _ENUM_FIELDS and isinstance(value, (int, np.integer)):
            enum = getattr(s, _ENUM_FIELDS[k])
            names = {v: n for n, v in vars(enum).items() if not n.startswith("_")}
            value = names.get(int(value), int(value))
        elif isinstance(value, np.ndarray):
            value = tuple(value.tolist())
        elif isinstance(value, list):
            value = tuple(value)
        elif isinstance(value, bytes):
            value = value.decode(errors="replace")
        elif isinstance(value, np.generic):
            value = value.item()
        out[k] = value
    return out
