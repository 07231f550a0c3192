"""What a stateful model does besides its kernels, resolved once from the file: which
subgraphs run (the main one and those CALL_ONCE calls), which resource variable every
VAR_HANDLE / READ_VARIABLE / ASSIGN_VARIABLE touches, and each variable's size and
starting bytes. Shared by the reference interpreter and the code generators, so the firmware
keeps exactly the state the reference keeps.

TFLite Micro's rules (micro_resource_variable.cc, var_handle.cc, assign_variable.cc,
read_variable.cc, call_once.cc), followed here:
- Subgraphs are prepared in file order, ops in order. VAR_HANDLE's Prepare finds the
  variable by (container, shared_name) or creates the next id.
- The first ASSIGN_VARIABLE prepared for a variable allocates its buffer (persistent, the
  size of the value tensor) and fills it with the value's int8 zero point (0 if the value
  is not quantized). Later reads and writes copy exactly that many bytes.
- CALL_ONCE runs its subgraph on the first Invoke only.
- MicroInterpreter::Reset() refills every buffer with its starting byte; the CALL_ONCE flag
  is not cleared there. mcuq's reset() starts over as a new interpreter does (buffers at
  their starting bytes, CALL_ONCE to run again), which is the same thing whenever the init
  subgraph assigns the starting bytes (a quantized zero state does).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import UnsupportedModelError
from ..model import Model
from .registry import unsupported


@dataclass
class Variable:
    id: int
    container: str | None
    shared_name: str
    nbytes: int = 0
    default_byte: int = 0
    type_name: str = ""  # the type of the value that allocated it
    allocated: bool = False


@dataclass
class Program:
    #: subgraphs in the order TFLite Micro prepares them; `called[k]` what CALL_ONCE in k calls
    subgraphs: list[int]
    init_subgraphs: list[int]  # subgraphs some CALL_ONCE calls
    variables: list[Variable] = field(default_factory=list)
    #: (subgraph, resource tensor index) -> variable id
    handles: dict[tuple[int, int], int] = field(default_factory=dict)

    @property
    def state_bytes(self) -> int:
        return sum(v.nbytes for v in self.variables)

    def variable_of(self, subgraph: int, tensor: int) -> Variable:
        return self.variables[self.handles[(subgraph, tensor)]]


def _find(variables: list[Variable], container, shared_name) -> Variable | None:
    for v in variables:
        if (container is None or container == v.container) and shared_name == v.shared_name:
            return v
    return None


def resolve(model: Model, params_of) -> Program:
    """`params_of(k, op)` gives the prepared params of op in subgraph k."""
    from .ops.variables import AssignVariableParams, CallOnceParams, VarHandleParams

    count = len(model.subgraphs) or 1
    prog = Program(subgraphs=list(range(count)), init_subgraphs=[])
    for k in range(count):
        view = model.subgraph_view(k)
        for op in view.operators:
            p = params_of(k, op)
            if isinstance(p, VarHandleParams):
                v = _find(prog.variables, p.container, p.shared_name)
                if v is None:
                    v = Variable(len(prog.variables), p.container, p.shared_name)
                    prog.variables.append(v)
                prog.handles[(k, op.outputs[0])] = v.id
            elif op.opcode in ("READ_VARIABLE", "ASSIGN_VARIABLE"):
                key = (k, op.inputs[0])
                if key not in prog.handles:
                    raise unsupported(op, view, f"resource tensor {op.inputs[0]} is not made "
                                      "by a VAR_HANDLE earlier in its subgraph",
                                      "mcuq resolves variables statically; re-convert the "
                                      "model so every subgraph takes its own VAR_HANDLE")
                if isinstance(p, AssignVariableParams):
                    v = prog.variables[prog.handles[key]]
                    if not v.allocated:
                        v.nbytes, v.default_byte, v.allocated = p.nbytes, p.default_byte, True
                        v.type_name = view.tensors[op.inputs[1]].type_name
            elif isinstance(p, CallOnceParams):
                if p.init_subgraph_index not in prog.init_subgraphs:
                    prog.init_subgraphs.append(p.init_subgraph_index)
    for k in range(count):
        view = model.subgraph_view(k)
        for op in view.operators:
            if op.opcode not in ("READ_VARIABLE", "ASSIGN_VARIABLE"):
                continue
            v = prog.variable_of(k, op.inputs[0])
            t = view.tensors[op.outputs[0] if op.opcode == "READ_VARIABLE" else op.inputs[1]]
            if not v.allocated:
                raise unsupported(op, view, f"variable '{v.shared_name}' is read but never "
                                  "assigned (TFLite Micro has no buffer for it)",
                                  "initialise the variable (tf.Variable's initial value, "
                                  "converted with resource variables enabled)")
            if t.nbytes != v.nbytes:
                raise unsupported(op, view, f"'{t.name}' has {t.nbytes} bytes, variable "
                                  f"'{v.shared_name}' holds {v.nbytes}",
                                  "TFLite Micro copies the variable's size; every read and "
                                  "assign of a variable must have one shape and type")
    for k in prog.init_subgraphs:
        sg = model.subgraph_view(k)
        if sg.inputs or sg.outputs:
            raise UnsupportedModelError(
                f"{model.source}: init subgraph {k} '{model.subgraphs[k].name}' has inputs or "
                "outputs", "CALL_ONCE subgraphs take and return nothing; re-convert the model")
    return prog


def resolve_state(model: Model) -> Program:
    """The variables without preparing every kernel: only the graph-level ops are prepared
    (cheap; for inspect). Raises like `resolve` on a model TFLite Micro could not run."""
    from .ops.variables import AssignVariable, CallOnce, ReadVariable, VarHandle

    prepares = {"VAR_HANDLE": VarHandle.prepare, "READ_VARIABLE": ReadVariable.prepare,
                "ASSIGN_VARIABLE": AssignVariable.prepare, "CALL_ONCE": CallOnce.prepare}

    def params_of(k, op):
        fn = prepares.get(op.opcode)
        return fn(op, model.subgraph_view(k)) if fn is not None else None

    return resolve(model, params_of)
