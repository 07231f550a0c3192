"""16x8 ops -> firmware/kernels/linear16.c, pooling16.c, quantize16.c (emitters keyed
"OPCODE:INT16", like the reference kernels they mirror)."""
from __future__ import annotations

import numpy as np

from ..carray import _c_float
from ..climits import c_multiplier
from ..cmodel import c_emitter


def _requant_arrays(ctx, p):
    m, s = c_multiplier(p.multiplier, p.shift)
    return (ctx.array("mult", np.asarray(m).astype(np.int32)),
            ctx.array("shift", np.asarray(s).astype(np.int32)))


@c_emitter("FULLY_CONNECTED:INT16")
def emit_fully_connected(ctx, op, p):
    ctx.use("linear16")
    mult, shift = _requant_arrays(ctx, p)
    params = ctx.params("mcuq_fully_connected16_params_t", {
        "act_min": p.act_min, "act_max": p.act_max,
        "batches": int(np.prod(p.output_shape)) // p.out_depth,
        "accum_depth": p.accum_depth, "out_depth": p.out_depth,
        "multiplier": mult, "shift": shift})
    ctx.path("fully_connected16/bias" if p.bias is not None else "fully_connected16/no-bias")
    bias = "NULL" if p.bias is None else ctx.array("bias", p.bias.astype(np.int64))
    return [f"mcuq_fully_connected_s16({params}, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.const(op.inputs[1])}, {bias}, {ctx.ptr(op.outputs[0], True)});"]


@c_emitter("CONV_2D:INT16", "DEPTHWISE_CONV_2D:INT16")
def emit_conv(ctx, op, p):
    ctx.use("linear16")
    mult, shift = _requant_arrays(ctx, p)
    n, in_h, in_w, in_c = p.input_shape
    params = ctx.params("mcuq_conv16_params_t", {
        "batches": n, "in_h": in_h, "in_w": in_w, "in_c": in_c,
        "out_h": p.output_shape[1], "out_w": p.output_shape[2], "out_c": p.output_shape[3],
        "k_h": p.weights.shape[1], "k_w": p.weights.shape[2],
        "stride_h": p.stride_h, "stride_w": p.stride_w,
        "dil_h": p.dilation_h, "dil_w": p.dilation_w,
        "pad_h": p.padding.pad_h, "pad_w": p.padding.pad_w,
        "filter_in_c": p.filter_input_depth, "depth_multiplier": p.depth_multiplier,
        "act_min": p.act_min, "act_max": p.act_max, "multiplier": mult, "shift": shift})
    x, w, y = ctx.ptr(op.inputs[0]), ctx.const(op.inputs[1]), ctx.ptr(op.outputs[0], True)
    if p.depthwise:
        ctx.path("depthwise16/generic")
        bias = ctx.array("bias", p.bias.astype(np.int64))
        return [f"mcuq_depthwise_conv_s16({params}, {x}, {w}, {bias}, {y});"]
    if p.bias_bits == 32:
        ctx.path("conv16/bias32")
        bias = ctx.array("bias", p.bias.astype(np.int32))
        return [f"mcuq_conv_s16({params}, {x}, {w}, NULL, {bias}, {y});"]
    ctx.path("conv16/bias64")
    bias = ctx.array("bias", p.bias.astype(np.int64))
    return [f"mcuq_conv_s16({params}, {x}, {w}, {bias}, NULL, {y});"]


@c_emitter("AVERAGE_POOL_2D:INT16", "MAX_POOL_2D:INT16")
def emit_pool(ctx, op, p):
    ctx.use("pooling16")
    n, in_h, in_w, ch = p.input_shape
    params = ctx.params("mcuq_pool16_params_t", {
        "batches": n, "in_h": in_h, "in_w": in_w, "channels": ch,
        "out_h": p.output_shape[1], "out_w": p.output_shape[2],
        "filter_h": p.filter_h, "filter_w": p.filter_w,
        "stride_h": p.stride_h, "stride_w": p.stride_w,
        "pad_h": p.padding.pad_h, "pad_w": p.padding.pad_w,
        "act_min": p.act_min, "act_max": p.act_max})
    fn = "mcuq_avg_pool_s16" if op.opcode == "AVERAGE_POOL_2D" else "mcuq_max_pool_s16"
    ctx.path(f"pooling16/{'average' if op.opcode == 'AVERAGE_POOL_2D' else 'max'}")
    return [f"{fn}({params}, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.outputs[0], True)});"]


