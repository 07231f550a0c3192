"""RELU, RELU6, LEAKY_RELU, HARD_SWISH -> firmware/kernels/activations.c."""
from __future__ import annotations

from ...reference.fixedpoint import wrap_int32
from ..climits import c_multiplier
from ..cmodel import c_emitter
from ..inplace import c_inplace, direct


def _io(ctx, op):
    return ctx.ptr(op.inputs[0]), ctx.ptr(op.outputs[0], True)


def _size(ctx, op) -> int:
    return ctx.model.tensors[op.outputs[0]].size


@c_emitter("RELU")
def emit_relu(ctx, op, p):
    ctx.use("activations")
    m, s = c_multiplier(p.multiplier, p.shift)
    params = ctx.params("mcuq_relu_params_t", {
        "input_offset": p.input_offset, "output_offset": p.output_offset,
        "multiplier": m, "shift": s,
        "act_min": p.act_min, "act_max": p.act_max, "size": _size(ctx, op)})
    x, y = _io(ctx, op)
    return [f"mcuq_relu_s8({params}, {x}, {y});"]


@c_emitter("RELU6")
def emit_relu6(ctx, op, p):
    ctx.use("activations")
    params = ctx.params("mcuq_relu6_params_t", {
        "lower": p.lower, "upper": p.upper, "size": _size(ctx, op)})
    x, y = _io(ctx, op)
    return [f"mcuq_relu6_s8({params}, {x}, {y});"]


@c_emitter("LEAKY_RELU")
def emit_leaky_relu(ctx, op, p):
    ctx.use("activations")
    negative = p.multiplier_alpha < 0
    # TFLM multiplies by |multiplier| and negates (the negation of INT32_MIN wraps, as in C).
    alpha = int(wrap_int32(-p.multiplier_alpha)) if negative else p.multiplier_alpha
    m_i, s_i = c_multiplier(p.multiplier_identity, p.shift_identity)
    m_a, s_a = c_multiplier(alpha, p.shift_alpha)
    params = ctx.params("mcuq_leaky_relu_params_t", {
        "input_offset": p.input_offset, "output_offset": p.output_offset,
        "multiplier_identity": m_i, "shift_identity": s_i,
        "multiplier_alpha": m_a, "shift_alpha": s_a,
        "alpha_negative": negative, "size": _size(ctx, op)})
    x, y = _io(ctx, op)
    return [f"mcuq_leaky_relu_s8({params}, {x}, {y});"]


@c_emitter("HARD_SWISH")
def emit_hard_swish(ctx, op, p):
    ctx.use("activations")
    params = ctx.params("mcuq_hard_swish_params_t", {
        "input_zero_point": p.input_zero_point, "output_zero_point": p.output_zero_point,
        "output_multiplier": p.output_multiplier, "output_exponent": p.output_exponent,
        "reluish_multiplier": p.reluish_multiplier, "reluish_exponent": p.reluish_exponent,
        "size": _size(ctx, op)})
    x, y = _io(ctx, op)
    return [f"mcuq_hard_swish_s8({params}, {x}, {y});"]


@c_inplace("RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH")
def inplace(model, op, p):
    """Each output element is computed from the input element in the same place."""
    return direct(model, op, 0)
