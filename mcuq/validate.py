"""Every structural and quantization invariant of a .tflite model, checked once when it is
loaded (mcuq.model.parse_model calls this module), before the reference, the code generators or
any native runtime sees the model. A model that breaks one is malformed: InputError (exit 2)
naming the first problem and the tensor or op it is in.

Three passes:

1. `check_flatbuffer(data)`: the flatbuffer itself. Every table, vtable, vector and string that
   mcuq or TensorFlow Lite Micro reads lies inside the file (TFLite Micro does not verify the
   buffer: an offset pointing outside it is a crash in native code), strings end in NUL, and no
   table is visited more often than the file could hold (no shared-table blow-up).
2. `check_subgraphs(raw)`: every index in every subgraph is in range (tensors, buffers, op
   codes), since TFLite Micro allocates every subgraph.
3. `check_model(model)`: the first subgraph as a graph: at least one input, output and op; op
   outputs written once, never constants or model inputs; a topological order (every op input
   is a constant, a model input, a variable or written by an earlier op); per-op arity and
   required inputs for the ops mcuq knows; quantization (finite positive scales, zero points
   within the type, per-channel lengths and axes that fit the tensor); tensor sizes; and shapes
   consistent with each op (per-op shape inference against the stored shapes). The other
   subgraphs (TFLite Micro prepares every one) get the same tensor, order and per-op checks;
   CALL_ONCE must name another subgraph, never the main one, in no cycle (TFLite Micro would
   recurse until the stack overflows); VAR_HANDLE needs a shared_name (TFLite Micro compares
   it with strcmp) and READ_VARIABLE / ASSIGN_VARIABLE a one-element resource handle (only
   debug builds check it before using it as a variable id).

What is valid but not runnable (an op or a type mcuq has no kernel for, a second subgraph) is
not decided here: the reference's prepare step (mcuq.reference.registry.prepare_ops) lists
every such op at once as an UnsupportedModelError (exit 3), and `mcuq inspect` shows the same
verdict.
"""
from __future__ import annotations

import math
import struct
from typing import TYPE_CHECKING

import numpy as np

from .errors import InputError
from .text import label

if TYPE_CHECKING:  # pragma: no cover
    from .model import Model, Operator, Tensor

#: A tensor larger than this is refused before anything allocates it.
MAX_TENSOR_BYTES = 256 << 20
#: All tensors of a model together.
MAX_MODEL_TENSOR_BYTES = 1 << 30
#: Highest tensor rank accepted (TFLite's kernels stop at 6; mcuq's elementwise at 7).
MAX_RANK = 8
#: Ops that write part of their output, so several of them may write one tensor: the patches'
#: pastes of a tiled graph (mcuq.tiling, which check_model vets before the C target emits it).
PARTIAL_WRITERS = frozenset({"MCUQ_PASTE"})

_HINT = ("the file is corrupt or was written by a broken tool; re-create it with "
         "`mcuq convert` (or TFLiteConverter)")


def _bad(source: str, where: str, what: str) -> InputError:
    return InputError(f"{source}: malformed model: {where}{': ' if where else ''}{what}", _HINT)


# ============================================================================================
# 1. the flatbuffer
# ============================================================================================

# Table specs: vtable slot offset -> field kind. Kinds: ("s", size) scalar; "str" string;
# ("v", element size) vector of scalars; ("tv", spec) vector of tables; ("t", spec) table;
# ("u", type slot, specs by type or None for any table) union.
_ANY = None  # a table whose layout is not needed: its vtable and fields must lie inside it
_QUANT = {4: ("v", 4), 6: ("v", 4), 8: ("v", 4), 10: ("v", 8), 12: ("s", 1),
          14: ("u", 12, {1: {4: ("v", 1)}}), 16: ("s", 4)}
_VECTOR_TABLES = {1: {4: ("v", 4)}, 2: {4: ("v", 2)}, 3: {4: ("v", 1)}}
_DIM_META = {4: ("s", 1), 6: ("s", 4), 8: ("s", 1), 10: ("u", 8, _VECTOR_TABLES), 12: ("s", 1),
             14: ("u", 12, _VECTOR_TABLES)}
_SPARSITY = {4: ("v", 4), 6: ("v", 4), 8: ("tv", _DIM_META)}
_TENSOR = {4: ("v", 4), 6: ("s", 1), 8: ("s", 4), 10: "str", 12: ("t", _QUANT), 14: ("s", 1),
           16: ("t", _SPARSITY), 18: ("v", 4), 20: ("s", 1),
           22: ("tv", {4: ("v", 4), 6: ("s", 1), 8: ("s", 1)}), 24: ("s", 4)}
# Options whose vectors mcuq reads (every other options table is checked as a table).
_OPTION_SPECS = {"ReshapeOptions": {4: ("v", 4)}, "SqueezeOptions": {4: ("v", 4)},
                 "FullyConnectedOptions": {14: ("v", 1)}}
