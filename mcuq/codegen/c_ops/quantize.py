"""QUANTIZE, DEQUANTIZE -> firmware/kernels/quantize.c."""
from __future__ import annotations

from ..carray import _c_float
from ..climits import c_multiplier
from ..cmodel import c_emitter
from ..inplace import c_inplace, direct

_SUFFIX = {"INT8": "s8", "UINT8": "u8", "FLOAT32": "f32"}


def _io(ctx, op):
    x, y = ctx.model.tensors[op.inputs[0]], ctx.model.tensors[op.outputs[0]]
    suffix = f"{_SUFFIX[x.type_name]}_{_SUFFIX[y.type_name]}"
    return suffix, y.size, ctx.ptr(op.inputs[0]), ctx.ptr(op.outputs[0], True)


@c_emitter("QUANTIZE")
def emit_quantize(ctx, op, p):
    ctx.use("quantize")
    suffix, size, x, y = _io(ctx, op)
    if p.mode == "affine":
        params = ctx.params("mcuq_quantize_params_t", {
            "scale": _c_float(p.scale), "zero_point": p.output_zero_point, "size": size})
        return [f"mcuq_quantize_{suffix}({params}, {x}, {y});"]
    params = ctx.params("mcuq_requantize_params_t", {
        "input_zero_point": p.input_zero_point, "output_zero_point": p.output_zero_point,
        **dict(zip(("multiplier", "shift"), c_multiplier(p.multiplier, p.shift))),
        "size": size})
    return [f"mcuq_requantize_{suffix}({params}, {x}, {y});"]


@c_emitter("DEQUANTIZE")
def emit_dequantize(ctx, op, p):
    ctx.use("quantize")
    suffix, size, x, y = _io(ctx, op)
    params = ctx.params("mcuq_dequantize_params_t", {
        "scale": _c_float(p.scale), "zero_point": p.zero_point, "size": size})
    return [f"mcuq_dequantize_{suffix}({params}, {x}, {y});"]


@c_inplace("QUANTIZE")
def inplace(model, op, p):
    """Requantization between same-size types (int8 <-> int8/uint8), element by element."""
    return direct(model, op, 0) if p.mode != "affine" else []
