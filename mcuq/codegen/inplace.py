"""Which ops the C target runs in place, as data next to the emitters, and how.

Each op family's emitter module (mcuq/codegen/c_ops/) declares, with `@c_inplace(...)`, a rule
`rule(model, op, params) -> list[InPlace]`: the inputs its kernel may overwrite with the
output, and the method. The memory planner (mcuq.memory.plan_arena) takes an option where that
input dies at the op; `build_cmodel` then emits the op accordingly:

  direct    the usual kernel call with the output pointer equal to the input's: kernels whose
            every output element is written after the input elements stored in its bytes were
            read (elementwise ops and activations, softmax's last pass, ADD with a dying input
            of the output's shape, same-size QUANTIZE, pooling with stride >= filter and less
            padding than stride). Such kernels take no `restrict` on input/output.
  rows      any spatial op (convolution, depthwise, pooling): the output is computed one row at
            a time by the op's usual kernel from a copy of the input rows that row needs
            (`mcuq_rows_window` slides that copy down, or up, the tensor); `row_bands` proves at
            generation time that every input row is copied before an output row overwrites it.
  channels  depthwise convolution, TinyEngine's way (firmware/kernels/depthwise_inplace.c): each
            channel's input plane is copied to a temporary, then that channel's outputs are
            written over it (channel c's output bytes hold only channel c's input).
  planar    depthwise convolution on modes 3/4 (c_ops/planar_inplace.py): the usual kernel once
            over the whole tensor, no temporary (its ring of unpacked rows holds what an output
            row reads); its byte order is declared (InPlace.order) and replayed by check_reads.
  pixels, pixels-reverse, ring, ring-reverse
            CONV_2D in ONE call over the whole tensor (conv.c: mcuq_conv_s8_inplace): a 1x1
            stride-1 conv (mode 2) by pairs of pixels, each pair read before it is written;
            conv mode 3 (first layers) copying input rows into its stack ring when an output
            row starts. First pixel to last, or last to first (the output starts at the input's
            first byte and grows past its end); no temporary in the arena. The byte order is
            declared (InPlace.order, c_ops/conv.py): the rule offers a direction only where it
            reads every input byte before it is overwritten; check_reads replays it on the plan.
  concat-reverse
            CONCATENATION over one of its inputs, stored at the output's first byte
            (shape.c: mcuq_concatenation_inplace): that input's rows move last to first, then
            the other inputs fill the rest of every row; the byte order is declared
            (c_ops/shape.py: concat_order) and replayed by check_reads; taken only where the
            arena shrinks (InPlace.only_if_smaller).

`c_plan(model)` is the C target's plan with these options; costs.py and the HTML report use it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

from ..memory import (ALIAS_OPS, ArenaPlan, InPlace, check_reads, plan_arena, plan_picture,
                      plan_tflm_like)
from ..model import Model, Operator

Rule = Callable[[Model, Operator, object], list[InPlace]]
INPLACE_RULES: dict[str, Rule] = {}


def c_inplace(*names: str):
    """Register `rule(model, op, params) -> list[InPlace]` for the op names."""
    def wrap(fn):
        for n in names:
            INPLACE_RULES[n] = fn
        return fn
    return wrap


# ---- helpers for the rules -------------------------------------------------------------------

def same_bytes(model: Model, op: Operator, operand: int) -> bool:
    """Input `operand` has the output's shape and element size (an elementwise walk over both
    visits the same byte offsets in the same order)."""
    x, y = op.inputs[operand], op.outputs[0]
    if x < 0:
        return False
    tx, ty = model.tensors[x], model.tensors[y]
    return tx.data is None and tuple(tx.shape) == tuple(ty.shape) and \
        tx.dtype.itemsize == ty.dtype.itemsize


def direct(model: Model, op: Operator, *operands: int) -> list[InPlace]:
    return [InPlace(op.index, k) for k in operands if same_bytes(model, op, k)]


@dataclass(frozen=True)
class RowBands:
    """An in-place row schedule: output rows [y0, y1) from input rows [lo, hi), bands in
    execution order (top-down, or bottom-up when the output rows are wider than the input's)."""
    bands: tuple[tuple[int, int, int, int], ...]
    row_in: int  # bytes of one input row (all batches' rows are separate: batch must be 1)
    row_out: int
    temp_rows: int
    reverse: bool

    @property
    def scratch(self) -> int:
        return self.temp_rows * self.row_in


def row_bands(in_h: int, out_h: int, stride: int, pad: int, k_eff: int, row_in: int,
              row_out: int) -> RowBands | None:
    """One band per output row; None when no order keeps every input row intact until it is
    copied (the output's bytes run ahead of the input rows still to be read both ways)."""
    if out_h <= 0 or in_h <= 0:
        return None
    spans = []
    for y in range(out_h):
        lo = max(0, y * stride - pad)
        hi = max(lo, min(in_h, y * stride - pad + k_eff))
        spans.append((y, y + 1, lo, hi))
    temp_rows = max(hi - lo for _, _, lo, hi in spans)

    def forward_ok() -> bool:
        copied = 0  # rows below `copied` have been copied into the temporary
        for y0, _, lo, hi in spans:
            first_new = max(copied, lo)
            if hi > first_new and y0 * row_out > first_new * row_in:
                return False  # rows still to copy were overwritten by earlier output rows
            copied = max(copied, hi)
        return True

    def backward_ok() -> bool:
        copied = in_h  # rows from `copied` up have been copied
        for _, y1, lo, hi in reversed(spans):
            end_new = min(copied, hi)
            if end_new > lo and end_new * row_in > y1 * row_out:
                return False
            copied = min(copied, lo)
        return True

    if forward_ok():
        return RowBands(tuple(spans), row_in, row_out, temp_rows, False)
    if backward_ok():
        return RowBands(tuple(reversed(spans)), row_in, row_out, temp_rows, True)
    return None


def spatial_bands(p, k_h: int, dil_h: int = 1) -> RowBands | None:
    """RowBands of a conv/depthwise/pool op's prepared params (NHWC, batch 1)."""
    n, in_h, in_w, in_c = p.input_shape
    _, out_h, out_w, out_c = p.output_shape
    if n != 1:
        return None
    return row_bands(in_h, out_h, p.stride_h, p.padding.pad_h, (k_h - 1) * dil_h + 1,
                     in_w * in_c, out_w * out_c)


def rows_option(op: Operator, bands: RowBands | None, operand: int = 0) -> list[InPlace]:
    return [] if bands is None else [InPlace(op.index, operand, "rows", bands.scratch)]


# ---- options and the plan --------------------------------------------------------------------

def inplace_options(model: Model, params_of) -> list[InPlace]:
    """Every in-place option the emitters declare for `model`'s ops; params_of(op index) gives
    an op's prepared params (the reference interpreter's `params`)."""
    from .cmodel import _load_emitters

    from ..reference.registry import kernel_key

    _load_emitters()
    out: list[InPlace] = []
    for op in model.operators:
        rule = INPLACE_RULES.get(op.opcode)
        if rule is None or op.opcode in ALIAS_OPS or len(op.outputs) != 1:
            continue
        if kernel_key(op, model) != op.opcode:  # int16 kernels (c_ops/int16.py): not in place
            continue
        out.extend(rule(model, op, params_of(op.index)))
    return out


def c_plan(model: Model, params_of=None, external=frozenset(), effort: int = 1,
           inplace: bool = True, no_inplace=frozenset()) -> ArenaPlan:
    """The C target's arena plan for `model` (I/O inside unless `external`), with the in-place
    options of its ops (none with inplace=False; none for the ops in `no_inplace`: packed
    weights), checked byte by byte (effort 0: a quick estimate, unchecked)."""
    if params_of is None:
        from ..reference import Interpreter

        params_of = Interpreter(model).params
    options = [c for c in inplace_options(model, params_of) if c.op not in no_inplace] \
        if inplace else []
    # variable tensors (SVDF/LSTM state) persist across invocations in their own static
    # buffers (cmodel.assign_storage), never in the arena
    external = frozenset(external) | {t.index for t in model.tensors
                                      if t.is_variable and t.data is None}
    plan = plan_arena(model, external=external, inplace=options, effort=effort)
    if effort > 0:
        check_reads(model, plan)
    return plan


def plan_pictures(model: Model) -> list[dict]:
    """TFLite Micro's greedy plan beside mcuq's C target plan (I/O inside, ops in place), as
    plain data for the HTML report's pictures."""
    return [plan_picture(model, plan_tflm_like(model),
                         "TFLite Micro-style greedy plan (16-aligned)"),
            plan_picture(model, c_plan(model), "mcuq C target arena (I/O inside, in-place ops)")]


# ---- emitting an op that runs in place by rows -------------------------------------------------

def band_params(p, y0: int, y1: int, lo: int, hi: int):
    """`p` (conv/depthwise/pool params) restricted to output rows [y0, y1) computed from
    input rows [lo, hi): the padding above becomes the part of the window above `lo`."""
    n, _, in_w, in_c = p.input_shape
    _, _, out_w, out_c = p.output_shape
    pad_h = lo - (y0 * p.stride_h - p.padding.pad_h)
    return dataclasses.replace(
        p, input_shape=(n, hi - lo, in_w, in_c), output_shape=(n, y1 - y0, out_w, out_c),
        padding=dataclasses.replace(p.padding, out_h=y1 - y0, pad_h=pad_h))


def emit_rows(ctx, op: Operator, p, choice: InPlace, bands: RowBands, emit) -> list[str]:
    """The op's usual emitter, once per band (identical calls but for their parameter struct),
    inside a loop that slides the row copy and writes each output row over the input."""
    x, y = op.inputs[choice.operand], op.outputs[0]
    base = ctx.storage[x].slot
    temp = ctx.scratch_offset
    tx, ty = ctx.model.tensors[x], ctx.model.tensors[y]
    from .carray import C_TYPES

    tname = f"{ctx.prefix}_op{op.index}_bands"
    lines_per_band: list[list[str]] = []
    structs: list[tuple[str, str]] = []
    ctx.override = {x: f"((const {C_TYPES[tx.dtype]} *)(s_arena + {temp}))",
                    y: f"(({C_TYPES[ty.dtype]} *)(s_arena + {base} + band->out))"}
    try:
        for k, (y0, y1, lo, hi) in enumerate(bands.bands):
            ctx.capture = []
            ctx.suffix = f"_b{y0}"
            lines = emit(ctx, op, band_params(p, y0, y1, lo, hi))
            if len(ctx.capture) != 1:
                raise RuntimeError(f"{op.describe()}: emitter made {len(ctx.capture)} parameter "
                                   "structs per band; the rows loop needs exactly one")
            structs.append(ctx.capture[0])
            lines_per_band.append(lines)
    finally:
        ctx.override, ctx.capture, ctx.suffix = {}, None, ""
    if any(lines != lines_per_band[0] for lines in lines_per_band):
        raise RuntimeError(f"{op.describe()}: per-band calls differ beyond their parameters")
    ctype = structs[0][1]
    ctx.table(f"{tname}", "mcuq_rows_band_t",
              [f"{{{lo}, {hi}, {y0 * bands.row_out}}}" for y0, _, lo, hi in bands.bands],
              f"op #{op.index}: input rows [lo, hi) -> output row at byte out"
              + (" (bottom-up)" if bands.reverse else ""))
    ctx.table(f"{tname}_params", f"{ctype} *const", [f"&{name}" for name, _ in structs],
              f"op #{op.index}: parameters of each band")
    ctx.use("inplace")
    call = [line.replace(ctx.CAPTURE_TOKEN, f"{tname}_params[b]") for line in lines_per_band[0]]
    return [
        "{",
        f"  int32_t held[2] = {{0, 0}};",
        f"  for (int32_t b = 0; b < {len(bands.bands)}; ++b) {{",
        f"    const mcuq_rows_band_t *band = &{tname}[b];",
        f"    mcuq_rows_window(s_arena + {temp}, s_arena + {base}, {bands.row_in}, held, "
        "band->lo, band->hi);",
        *[f"    {line}" for line in call],
        "  }",
        "}",
    ]


# ---- per-method emitters ---------------------------------------------------------------------

#: (opcode, method) -> emit(ctx, op, params, choice) for methods other than "direct"/"rows"
INPLACE_EMITTERS: dict[tuple[str, str], Callable] = {}


def c_inplace_emitter(method: str, *names: str):
    def wrap(fn):
        for n in names:
            INPLACE_EMITTERS[(n, method)] = fn
        return fn
    return wrap


def op_bands(op: Operator, p) -> RowBands | None:
    """RowBands of a spatial op from its params (conv/depthwise: weights' k_h and dilation;
    pooling: the filter height)."""
    if hasattr(p, "weights"):
        return spatial_bands(p, p.weights.shape[1], p.dilation_h)
    return spatial_bands(p, p.filter_h)


def emit_inplace(ctx, op: Operator, p, choice: InPlace, emitters) -> list[str]:
    """The C statements of `op` run in place as `choice` says."""
    if choice.method == "direct":
        return emitters[op.opcode](ctx, op, p)
    if choice.method == "rows":
        bands = op_bands(op, p)
        if bands is None or bands.scratch != choice.scratch:
            raise RuntimeError(f"{op.describe()}: row schedule changed since planning")
        return emit_rows(ctx, op, p, choice, bands, emitters[op.opcode])
    return INPLACE_EMITTERS[(op.opcode, choice.method)](ctx, op, p, choice)
