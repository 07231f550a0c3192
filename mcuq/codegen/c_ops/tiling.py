"""MCUQ_CROP and MCUQ_PASTE, the copies of a tiled graph (mcuq/tiling.py): a window of an
NHWC tensor into a patch's local tensor, and a patch's cell into the full stage result.
-> firmware/kernels/shape.c (mcuq_copy_nd, rows of w x channels bytes)."""
from __future__ import annotations

from ..cmodel import c_emitter
from .shape import _copy_params, contiguous_strides


@c_emitter("MCUQ_CROP", "MCUQ_PASTE")
def emit(ctx, op, p):
    ctx.use("shape")
    elem = ctx.model.tensors[op.outputs[0]].dtype.itemsize
    _, sh, sw, c = p.src_shape
    _, dh, dw, _ = p.dst_shape
    src = contiguous_strides(p.src_shape, elem)
    dst = contiguous_strides(p.dst_shape, elem)
    params = _copy_params(ctx, op, [p.h, p.w, c], src[1:], dst[1:], elem,
                          in_offset=(p.sy * sw + p.sx) * c * elem,
                          out_offset=(p.dy * dw + p.dx) * c * elem)
    ctx.path("tiling/crop" if op.opcode == "MCUQ_CROP" else "tiling/paste")
    return [f"mcuq_copy_nd({params}, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.outputs[0], True)});"]
