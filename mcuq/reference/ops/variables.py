"""Graph-level ops: VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE (resource variables) and
CALL_ONCE (run another subgraph on the first invocation only).

They compute nothing: `prepare` checks the operands as TFLite Micro's Prepare does and
returns what the interpreter needs; the interpreter (`reference.program` resolves which
variable each op touches, statically) moves the bytes. A variable is a byte buffer, as in
TFLite Micro's MicroResourceVariables: READ copies it into the output tensor, ASSIGN copies
the value tensor into it; int8 and int32 values.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..registry import Signature, check_signature, register, unsupported

#: Value types a resource variable holds in mcuq (TFLite Micro copies any type's bytes).
VALUE_TYPES = ("INT8", "INT32")
_HANDLE_TYPES = ("RESOURCE", "INT32")


@dataclass(frozen=True)
class VarHandleParams:
    container: str | None
    shared_name: str


@dataclass(frozen=True)
class ReadVariableParams:
    nbytes: int


@dataclass(frozen=True)
class AssignVariableParams:
    nbytes: int
    default_byte: int  # what TFLite Micro memsets a new buffer to: int8(zero point) or 0


@dataclass(frozen=True)
class CallOnceParams:
    init_subgraph_index: int


def _graph_level(params, inputs):
    raise RuntimeError("graph-level op: run by the interpreter, not as a kernel")


def _check_handle(op, model, t):
    if t.type_name not in _HANDLE_TYPES or t.size != 1:
        raise unsupported(op, model, f"resource tensor '{t.name}' is {t.type_name} "
                          f"{list(t.shape)}", "the model file is inconsistent; re-convert it")


def _check_value(op, model, t):
    if t.type_name not in VALUE_TYPES:
        raise unsupported(op, model, f"variable value '{t.name}' is {t.type_name}",
                          "mcuq's resource variables hold int8 or int32 values: convert with "
                          "`converter._experimental_variable_quantization = True` so the "
                          "state is quantized to int8")


@register("VAR_HANDLE")
class VarHandle:
    SIGNATURE = Signature(inputs=(), outputs=("resource",))

    @staticmethod
    def prepare(op, model, *_):
        check_signature(op, model, VarHandle.SIGNATURE)
        _check_handle(op, model, model.op_outputs(op)[0])
        name = op.options.get("shared_name")
        if not name:
            raise unsupported(op, model, "no shared_name", "the model file is inconsistent; "
                              "re-convert it")
        container = op.options.get("container")
        return VarHandleParams(container=container, shared_name=str(name))

    run = staticmethod(_graph_level)


@register("READ_VARIABLE")
class ReadVariable:
    SIGNATURE = Signature(inputs=("resource",), outputs=("value",))

    @staticmethod
    def prepare(op, model, *_):
        (h,) = check_signature(op, model, ReadVariable.SIGNATURE)
        _check_handle(op, model, h)
        out = model.op_outputs(op)[0]
        _check_value(op, model, out)
        return ReadVariableParams(nbytes=out.nbytes)

    run = staticmethod(_graph_level)


@register("ASSIGN_VARIABLE")
class AssignVariable:
    SIGNATURE = Signature(inputs=("resource", "value"), outputs=())

    @staticmethod
    def prepare(op, model, *_):
        h, v = check_signature(op, model, AssignVariable.SIGNATURE)
        _check_handle(op, model, h)
        _check_value(op, model, v)
        # MicroResourceVariables::Allocate: memset(buffer, (int8_t)zero_point[0], bytes)
        default = int(v.quant.zero_point[0]) & 0xFF if v.quant is not None else 0
        return AssignVariableParams(nbytes=v.nbytes, default_byte=default)

    run = staticmethod(_graph_level)


@register("CALL_ONCE")
class CallOnce:
    SIGNATURE = Signature(inputs=(), outputs=())

    @staticmethod
    def prepare(op, model, *_):
        check_signature(op, model, CallOnce.SIGNATURE)
        k = op.options.get("init_subgraph_index")
        n = len(model.subgraphs) or 1
        if not isinstance(k, int) or not 0 <= k < n:
            raise unsupported(op, model, f"init subgraph {k} does not exist ({n} subgraphs)",
                              "the model file is inconsistent; re-convert it")
        if k == 0 or k == model.main_index:
            raise unsupported(op, model, f"CALL_ONCE calls subgraph {k}, which contains it",
                              "the model file is inconsistent; re-convert it")
        return CallOnceParams(init_subgraph_index=k)

    run = staticmethod(_graph_level)
