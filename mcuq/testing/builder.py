"""Write small .tflite flatbuffers directly (no TensorFlow): one-op models with chosen
quantization for property tests, and edited copies of real models (e.g. tampered weights).

    b = ModelBuilder()
    x = b.input("x", (1, 8, 8, 3), scale=0.05, zero_point=-3)
    w = b.const("w", weights_int8, scale=per_channel_scales, zero_point=0, axis=0)
    bias = b.const("bias", bias_int32, scale=in_scale * per_channel_scales)
    y = b.tensor("y", (1, 8, 8, 4), scale=0.1, zero_point=5)
    b.op("CONV_2D", [x, w, bias], [y], padding="SAME", stride_w=1, stride_h=1)
    b.output(y)
    data = b.build()
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..model import TYPE_CODES, schema

# Builtin op -> (options union member). Ops absent here take no options table.
OPTIONS_TABLE = {
    "CONV_2D": "Conv2DOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "FULLY_CONNECTED": "FullyConnectedOptions", "AVERAGE_POOL_2D": "Pool2DOptions",
    "MAX_POOL_2D": "Pool2DOptions", "MEAN": "ReducerOptions", "SUM": "ReducerOptions",
    "ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions",
    "RESHAPE": "ReshapeOptions", "SQUEEZE": "SqueezeOptions", "EXPAND_DIMS": "ExpandDimsOptions",
    "CONCATENATION": "ConcatenationOptions", "PAD": "PadOptions", "PADV2": "PadV2Options",
    "STRIDED_SLICE": "StridedSliceOptions", "TRANSPOSE": "TransposeOptions",
    "SOFTMAX": "SoftmaxOptions", "LEAKY_RELU": "LeakyReluOptions",
    "HARD_SWISH": "HardSwishOptions", "MAXIMUM": "MaximumMinimumOptions",
    "MINIMUM": "MaximumMinimumOptions", "QUANTIZE": "QuantizeOptions",
    "DEQUANTIZE": "DequantizeOptions",
    # issue 10 ops
    "SHAPE": "ShapeOptions", "PACK": "PackOptions", "UNPACK": "UnpackOptions",
    "SPLIT": "SplitOptions", "SPLIT_V": "SplitVOptions", "SLICE": "SliceOptions",
    "GATHER": "GatherOptions", "ARG_MAX": "ArgMaxOptions", "ARG_MIN": "ArgMinOptions",
    "REDUCE_MAX": "ReducerOptions", "TRANSPOSE_CONV": "TransposeConvOptions",
    "RESIZE_NEAREST_NEIGHBOR": "ResizeNearestNeighborOptions",
    "RESIZE_BILINEAR": "ResizeBilinearOptions", "SPACE_TO_BATCH_ND": "SpaceToBatchNDOptions",
    "BATCH_TO_SPACE_ND": "BatchToSpaceNDOptions", "DEPTH_TO_SPACE": "DepthToSpaceOptions",
    "SPACE_TO_DEPTH": "SpaceToDepthOptions", "BATCH_MATMUL": "BatchMatMulOptions",
    "SQUARED_DIFFERENCE": "SquaredDifferenceOptions", "L2_NORMALIZATION": "L2NormOptions",
    # resource variables and subgraphs
    "VAR_HANDLE": "VarHandleOptions", "CALL_ONCE": "CallOnceOptions",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "UnidirectionalSequenceLSTMOptions",
    "SVDF": "SVDFOptions",
}
_ENUMS = {"padding": "Padding", "fused_activation_function": "ActivationFunctionType",
          "weights_format": "FullyConnectedOptionsWeightsFormat"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


class ModelBuilder:
    def __init__(self, description: str = "mcuq test model"):
        self.s = schema()
        self.tensors: list = []
        self.buffers: list = [self.s.BufferT()]  # buffer 0: the empty sentinel
        self.operators: list = []
        self.opcodes: dict[tuple[str, int], int] = {}
        self.inputs: list[int] = []
        self.outputs: list[int] = []
        self.description = description
        self.subgraph_name = "main"
        self._done: list = []  # finished subgraphs (SubGraphT), before the current one

    # -- subgraphs -------------------------------------------------------------------------
    def subgraph(self, name: str) -> int:
        """Finish the current subgraph and start a new one (tensors, ops, inputs and outputs
        that follow belong to it; buffers and op codes are shared). Returns its index."""
        self._done.append(self._subgraph_t())
        self.tensors, self.operators, self.inputs, self.outputs = [], [], [], []
        self.subgraph_name = name
        return len(self._done)

    def _subgraph_t(self):
        sg = self.s.SubGraphT()
        sg.tensors, sg.operators = self.tensors, self.operators
        sg.inputs, sg.outputs = self.inputs, self.outputs
        sg.name = self.subgraph_name
        return sg

    # -- tensors ---------------------------------------------------------------------------
    def tensor(self, name: str, shape: Sequence[int], dtype: str = "INT8", scale=None,
               zero_point=0, axis: int = 0, data: np.ndarray | None = None,
               shape_signature: Sequence[int] | None = None, variable: bool = False) -> int:
        s = self.s
        t = s.TensorT()
        t.name = name
        t.isVariable = bool(variable)  # state kept across invocations (SVDF, LSTM)
        t.shape = list(int(d) for d in shape)
        if shape_signature is not None:  # -1 marks a dynamic dimension (e.g. the batch)
            t.shapeSignature = list(int(d) for d in shape_signature)
        t.type = TYPE_CODES[dtype]
        if scale is not None:
            q = s.QuantizationParametersT()
            q.scale = [float(v) for v in np.atleast_1d(np.asarray(scale, np.float32))]
            zp = np.atleast_1d(np.asarray(zero_point, np.int64))
            if zp.size == 1 and len(q.scale) > 1:
                zp = np.repeat(zp, len(q.scale))
            q.zeroPoint = [int(v) for v in zp]
            q.quantizedDimension = int(axis)
            t.quantization = q
        if data is not None:
            buf = s.BufferT()
            buf.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), np.uint8)
            self.buffers.append(buf)
            t.buffer = len(self.buffers) - 1
        else:
            t.buffer = 0
        self.tensors.append(t)
        return len(self.tensors) - 1

    def input(self, name, shape, dtype="INT8", scale=None, zero_point=0,
              shape_signature=None) -> int:
        i = self.tensor(name, shape, dtype, scale, zero_point, shape_signature=shape_signature)
        self.inputs.append(i)
        return i

    def const(self, name, data: np.ndarray, scale=None, zero_point=0, axis: int = 0) -> int:
        data = np.asarray(data)
        dtype = {np.dtype(np.int8): "INT8", np.dtype(np.int32): "INT32",
                 np.dtype(np.float32): "FLOAT32", np.dtype(np.int64): "INT64",
                 np.dtype(np.int16): "INT16", np.dtype(np.uint8): "UINT8"}[data.dtype]
        return self.tensor(name, data.shape, dtype, scale, zero_point, axis, data=data)

    def output(self, index: int) -> None:
        self.outputs.append(index)

    # -- operators -------------------------------------------------------------------------
    def op(self, opcode: str, inputs: Sequence[int], outputs: Sequence[int], version: int = 1,
           intermediates: Sequence[int] = (), **options: Any) -> int:
        s = self.s
        key = (opcode, version)
        if key not in self.opcodes:
            self.opcodes[key] = len(self.opcodes)
        o = s.OperatorT()
        o.opcodeIndex = self.opcodes[key]
        o.inputs = [int(i) for i in inputs]
        o.outputs = [int(i) for i in outputs]
        if intermediates:  # e.g. the integer LSTM's five (LiteRT reads them; TFLite Micro not)
            o.intermediates = [int(i) for i in intermediates]
        table = OPTIONS_TABLE.get(opcode)
        if table is not None:
            obj = getattr(s, table + "T")()
            for k, v in options.items():
                attr = _camel(k)
                if not hasattr(obj, attr):
                    raise TypeError(f"{table} has no field {k}")
                if k in _ENUMS and isinstance(v, str):
                    v = getattr(getattr(s, _ENUMS[k]), v)
                setattr(obj, attr, list(v) if isinstance(v, tuple) else v)
            o.builtinOptionsType = getattr(s.BuiltinOptions, table)
            o.builtinOptions = obj
        elif options:
            raise TypeError(f"{opcode} takes no options, got {sorted(options)}")
        self.operators.append(o)
        return len(self.operators) - 1

    # -- output ----------------------------------------------------------------------------
    def build(self) -> bytes:
        import flatbuffers

        s = self.s
        codes = [None] * len(self.opcodes)
        for (name, version), idx in self.opcodes.items():
            c = s.OperatorCodeT()
            code = getattr(s.BuiltinOperator, name)
            c.builtinCode = code
            c.deprecatedBuiltinCode = min(code, 127)
            c.version = version
            codes[idx] = c
        m = s.ModelT()
        m.version = 3
        m.operatorCodes = codes
        m.subgraphs = [*self._done, self._subgraph_t()]
        m.buffers = self.buffers
        m.description = self.description
        fb = flatbuffers.Builder(1024)
        fb.Finish(m.Pack(fb), file_identifier=b"TFL3")
        return bytes(fb.Output())
