"""Everything the standalone C target's model.c needs, as plain data.

The reference interpreter prepares every op once (mcuq.reference.registry); an emitter per op
(mcuq/codegen/c_ops/) turns those same params into a static const parameter struct and one
kernel call. Since the C code is built from the very numbers the reference uses, the two cannot
drift apart: the tests prove the kernels agree.

Storage of every tensor is decided here:
  - constants: static const arrays in flash, emitted only when an emitter asks for them;
  - model inputs/outputs: in the arena (the default, as TFLite Micro's interpreter.input(0)):
    `mcuq_<name>_input(i)` / `mcuq_<name>_output(i)` point at them, so an input's bytes are
    reused once it is consumed; with `external_io` the caller's buffers (invoke_io's
    arguments), never copied;
  - RESHAPE/SQUEEZE/EXPAND_DIMS outputs: aliases of their input (no code, no memory);
  - everything else: an offset in one static arena planned by mcuq.memory, where ops run in
    place when their kernel allows it (mcuq/codegen/inplace.py).
Each call carries the arena regions of its operands: sanitizer builds poison the rest of the
arena while the kernel runs (ASan then reports any access outside the op's own tensors).
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import UnsupportedModelError
from ..memory import ALIAS_OPS, ArenaPlan, alias_groups, io_aliases
from ..model import Model, Operator
from ..text import safe_text
from .carray import C_TYPES, format_values



@dataclass
class CArray:
    name: str
    ctype: str
    count: int
    body: str  # formatted initializer
    comment: str = ""


@dataclass
class CStruct:
    name: str
    ctype: str
    fields: list[tuple[str, str]]


@dataclass
class CTable:
    """A static const table of C initializers (band schedules, pointer tables), emitted after
    the parameter structs it may point at."""
    name: str
    ctype: str
    items: list[str]
    comment: str = ""


@dataclass
class CCall:
    index: int
    op: str
    comment: str
    lines: list[str]
    #: the kernel path the emitter chose, e.g. ("conv/im2col", "conv/odd-out") (coverage reports)
    paths: tuple[str, ...] = ()
    #: (offset, bytes) of the arena regions the op may touch (sanitizer fences)
    regions: list[tuple[int, int]] = field(default_factory=list)
    inplace: str = ""  # the in-place method, if the op runs in place


@dataclass
class Storage:
    """Where a tensor's bytes live: kind in {"const", "input", "output", "arena", "none",
    "state"} (none: a resource handle, resolved statically; state: a variable tensor's own
    static buffer s_vt<index>, slot = the tensor index)."""
    kind: str
    slot: int = 0  # input/output number, or arena offset
    root: int = -1  # tensor index owning the bytes (aliases point at their root)


Emitter = Callable[["EmitContext", Operator, object], list[str]]
EMITTERS: dict[str, Emitter] = {}
#: Emitters for ops whose weight operand (input 1) is stored packed (`--pack`:
#: mcuq.packing.plan_packing, firmware/kernels/packed.c); mcuq/codegen/c_ops/packed.py.
PACKED_EMITTERS: dict[str, Emitter] = {}


def c_emitter(*names: str, packed: bool = False):
    """Register a function emit(ctx, op, params) -> list of C statements (packed=True: the
    variant for a packed weight operand)."""
    def wrap(fn):
        for n in names:
            (PACKED_EMITTERS if packed else EMITTERS)[n] = fn
        return fn
    return wrap


def _load_emitters() -> None:
    from . import c_ops

    for info in pkgutil.iter_modules(c_ops.__path__):
        importlib.import_module(f"{c_ops.__name__}.{info.name}")


class EmitContext:
    """What an emitter may ask for: pointers to tensors, const arrays, parameter structs."""

    #: what params() returns while a caller captures the structs an emitter makes
    CAPTURE_TOKEN = "@MCUQ_PARAMS@"

    def __init__(self, model: Model, storage: dict[int, Storage], prefix: str = "s",
                 program=None, packing: dict | None = None):
        self.model = model
        self.storage = storage
        self.prefix = prefix
        self.program = program  # mcuq.reference.program.Program (stateful models)
        self.reset_calls: list[int] = []  # init subgraphs reset() runs, in CALL_ONCE order
        #: {tensor index: mcuq.packing.LutLayout} of the weights stored packed
        self.packing = packing or {}
        #: bytes of the decode scratch the packed kernels share (the largest segment)
        self.scratch_bytes = 0
        self._luts: dict[int, str] = {}
        self.arrays: list[CArray] = []
        self.structs: list[CStruct] = []
        self.tables: list[CTable] = []
        self.sources: set[str] = set()
        self._const_names: dict[int, str] = {}
        self._op: Operator | None = None
        self._paths: list[str] = []
        self.buffers: dict[str, int] = {}
        self._array_names: dict[tuple, str] = {}  # identical arrays/structs are emitted once
        self._struct_names: dict[tuple, str] = {}
        #: tensor index -> C pointer expression replacing its storage (in-place by rows)
        self.override: dict[int, str] = {}
        self.capture: list[tuple[str, str]] | None = None  # (name, ctype) of captured structs
        self.suffix = ""  # appended to the op's names (one struct per band of rows)
        self.scratch_offset: int | None = None  # arena offset of the op's temporary

    # -- what was chosen -------------------------------------------------------------------
    def path(self, *labels: str) -> None:
        """Record the kernel path(s) this op's call takes ("family/path"), for the generated
        comment and the tests' coverage report."""
        self._paths.extend(labels)

    def need(self, buffer: str, size: int) -> None:
        """The kernel this op calls needs stack buffer `buffer` (a macro of
        firmware/kernels/mcuq_buffers.h) of at least `size` (the project's copy of that header
        holds the maximum over its ops)."""
        self.buffers[buffer] = max(self.buffers.get(buffer, 0), int(size))

    # -- resource variables ----------------------------------------------------------------
    def variable(self, resource_tensor: int):
        """The variable (program.Variable) a resource tensor of this subgraph refers to."""
        return self.program.variable_of(self.model.main_index, resource_tensor)

    @staticmethod
    def variable_name(v) -> str:
        return f"s_var{v.id}"

    def call_once(self, subgraph: int) -> None:
        self.reset_calls.append(subgraph)

    # -- kernels and sources ---------------------------------------------------------------
    def use(self, *kernel_files: str) -> None:
        """Firmware files (relative to firmware/kernels/, without extension) this op needs."""
        self.sources.update(kernel_files)

    # -- data ------------------------------------------------------------------------------
    def array(self, stem: str, values, ctype: str | None = None, comment: str = "") -> str:
        """A static const array in flash; returns its C name."""
        v = np.asarray(values)
        ctype = ctype or C_TYPES[v.dtype]
        body = format_values(v)
        key = (ctype, int(v.size), body)
        if key in self._array_names:
            return self._array_names[key]
        name = f"{self.prefix}_op{self._op.index}{self.suffix}_{stem}" if self._op \
            else f"{self.prefix}_{stem}"
        self.arrays.append(CArray(name, ctype, int(v.size), body, comment))
        self._array_names[key] = name
        return name

    def table(self, name: str, ctype: str, items: list[str], comment: str = "") -> str:
        """A static const table (after the parameter structs); returns its name."""
        self.tables.append(CTable(name, ctype, list(items), comment))
        return name

    def const(self, tensor_index: int) -> str:
        """The C name of a constant tensor's data (emitted once, in flash)."""
        if tensor_index not in self._const_names:
            t = self.model.tensors[tensor_index]
            if t.data is None:
                raise ValueError(f"tensor {tensor_index} is not constant")
            name = f"{self.prefix}_t{tensor_index}"
            self.arrays.append(CArray(name, C_TYPES[t.dtype], int(t.data.size),
                                      format_values(t.data), f"'{safe_text(t.name)}' {list(t.shape)}"))
            self._const_names[tensor_index] = name
        return self._const_names[tensor_index]

    def lut(self, tensor_index: int) -> str:
        """'&name' of the mcuq_lut_t describing a packed constant tensor (its indices and
        tables emitted once, in flash)."""
        if tensor_index not in self._luts:
            lay = self.packing[tensor_index]
            t = self.model.tensors[tensor_index]
            stem = f"{self.prefix}_t{tensor_index}"
            what = (f"'{t.name}' {list(t.shape)}: {lay.segments} x {lay.segment_len} "
                    f"{lay.bits}-bit indices")
            self.arrays.append(CArray(f"{stem}_idx", "uint8_t", int(lay.indices.size),
                                      format_values(lay.indices), what))
            self.arrays.append(CArray(
                f"{stem}_tab", "int8_t", int(lay.tables.size), format_values(lay.tables),
                f"'{t.name}': {lay.channels} table(s) of {lay.stride} int8 values"))
            name = f"{stem}_lut"
            self.structs.append(CStruct(name, "mcuq_lut_t", [
                ("indices", f"{stem}_idx"), ("tables", f"{stem}_tab"),
                ("decode", f"mcuq_lut_decode_{lay.bits}"), ("bits", str(lay.bits)), ("segment_len", str(lay.segment_len)),
                ("segment_bytes", str(lay.segment_bytes)), ("stride", str(lay.stride)),
                ("channels", str(lay.channels))]))
            self._luts[tensor_index] = f"&{name}"
        return self._luts[tensor_index]

    def scratch(self, nbytes: int) -> str:
        """The decode scratch (one static buffer shared by every packed op: they run one at a
        time), grown to `nbytes`; a C expression of type int8_t *."""
        self.scratch_bytes = max(self.scratch_bytes, int(nbytes))
        return f"(int8_t *){self.prefix}_lut_scratch"

    def params(self, ctype: str, fields: dict[str, object], stem: str = "params") -> str:
        """A static const parameter struct; returns '&name'. Values: ints, or C expressions.
        An op needing several structs (one per output) gives each its own `stem`."""
        values = [(k, _c_value(v)) for k, v in fields.items()]
        key = (ctype, tuple(values))
        name = self._struct_names.get(key)
        if name is None:
            name = f"{self.prefix}_op{self._op.index}{self.suffix}_{stem}"
            self.structs.append(CStruct(name, ctype, values))
            self._struct_names[key] = name
        if self.capture is not None:
            self.capture.append((name, ctype))
            return self.CAPTURE_TOKEN
        return f"&{name}"

    def ptr(self, tensor_index: int, writable: bool = False) -> str:
        """A C expression for a pointer to the tensor's data, typed by its dtype."""
        t = self.model.tensors[tensor_index]
        ctype = C_TYPES.get(t.dtype)
        if ctype is None:
            raise UnsupportedModelError(f"tensor '{t.label}' has type {t.type_name}",
                                        "the C target handles int8/uint8/int16/int32/float32")
        if tensor_index in self.override:
            return self.override[tensor_index]
        s = self.storage[tensor_index]
        const = "" if writable else "const "
        if s.kind == "const":
            return self.const(tensor_index)
        if s.kind == "input":
            return f"(({const}{ctype} *)inputs[{s.slot}])"
        if s.kind == "output":
            return f"(({ctype} *)outputs[{s.slot}])"
        if s.kind == "state":
            return f"(({ctype} *)s_vt{s.slot})"
        if s.kind == "none":
            raise ValueError(f"tensor {tensor_index} '{t.label}' has no storage")
        return f"(({ctype} *)(s_arena + {s.slot}))"