_OPERATOR = {4: ("s", 4), 6: ("v", 4), 8: ("v", 4), 10: ("s", 1), 12: ("u", 10, "options"),
             14: ("v", 1), 16: ("s", 1), 18: ("v", 1), 20: ("v", 4), 22: ("s", 8), 24: ("s", 8),
             26: ("s", 1), 28: ("u", 26, _ANY), 30: ("s", 4)}
_SUBGRAPH = {4: ("tv", _TENSOR), 6: ("v", 4), 8: ("v", 4), 10: ("tv", _OPERATOR), 12: "str",
             14: ("s", 4)}
_OPCODE = {4: ("s", 1), 6: "str", 8: ("s", 4), 10: ("s", 4)}
_BUFFER = {4: ("v", 1), 6: ("s", 8), 8: ("s", 8)}
_TENSOR_MAP = {4: "str", 6: ("s", 4)}
_MODEL = {4: ("s", 4), 6: ("tv", _OPCODE), 8: ("tv", _SUBGRAPH), 10: "str", 12: ("tv", _BUFFER),
          14: ("v", 4), 16: ("tv", {4: "str", 6: ("s", 4)}),
          18: ("tv", {4: ("tv", _TENSOR_MAP), 6: ("tv", _TENSOR_MAP), 8: "str", 12: ("s", 4)}),
          20: ("tv", {4: "str"}), 22: ("tv", {4: ("s", 4), 6: ("s", 4), 8: ("s", 8),
                                              10: ("s", 8)})}

_PATHS = {id(_MODEL): "model", id(_OPCODE): "operator code", id(_SUBGRAPH): "subgraph",
          id(_TENSOR): "tensor", id(_QUANT): "quantization", id(_OPERATOR): "operator",
          id(_BUFFER): "buffer", id(_SPARSITY): "sparsity"}


