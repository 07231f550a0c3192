"""Tensor lifetimes and activation-arena plans.

Two planners share one lifetime analysis:

- `plan_tflm_like(model)`: what TensorFlow Lite Micro's GreedyMemoryPlanner does for the
  "head" section of its arena: every non-constant tensor (model inputs and outputs included)
  is a buffer whose size is rounded up to 16 bytes, live from the op that writes it (0 for model
  inputs) to the last op that reads it (the last op for model outputs); buffers are placed
  largest first, each at the lowest offset that does not overlap a placed buffer that is live
  at the same time. `mcuq inspect` reports it next to TFLite Micro's measured arena.

- `plan_arena(model, external=...)`: the standalone C target's arena. Tensors in `external`
  (the caller's input/output buffers) take no arena space; RESHAPE/SQUEEZE/EXPAND_DIMS outputs
  share their input's bytes (one buffer, the union of the lifetimes); sizes are rounded to 4
  bytes (int32 tensors stay aligned). Several placement orders are tried and the smallest
  plan wins; every plan is checked (`ArenaPlan.check`) before it is returned.

`lower_bound(buffers)` is the largest sum of sizes live at one op: no plan can be smaller.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .model import Model

#: Ops whose output is the input's bytes with a new shape (no copy, no memory).
ALIAS_OPS = frozenset({"RESHAPE", "SQUEEZE", "EXPAND_DIMS"})
TFLM_ALIGNMENT = 16


@dataclass
class Buffer:
    root: int  # tensor index that owns the bytes
    members: list[int]  # tensors stored in these bytes (root first; aliases after)
    size: int  # bytes, aligned
    first: int  # op index that first writes it (0 for model inputs)
    last: int  # op index that last reads it

    def overlaps_in_time(self, other: "Buffer") -> bool:
        return self.first <= other.last and other.first <= self.last


@dataclass
class ArenaPlan:
    size: int
    offsets: dict[int, int]  # tensor index -> byte offset (every member of every buffer;
    # a kernel scratch buffer of the TFLM-like plan under its negative root)
    buffers: list[Buffer]
    alignment: int
    lower_bound: int
    external: set[int] = field(default_factory=set)

    def check(self) -> None:
        """Raise AssertionError if two buffers live at the same time share bytes."""
        placed = [(b, self.offsets[b.root]) for b in self.buffers]
        for i, (a, oa) in enumerate(placed):
            assert oa % self.alignment == 0 and oa + a.size <= self.size, (a.root, oa)
            for b, ob in placed[i + 1:]:
                if a.overlaps_in_time(b) and oa < ob + b.size and ob < oa + a.size:
                    raise AssertionError(f"tensors {a.root} and {b.root} overlap in the arena")

    def live_at(self, op_index: int) -> list[Buffer]:
        return [b for b in self.buffers if b.first <= op_index <= b.last]


def align(n: int, alignment: int) -> int:
    return (n + alignment - 1) // alignment * alignment


def lifetimes(model: Model, alias: bool = False) -> dict[int, tuple[int, int]]:
    """(first, last) op index of every non-constant tensor that is used at all."""
    last_op = max(len(model.operators) - 1, 0)
    life: dict[int, list[int]] = {}

    def touch(t: int, i: int) -> None:
        if t < 0 or model.tensors[t].data is not None:
            return
        span = life.setdefault(t, [i, i])
        span[0], span[1] = min(span[0], i), max(span[1], i)

    for t in model.inputs:
        touch(t, 0)
    for op in model.operators:
        for t in (*op.inputs, *op.outputs):
            touch(t, op.index)
    for t in model.outputs:
        touch(t, last_op)
    return {t: (a, b) for t, (a, b) in life.items()}


def alias_groups(model: Model) -> dict[int, int]:
    """tensor index -> root tensor index, joining reshape-like outputs to their inputs."""
    parent = {t.index: t.index for t in model.tensors}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for op in model.operators:
        if op.opcode in ALIAS_OPS and model.tensors[op.inputs[0]].data is None:
            parent[find(op.outputs[0])] = find(op.inputs[0])
    return {t: find(t) for t in parent}


def io_aliases(model: Model) -> dict[int, tuple[str, int, int]]:
    """Where the standalone C target keeps the tensors that share bytes with a model input or
    output: tensor -> ("input" | "output", position, the input/output tensor). A reshape-like
    alias group holding a model input lives in that input's buffer; one holding exactly one
    model output (and no input) lives in that output's buffer. Groups with two outputs stay in
    the arena (the outputs are copied at the end). These tensors take no arena space."""
    root_of = alias_groups(model)
    groups: dict[int, list[int]] = {}
    for t in model.tensors:
        if t.data is None:
            groups.setdefault(root_of[t.index], []).append(t.index)
    ins, outs = list(model.inputs), list(model.outputs)
    where: dict[int, tuple[str, int, int]] = {}
    for members in groups.values():
        in_members = [m for m in members if m in ins]
        out_members = [m for m in members if m in outs]
        if in_members:
            slot = ("input", ins.index(in_members[0]), in_members[0])
        elif len(out_members) == 1:
            slot = ("output", outs.index(out_members[0]), out_members[0])
        else:
            continue
        where.update({m: slot for m in members})
    return where


def buffers(model: Model, alignment: int, external: frozenset[int] | set[int] = frozenset(),
            alias: bool = False) -> list[Buffer]:
    life = lifetimes(model)
    roots = alias_groups(model) if alias else {t: t for t in life}
    if alias:  # an alias group is stored in one place: all of it external, or none of it
        split = {roots[t] for t in life if t in external} & {roots[t] for t in life
                                                             if t not in external}
        if split:
            raise ValueError(f"alias groups {sorted(split)} are partly external: pass "
                             "io_aliases(model) (every member) as `external`")
    groups: dict[int, Buffer] = {}
    for t, (first, last) in sorted(life.items()):
        if t in external:
            continue
        root = roots[t]
        size = align(model.tensors[t].nbytes, alignment)
        b = groups.get(root)
        if b is None:
            groups[root] = Buffer(root, [t], size, first, last)
        else:
            b.members.append(t)
            b.size = max(b.size, size)
            b.first, b.last = min(b.first, first), max(b.last, last)
    for b in groups.values():  # the root tensor is listed first
        b.members.sort(key=lambda t: (t != b.root, t))
    return list(groups.values())


def lower_bound(bufs: list[Buffer]) -> int:
    if not bufs:
        return 0
    last = max(b.last for b in bufs)
    return max(sum(b.size for b in bufs if b.first <= i <= b.last) for i in range(last + 1))


def place(bufs: list[Buffer], order: list[Buffer], alignment: int) -> dict[int, int]:
    """First-fit placement in `order`: each buffer at the lowest aligned offset that does not
    collide with an already placed buffer live at the same time."""
    placed: list[tuple[int, Buffer]] = []
    offsets: dict[int, int] = {}
    for b in order:
        busy = sorted((o, o + p.size) for o, p in placed if p.overlaps_in_time(b))
        offset = 0
        for start, end in busy:
            if offset + b.size <= start:
                break
            offset = max(offset, align(end, alignment))
        offsets[b.root] = offset
        placed.append((offset, b))
    return offsets


def _plan(bufs: list[Buffer], offsets: dict[int, int], alignment: int,
          external=frozenset()) -> ArenaPlan:
    size = max((offsets[b.root] + b.size for b in bufs), default=0)
    member_offsets = {t: offsets[b.root] for b in bufs for t in (b.members or [b.root])}
    plan = ArenaPlan(size, member_offsets, bufs, alignment, lower_bound(bufs), set(external))
    plan.check()
    return plan


def tflm_scratch_bytes(model: Model, op) -> int:
    """Bytes of the scratch buffer TFLite Micro's reference kernel requests in its head
    (RequestScratchBufferInArena) for `op`, live only while the op runs; 0 for most ops.
      TRANSPOSE_CONV int8: an int32 accumulator per output element (transpose_conv.cc);
      SUM / MEAN int8: an int32 sum per output element (reduce_common.cc);
      REDUCE_MAX: an int per input dimension and an int per axis (reduce_common.cc)."""
    if not op.outputs or not op.inputs or op.inputs[0] < 0:
        return 0
    x, y = model.tensors[op.inputs[0]], model.tensors[op.outputs[0]]
    if op.opcode == "TRANSPOSE_CONV" and len(op.inputs) > 2 and \
            model.tensors[op.inputs[2]].type_name == "INT8":
        return 4 * y.size
    if op.opcode in ("SUM", "MEAN") and x.type_name in ("INT8", "INT16"):
        return 4 * y.size
    if op.opcode == "REDUCE_MAX" and len(op.inputs) > 1 and op.inputs[1] >= 0:
        return 4 * len(x.shape) + 4 * model.tensors[op.inputs[1]].size
    return 0


def plan_tflm_like(model: Model) -> ArenaPlan:
    """TFLite Micro's greedy head plan: largest first, 16-aligned. Ties go to the later tensor
    first: GreedyMemoryPlanner fills its sort array from the tail and sorts it stably.
    Kernel scratch buffers (tflm_scratch_bytes) are planned with them, live for their op; they
    appear in `buffers` with a negative root (-1 - op index) and no member tensor."""
    bufs = buffers(model, TFLM_ALIGNMENT)
    for op in model.operators:
        scratch = tflm_scratch_bytes(model, op)
        if scratch:
            bufs.append(Buffer(-1 - op.index, [], align(scratch, TFLM_ALIGNMENT), op.index,
                               op.index))
    order = sorted(bufs, key=lambda b: (-b.size, -b.root))
    return _plan(bufs, place(bufs, order, TFLM_ALIGNMENT), TFLM_ALIGNMENT)


def plan_arena(model: Model, external=frozenset(), alignment: int = 4) -> ArenaPlan:
    """The standalone C target's arena (see the module docstring); the best of several orders."""
    external = set(external)
    bufs = buffers(model, alignment, external, alias=True)
    orders = [
        sorted(bufs, key=lambda b: (-b.size, b.root)),
        sorted(bufs, key=lambda b: (-(b.size * (b.last - b.first + 1)), b.root)),
        sorted(bufs, key=lambda b: (-(b.last - b.first), -b.size, b.root)),
        sorted(bufs, key=lambda b: (b.first, -b.size, b.root)),
    ]
    best = None
    for order in orders:
        offsets = place(bufs, order, alignment)
        size = max((offsets[b.root] + b.size for b in bufs), default=0)
        if best is None or size < best[0]:
            best = (size, offsets)
    return _plan(bufs, best[1], alignment, external)


def plan_picture(model: Model, plan: ArenaPlan, title: str) -> dict:
    """A plan as plain data for a picture: one rectangle per buffer (x = the op steps it is
    alive, y = its arena offset and size), with the names of the tensors stored in it."""
    rects = []
    for b in sorted(plan.buffers, key=lambda b: (plan.offsets[b.root], b.first)):
        rects.append({"tensor": model.tensors[b.root].name, "tensors": list(b.members),
                      "first": b.first, "last": b.last, "offset": plan.offsets[b.root],
                      "size": b.size})
    return {"title": title, "size": plan.size, "lower_bound": plan.lower_bound,
            "alignment": plan.alignment, "steps": len(model.operators), "rects": rects,
            "external_bytes": sum(model.tensors[i].nbytes for i in plan.external)}


def plan_pictures(model: Model) -> list[dict]:
    """TFLite Micro's greedy plan beside mcuq's C target plan (caller-owned I/O excluded)."""
    io = set(model.inputs) | set(model.outputs)
    return [plan_picture(model, plan_tflm_like(model), "TFLite Micro-style greedy plan (16-aligned)"),
            plan_picture(model, plan_arena(model, external=io), "mcuq C target arena (I/O owned by the caller)")]