def _c_value(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "1" if v else "0"
    if isinstance(v, (int, np.integer)):
        v = int(v)
        return "(-2147483647 - 1)" if v == -(1 << 31) else str(v)
    return str(v)


@dataclass
class CModel:
    """Plain data for templates/c/model.c.j2 and model.h.j2."""
    name: str
    arrays: list[CArray]
    structs: list[CStruct]
    calls: list[CCall]
    sources: list[str]
    arena_size: int
    inputs: list[dict]
    outputs: list[dict]
    copies: list[str] = field(default_factory=list)  # output copies for aliased outputs
    tensor_storage: dict[int, Storage] = field(default_factory=dict)
    buffers: dict[str, int] = field(default_factory=dict)  # kernel stack buffers needed
    tables: list[CTable] = field(default_factory=list)
    external_io: bool = False  # inputs/outputs are the caller's buffers (invoke_io)
    plan: ArenaPlan | None = None  # the arena plan (in-place choices, lower bound, scratch)
    scratch_bytes: int = 0  # the packed kernels' decode scratch (0: no packed weights)
    #: resource variables and variable tensors: {"name", "id", "bytes", "default",
    #: "shared_name", "type"} (static buffers outside the arena)
    variables: list[dict] = field(default_factory=list)
    #: CALL_ONCE init subgraphs: {"index", "name", "calls": [CCall]}
    subgraphs: list[dict] = field(default_factory=list)
    reset_calls: list[int] = field(default_factory=list)  # init subgraphs reset() runs

    @property
    def stateful(self) -> bool:
        return bool(self.variables or self.reset_calls)

    @property
    def state_bytes(self) -> int:
        return sum(v["bytes"] for v in self.variables)


def io_storage(model: Model) -> dict[int, Storage]:
    """With caller-owned I/O (--external-io): the tensors that live in the caller's buffers
    (mcuq.memory.io_aliases: an input's reshape aliases included; an output is the caller's
    unless it shares its bytes with another output or an input)."""
    return {t: Storage(kind, slot, owner) for t, (kind, slot, owner) in io_aliases(model).items()}


def packed_ops(model: Model, packing: dict) -> frozenset[int]:
    """Indices of the ops whose weights (input 1) are stored packed: they run the packed
    kernels, which have no in-place variant."""
    return frozenset(op.index for op in model.operators
                     if op.opcode in PACKED_EMITTERS and len(op.inputs) > 1
                     and op.inputs[1] in packing)


def assign_storage(model: Model, plan_fn=None, external_io: bool = False,
                   params_of=None, inplace: bool = True, no_inplace=frozenset()
                   ) -> tuple[dict[int, Storage], ArenaPlan]:
    """Decide where every tensor lives; returns (storage, arena plan). Model inputs and outputs
    are arena tensors unless `external_io` (then the caller's buffers). The ops in
    `no_inplace` (packed weights) are never planned in place."""
    root_of = alias_groups(model)  # RESHAPE/SQUEEZE/EXPAND_DIMS share their input's bytes
    storage: dict[int, Storage] = {}
    for t in model.tensors:
        if t.data is not None:
            storage[t.index] = Storage("const", 0, t.index)
        elif t.type_name == "RESOURCE":  # a variable handle: resolved statically
            storage[t.index] = Storage("none", 0, t.index)
        elif t.is_variable:  # persistent state: its own static buffer, never in the arena
            storage[t.index] = Storage("state", t.index, t.index)
    if external_io:
        storage.update(io_storage(model))
    external = {t for t, s in storage.items() if s.kind in ("input", "output", "none", "state")}
    if plan_fn is not None:
        plan = plan_fn(model, external=external)
    else:
        from .inplace import c_plan

        plan = c_plan(model, params_of, external=external, inplace=inplace,
                      no_inplace=no_inplace)
    for t in model.tensors:
        if t.index not in storage:
            storage[t.index] = Storage("arena", plan.offsets.get(t.index, 0), root_of[t.index])
    return storage, plan


def _regions(model: Model, op: Operator, storage: dict[int, Storage], plan: ArenaPlan
             ) -> list[tuple[int, int]]:
    """Arena (offset, bytes) of the op's non-constant operands and its temporary; an in-place
    pair is one region as large as the larger of the two."""
    regions = []
    for t in (*op.inputs, *op.outputs):
        if t >= 0 and storage[t].kind == "arena":
            regions.append((storage[t].slot, model.tensors[t].nbytes))
    so = plan.scratch_offset(op.index)
    if so is not None:
        regions.append((so, next(b.size for b in plan.buffers if b.root == -1 - op.index)))
    return sorted(set(r for r in regions if r[1] > 0))


def build_cmodel(model: Model, name: str, interpreter=None, plan_fn=None,
                 external_io: bool = False, inplace: bool = True,
                 packing: dict | None = None) -> CModel:
    """Emit every op of `model` (already prepared by the reference interpreter, or by any
    object with `params(op_index)`: the tiled view of mcuq.tiling). inplace=False: no op runs
    in place (faster kernels, a larger arena). packing: {tensor index: mcuq.packing.LutLayout}
    of weights stored packed (mcuq.packing.plan_packing); their ops get the packed kernels and
    never run in place (the planner is told which ops they are)."""
    from ..reference import Interpreter
    from ..reference.registry import kernel_key
    from .inplace import emit_inplace

    _load_emitters()
    missing = [op for op in model.operators
               if kernel_key(op, model) not in EMITTERS and op.opcode not in ALIAS_OPS]
    if missing:
        op = missing[0]
        raise UnsupportedModelError(
            f"{model.source}: {op.describe()} has no C kernel in mcuq's standalone target"
            + (" for int16 activations" if ":" in kernel_key(op, model) else ""),
            f"use --target tflm, or an op from: {', '.join(sorted(EMITTERS))}")
    for i in list(model.inputs) + list(model.outputs):
        t = model.tensors[i]
        if t.data is not None or t.is_variable:
            raise UnsupportedModelError(
                f"{model.source}: model {'input' if i in model.inputs else 'output'} "
                f"'{t.label}' is a {'constant' if t.data is not None else 'variable'} tensor: "
                "the C target reads inputs and writes outputs through the arena",
                "use --target tflm, or re-convert so that the model's inputs and outputs are "
                "ordinary activations")
    interpreter = interpreter or Interpreter(model)
    packing = packing or {}
    packed = packed_ops(model, packing)
    storage, plan = assign_storage(model, plan_fn, external_io, interpreter.params, inplace,
                                   no_inplace=packed)
    program = getattr(interpreter, "program", None)  # the tiled view has no state
    if program is not None:
        _check_state_order(model)
    ctx = EmitContext(model, storage, program=program, packing=packing)
    calls: list[CCall] = []
    for op in model.operators:
        if op.opcode in ALIAS_OPS and storage[op.outputs[0]].root == storage[op.inputs[0]].root:
            continue
        ctx._op = op
        ctx._paths = []
        ctx.scratch_offset = plan.scratch_offset(op.index)
        out = model.tensors[op.outputs[0]] if op.outputs else None
        choice = plan.inplace.get(op.index)
        if op.opcode in ALIAS_OPS:  # alias broken by storage (e.g. input -> output): copy
            lines = [f"memcpy({ctx.ptr(op.outputs[0], True)}, {ctx.ptr(op.inputs[0])}, "
                     f"{out.nbytes});"]
            ctx.path("copy/memcpy")
        elif op.index in packed:
            if choice is not None:  # the planner was told; a packed kernel never runs in place
                raise AssertionError(f"{op.describe()}: packed weights planned in place")
            lines = PACKED_EMITTERS[op.opcode](ctx, op, interpreter.params(op.index))
        elif choice is not None:
            lines = emit_inplace(ctx, op, interpreter.params(op.index), choice, EMITTERS)
        else:
            lines = EMITTERS[kernel_key(op, model)](ctx, op, interpreter.params(op.index))
        paths = tuple(ctx._paths)
        comment = (f"-> '{safe_text(out.name)}' {list(out.shape)}" if out is not None
                   else "") + (f" [{paths[0]}]" if paths else "")
        if choice is not None:
            comment += f" in place ({choice.method})"
        calls.append(CCall(op.index, op.opcode, comment, lines, paths,
                           _regions(model, op, storage, plan),
                           choice.method if choice is not None else ""))
    ctx._op = None
    ctx.scratch_offset = None
    subgraphs = [{"index": k, "name": safe_text(model.subgraphs[k].name),
                  "calls": _emit_init_subgraph(ctx, model, interpreter, k)}
                 for k in (program.init_subgraphs if program is not None else [])]
    ctx.model, ctx.storage = model, storage
    # An output that shares storage with an input or another output needs a final copy.
    copies = []
    if external_io:
        for k, i in enumerate(model.outputs):
            s = storage[i]
            if s.kind != "output" or s.slot != k:
                t = model.tensors[i]
                copies.append(f"memcpy(outputs[{k}], {ctx.ptr(i)}, {t.nbytes});")

    def io(idx):
        return [{"index": i, "name": safe_text(model.tensors[i].name),
                 "ctype": C_TYPES[model.tensors[i].dtype],
                 "bytes": model.tensors[i].nbytes,
                 "size": model.tensors[i].size,
                 "shape": list(model.tensors[i].shape),
                 "scale": model.tensors[i].scale,
                 "zero_point": model.tensors[i].zero_point,
                 "arena_offset": storage[i].slot if storage[i].kind == "arena" else None}
                for i in idx]
    return CModel(name=name, arrays=ctx.arrays, structs=ctx.structs, calls=calls,
                  sources=sorted(ctx.sources), arena_size=int(plan.size),
                  inputs=io(model.inputs), outputs=io(model.outputs), copies=copies,
                  tensor_storage=storage, buffers=dict(ctx.buffers), tables=ctx.tables,
                  external_io=external_io, plan=plan, variables=_variables(ctx, model, storage),
                  subgraphs=subgraphs, reset_calls=list(ctx.reset_calls),
                  scratch_bytes=ctx.scratch_bytes)


def _variables(ctx: "EmitContext", model: Model, storage) -> list[dict]:
    """The static state buffers: resource variables, then variable tensors."""
    out = [{"name": ctx.variable_name(v), "id": v.id, "bytes": v.nbytes,
            "default": v.default_byte, "shared_name": safe_text(v.shared_name),
            "type": v.type_name} for v in (ctx.program.variables if ctx.program else [])]
    out += [{"name": f"s_vt{t.index}", "id": None, "bytes": t.nbytes,
             "default": (t.zero_point & 0xFF) if t.type_name == "INT8" else 0,
             "shared_name": f"variable tensor {t.index} '{safe_text(t.name)}'",
             "type": t.type_name}
            for t in model.tensors if storage[t.index].kind == "state"]
    return out


def _check_state_order(model: Model) -> None:
    """mcuq_<name>_reset() runs the init subgraphs at once; that equals TFLite Micro's
    CALL_ONCE only when no op before the CALL_ONCE touches a variable."""
    seen_state = None
    for op in model.operators:
        if op.opcode in ("READ_VARIABLE", "ASSIGN_VARIABLE") and seen_state is None:
            seen_state = op
        if op.opcode == "CALL_ONCE" and seen_state is not None:
            raise UnsupportedModelError(
                f"{model.source}: {op.describe()} comes after {seen_state.describe()}, which "
                "uses a variable before it is initialised",
                "the C target runs CALL_ONCE's subgraph in reset(); use --target tflm")


def _emit_init_subgraph(ctx: "EmitContext", model: Model, interpreter, k: int) -> list[CCall]:
    """A CALL_ONCE subgraph as C calls: only variable handles and assigns of constants (what
    TFLiteConverter writes for variable initial values)."""
    view = model.subgraph_view(k)
    for op in view.operators:
        ok = op.opcode == "VAR_HANDLE" or (
            op.opcode == "ASSIGN_VARIABLE" and view.tensors[op.inputs[1]].data is not None)
        if not ok:
            raise UnsupportedModelError(
                f"{model.source}: init subgraph {k} {op.describe()}: the C target's reset() "
                "holds only variable assignments of constants",
                "use --target tflm for init subgraphs that compute")
    storage = {t.index: Storage("const", 0, t.index) if t.data is not None
               else Storage("none", 0, t.index) for t in view.tensors}
    saved = ctx.prefix, ctx._const_names
    ctx.model, ctx.storage, ctx.prefix, ctx._const_names = view, storage, f"s_sg{k}", {}
    calls = []
    for op, _, params in interpreter.plans[k]:
        ctx._op, ctx._paths = op, []
        lines = EMITTERS[op.opcode](ctx, op, params)
        calls.append(CCall(op.index, op.opcode, "", lines, tuple(ctx._paths)))
    ctx._op = None
    ctx.prefix, ctx._const_names = saved
    return calls