_SUFFIX = {"INT8": "s8", "INT16": "s16", "FLOAT32": "f32"}


@c_emitter("QUANTIZE:INT16", "DEQUANTIZE:INT16")
def emit_quantize(ctx, op, p):
    ctx.use("quantize16")
    xt, yt = ctx.model.tensors[op.inputs[0]], ctx.model.tensors[op.outputs[0]]
    suffix = f"{_SUFFIX[xt.type_name]}_{_SUFFIX[yt.type_name]}"
    x, y = ctx.ptr(op.inputs[0]), ctx.ptr(op.outputs[0], True)
    if op.opcode == "DEQUANTIZE":
        ctx.path("quantize16/dequantize")
        params = ctx.params("mcuq_quantize16_params_t", {
            "scale": _c_float(p.scale), "zero_point": p.zero_point, "size": yt.size})
        return [f"mcuq_dequantize_{suffix}({params}, {x}, {y});"]
    if p.mode == "affine":
        ctx.path("quantize16/affine")
        params = ctx.params("mcuq_quantize16_params_t", {
            "scale": _c_float(p.scale), "zero_point": p.output_zero_point, "size": yt.size})
        return [f"mcuq_quantize_{suffix}({params}, {x}, {y});"]
    ctx.path(f"quantize16/requantize-{suffix}")
    m, s = c_multiplier(p.multiplier, p.shift)
    params = ctx.params("mcuq_requantize16_params_t", {
        "input_zero_point": p.input_zero_point, "output_zero_point": p.output_zero_point,
        "multiplier": m, "shift": s, "size": yt.size})
    return [f"mcuq_requantize_{suffix}({params}, {x}, {y});"]


_ELEMENTWISE = {"ADD": "mcuq_add_s16", "SUB": "mcuq_sub_s16", "MUL": "mcuq_mul_s16",
                "MAXIMUM": "mcuq_maximum_s16", "MINIMUM": "mcuq_minimum_s16"}


@c_emitter("ADD:INT16", "SUB:INT16", "MUL:INT16", "MAXIMUM:INT16", "MINIMUM:INT16")
def emit_elementwise(ctx, op, p):
    from .elementwise import broadcast_walk

    ctx.use("elementwise16")
    extents, st1, st2 = broadcast_walk(p.shape1, p.shape2, p.output_shape)

    def arr(v):
        return "{" + ", ".join(str(int(x)) for x in list(v) + [0] * (7 - len(v))) + "}"

    m, s = c_multiplier(p.output_multiplier, p.output_shift)
    params = ctx.params("mcuq_elementwise16_params_t", {
        "left_shift": p.left_shift,
        "input1_multiplier": p.input1_multiplier, "input1_shift": p.input1_shift,
        "input2_multiplier": p.input2_multiplier, "input2_shift": p.input2_shift,
        "output_multiplier": m, "output_shift": s, "act_min": p.act_min, "act_max": p.act_max,
        "rank": len(extents), "shape": arr(extents), "stride1": arr(st1),
        "stride2": arr(st2)})
    ctx.path(f"elementwise16/{op.opcode.lower()}",
             *(["elementwise16/broadcast"] if tuple(p.shape1) != tuple(p.shape2) else []))
    return [f"{_ELEMENTWISE[op.opcode]}({params}, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.ptr(op.inputs[1])}, {ctx.ptr(op.outputs[0], True)});"]


def _alias_move_ops() -> None:
    """The data-movement emitters (c_ops/shape.py) copy elements of the tensor's width: the
    same calls serve int16 (mcuq/reference/ops/shape16.py registers the same kernels)."""
    from ...reference.ops.shape16 import MOVE_OPS16
    from ..cmodel import EMITTERS
    from . import shape  # noqa: F401 - registers the int8 emitters first

    for name in MOVE_OPS16:
        if name in EMITTERS:
            EMITTERS.setdefault(f"{name}:INT16", EMITTERS[name])


_alias_move_ops()


