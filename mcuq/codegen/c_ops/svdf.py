"""SVDF -> firmware/kernels/svdf.c. The activation state is a variable tensor: the C model
gives it a static buffer of its own outside the arena (mcuq.codegen.cmodel, storage kind
"state"), filled by mcuq_<name>_reset() with 0 (int16) or the zero point (int8), as TFLite
Micro's ResetVariableTensors; the kernel updates it in place on every invocation."""
from __future__ import annotations

from ..climits import c_multiplier
from ..cmodel import c_emitter


@c_emitter("SVDF")
def emit_svdf(ctx, op, p):
    ctx.use("svdf")
    m1, s1 = c_multiplier(p.multiplier_1, p.shift_1)
    m2, s2 = c_multiplier(p.multiplier_2, p.shift_2)
    params = ctx.params("mcuq_svdf_params_t", {
        "batch": p.batch, "input_size": p.input_size, "num_filters": p.num_filters,
        "num_units": p.num_units, "rank": p.rank, "memory_size": p.memory_size,
        "input_zero_point": p.input_zero_point, "output_zero_point": p.output_zero_point,
        "state_zero_point": p.state_zero_point, "multiplier_1": m1, "shift_1": s1,
        "multiplier_2": m2, "shift_2": s2})
    suffix = "s16" if p.state_type == "INT16" else "s8"
    ctx.path(f"svdf/state-{suffix}")
    x, wf, wt = ctx.ptr(op.inputs[0]), ctx.const(op.inputs[1]), ctx.const(op.inputs[2])
    bias = ctx.const(op.inputs[3])
    state, y = ctx.ptr(op.inputs[4], True), ctx.ptr(op.outputs[0], True)
    return [f"mcuq_svdf_s8_{suffix}({params}, {x}, {wf}, {wt}, {bias}, {state}, {y});"]
