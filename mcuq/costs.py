"""What a .tflite model costs on a device: per-op MACs, weight bytes and live activation bytes,
totals for flash and the activation arena (mcuq's plans next to TFLite Micro's measurement),
and the ops TFLite Micro or mcuq cannot run.

Reads only the flatbuffer (mcuq.model); never imports TensorFlow. TFLite Micro's arena comes
from the tflite-micro package (mcuq.tflm_arena), optional with `measure_tflm=False`.

MACs count the multiply-accumulates of CONV_2D (out elements × KH·KW·Cin), DEPTHWISE_CONV_2D
(out elements × KH·KW), FULLY_CONNECTED (out elements × input depth), TRANSPOSE_CONV (input
elements × KH·KW·Cout: every input pixel meets every tap of every output channel) and
BATCH_MATMUL (out elements × the shared depth), UNIDIRECTIONAL_SEQUENCE_LSTM (out elements ×
4 gates × (input features + units): its eight matrix products per step) and SVDF (batch ×
filters × (input depth + memory): the feature and time steps); every other op counts 0.

Each op also carries `support`: whether mcuq's reference (its prepare step on this op, as
typed and configured here: the verdict `verify` gives), mcuq's C target and TensorFlow Lite
Micro (a MicroMutableOpResolver method) implement it, and `mcuq_refusal`: why mcuq cannot.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np

from .errors import McuqError
from .memory import ALIAS_OPS, io_aliases, plan_tflm_like
from .model import Model, Tensor, load_model


@dataclass
class TensorBrief:
    index: int
    name: str
    shape: list[int]
    dtype: str
    scale: float | None = None
    zero_point: int | None = None
    channels: int = 0  # per-channel scales (0: per-tensor or not quantized)


@dataclass
class OpSupport:
    """Who can run an op type: mcuq's int8 reference (so `verify`), mcuq's standalone C
    target (`generate --target c`), TensorFlow Lite Micro (`generate --target tflm`)."""
    reference: bool
    c: bool
    tflm: bool


@dataclass
class OpCost:
    index: int
    op: str
    inputs: list[TensorBrief]
    outputs: list[TensorBrief]
    macs: int
    weight_bytes: int
    live_bytes: int  # activation bytes live while this op runs (TFLM-like plan)
    tflm: bool  # TFLite Micro has a kernel for it
    mcuq: bool  # mcuq's reference and C target run it (as typed and configured here)
    support: OpSupport | None = None  # reference / C target / TFLite Micro, separately
    mcuq_refusal: str | None = None  # why not, when mcuq is False


@dataclass
class ArenaFigures:
    """RAM figures counted the same way on both sides: TFLite Micro's arena holds its inputs and
    outputs (head) and its interpreter's persistent structures (tail); mcuq's C arena holds the
    inputs, outputs, activations and in-place temporaries (its whole RAM but the stack)."""
    plan_bytes: int  # TFLM-like greedy head plan (inputs/outputs included, 16-byte aligned)
    lower_bound_bytes: int  # largest set of tensors live at once: no plan can be smaller
    c_arena_bytes: int | None  # mcuq's C target: I/O inside the arena, ops in place
    c_io_bytes: int  # the model's input + output bytes (inside c_arena_bytes)
    c_lower_bound_bytes: int | None = None  # largest live set of the C plan (after in-place)
    c_scratch_bytes: int = 0  # the largest in-place temporary (inside c_arena_bytes)
    c_inplace_ops: int = 0  # ops the C plan runs in place
    c_state_bytes: int = 0  # persistent state outside the arena (none yet)
    c_external_io_arena_bytes: int | None = None  # the arena with --external-io (I/O excluded)
    tflm_total_bytes: int | None = None  # measured by TFLite Micro (tflite-micro package)
    tflm_head_bytes: int | None = None
    tflm_tail_bytes: int | None = None
    tflm_required_bytes: int | None = None  # smallest arena_size that allocates and invokes
    tflm_error: str | None = None
    #: stateful models: resource variables and their bytes (persistent: the C target keeps
    #: them in static buffers outside its arena, TFLite Micro in its arena's tail)
    resource_variables: int = 0
    variable_tensors: int = 0  # is_variable tensors (SVDF's state): their bytes in state_bytes
    state_bytes: int = 0


@dataclass
class Inspection:
    source: str
    flash_bytes: int  # the model flatbuffer
    weight_bytes: int
    macs: int
    op_counts: dict[str, int]
    inputs: list[TensorBrief]
    outputs: list[TensorBrief]
    ops: list[OpCost]
    arena: ArenaFigures
    tflm_unsupported: list[str] = field(default_factory=list)
    mcuq_unsupported: list[str] = field(default_factory=list)
    #: None when mcuq's reference and C target run the model; else the refusal that `verify`
    #: and `generate --target c` give (every refused op kind, counted).
    mcuq_verdict: str | None = None
    footprint: dict | None = None  # Cortex-M4 build of the C target, when requested
    #: the other subgraphs (e.g. CALL_ONCE's init subgraph): {"index", "name", "op_counts"}
    subgraphs: list[dict] = field(default_factory=list)
    #: per weight tensor: distinct values per channel, the smallest k, bytes plain vs packed
    #: (mcuq.packing.Packing.as_dict(): C target --pack auto, TFLite Micro --compress)
    packing: dict | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def brief(t: Tensor) -> TensorBrief:
    q = t.quant
    return TensorBrief(
        index=t.index, name=t.name, shape=list(t.shape), dtype=t.type_name.lower(),
        scale=None if q is None else float(q.scale[0]),
        zero_point=None if q is None else int(q.zero_point[0]),
        channels=int(q.scale.size) if q is not None and q.per_channel else 0)


def op_macs(model: Model, op) -> int:
    ins = model.op_inputs(op)
    outs = model.op_outputs(op)
    if not outs or len(ins) < 2 or ins[1] is None:
        return 0
    out_elems, w = outs[0].size, ins[1].shape
    if op.opcode == "CONV_2D" and len(w) == 4:
        return out_elems * int(np.prod(w[1:]))
    if op.opcode == "DEPTHWISE_CONV_2D" and len(w) == 4:
        return out_elems * w[1] * w[2]
    if op.opcode == "FULLY_CONNECTED" and len(w) == 2:
        return out_elems * w[1]
    if op.opcode == "TRANSPOSE_CONV" and len(w) == 4 and len(ins) > 2 and ins[2] is not None:
        return ins[2].size * w[0] * w[1] * w[2]
    if op.opcode == "UNIDIRECTIONAL_SEQUENCE_LSTM" and len(w) == 2:
        return out_elems * 4 * (w[1] + outs[0].shape[-1])
    if op.opcode == "BATCH_MATMUL" and ins[0] is not None and len(ins[0].shape) >= 2:
        adj_x = bool(op.options.get("adj_x", False))
        return out_elems * ins[0].shape[-2 if adj_x else -1]
    if op.opcode == "SVDF" and len(w) == 2 and len(ins) > 2 and ins[2] is not None \
            and len(ins[2].shape) == 2 and ins[0] is not None:
        return ins[0].shape[0] * w[0] * (w[1] + ins[2].shape[1])
    return 0


def tflm_ops() -> set[str] | None:
    """Builtin ops TFLite Micro's MicroMutableOpResolver can add (None if unknown)."""
    try:
        from .codegen.tflm_ops import BUILTIN_ADD_METHODS, CUSTOM_ADD_METHODS
    except ImportError:  # pragma: no cover - the table ships with mcuq
        return None
    return set(BUILTIN_ADD_METHODS) | {f"CUSTOM:{n}" for n in CUSTOM_ADD_METHODS}


