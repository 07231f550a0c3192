"""16x8 ops -> firmware/kernels/linear16.c, pooling16.c, quantize16.c (emitters keyed
"OPCODE:INT16", like the reference kernels they mirror)."""
from __future__ import annotations

import numpy as np

from ..carray import _c_float
from ..climits import c_limit, c_multiplier
from ..cmodel import c_emitter


#: words per output channel of the fast kernels' table (firmware/kernels/linear16.h)
RQ16_WORDS = 4
#: the largest |sum of products| an int32 holds
INT32_MAX = (1 << 31) - 1


def int32_sums(rows: np.ndarray) -> bool:
    """Whether every output channel's sum of products (one weight row per channel, int16
    inputs of any value) stays inside int32: 32768 * sum|w| <= 2^31 - 1. Partial sums are
    bounded by the same sum, so SMLAD's int32 accumulation equals TFLM's int64 one."""
    rows = np.asarray(rows, np.int64)
    return rows.size == 0 or int(np.abs(rows).sum(axis=-1).max()) * 32768 <= INT32_MAX


def rq16_table(multiplier, shift, bias) -> tuple[np.ndarray, bool] | None:
    """The fast kernels' per-channel table {K lo, K hi, m, post or q} (linear16.h) and whether
    the layer takes the wrapped form: TFLM's mbqm64(acc + bias, multiplier, shift) cast to
    int32 == hi32(K + acc * m) >> post for every int32 acc, or, when some channel's
    red << (32 - total) leaves int32 (effective scales from about 0.5 up: dead channels of tiny
    weights), == hi32(K + acc * m) + acc * q with m = red << (32 - total) mod 2^32 (signed)
    and q the part above. None when no form fits (a layer mixing such channels with
    total > 32)."""
    from ...reference.ops.linear16 import reduce_multiplier

    red = [int(r) for r in reduce_multiplier(multiplier).tolist()]
    total = [15 - int(s) for s in np.asarray(shift, np.int64).tolist()]  # >= 1 (shift <= 14)
    bias = [int(b) for b in np.asarray(bias, np.int64).tolist()]
    wrap = any(t <= 32 and r << (32 - t) > INT32_MAX for r, t in zip(red, total))
    if wrap and max(total) > 32:
        return None
    words = []
    for r, t, b in zip(red, total, bias):
        pre, post = (32 - t, 0) if t <= 32 else (0, t - 32)
        m_true = r << pre
        m = m_true % (1 << 32)
        m -= (1 << 32) if m > INT32_MAX else 0
        q = (m_true - m) >> 32
        k = ((b * r + (1 << (t - 1))) << pre) % (1 << 64)
        words += [k & 0xFFFFFFFF, k >> 32, m % (1 << 32), q if wrap else post]
    return np.array(words, np.uint64).astype(np.uint32).view(np.int32), wrap


def rq16_apply(acc, table: np.ndarray, wrap: bool) -> np.ndarray:
    """numpy model of mcuq_rq16 / mcuq_rq16_wrap before the clamp (the tests prove it against
    mbqm64): acc (..., channels) int32."""
    t = table.view(np.uint32).reshape(-1, RQ16_WORDS).astype(np.uint64)
    k = (t[:, 1] << np.uint64(32)) | t[:, 0]
    m = t[:, 2].astype(np.uint32).view(np.int32).astype(np.int64)
    acc = np.asarray(acc, np.int64)
    prod = (acc * m).astype(np.uint64)  # two's complement, mod 2^64
    hi = ((k + prod) >> np.uint64(32)).astype(np.uint32)
    if wrap:
        extra = (acc * t[:, 3].astype(np.int64)).astype(np.uint64).astype(np.uint32)
        return (hi + extra).view(np.int32).astype(np.int64)
    return hi.view(np.int32).astype(np.int64) >> t[:, 3].astype(np.int64)


def _rq_mode(table: np.ndarray, wrap: bool) -> int:
    """linear16.h's rq_mode: 2 the wrapped form, 1 some post > 0, 0 none (no shift)."""
    if wrap:
        return 2
    return int(bool(table.reshape(-1, RQ16_WORDS)[:, 3].any()))