class _Walker:
    def __init__(self, data: bytes, source: str):
        self.data = data
        self.n = len(data)
        self.source = source
        self.seen: set[tuple[int, int]] = set()
        # A writer puts each table once; a vector of N offsets visits at most N tables. The
        # budget bounds the work of a file whose offsets all point at one large table.
        self.budget = self.n // 2 + 4096
        self._options = None

    def fail(self, what: str, where: str) -> InputError:
        return InputError(f"{self.source}: corrupt or truncated .tflite flatbuffer: {what} "
                          f"(in the {where})", _HINT)

    def u32(self, pos: int, where: str) -> int:
        if pos < 0 or pos + 4 > self.n:
            raise self.fail(f"offset at byte {pos} lies outside the {self.n}-byte file", where)
        return struct.unpack_from("<I", self.data, pos)[0]

    def table(self, pos: int, spec, where: str) -> None:
        key = (pos, id(spec))
        if key in self.seen:
            return
        self.seen.add(key)
        self.budget -= 1
        if self.budget < 0:
            raise self.fail("refers to more tables than the file can hold (shared or looping "
                            "offsets)", where)
        if pos < 0 or pos + 4 > self.n:
            raise self.fail(f"table at byte {pos} lies outside the {self.n}-byte file", where)
        (soff,) = struct.unpack_from("<i", self.data, pos)
        vt = pos - soff
        if vt < 0 or vt + 4 > self.n:
            raise self.fail(f"vtable of the table at byte {pos} lies outside the file", where)
        vt_size, tbl_size = struct.unpack_from("<HH", self.data, vt)
        if vt_size < 4 or vt_size % 2 or vt + vt_size > self.n:
            raise self.fail(f"vtable at byte {vt} has size {vt_size}", where)
        if tbl_size < 4 or pos + tbl_size > self.n:
            raise self.fail(f"table at byte {pos} of {tbl_size} bytes runs past the end", where)
        slots = struct.unpack_from(f"<{(vt_size - 4) // 2}H", self.data, vt + 4)
        for k, off in enumerate(slots):
            if off == 0:
                continue
            slot = 4 + 2 * k
            kind = spec.get(slot) if spec is not None else None
            size = kind[1] if isinstance(kind, tuple) and kind[0] == "s" else (
                1 if kind is None else 4)
            if off < 4 or off + size > tbl_size:
                raise self.fail(f"field {k} at offset {off} lies outside its {tbl_size}-byte "
                                "table", where)
            if kind is None or (isinstance(kind, tuple) and kind[0] == "s"):
                continue
            fpos = pos + off
            if kind == "str":
                self.string(fpos + self.u32(fpos, where), where)
            elif kind[0] == "v":
                self.vector(fpos + self.u32(fpos, where), kind[1], where)
            elif kind[0] == "t":
                self.table(fpos + self.u32(fpos, where), kind[1], where)
            elif kind[0] == "tv":
                vpos = fpos + self.u32(fpos, where)
                count = self.vector(vpos, 4, where)
                sub = _PATHS.get(id(kind[1]), where)
                for i in range(count):
                    epos = vpos + 4 + 4 * i
                    self.table(epos + self.u32(epos, where), kind[1], f"{sub} {i}")
            elif kind[0] == "u":
                toff = slots[(kind[1] - 4) // 2] if (kind[1] - 4) // 2 < len(slots) else 0
                utype = self.data[pos + toff] if toff and pos + toff < self.n else 0
                if utype == 0:
                    continue
                specs = kind[2]
                if specs == "options":
                    sub = _OPTION_SPECS.get(self.option_name(utype))
                elif specs is None:
                    sub = None
                else:
                    sub = specs.get(utype)
                self.table(fpos + self.u32(fpos, where), sub if sub is not None else {},
                           where)

    def option_name(self, utype: int) -> str:
        if self._options is None:
            from .model import schema

            s = schema()
            self._options = {v: k for k, v in vars(s.BuiltinOptions).items()
                             if not k.startswith("_")}
        return self._options.get(utype, "")

    def vector(self, pos: int, elem: int, where: str) -> int:
        count = self.u32(pos, where)
        if count * elem > self.n - pos - 4:
            raise self.fail(f"vector at byte {pos} claims {count} elements of {elem} bytes, "
                            f"beyond the end of the file", where)
        return count

    def string(self, pos: int, where: str) -> None:
        length = self.vector(pos, 1, where)
        end = pos + 4 + length
        if end >= self.n or self.data[end] != 0:
            raise self.fail(f"string at byte {pos} is not NUL-terminated inside the file",
                            where)


def check_flatbuffer(data: bytes, source: str = "<bytes>") -> None:
    """Raise InputError unless every table, vector and string of the model lies inside
    `data` (the identifier and the root offset are checked by mcuq.model first)."""
    w = _Walker(data, source)
    (root,) = struct.unpack_from("<I", data, 0)
    w.table(root, _MODEL, "model")


# ============================================================================================
# 2. indices of every subgraph
# ============================================================================================

def check_subgraphs(raw, source: str) -> None:
    """Tensor, buffer and op-code indices of every subgraph (ModelT, object API)."""
    n_codes = len(raw.operatorCodes or [])
    n_buffers = len(raw.buffers or [])
    for g, sg in enumerate(raw.subgraphs or []):
        tensors = sg.tensors or []
        n = len(tensors)
        where = f"subgraph {g}" if g else ""
        for i, t in enumerate(tensors):
            if not 0 <= int(t.buffer) < max(n_buffers, 1):
                raise _bad(source, _join(where, f"tensor {i} '{_raw_name(t)}'"),
                           f"refers to buffer {t.buffer}, the model has {n_buffers}")
        for what, values in (("input", sg.inputs), ("output", sg.outputs)):
            for v in (values if values is not None else []):
                if not 0 <= int(v) < n:
                    raise _bad(source, where or "subgraph",
                               f"{what} refers to tensor {int(v)}, the subgraph has {n}")
        for i, op in enumerate(sg.operators or []):
            if not 0 <= int(op.opcodeIndex) < n_codes:
                raise _bad(source, _join(where, f"operator {i}"),
                           f"op code index {op.opcodeIndex}, the model has {n_codes} op codes")
            for what, values in (("input", op.inputs), ("output", op.outputs),
                                 ("intermediate", op.intermediates)):
                for v in (values if values is not None else []):
                    if not -1 <= int(v) < n or (v == -1 and what != "input"):
                        raise _bad(source, _join(where, f"operator {i}"),
                                   f"{what} refers to tensor {int(v)}, the subgraph has {n}")


def _join(a: str, b: str) -> str:
    return f"{a}, {b}" if a else b


def _raw_name(t) -> str:
    name = t.name
    return label(name.decode("utf-8", "replace") if isinstance(name, bytes) else (name or ""))


# ============================================================================================
# 3. the graph
# ============================================================================================

#: Value ranges of zero points per tensor type.
ZERO_POINT_RANGE = {"INT8": (-128, 127), "UINT8": (0, 255), "INT16": (-32768, 32767),
                    "INT4": (-8, 7), "INT32": (-(1 << 31), (1 << 31) - 1)}

#: Ops whose arithmetic reads the scale and zero point of their integer tensors.
NEEDS_QUANT = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D",
               "MAX_POOL_2D", "MEAN", "ADD", "SUB", "MUL", "SOFTMAX", "LOGISTIC", "TANH",
               "RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH", "QUANTIZE", "DEQUANTIZE", "SVDF"}
_QUANTIZED_TYPES = ("INT8", "UINT8", "INT16")