@c_emitter("RELU:INT16", "RELU6:INT16", "LEAKY_RELU:INT16")
def emit_activation(ctx, op, p):
    from ...reference.fixedpoint import wrap_int32

    ctx.use("activations16")
    size = ctx.model.tensors[op.outputs[0]].size
    fields = {"multiplier": 0, "shift": 0, "alpha_multiplier": 0, "alpha_shift": 0,
              "alpha_negative": 0, "lower": 0, "upper": 0, "size": size}
    if op.opcode == "RELU":
        m, s = c_multiplier(p.multiplier, p.shift)
        fields.update(multiplier=m, shift=s, lower=p.act_min, upper=p.act_max)
    elif op.opcode == "RELU6":
        fields.update(lower=p.lower, upper=p.upper)
    else:
        m, s = c_multiplier(p.multiplier_identity, p.shift_identity)
        negative = p.multiplier_alpha < 0
        ma = int(wrap_int32(-p.multiplier_alpha)) if negative else p.multiplier_alpha
        ma, sa = c_multiplier(ma, p.shift_alpha)
        fields.update(multiplier=m, shift=s, alpha_multiplier=ma, alpha_shift=sa,
                      alpha_negative=int(negative))
    params = ctx.params("mcuq_activation16_params_t", fields)
    name = op.opcode.lower()
    ctx.path(f"activations16/{name}")
    return [f"mcuq_{name}_s16({params}, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.ptr(op.outputs[0], True)});"]


@c_emitter("SOFTMAX:INT16")
def emit_softmax(ctx, op, p):
    from ...reference.ops.softmax16 import softmax_luts

    ctx.use("softmax16")
    exp_lut, recip_lut = softmax_luts()
    depth = p.output_shape[-1]
    m, s = c_multiplier(p.input_multiplier, p.input_shift)
    params = ctx.params("mcuq_softmax16_params_t", {
        "input_multiplier": m, "input_shift": s,
        "rows": int(np.prod(p.output_shape)) // depth, "depth": depth,
        "exp_lut": ctx.array("exp_lut", exp_lut, comment="exp on [-10, 0] (TFLM LUTPopulate)"),
        "recip_lut": ctx.array("recip_lut", recip_lut, comment="1 / (1 + x) on [0, 1]")})
    ctx.path("softmax16/lut")
    return [f"mcuq_softmax_s16({params}, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.ptr(op.outputs[0], True)});"]


@c_emitter("TANH:INT16", "LOGISTIC:INT16")
def emit_sigmoid_tanh(ctx, op, p):
    from ...reference.ops.sigmoid_tanh16 import SIGMOID_TABLE_U16

    ctx.use("sigmoid_tanh16")
    table = ctx.array("sigmoid", (SIGMOID_TABLE_U16 - 32768).astype(np.int16),
                      comment="TFLite Micro's sigmoid table (0.16) minus 32768")
    params = ctx.params("mcuq_sigmoid_tanh16_params_t", {
        "multiplier": p.multiplier, "left_shift": p.left_shift,
        "size": ctx.model.tensors[op.outputs[0]].size, "table": table})
    name = "tanh" if p.tanh else "logistic"
    ctx.path(f"sigmoid_tanh16/{name}")
    return [f"mcuq_{name}_s16({params}, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.ptr(op.outputs[0], True)});"]


@c_emitter("MEAN:INT16")
def emit_mean(ctx, op, p):
    ctx.use("reduce16")
    shape = p.input_shape
    strides = [int(np.prod(shape[i + 1:], dtype=np.int64)) for i in range(len(shape))]
    kept = [(d, s) for i, (d, s) in enumerate(zip(shape, strides)) if i not in p.axes] or [(1, 0)]
    red = [(shape[a], strides[a]) for a in sorted(p.axes)] or [(1, 0)]

    def arr(v):
        return "{" + ", ".join(str(int(x)) for x in list(v) + [0] * (5 - len(v))) + "}"

    m, s = c_multiplier(p.multiplier, p.shift)
    params = ctx.params("mcuq_mean16_params_t", {
        "multiplier": m, "shift": s, "kept_rank": len(kept), "reduced_rank": len(red),
        "kept": arr([d for d, _ in kept]), "kept_stride": arr([s_ for _, s_ in kept]),
        "reduced": arr([d for d, _ in red]), "reduced_stride": arr([s_ for _, s_ in red])})
    ctx.path("reduce16/mean")
    return [f"mcuq_mean_s16({params}, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.ptr(op.outputs[0], True)});"]
