"""LOGISTIC, TANH -> firmware/kernels/sigmoid_tanh.c (gemmlowp fixed point, no lookup tables)."""
from __future__ import annotations

import numpy as np

from ..climits import c_multiplier
from ..cmodel import c_emitter
from ..inplace import c_inplace, direct

FUNCTIONS = {"LOGISTIC": "mcuq_logistic_s8", "TANH": "mcuq_tanh_s8"}


@c_emitter("LOGISTIC", "TANH")
def emit(ctx, op, p):
    ctx.use("sigmoid_tanh")
    params = ctx.params("mcuq_sigmoid_tanh_params_t", {
        "input_zero_point": p.input_zero_point,
        "input_range_radius": p.input_range_radius,
        **dict(zip(("input_multiplier", "input_left_shift"),
                   c_multiplier(p.input_multiplier, p.input_left_shift))),
        "size": int(np.prod(p.output_shape)),
    })
    return [f"{FUNCTIONS[op.opcode]}({params}, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.ptr(op.outputs[0], True)});"]


@c_inplace("LOGISTIC", "TANH")
def inplace(model, op, p):
    return direct(model, op, 0)