class _Graph:
    def __init__(self, model: "Model", local_ops: frozenset[int] | set[int] = frozenset()):
        self.m = model
        self.src = model.source
        self.local = local_ops

    def t(self, i: int) -> "Tensor":
        return self.m.tensors[i]

    def tname(self, t: "Tensor") -> str:
        return f"tensor {t.index} '{t.label}'"

    def op_fail(self, op: "Operator", what: str) -> InputError:
        k = getattr(self.m, "main_index", 0)
        return _bad(self.src, (f"subgraph {k} " if k else "") + op.describe(), what)

    # -- the whole graph -----------------------------------------------------------------
    def check(self) -> None:
        m = self.m
        if not m.inputs:
            raise _bad(self.src, "", "the model has no input tensor")
        if not m.outputs:
            raise _bad(self.src, "", "the model has no output tensor")
        if not m.operators:
            raise _bad(self.src, "", "the model has no operator")
        # (an output may be listed twice: TFLiteConverter does so for two equal outputs)
        if len(set(m.inputs)) != len(m.inputs):
            dup = next(i for i in m.inputs if m.inputs.count(i) > 1)
            raise _bad(self.src, self.tname(self.t(dup)), "listed twice as a model input")
        for i in m.inputs:
            if self.t(i).is_constant:
                raise _bad(self.src, self.tname(self.t(i)),
                           "is a model input but holds constant data")
            if self.t(i).is_variable:  # TFLite Micro resets variables itself: it computed such
                raise _bad(self.src, self.tname(self.t(i)),  # a ds_cnn differently (the fuzz)
                           "is a model input but is marked variable")
        for i in set(m.inputs) | set(m.outputs):  # an op's 0-element intermediate as model
            if self.t(i).size == 0:  # input: generate wrote a project that did not compile
                raise _bad(self.src, self.tname(self.t(i)),
                           f"is a model {'input' if i in m.inputs else 'output'} with no "
                           f"elements (shape {list(self.t(i).shape)})")
        for t in m.tensors:
            if t.is_constant and t.is_variable:  # TFLite Micro zeroes variables: not a constant
                raise _bad(self.src, self.tname(t), "is marked variable but holds constant data")
        for op in m.operators:  # variables are state an op reads (and updates in place), never
            for i in op.outputs:  # an op's planned output (the fuzz found TFLite Micro differ)
                if i >= 0 and self.t(i).is_variable:
                    raise _bad(self.src, self.tname(self.t(i)),
                               f"is marked variable but is the output of op #{op.index} "
                               f"{op.opcode}")
        for i in m.outputs:  # then any other variable as model output (an SVDF's state:
            if self.t(i).is_variable:  # TFLite Micro returned other bytes; fuzz --models extra)
                raise _bad(self.src, self.tname(self.t(i)),
                           "is a model output but is marked variable (state an op keeps)")
        # A TFLite Micro-compressed model (mcuq.tflm_compression): each TFLM_DECODE op's encoded
        # inputs are packed index bytes that keep the quantization of the tensor they decode to.
        self.encoded = {op.inputs[j] for op in m.operators if op.opcode == "CUSTOM:TFLM_DECODE"
                        for j in range(0, len(op.inputs), 2)}
        total = 0
        for t in m.tensors:
            self.tensor(t)
            total += t.nbytes
        if total > MAX_MODEL_TENSOR_BYTES:
            raise _bad(self.src, "", f"its tensors need {total:,} bytes together, over mcuq's "
                                     f"limit of {MAX_MODEL_TENSOR_BYTES:,}")
        self.order()
        from .reference.registry import signature_for  # the kernels' operand signatures

        for op in m.operators:
            sig = signature_for(op.opcode)
            if sig is not None:
                self.arity(op, sig)
                self.quantized(op)
                if op.index not in self.local:
                    self.shapes(op)

    def check_other(self) -> None:
        """Another subgraph (CALL_ONCE's init subgraph...): no input, output or op needed."""
        m = self.m
        for t in m.tensors:
            if t.is_constant and t.is_variable:
                raise _bad(self.src, self.tname(t), "is marked variable but holds constant data")
            self.tensor(t)
        self.order()
        from .reference.registry import signature_for

        for op in m.operators:
            sig = signature_for(op.opcode)
            if sig is not None:
                self.arity(op, sig)
                self.quantized(op)
                self.shapes(op)

    def tensor(self, t: "Tensor") -> None:
        if t.type_name.startswith("TYPE_"):
            raise _bad(self.src, self.tname(t), f"unknown tensor type {t.type_name[5:]}")
        if len(t.shape) > MAX_RANK:
            raise _bad(self.src, self.tname(t),
                       f"rank {len(t.shape)} is above {MAX_RANK}, more than any TFLite kernel "
                       "handles")
        if t.nbytes > MAX_TENSOR_BYTES:
            raise _bad(self.src, self.tname(t),
                       f"shape {list(t.shape)} {t.type_name} needs {t.nbytes:,} bytes, over "
                       f"mcuq's limit of {MAX_TENSOR_BYTES:,} per tensor")
        q = t.quant
        if q is None:
            return
        # A constant's channel may have scale 0 (a dead, all-zero channel of pruned weights:
        # its multiplier is 0 and TFLite Micro writes the zero point); a tensor that carries
        # values needs a positive scale (every requantization divides by it).
        ok = np.isfinite(q.scale) & ((q.scale >= 0) if t.is_constant else (q.scale > 0))
        if not np.all(ok):
            bad = float(q.scale[~ok][0])
            raise _bad(self.src, self.tname(t), f"quantization scale {bad!r} (scales must be "
                                                "finite and positive)")
        if q.zero_point.size == 0:
            raise _bad(self.src, self.tname(t), f"{q.scale.size} quantization scale(s) but no "
                       "zero point (TFLite Micro and LiteRT read such a tensor as not quantized)")
        if q.zero_point.size != q.scale.size:
            raise _bad(self.src, self.tname(t), f"{q.scale.size} scales but "
                                                f"{q.zero_point.size} zero points")
        lo_hi = ZERO_POINT_RANGE.get(t.type_name)
        if lo_hi is not None:
            lo, hi = lo_hi
            out = q.zero_point[(q.zero_point < lo) | (q.zero_point > hi)]
            if out.size:
                raise _bad(self.src, self.tname(t), f"zero point {int(out[0])} is outside "
                                                    f"{t.type_name}'s range [{lo}, {hi}]")
        if q.scale.size > 1 and t.index not in getattr(self, "encoded", ()):
            rank = len(t.shape)
            if 0 <= q.axis < rank:
                if q.scale.size != t.shape[q.axis]:
                    raise _bad(self.src, self.tname(t),
                               f"{q.scale.size} per-channel scales on axis {q.axis}, which has "
                               f"{t.shape[q.axis]} channels (shape {list(t.shape)})")
            elif not (q.axis >= rank == 1 and t.type_name == "INT32" and t.is_constant
                      and q.scale.size == t.shape[0]):
                # A 1-D int32 bias whose axis names the weights' channel axis (TFLite Micro's
                # person_detect model) is accepted: nothing reads a bias's scales, and only
                # LiteRT refuses it (reported by `mcuq verify` as that runner's status).
                raise _bad(self.src, self.tname(t),
                           f"per-channel quantization axis {q.axis} is outside the tensor's "
                           f"{rank} dimensions")

    def order(self) -> None:
        m = self.m
        ready = set(m.inputs)
        ready.update(t.index for t in m.tensors if t.is_constant or t.is_variable)
        written: dict[int, int] = {}
        for op in m.operators:
            for i in op.inputs:
                if i < 0 or i in ready:
                    continue
                t = self.t(i)
                later = next((o for o in m.operators if i in o.outputs), None)
                why = (f"written later by {later.describe()}" if later is not None and
                       later.index >= op.index else "written by no op")
                raise self.op_fail(op, f"reads {self.tname(t)} before it has a value "
                                       f"({why}; ops must be in topological order)")
            if len(set(op.outputs)) != len(op.outputs):
                raise self.op_fail(op, "lists one tensor twice among its outputs")
            for i in op.outputs:
                t = self.t(i)
                if t.is_constant:
                    raise self.op_fail(op, f"writes {self.tname(t)}, which holds constant data")
                if i in m.inputs:
                    raise self.op_fail(op, f"writes {self.tname(t)}, a model input")
                if i in written and not (op.opcode in PARTIAL_WRITERS and
                                         m.operators[written[i]].opcode in PARTIAL_WRITERS):
                    raise self.op_fail(op, f"writes {self.tname(t)}, already written by op "
                                           f"#{written[i]}")
                written[i] = op.index
                ready.add(i)
        for i in m.outputs:
            if i not in ready:
                raise _bad(self.src, self.tname(self.t(i)),
                           "is a model output but no op writes it")

    # -- per op ---------------------------------------------------------------------------
    def arity(self, op: "Operator", sig) -> None:
        """Input and output counts and the required inputs of `sig` (the kernel's declared
        mcuq.reference.registry.Signature); constant inputs are the prepare step's business."""
        n, n_out = len(op.inputs), len(op.outputs)
        if sig.all_positions and n != len(sig.inputs):
            raise self.op_fail(op, f"has {n} inputs; the op has {len(sig.inputs)} (-1 for an "
                                   "omitted one)")
        if sig.variadic_inputs:
            lo, hi = len(sig.inputs), sig.max_inputs
        else:
            lo, hi = len([x for x in sig.inputs if x not in sig.optional]), len(sig.inputs)
        if n < lo or (hi is not None and n > hi):
            want = f"{lo}" if lo == hi else (f"{lo} to {hi}" if hi else f"at least {lo}")
            raise self.op_fail(op, f"has {n} inputs, {op.opcode} takes {want}")
        if n_out < len(sig.outputs) or (not sig.variadic_outputs and n_out > len(sig.outputs)):
            raise self.op_fail(op, f"has {n_out} outputs, {op.opcode} writes "
                                   f"{'at least ' if sig.variadic_outputs else ''}"
                                   f"{len(sig.outputs)}")
        for k, i in enumerate(op.inputs):
            name = sig.inputs[min(k, len(sig.inputs) - 1)]
            if i < 0 and name not in sig.optional:
                raise self.op_fail(op, f"input {k} ({name}) is omitted (-1) but {op.opcode} "
                                       "requires it")

    def quantized(self, op: "Operator") -> None:
        if op.opcode not in NEEDS_QUANT:
            return
        for i in (*op.inputs[:2], *op.outputs):
            if i < 0:
                continue
            t = self.t(i)
            if t.type_name in _QUANTIZED_TYPES and t.quant is None:
                raise self.op_fail(op, f"{self.tname(t)} is {t.type_name} without a scale and "
                                       "zero point (quantized tensors need both)")

    def shapes(self, op: "Operator") -> None:
        if not op.outputs or not op.inputs:  # ASSIGN_VARIABLE, CALL_ONCE, VAR_HANDLE
            return
        ins = [self.t(i) if i >= 0 else None for i in op.inputs]
        y = self.t(op.outputs[0])
        want = infer_shape(op, ins, y, self)
        if want is None:
            return
        if isinstance(want, int):  # only the element count is determined
            if y.size != want:
                raise self.op_fail(op, f"output {self.tname(y)} has {y.size} elements "
                                       f"(shape {list(y.shape)}); its inputs give {want}")
        elif tuple(want) != tuple(y.shape):
            raise self.op_fail(op, f"output {self.tname(y)} has shape {list(y.shape)}; its "
                                   f"inputs give {list(want)}")

    def need(self, op: "Operator", t: "Tensor", rank: int, role: str) -> None:
        if len(t.shape) != rank:
            raise self.op_fail(op, f"{role} {self.tname(t)} has shape {list(t.shape)}, "
                                   f"{op.opcode} needs {rank} dimensions")


