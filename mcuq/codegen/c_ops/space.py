"""SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND -> firmware/kernels/space.c; DEPTH_TO_SPACE and
SPACE_TO_DEPTH -> one shape.c strided copy (a 6-d permutation that merges to 4 dims)."""
from __future__ import annotations

from ..cmodel import c_emitter
from .shape import _copy_params, contiguous_strides


@c_emitter("SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND")
def emit_batch_space(ctx, op, p):
    ctx.use("space")
    n, h, w, c = p.input_shape
    on, oh, ow, _ = p.output_shape
    params = ctx.params("mcuq_batch_space_params_t", {
        "in_n": n, "in_h": h, "in_w": w, "depth": c, "out_n": on, "out_h": oh, "out_w": ow,
        "block_h": p.block[0], "block_w": p.block[1], "pad_top": p.pads[0],
        "pad_left": p.pads[2], "pad_value": p.pad_value})
    fn = "mcuq_space_to_batch_nd_s8" if p.to_batch else "mcuq_batch_to_space_nd_s8"
    return [f"{fn}({params}, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.outputs[0], True)});"]


@c_emitter("DEPTH_TO_SPACE", "SPACE_TO_DEPTH")
def emit_depth_space(ctx, op, p):
    ctx.use("shape")
    n, h, w, c = p.input_shape
    bs = p.block
    cs = contiguous_strides(p.input_shape, 1)  # int8
    if p.to_space:  # output order (n, h, b1, w, b2, co): input (n, h, w, b1, b2, co)
        co = c // (bs * bs)
        counts = [n, h, bs, w, bs, co]
        strides = [cs[0], cs[1], bs * co, cs[2], co, 1]
    else:  # output order (n, ho, wo, b1, b2, c): input (n, ho, b1, wo, b2, c)
        counts = [n, h // bs, w // bs, bs, bs, c]
        strides = [cs[0], bs * cs[1], bs * cs[2], cs[1], cs[2], 1]
    params = _copy_params(ctx, op, counts, strides, contiguous_strides(counts, 1), 1)
    return [f"mcuq_copy_nd({params}, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.outputs[0], True)});"]