def mcuq_ops() -> set[str]:
    from .codegen.cmodel import EMITTERS, _load_emitters
    from .reference.registry import supported_ops

    _load_emitters()
    return set(supported_ops()) & (set(EMITTERS) | set(ALIAS_OPS))


def op_support(opcode: str, refusal: str | None = None, key: str | None = None) -> OpSupport:
    """Whether mcuq's reference, mcuq's C target and TFLite Micro implement `opcode` (the
    reference and the C target: on this op, when `refusal` says why its prepare step refuses
    it). `key`: the kernel key when the op runs a typed variant ("FULLY_CONNECTED:INT16",
    mcuq.reference.registry.kernel_key), whose C emitter is looked up under the same key."""
    from .codegen.cmodel import EMITTERS, _load_emitters
    from .reference.registry import supported_ops

    _load_emitters()
    reference = opcode in set(supported_ops()) and refusal is None
    tflm = tflm_ops()
    return OpSupport(reference=reference,
                     c=reference and ((key or opcode) in EMITTERS or opcode in ALIAS_OPS),
                     tflm=tflm is None or opcode in tflm)


def mcuq_support(m: Model) -> tuple[dict[int, str], str | None]:
    """({op index: why mcuq cannot run it}, the whole refusal or None): the verdict of the
    reference's prepare step (mcuq.reference.registry.prepare_ops), which verify and generate
    give too, plus ops the C target has no emitter for."""
    from .codegen.cmodel import EMITTERS
    from .reference.registry import kernel_key, prepare_subgraphs, refusal_summary

    _, refusals = prepare_subgraphs(m)
    ours = mcuq_ops()
    why = {r.op.index: r.reason for r in refusals if r.op is not None}
    for op in m.operators:
        key = kernel_key(op, m)
        if op.index not in why and (op.opcode not in ours or (
                key != op.opcode and key not in EMITTERS and op.opcode not in ALIAS_OPS)):
            why[op.index] = "no C kernel in mcuq's standalone target"
    return why, (f"mcuq cannot run {refusal_summary(m, refusals)}" if refusals else None)