def _window(padding, size: int, filt: int, stride: int, dilation: int) -> int | None:
    if padding not in ("SAME", "VALID") or stride < 1 or dilation < 1 or filt < 1:
        return None
    if padding == "SAME":
        return (size + stride - 1) // stride
    eff = (filt - 1) * dilation + 1
    return max((size + stride - eff) // stride, 0)


def _const_ints(t) -> np.ndarray | None:
    if t is None or t.data is None or t.type_name not in ("INT32", "INT64"):
        return None
    return np.asarray(t.data).astype(np.int64).reshape(-1)


def _lstm_shape(op: "Operator", ins: list, g: _Graph) -> tuple:
    """UNIDIRECTIONAL_SEQUENCE_LSTM (lstm_eval_common.cc ValidateTensorSize): input (B, T, I)
    or time major (T, B, I); input -> gate weights (S, I), recurrent weights (S, S), biases
    (S,), each state B x S elements; output (B, T, S) / (T, B, S)."""
    x, h, c = ins[0], ins[18], ins[19]
    g.need(op, x, 3, "input")
    g.need(op, h, 2, "output_state")
    units = h.shape[1]
    batch = x.shape[1] if op.options.get("time_major") else x.shape[0]
    for k, t in enumerate(ins[1:16], start=1):
        if t is None or 9 <= k <= 11:  # omitted, or peephole (the prepare step refuses it)
            continue
        want = (units, x.shape[2]) if k <= 4 else (units, units) if k <= 8 else (units,)
        if tuple(t.shape) != want:
            raise g.op_fail(op, f"input {k} {g.tname(t)} has shape {list(t.shape)}, the LSTM's "
                                f"{units} units and {x.shape[2]} input features need "
                                f"{list(want)}")
    for t, what in ((h, "output_state"), (c, "cell_state")):
        if t.size != batch * units:
            raise g.op_fail(op, f"{what} {g.tname(t)} has {t.size} elements for batch {batch} "
                                f"x {units} units")
    return (x.shape[0], x.shape[1], units)


def infer_shape(op: "Operator", ins: list, y: "Tensor", g: _Graph):
    """The output shape op's inputs imply (a tuple), only its element count (an int), or None
    where the shape depends on what the op's prepare step refuses anyway (unsupported options,
    non-constant index tensors)."""
    code, o = op.opcode, op.options
    x = ins[0]
    if code in ("SOFTMAX", "LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH",
                "QUANTIZE", "DEQUANTIZE"):
        # TFLite's elementwise kernels walk MatchingFlatSize(input, output): equal shapes (a
        # mere equal count made TFLite Micro read past a dimension array: found by the fuzz)
        return tuple(x.shape)
    if code in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS"):
        return x.size
    if code in ("ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM"):
        try:
            return tuple(np.broadcast_shapes(tuple(ins[0].shape), tuple(ins[1].shape)))
        except ValueError:
            raise g.op_fail(op, f"input shapes {list(ins[0].shape)} and {list(ins[1].shape)} "
                                "do not broadcast") from None
    if code == "UNIDIRECTIONAL_SEQUENCE_LSTM":
        return _lstm_shape(op, ins, g)
    if code == "FULLY_CONNECTED":
        w, b = ins[1], (ins[2] if len(ins) > 2 else None)
        g.need(op, w, 2, "weights")
        units, depth = w.shape
        if depth < 1 or x.size % depth:
            raise g.op_fail(op, f"input {g.tname(x)} has {x.size} elements, not a multiple of "
                                f"the weights' depth {depth}")
        if b is not None and b.size != units:
            raise g.op_fail(op, f"bias {g.tname(b)} has {b.size} values for {units} units")
        if not y.shape or y.shape[-1] != units:
            raise g.op_fail(op, f"output {g.tname(y)} has shape {list(y.shape)}, its last "
                                f"dimension must be the {units} units")
        return x.size // depth * units
    if code in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        w, b = ins[1], (ins[2] if len(ins) > 2 else None)
        g.need(op, x, 4, "input")
        g.need(op, w, 4, "weights")
        g.need(op, y, 4, "output")
        if code == "CONV_2D":
            out_c = w.shape[0]
            if w.shape[3] < 1 or x.shape[3] % w.shape[3]:
                raise g.op_fail(op, f"input channels {x.shape[3]} are not a multiple of the "
                                    f"weights' input depth {w.shape[3]}")
        else:
            out_c = w.shape[3]
            if w.shape[0] != 1:
                raise g.op_fail(op, f"depthwise weights {g.tname(w)} have shape "
                                    f"{list(w.shape)}, the first dimension must be 1")
            if x.shape[3] < 1 or out_c % x.shape[3]:
                raise g.op_fail(op, f"output channels {out_c} are not a multiple of the input "
                                    f"channels {x.shape[3]}")
        if b is not None and b.size != out_c:
            raise g.op_fail(op, f"bias {g.tname(b)} has {b.size} values for {out_c} channels")
        oh = _window(o.get("padding", "SAME"), x.shape[1], w.shape[1], int(o.get("stride_h", 1)),
                     int(o.get("dilation_h_factor", 1)))
        ow = _window(o.get("padding", "SAME"), x.shape[2], w.shape[2], int(o.get("stride_w", 1)),
                     int(o.get("dilation_w_factor", 1)))
        if oh is None or ow is None:
            return None
        return (x.shape[0], oh, ow, out_c)
    if code in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        g.need(op, x, 4, "input")
        g.need(op, y, 4, "output")
        oh = _window(o.get("padding", "SAME"), x.shape[1], int(o.get("filter_height", 1)),
                     int(o.get("stride_h", 1)), 1)
        ow = _window(o.get("padding", "SAME"), x.shape[2], int(o.get("filter_width", 1)),
                     int(o.get("stride_w", 1)), 1)
        if oh is None or ow is None:
            return None
        return (x.shape[0], oh, ow, x.shape[3])
    if code == "MEAN":
        axes = _const_ints(ins[1])
        rank = len(x.shape)
        if axes is None or ((axes < -rank) | (axes >= max(rank, 1))).any():
            return None
        resolved = {int(a) + rank if a < 0 else int(a) for a in axes}
        return math.prod(d for i, d in enumerate(x.shape) if i not in resolved)
    if code == "CONCATENATION":
        rank = len(y.shape)
        axis = int(o.get("axis", 0))
        axis = axis + rank if axis < 0 else axis
        if not 0 <= axis < rank:
            raise g.op_fail(op, f"axis {o.get('axis')} is outside the output's {rank} "
                                "dimensions")
        for t in ins:
            if len(t.shape) != rank or any(a != b for k, (a, b) in
                                           enumerate(zip(t.shape, y.shape)) if k != axis):
                raise g.op_fail(op, f"input {g.tname(t)} {list(t.shape)} does not match the "
                                    f"output {list(y.shape)} outside axis {axis}")
        return tuple(sum(t.shape[axis] for t in ins) if k == axis else d
                     for k, d in enumerate(y.shape))
    if code in ("PAD", "PADV2"):
        pads = _const_ints(ins[1])
        rank = len(x.shape)
        if pads is None or pads.size != 2 * rank or (pads < 0).any():
            return None
        return tuple(int(d + a + b) for d, a, b in zip(x.shape, pads[0::2], pads[1::2]))
    if code == "TRANSPOSE":
        perm = _const_ints(ins[1])
        rank = len(x.shape)
        if perm is None or sorted(perm.tolist()) != list(range(rank)):
            return None
        return tuple(x.shape[int(p)] for p in perm)
    if code == "SVDF":
        return _svdf_shape(op, ins, y, g)
    return None  # STRIDED_SLICE: its prepare step resolves and checks the slice


def _svdf_shape(op: "Operator", ins: list, y: "Tensor", g: _Graph):
    """TFLite Micro's PrepareSvdf: input [batch, input_size], weights_feature [filters,
    input_size], weights_time [filters, memory], bias [filters / rank], activation state
    [batch, memory * filters] (a variable tensor) -> output [batch, filters / rank]."""
    x, wf, wt, b, state = (list(ins) + [None] * 5)[:5]
    rank = op.options.get("rank")
    if not isinstance(rank, int) or rank < 1:
        raise g.op_fail(op, f"SVDF rank {rank!r} (its options must give a positive rank)")
    for t, role in ((x, "input"), (wf, "weights_feature"), (wt, "weights_time"),
                    (state, "activation state"), (y, "output")):
        g.need(op, t, 2, role)
    batch, depth = x.shape
    filters, memory = wt.shape
    if tuple(wf.shape) != (filters, depth):
        raise g.op_fail(op, f"weights_feature {g.tname(wf)} has shape {list(wf.shape)}, the "
                            f"input and weights_time give [{filters}, {depth}]")
    if filters % rank:
        raise g.op_fail(op, f"{filters} filters are not a multiple of rank {rank}")
    if tuple(state.shape) != (batch, memory * filters):
        raise g.op_fail(op, f"activation state {g.tname(state)} has shape {list(state.shape)}, "
                            f"SVDF needs [{batch}, {memory * filters}] (batch, memory x filters)")
    if not state.is_variable:
        raise g.op_fail(op, f"activation state {g.tname(state)} is not a variable tensor "
                            "(SVDF keeps its memory there between invocations)")
    if b is not None and b.size != filters // rank:
        raise g.op_fail(op, f"bias {g.tname(b)} has {b.size} values for {filters // rank} units")
    return (batch, filters // rank)


def work(model: "Model") -> int:
    """About how many multiply-accumulates (plus element moves) one inference costs: a bound
    for how long a runtime may take before it counts as hung."""
    total = 0
    for op in model.operators:
        outs = sum(model.tensors[i].size for i in op.outputs)
        ins = sum(model.tensors[i].size for i in op.inputs if i >= 0)
        w = next((model.tensors[i] for i in op.inputs[1:2] if i >= 0 and
                  model.tensors[i].is_constant and len(model.tensors[i].shape) >= 2), None)
        per = 1
        if w is not None and w.size:
            channels = w.shape[3] if op.opcode == "DEPTHWISE_CONV_2D" and len(w.shape) == 4 \
                else w.shape[0]
            per = max(w.size // max(channels, 1), 1)
        total += outs * per + ins
    return total


def seconds_per_inference(model: "Model") -> float:
    """A generous bound for one inference of a native runtime on the host (2 MMAC/s)."""
    return 0.05 + work(model) / 2e6


def check_model(model: "Model", local_ops: frozenset[int] | set[int] = frozenset()) -> None:
    """The graph checks of pass 3 (see the module docstring); raises InputError. local_ops:
    indices of ops computed with explicit local geometry (the patch ops of a tiled graph,
    mcuq.tiling, whose windows have padding no option can state): their output shapes are not
    inferred from their options (the tiling checks them against its own params)."""
    _Graph(model, local_ops).check()
    count = len(model.subgraphs)
    for k in range(1, count):
        _Graph(model.subgraph_view(k)).check_other()
    calls: dict[int, list[int]] = {}
    for k in range(count or 1):
        view = model.subgraph_view(k)
        g = _Graph(view)
        where = f"subgraph {k} " if k else ""
        for op in view.operators:
            if op.opcode == "CALL_ONCE":
                callee = op.options.get("init_subgraph_index")
                if not isinstance(callee, int) or not 0 < callee < count or callee == k:
                    raise _bad(model.source, where + op.describe(),
                               f"calls subgraph {callee}; CALL_ONCE runs another subgraph than "
                               f"the main one and its own (the model has {count})")
                calls.setdefault(k, []).append(callee)
            elif op.opcode == "VAR_HANDLE" and not op.options.get("shared_name"):
                raise _bad(model.source, where + op.describe(), "has no shared_name (the "
                                                                "variable's name)")
            elif op.opcode in ("READ_VARIABLE", "ASSIGN_VARIABLE") and op.inputs:
                h = view.tensors[op.inputs[0]] if op.inputs[0] >= 0 else None
                if h is None or h.type_name not in ("RESOURCE", "INT32") or h.size != 1:
                    what = "omitted" if h is None else (
                        f"{g.tname(h)} {h.type_name} {list(h.shape)}")
                    raise _bad(model.source, where + op.describe(),
                               f"its variable handle is {what}, not a one-element resource "
                               "tensor")
    _check_call_cycles(model.source, calls)


def _check_call_cycles(source: str, calls: dict[int, list[int]]) -> None:
    state: dict[int, int] = {}  # 1: on the current path, 2: done

    def visit(k: int, path: list[int]) -> None:
        state[k] = 1
        for c in calls.get(k, []):
            if state.get(c) == 1:
                cycle = " -> ".join(map(str, path + [c]))
                raise _bad(source, f"subgraph {k}", f"CALL_ONCE calls form a cycle ({cycle}): "
                                                    "TFLite Micro would recurse without end")
            if state.get(c) is None:
                visit(c, path + [c])
        state[k] = 2

    for k in list(calls):
        if state.get(k) is None:
            visit(k, [k])


__all__ = ["check_flatbuffer", "check_subgraphs", "check_model", "infer_shape", "work",
           "seconds_per_inference", "MAX_TENSOR_BYTES", "MAX_RANK", "ZERO_POINT_RANGE"]
