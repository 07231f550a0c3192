"""VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE, CALL_ONCE -> byte copies and a flag.

Every resource variable is a static buffer of its own in model.c (`s_var<id>`), outside the
arena plan: persistent across invocations, never reused. Which variable an op touches was
resolved statically (mcuq.reference.program), so VAR_HANDLE emits nothing. CALL_ONCE's init
subgraph becomes part of `mcuq_<name>_reset()` (a static function it calls), which invoke
runs first when nothing has reset the state yet: TFLite Micro's first invocation.
"""
from __future__ import annotations

from ..cmodel import c_emitter


@c_emitter("VAR_HANDLE")
def emit_var_handle(ctx, op, params) -> list[str]:
    ctx.path("state/handle")
    return [f"/* variable '{ctx.variable(op.outputs[0]).shared_name}' */"]


@c_emitter("READ_VARIABLE")
def emit_read_variable(ctx, op, params) -> list[str]:
    v = ctx.variable(op.inputs[0])
    ctx.path("state/read")
    return [f"memcpy({ctx.ptr(op.outputs[0], True)}, {ctx.variable_name(v)}, {v.nbytes});"]


@c_emitter("ASSIGN_VARIABLE")
def emit_assign_variable(ctx, op, params) -> list[str]:
    v = ctx.variable(op.inputs[0])
    ctx.path("state/assign")
    return [f"memcpy({ctx.variable_name(v)}, {ctx.ptr(op.inputs[1])}, {v.nbytes});"]


@c_emitter("CALL_ONCE")
def emit_call_once(ctx, op, params) -> list[str]:
    ctx.call_once(params.init_subgraph_index)
    ctx.path("state/call_once")
    return [f"/* subgraph {params.init_subgraph_index} ran in the reset function */"]