def inspect_model(model, measure_tflm: bool = True, footprint: bool = False) -> Inspection:
    m = load_model(model)
    head = plan_tflm_like(m)
    io = set(m.inputs) | set(m.outputs)
    arena = ArenaFigures(plan_bytes=head.size, lower_bound_bytes=head.lower_bound,
                         c_arena_bytes=None, c_io_bytes=sum(m.tensors[i].nbytes for i in io))
    refused, verdict = mcuq_support(m)
    if not refused and verdict is None:  # the C target generates it: its plan, as generate's
        from .codegen.inplace import c_plan
        from .reference import Interpreter

        params = Interpreter(m).params
        c = c_plan(m, params)
        arena.c_arena_bytes, arena.c_lower_bound_bytes = c.size, c.lower_bound
        arena.c_scratch_bytes, arena.c_inplace_ops = c.scratch_bytes, len(c.inplace)
        arena.c_external_io_arena_bytes = c_plan(m, params, external=set(io_aliases(m))).size
    if m.stateful:
        from .reference.program import resolve_state

        state = [t for t in m.tensors if t.is_variable and t.data is None]
        arena.variable_tensors = len(state)
        arena.state_bytes = sum(t.nbytes for t in state)

        try:
            prog = resolve_state(m)
            arena.resource_variables = len(prog.variables)
            arena.state_bytes += prog.state_bytes
        except McuqError:  # verify/generate say why; inspect still reports the rest
            pass
    if measure_tflm:
        try:
            from .tflm_arena import measure_tflm_arena

            measured = measure_tflm_arena(m)
            arena.tflm_total_bytes = measured.total_bytes
            arena.tflm_head_bytes = measured.head_bytes
            arena.tflm_tail_bytes = measured.tail_bytes
            arena.tflm_required_bytes = measured.required_bytes
        except McuqError as e:
            arena.tflm_error = e.message
    from .reference.registry import kernel_key

    tflm = tflm_ops()
    ops = []
    for op in m.operators:
        ops.append(OpCost(
            index=op.index, op=op.opcode,
            inputs=[brief(t) for t in m.op_inputs(op) if t is not None and t.data is None],
            outputs=[brief(t) for t in m.op_outputs(op)],
            macs=op_macs(m, op),
            weight_bytes=sum(t.nbytes for t in m.op_inputs(op) if t is not None
                             and t.data is not None),
            live_bytes=sum(b.size for b in head.live_at(op.index)),
            tflm=tflm is None or op.opcode in tflm,
            mcuq=op.index not in refused, mcuq_refusal=refused.get(op.index),
            support=op_support(op.opcode, refused.get(op.index), kernel_key(op, m))))
    weights = sum(t.nbytes for t in m.tensors if t.data is not None)
    result = Inspection(
        source=m.source, flash_bytes=m.size, weight_bytes=weights,
        macs=sum(o.macs for o in ops),
        op_counts=dict(Counter(op.opcode for op in m.operators).most_common()),
        inputs=[brief(t) for t in m.input_tensors()],
        outputs=[brief(t) for t in m.output_tensors()], ops=ops, arena=arena,
        tflm_unsupported=sorted({o.op for o in ops if not o.tflm}),
        mcuq_unsupported=sorted({o.op for o in ops if not o.mcuq}), mcuq_verdict=verdict,
        subgraphs=[{"index": sg.index, "name": sg.name,
                    "op_counts": dict(Counter(op.opcode for op in sg.operators).most_common())}
                   for sg in m.subgraphs[1:]])
    from .packing import pack_model

    result.packing = pack_model(m).as_dict()
    if footprint:
        from .footprint import cortex_m4_footprint

        result.footprint = cortex_m4_footprint(m).as_dict()
    return result