def _rq_paths(table: np.ndarray, wrap: bool) -> list[str]:
    return [[], ["linear16/rq-post"], ["linear16/rq-wrap"]][_rq_mode(table, wrap)]


def _swizzle4(rows: np.ndarray, k_pad: int) -> np.ndarray:
    """(channels, k) int8 -> (channels, k_pad // 4, 4), zero-padded, each 4 values stored
    (w0, w2, w1, w3): SXTB16 gives (w0, w1), SXTB16 ROR #8 (w2, w3)."""
    c, k = rows.shape
    w = np.zeros((c, k_pad), np.int8)
    w[:, :k] = rows
    return w.reshape(c, k_pad // 4, 4)[:, :, [0, 2, 1, 3]]


def pair_rows16(rows: np.ndarray, k_pad: int) -> np.ndarray:
    """mcuq_conv_s16_fast's weights: per pair of channels (the last alone) the two rows'
    swizzled words interleaved; uint32 words."""
    q = _swizzle4(rows, k_pad)
    c = q.shape[0]
    parts = [q[:c - c % 2].reshape(c // 2, 2, k_pad // 4, 4).transpose(0, 2, 1, 3).ravel()]
    if c % 2:
        parts.append(q[-1].ravel())
    return np.concatenate(parts).view(np.uint32)


def depthwise_blocks16(weights: np.ndarray) -> np.ndarray:
    """mcuq_depthwise_conv_s16_fast's weights: (1, KH, KW, C) -> per block of 4 channels (the
    last zero-padded) and tap one swizzled word; uint32 words."""
    taps = weights.shape[1] * weights.shape[2]
    c = weights.shape[3]
    blocks = -(-c // 4)
    w = np.zeros((taps, blocks * 4), np.int8)
    w[:, :c] = weights.reshape(taps, c)
    w = w.reshape(taps, blocks, 4)[:, :, [0, 2, 1, 3]].transpose(1, 0, 2)
    return np.ascontiguousarray(w).ravel().view(np.uint32)


def _requant_arrays(ctx, p):
    m, s = c_multiplier(p.multiplier, p.shift)
    return (ctx.array("mult", np.asarray(m).astype(np.int32)),
            ctx.array("shift", np.asarray(s).astype(np.int32)))


def _conv16_fields(**kw) -> dict:
    fields = {"batches": 1, "in_h": 1, "in_w": 1, "in_c": 1, "out_h": 1, "out_w": 1,
              "out_c": 1, "k_h": 1, "k_w": 1, "stride_h": 1, "stride_w": 1, "dil_h": 1,
              "dil_w": 1, "pad_h": 0, "pad_w": 0, "filter_in_c": 1, "depth_multiplier": 1,
              "act_min": 0, "act_max": 0, "multiplier": "0", "shift": "0", "k_pad": 0,
              "direct": 0, "rq_mode": 0, "rq": "0"}
    fields.update(kw)
    return fields


_RQ_COMMENT = "K lo, K hi, m, post (or q) per channel: bias and multiplier folded (mcuq_rq16)"


#: the longest patch (k_pad) the fast kernels copy (linear16.h); longer rows take the generic
#: kernels
COL16_MAX = c_limit("linear16.h", "MCUQ_CONV16_COL_MAX")


#: the largest depthwise filter (k_h * k_w) the fast kernel lists the taps of (linear16.h)
DW16_TAPS_MAX = c_limit("linear16.h", "MCUQ_DW16_TAPS_MAX")


def _col_buf() -> int:
    return COL16_MAX


def _pair_kernel(ctx, op, p, rows: np.ndarray, bias: np.ndarray, fields: dict, kind: str,
                 direct: bool) -> list[str]:
    """mcuq_conv_s16_fast (sums proved inside int32, the folded table) or mcuq_conv_s16_wide
    (64-bit sums, TFLM's requantization per channel) on the pair-interleaved weights."""
    k_pad = fields["k_pad"]
    table = rq16_table(p.multiplier, p.shift, bias) if int32_sums(rows) else None
    if not direct:
        ctx.need("MCUQ_CONV16_COL_BUF", k_pad)
    suffix = "-direct" if direct else ""
    x, y = ctx.ptr(op.inputs[0]), ctx.ptr(op.outputs[0], True)
    if table is None:
        mult, shift = _requant_arrays(ctx, p)
        params = ctx.params("mcuq_conv16_params_t", dict(fields, multiplier=mult, shift=shift))
        ctx.path(f"{kind}/wide{suffix}", *([] if int32_sums(rows)
                                           else ["linear16/int64-sums"]))
        w = ctx.array("weights", pair_rows16(rows, k_pad), comment=_PAIRS_COMMENT)
        b = ctx.array("bias", bias.astype(np.int64))
        return [f"mcuq_conv_s16_wide({params}, {x}, (const int8_t *){w}, {b}, {y});"]
    rq, wrap = table
    params = ctx.params("mcuq_conv16_params_t", dict(
        fields, rq_mode=_rq_mode(rq, wrap), rq=ctx.array("rq", rq, comment=_RQ_COMMENT)))
    ctx.path(f"{kind}/fast{suffix}", *_rq_paths(rq, wrap))
    w = ctx.array("weights", pair_rows16(rows, k_pad), comment=_PAIRS_COMMENT)
    return [f"mcuq_conv_s16_fast({params}, {x}, (const int8_t *){w}, {y});"]


_PAIRS_COMMENT = ("pairs of output channels interleaved per 4 patch values, bytes "
                  "(w0, w2, w1, w3)")


def _fast_fully_connected(ctx, op, p):
    """FULLY_CONNECTED as a 1x1 conv over the input rows (mcuq_conv_s16_fast/_wide); None
    when a copied row would not fit the patch buffer."""
    bias = np.zeros(p.out_depth, np.int64) if p.bias is None else p.bias
    k_pad = -(-p.accum_depth // 4) * 4
    direct = p.accum_depth % 4 == 0
    if not direct and k_pad > _col_buf():
        return None
    rows = int(np.prod(p.output_shape)) // p.out_depth
    fields = _conv16_fields(in_h=rows, in_c=p.accum_depth, out_h=rows, out_c=p.out_depth,
                            filter_in_c=p.accum_depth, act_min=p.act_min, act_max=p.act_max,
                            k_pad=k_pad, direct=int(direct))
    return _pair_kernel(ctx, op, p, p.weights, bias, fields, "fully_connected16", direct)


def _fast_conv(ctx, op, p):
    """CONV_2D (one group, int64 bias: mcuq_conv_s16_fast/_wide) / DEPTHWISE_CONV_2D (any
    depth_multiplier, sums inside int32: mcuq_depthwise_conv_s16_fast); None otherwise."""
    n, in_h, in_w, in_c = p.input_shape
    out_c = p.output_shape[3]
    k_h, k_w = p.weights.shape[1], p.weights.shape[2]
    if p.bias_bits != 64:
        return None
    k_pad, direct = 0, False
    if p.depthwise:
        rows = p.weights.reshape(k_h * k_w, out_c).T
    else:
        if p.filter_input_depth != in_c:
            return None
        rows = p.weights.reshape(out_c, -1)
        k_pad = -(-rows.shape[1] // 4) * 4
        direct = (k_h == k_w == 1 and p.padding.pad_h == 0 and p.padding.pad_w == 0
                  and in_c % 4 == 0)
        if not direct and k_pad > _col_buf():
            return None
    fields = _conv16_fields(
        batches=n, in_h=in_h, in_w=in_w, in_c=in_c, out_h=p.output_shape[1],
        out_w=p.output_shape[2], out_c=out_c, k_h=k_h, k_w=k_w,
        stride_h=p.stride_h, stride_w=p.stride_w, dil_h=p.dilation_h, dil_w=p.dilation_w,
        pad_h=p.padding.pad_h, pad_w=p.padding.pad_w, filter_in_c=p.filter_input_depth,
        depth_multiplier=p.depth_multiplier, act_min=p.act_min, act_max=p.act_max,
        k_pad=k_pad, direct=int(direct))
    if not p.depthwise:
        return _pair_kernel(ctx, op, p, rows, p.bias, fields, "conv16", direct)
    table = rq16_table(p.multiplier, p.shift, p.bias) if int32_sums(rows) else None
    if table is None or k_h * k_w > DW16_TAPS_MAX:
        return None
    ctx.need("MCUQ_DW16_TAPS_BUF", k_h * k_w)  # the pixel's taps inside the image
    rq, wrap = table
    params = ctx.params("mcuq_conv16_params_t", dict(
        fields, rq_mode=_rq_mode(rq, wrap), rq=ctx.array("rq", rq, comment=_RQ_COMMENT)))
    m = p.depth_multiplier
    ctx.path("depthwise16/fast" + ("" if m == 1 else "-multiplier4" if m % 4 == 0
                                   else "-multiplier"), *_rq_paths(rq, wrap))
    w = ctx.array("weights", depthwise_blocks16(p.weights),
                  comment="per 4 channels and tap one word, bytes (c0, c2, c1, c3)")
    return [f"mcuq_depthwise_conv_s16_fast({params}, {ctx.ptr(op.inputs[0])}, "
            f"(const int8_t *){w}, {ctx.ptr(op.outputs[0], True)});"]


@c_emitter("FULLY_CONNECTED:INT16")
def emit_fully_connected(ctx, op, p):
    ctx.use("linear16")
    fast = _fast_fully_connected(ctx, op, p)
    if fast is not None:
        return fast
    mult, shift = _requant_arrays(ctx, p)
    params = ctx.params("mcuq_fully_connected16_params_t", {
        "act_min": p.act_min, "act_max": p.act_max,
        "batches": int(np.prod(p.output_shape)) // p.out_depth,
        "accum_depth": p.accum_depth, "out_depth": p.out_depth,
        "multiplier": mult, "shift": shift})
    ctx.path("fully_connected16/generic",
             *([] if int32_sums(p.weights) else ["linear16/int64-sums"]))
    bias = "NULL" if p.bias is None else ctx.array("bias", p.bias.astype(np.int64))
    return [f"mcuq_fully_connected_s16({params}, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.const(op.inputs[1])}, {bias}, {ctx.ptr(op.outputs[0], True)});"]


@c_emitter("CONV_2D:INT16", "DEPTHWISE_CONV_2D:INT16")
def emit_conv(ctx, op, p):
    ctx.use("linear16")
    fast = _fast_conv(ctx, op, p)
    if fast is not None:
        return fast
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
    rows = (p.weights.reshape(-1, p.weights.shape[3]).T if p.depthwise
            else p.weights.reshape(p.weights.shape[0], -1))
    if not int32_sums(rows):
        ctx.path("linear16/int64-sums")
    if p.depthwise:
        ctx.path("depthwise16/generic")
        bias = ctx.array("bias", p.bias.astype(np.int64))
        return [f"mcuq_depthwise_conv_s16({params}, {x}, {w}, {bias}, {y});"]
    if p.bias_bits == 32:
        ctx.path("conv16/bias32")
        bias = ctx.array("bias", p.bias.astype(np.int32))
        return [f"mcuq_conv_s16({params}, {x}, {w}, NULL, {bias}, {y});"]
    ctx.path("conv16/generic")
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


#: every int16 value, for the exhaustive checks of add16_fold
_ALL16 = np.arange(-32768, 32768, dtype=np.int64)


def _fold_input(x2: np.ndarray, m: int, e: int) -> np.ndarray:
    """numpy model of elementwise16.c's mcuq_rescale2 (x2 = 2x, int64 arrays)."""
    y = (1 << (e - 1)) - (x2 < 0)
    return (y * (1 << 32) + x2 * m + (1 << 31)) >> 32 >> e


def add16_fold(p) -> dict | None:
    """The folded form's fields (elementwise16.h) for an int16 ADD/SUB, or None (the generic
    arithmetic): one input ("A") rescales to exactly x << 14 (the larger scale: multiplier 2^30,
    shift 0), the other ("B") to SMMLAR's form with 1 <= e <= 31, proved equal to TFLM's
    rdbp(srdhm(x << 15, m), e) for all 65,536 int16 values (equal scales: B's x << 14 as
    m = 2^31 - 1, e = 1), and the output shift is in 1..31 (a right shift). SUB folds when
    input 2 is A (raw = v_B - x_2 << 14)."""
    if p.op not in ("ADD", "SUB") or p.rounding != "double" or p.left_shift != 15:
        return None
    from ...reference import fixedpoint as fp

    sm = fp.multiply_by_quantized_multiplier_smaller_than_one_exp
    ins = [(p.input1_multiplier, p.input1_shift), (p.input2_multiplier, p.input2_shift)]
    exact = [sm(_ALL16 << 15, m, s) for m, s in ins]
    order = (1, 0) if p.op == "SUB" else (0, 1)  # SUB folds only with A second
    a = next((i for i in order if np.array_equal(exact[i], _ALL16 << 14)), None)
    eo = -int(p.output_shift)
    if a is None or not 1 <= eo <= 31 or not 0 <= p.output_multiplier < 2**31:
        return None
    m_b, shift_b = ins[1 - a]
    for cand in ((int(m_b), -int(shift_b)), (2**31 - 1, 1)):
        if 0 <= cand[0] < 2**31 and 1 <= cand[1] <= 31 and np.array_equal(
                _fold_input(_ALL16 << 16, *cand), exact[1 - a]):
            m_b, e_b = cand
            break
    else:
        return None
    if p.op == "SUB" and a == 0:  # x1 << 14 - v_B: not this form (SUB folds with A second)
        return None
    return {"fast": 1, "a_second": a, "k_a": -16384 if p.op == "SUB" else 16384,
            "m_b": m_b, "ra_b": 1 << (e_b - 1), "e_b": e_b,
            "m_o": int(p.output_multiplier), "ra_o": 1 << (eo - 1), "e_o": eo}


_ELEMENTWISE = {"ADD": "mcuq_add_s16", "SUB": "mcuq_sub_s16", "MUL": "mcuq_mul_s16",
                "MAXIMUM": "mcuq_maximum_s16", "MINIMUM": "mcuq_minimum_s16"}
_NO_FOLD = {"fast": 0, "a_second": 0, "k_a": 0, "m_b": 0, "ra_b": 0, "e_b": 0, "m_o": 0,
            "ra_o": 0, "e_o": 0}


@c_emitter("ADD:INT16", "SUB:INT16", "MUL:INT16", "MAXIMUM:INT16", "MINIMUM:INT16")
def emit_elementwise(ctx, op, p):
    from .elementwise import broadcast_walk

    ctx.use("elementwise16")
    extents, st1, st2 = broadcast_walk(p.shape1, p.shape2, p.output_shape)

    def arr(v):
        return "{" + ", ".join(str(int(x)) for x in list(v) + [0] * (7 - len(v))) + "}"

    m, s = c_multiplier(p.output_multiplier, p.output_shift)
    fold = add16_fold(p)
    params = ctx.params("mcuq_elementwise16_params_t", {
        "left_shift": p.left_shift,
        "input1_multiplier": p.input1_multiplier, "input1_shift": p.input1_shift,
        "input2_multiplier": p.input2_multiplier, "input2_shift": p.input2_shift,
        "output_multiplier": m, "output_shift": s, "act_min": p.act_min, "act_max": p.act_max,
        "rank": len(extents), "shape": arr(extents), "stride1": arr(st1),
        "stride2": arr(st2), **(fold or _NO_FOLD)})
    ctx.path(f"elementwise16/{op.opcode.lower()}",
             *(["elementwise16/broadcast"] if tuple(p.shape1) != tuple(p.shape2) else []),
             *(["elementwise16/folded"] if fold else []))
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
