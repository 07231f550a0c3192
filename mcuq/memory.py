"""Tensor lifetimes and activation-arena plans.

Two planners share one lifetime analysis:

- `plan_tflm_like(model)`: what TensorFlow Lite Micro's GreedyMemoryPlanner does for the
  "head" section of its arena: every non-constant tensor (model inputs and outputs included)
  is a buffer whose size is rounded up to 16 bytes, live from the op that writes it (0 for model
  inputs) to the last op that reads it (the last op for model outputs); buffers are placed
  largest first, each at the lowest offset that does not overlap a placed buffer that is live
  at the same time. `mcuq inspect` reports it next to TFLite Micro's measured arena.

- `plan_arena(model, external=..., inplace=...)`: the standalone C target's arena. Model inputs
  and outputs live in it (as in TFLite Micro) unless listed in `external` (caller-owned buffers,
  `generate --external-io`); RESHAPE/SQUEEZE/EXPAND_DIMS outputs share their input's bytes (one
  buffer, the union of the lifetimes); sizes are rounded to 4 bytes (int32 tensors stay
  aligned). `inplace` lists, per op, the ways its kernel can write its output over one of its
  inputs (`InPlace`, declared by the C emitters as data: mcuq.codegen.inplace); the planner
  takes one where that input dies at the op, which joins the two tensors into one buffer whose
  size follows them over time (`Buffer.segments`), plus the kernel's temporary (a scratch
  buffer live only during the op). Several in-place choices, placement orders and fits
  (lowest offset first-fit, tightest-gap best-fit) are tried and the smallest plan wins; every
  plan is checked (`ArenaPlan.check`) and, with the model, simulated byte by byte
  (`check_reads`: no op reads bytes another tensor has overwritten) before it is returned.

`lower_bound(buffers)` is the largest sum of sizes live at one op: no plan of those buffers can be
smaller. Model outputs stay live one step after the last op (the caller reads them).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from .model import Model

#: Ops whose output is the input's bytes with a new shape (no copy, no memory).
ALIAS_OPS = frozenset({"RESHAPE", "SQUEEZE", "EXPAND_DIMS"})
TFLM_ALIGNMENT = 16
#: A depthwise convolution runs in place by channels (its own, slower kernel) instead of by rows
#: (the usual kernel) only where that makes the arena smaller by more than this fraction.
CHANNELS_SAVING = 0.10


@dataclass(frozen=True)
class InPlace:
    """One way op `op` can write its output over the bytes of its input `op.inputs[operand]`.

    method: "direct" (the kernel reads each input element before it writes the output
    elements stored over it: elementwise ops, pooling with stride >= filter), "rows" (the
    output is computed a band of rows at a time from a copy of the input rows the band needs,
    `scratch` bytes, which slides down or up the tensor: convolutions, depthwise, pooling),
    "channels" (TinyEngine's depthwise: one channel's plane copied to `scratch` bytes, then
    that channel's outputs written over it), "planar" (depthwise modes 3/4 over the whole
    tensor in one call: each output row written once the input rows it reads are unpacked).
    `scratch` is planned in the arena, live only while the op runs.

    order: for a method whose kernel writes over input bytes it has not finished reading while
    it runs, its byte order, `order() -> (read_time, write_time)`: per input byte the time of
    its last read (-1: never read), per output byte the time it is written (int64 arrays); a
    byte written at time t must not be read at t or later. `check_reads` replays it with the
    plan's offsets (`order_conflicts`)."""
    op: int
    operand: int
    method: str = "direct"
    scratch: int = 0
    order: Callable[[], tuple[np.ndarray, np.ndarray]] | None = field(
        default=None, compare=False, repr=False)
    #: taken only where it makes the arena smaller (a kernel no faster in place: dropped one
    #: at a time while the arena does not grow, as the options with a temporary are)
    only_if_smaller: bool = False


@dataclass
class Buffer:
    root: int  # tensor index that owns the bytes (-1 - op index: a scratch buffer)
    members: list[int]  # tensors stored in these bytes (root first; aliases after)
    size: int  # bytes, aligned: the largest size over its lifetime
    first: int  # op index that first writes it (0 for model inputs)
    last: int  # op index that last reads it
    #: (first, last, size) pieces of the lifetime: tensors joined by in-place ops each keep
    #: their own size and span (None: one piece, (first, last, size))
    segments: list[tuple[int, int, int]] | None = None

    def pieces(self) -> list[tuple[int, int, int]]:
        return self.segments or [(self.first, self.last, self.size)]

    def overlaps_in_time(self, other: "Buffer") -> bool:
        return self.first <= other.last and other.first <= self.last

    def size_at(self, step: int) -> int:
        return max((s for a, b, s in self.pieces() if a <= step <= b), default=0)


@dataclass
class ArenaPlan:
    size: int
    offsets: dict[int, int]  # tensor index -> byte offset (every member of every buffer;
    # a kernel scratch buffer under its negative root, -1 - op index)
    buffers: list[Buffer]
    alignment: int
    lower_bound: int
    external: set[int] = field(default_factory=set)
    inplace: dict[int, InPlace] = field(default_factory=dict)  # op index -> the choice taken
    strategy: str = ""  # which choice/order/fit won (for reports and tests)

    def check(self) -> None:
        """Raise AssertionError if two buffers live at the same time share bytes."""
        placed = [(b, self.offsets[b.root]) for b in self.buffers]
        for i, (a, oa) in enumerate(placed):
            assert oa % self.alignment == 0 and oa + a.size <= self.size, (a.root, oa)
            for b, ob in placed[i + 1:]:
                if not a.overlaps_in_time(b):
                    continue
                for f1, l1, s1 in a.pieces():
                    for f2, l2, s2 in b.pieces():
                        if f1 <= l2 and f2 <= l1 and oa < ob + s2 and ob < oa + s1:
                            raise AssertionError(
                                f"tensors {a.root} and {b.root} overlap in the arena")

    def live_at(self, op_index: int) -> list[Buffer]:
        return [b for b in self.buffers if b.first <= op_index <= b.last]

    def scratch_offset(self, op_index: int) -> int | None:
        return self.offsets.get(-1 - op_index)

    @property
    def scratch_bytes(self) -> int:
        """The largest kernel temporary of the plan (in-place kernels' copies)."""
        return max((b.size for b in self.buffers if b.root < 0), default=0)


def align(n: int, alignment: int) -> int:
    return (n + alignment - 1) // alignment * alignment


def lifetimes(model: Model, alias: bool = False) -> dict[int, tuple[int, int]]:
    """(first, last) op index of every non-constant tensor that is used at all. Model outputs
    live until one step after the last op (the caller reads them after invoke)."""
    end = len(model.operators)
    life: dict[int, list[int]] = {}

    def touch(t: int, i: int) -> None:
        # resource handles hold no activation bytes (TFLite Micro's VAR_HANDLE points them at
        # its own op data; the head plan it measures leaves them out); variable tensors (SVDF's
        # state) are persistent: TFLite Micro allocates them in its tail, the C target in
        # static buffers of their own
        tt = model.tensors[t] if t >= 0 else None
        if tt is None or tt.data is not None or tt.type_name == "RESOURCE" or tt.is_variable:
            return
        span = life.setdefault(t, [i, i])
        span[0], span[1] = min(span[0], i), max(span[1], i)

    for t in model.inputs:
        touch(t, 0)
    for op in model.operators:
        for t in (*op.inputs, *op.outputs):
            touch(t, op.index)
    for t in model.outputs:
        touch(t, end)
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
        if op.opcode not in ALIAS_OPS:
            continue
        src = model.tensors[op.inputs[0]]
        if src.data is None and not src.is_variable:
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
            alias: bool = False, joined: dict[int, int] | None = None) -> list[Buffer]:
    """One Buffer per group of tensors sharing bytes: `alias` joins reshape-like outputs to
    their inputs, `joined` (tensor -> root) any further grouping (in-place ops); each member
    keeps its own (first, last, size) piece."""
    life = lifetimes(model)
    roots = alias_groups(model) if alias else {t: t for t in life}
    if alias:  # an alias group is stored in one place: all of it external, or none of it
        split = {roots[t] for t in life if t in external} & {roots[t] for t in life
                                                             if t not in external}
        if split:
            raise ValueError(f"alias groups {sorted(split)} are partly external: pass "
                             "io_aliases(model) (every member) as `external`")
    if joined is not None:
        roots = {t: joined.get(t, r) for t, r in roots.items()}
    groups: dict[int, Buffer] = {}
    for t, (first, last) in sorted(life.items()):
        if t in external:
            continue
        root = roots[t]
        size = align(model.tensors[t].nbytes, alignment)
        b = groups.get(root)
        if b is None:
            groups[root] = Buffer(root, [t], size, first, last, [(first, last, size)])
        else:
            b.members.append(t)
            b.size = max(b.size, size)
            b.first, b.last = min(b.first, first), max(b.last, last)
            b.segments.append((first, last, size))
    for b in groups.values():  # the root tensor is listed first
        b.members.sort(key=lambda t: (t != b.root, t))
        if len(b.segments) == 1:
            b.segments = None
    return list(groups.values())


def lower_bound(bufs: list[Buffer]) -> int:
    """The largest sum of the sizes live at one step (each buffer at its size then)."""
    if not bufs:
        return 0
    steps = max(b.last for b in bufs) + 1
    total = np.zeros(steps, np.int64)
    for b in bufs:
        if b.segments is None:
            total[b.first:b.last + 1] += b.size
        else:
            prof = np.zeros(steps, np.int64)
            for f, last, s in b.segments:
                np.maximum(prof[f:last + 1], s, out=prof[f:last + 1])
            total += prof
    return int(total.max())


def _first_fit(lo: np.ndarray, hi: np.ndarray, alignment: int) -> int:
    """The lowest aligned offset outside every forbidden [lo, hi) (sorted by lo)."""
    offset = 0
    for a, b in zip(lo.tolist(), hi.tolist()):
        if b <= offset:
            continue
        if a > offset:
            break
        offset = align(b, alignment)
    return offset


def _best_fit(lo: np.ndarray, hi: np.ndarray, alignment: int) -> int:
    """The valid offset with the least room above it before the next collision (the tightest
    gap that holds the buffer); the lowest such offset on ties."""
    if lo.size == 0:
        return 0
    cand = np.unique(np.concatenate([[0], (hi + alignment - 1) // alignment * alignment]))
    inside = ((lo[None, :] <= cand[:, None]) & (cand[:, None] < hi[None, :])).any(axis=1)
    cand = cand[~inside]
    if cand.size == 0:
        return _first_fit(lo, hi, alignment)
    above = np.where(lo[None, :] > cand[:, None], lo[None, :], np.iinfo(np.int64).max)
    slack = above.min(axis=1) - cand
    return int(cand[np.argmin(slack)])  # argmin: the first (lowest) of equal slacks


def place(bufs: list[Buffer], order: list[Buffer], alignment: int,
          fit: str = "first") -> dict[int, int]:
    """Place buffers in `order`: each at the lowest aligned offset (fit="first") or in the
    tightest gap (fit="best") that does not collide with an already placed buffer live at the
    same time (piece by piece: in-place buffers change size over time)."""
    total = sum(len(b.pieces()) for b in order)
    p_off = np.zeros(total, np.int64)
    p_first = np.zeros(total, np.int64)
    p_last = np.zeros(total, np.int64)
    p_size = np.zeros(total, np.int64)
    k = 0
    offsets: dict[int, int] = {}
    choose = _best_fit if fit == "best" else _first_fit
    for b in order:
        pieces = b.pieces()
        if k:
            los, his = [], []
            for f, last, size in pieces:
                m = (p_first[:k] <= last) & (p_last[:k] >= f)
                los.append(p_off[:k][m] - size + 1)
                his.append(p_off[:k][m] + p_size[:k][m])
            lo, hi = np.concatenate(los), np.concatenate(his)
            order_ = np.argsort(lo, kind="stable")
            offset = choose(lo[order_], hi[order_], alignment)
        else:
            offset = 0
        offsets[b.root] = offset
        for f, last, size in pieces:
            p_off[k], p_first[k], p_last[k], p_size[k] = offset, f, last, size
            k += 1
    return offsets


def _plan(bufs: list[Buffer], offsets: dict[int, int], alignment: int,
          external=frozenset(), inplace=None, strategy: str = "") -> ArenaPlan:
    size = max((offsets[b.root] + b.size for b in bufs), default=0)
    member_offsets = {t: offsets[b.root] for b in bufs for t in (b.members or [b.root])}
    plan = ArenaPlan(size, member_offsets, bufs, alignment, lower_bound(bufs), set(external),
                     dict(inplace or {}), strategy)
    plan.check()
    return plan


def tflm_scratch_bytes(model: Model, op) -> int:
    """Bytes of the scratch buffer TFLite Micro's reference kernel requests in its head
    (RequestScratchBufferInArena) for `op`, live only while the op runs; 0 for most ops.
      TRANSPOSE_CONV int8: an int32 accumulator per output element (transpose_conv.cc);
      SUM / MEAN int8: an int32 sum per output element (reduce_common.cc);
      REDUCE_MAX: an int per input dimension and an int per axis (reduce_common.cc);
      UNIDIRECTIONAL_SEQUENCE_LSTM: four cell-state-sized buffers (lstm_eval_common.cc);
      SVDF int8: an int32 per (batch, filter) and one per (batch, unit) (svdf_common.cc: two
      requests, counted here as one buffer of their 16-aligned sizes)."""
    if not op.outputs or not op.inputs or op.inputs[0] < 0:
        return 0
    x, y = model.tensors[op.inputs[0]], model.tensors[op.outputs[0]]
    if op.opcode == "TRANSPOSE_CONV" and len(op.inputs) > 2 and \
            model.tensors[op.inputs[2]].type_name == "INT8":
        return 4 * y.size
    if op.opcode in ("SUM", "MEAN") and x.type_name in ("INT8", "INT16"):
        return 4 * y.size
    if op.opcode == "UNIDIRECTIONAL_SEQUENCE_LSTM" and len(op.inputs) > 19 and \
            op.inputs[19] >= 0:  # four buffers of batch x units cell-state values
        return 4 * align(model.tensors[op.inputs[19]].nbytes, TFLM_ALIGNMENT)
    if op.opcode == "REDUCE_MAX" and len(op.inputs) > 1 and op.inputs[1] >= 0:
        return 4 * len(x.shape) + 4 * model.tensors[op.inputs[1]].size
    if op.opcode == "SVDF" and x.type_name == "INT8" and len(op.inputs) > 2 \
            and len(x.shape) == 2 and op.inputs[2] >= 0:
        filters = model.tensors[op.inputs[2]].shape[0]
        return align(4 * x.shape[0] * filters, TFLM_ALIGNMENT) + 4 * y.size
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


# ---- the C target's plan: in-place choices, then placement ------------------------------------

def _choose_inplace(model: Model, external: set[int], options: dict[int, list[InPlace]],
                    allow) -> tuple[dict[int, int], dict[int, InPlace]]:
    """Walk the ops in order and take, per op, the first allowed option whose input dies at
    the op. Returns (tensor -> group root, op -> choice)."""
    life = lifetimes(model)
    alias = alias_groups(model)
    parent = dict(alias)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    span: dict[int, list[int]] = {}
    for t, (f, last) in life.items():
        s = span.setdefault(find(t), [f, last])
        s[0], s[1] = min(s[0], f), max(s[1], last)
    chosen: dict[int, InPlace] = {}
    for op in model.operators:
        if op.opcode in ALIAS_OPS or len(op.outputs) != 1:
            continue
        for c in options.get(op.index, ()):
            if not allow(c):
                continue
            x, y = op.inputs[c.operand], op.outputs[0]
            if x < 0 or model.tensors[x].data is not None or x not in life or y not in life:
                continue
            rx, ry = find(x), find(y)
            if rx == ry or x in external or y in external or \
                    any(find(t) in (rx, ry) for t in external if t in life):
                continue
            if span[rx][1] != op.index or span[ry][0] != op.index:
                continue  # the input is read later (or is a model output)
            others = [t for k, t in enumerate(op.inputs) if k != c.operand and t >= 0
                      and model.tensors[t].data is None]
            if any(find(t) == rx and t != x for t in others):
                continue  # the same bytes reached through another tensor
            parent[ry] = rx
            span[rx] = [min(span[rx][0], span[ry][0]), max(span[rx][1], span[ry][1])]
            chosen[op.index] = c
            break
    return {t: find(t) for t in life}, chosen


def _orders(bufs: list[Buffer], quick: bool = False) -> list[tuple[str, list[Buffer]]]:
    first = np.array([b.first for b in bufs], np.int64)
    last = np.array([b.last for b in bufs], np.int64)
    size = np.array([b.size for b in bufs], np.int64)
    overlap = (first[:, None] <= last[None, :]) & (first[None, :] <= last[:, None])
    conflict = (overlap * size[None, :]).sum(axis=1)  # includes the buffer itself
    key = {b.root: int(c) for b, c in zip(bufs, conflict)}
    orders = [
        ("size", sorted(bufs, key=lambda b: (-b.size, b.root))),
        ("conflicts", sorted(bufs, key=lambda b: (-key[b.root], b.root))),
    ]
    if quick:
        return orders
    return orders + [
        ("area", sorted(bufs, key=lambda b: (-(b.size * (b.last - b.first + 1)), b.root))),
        ("lifetime", sorted(bufs, key=lambda b: (-(b.last - b.first), -b.size, b.root))),
        ("first-use", sorted(bufs, key=lambda b: (b.first, -b.size, b.root))),
    ]


def _size(bufs: list[Buffer], offsets: dict[int, int]) -> int:
    return max((offsets[b.root] + b.size for b in bufs), default=0)


def _best_placement(bufs: list[Buffer], alignment: int, effort: int
                    ) -> tuple[int, dict[int, int], str]:
    """The smallest of the heuristic orders x {first, best} fit, then a seeded local search
    (swapping two buffers of the best order) while the plan is above the lower bound."""
    bound = lower_bound(bufs)
    best = None
    best_order = None
    for name, order in _orders(bufs, quick=effort <= 0):
        for fit in ("first", "best"):
            offsets = place(bufs, order, alignment, fit)
            size = _size(bufs, offsets)
            if best is None or size < best[0]:
                best, best_order = (size, offsets, f"{name}/{fit}"), (order, fit)
    if effort <= 0 or best[0] <= bound or len(bufs) < 3:
        return best
    rng = random.Random(0)
    order, fit = list(best_order[0]), best_order[1]
    tries = max(0, min(60 * effort, (4000 * effort) // max(len(bufs), 1)))
    for _ in range(tries):
        i, j = rng.sample(range(len(order)), 2)
        order[i], order[j] = order[j], order[i]
        offsets = place(bufs, order, alignment, fit)
        size = _size(bufs, offsets)
        if size < best[0]:
            best = (size, offsets, best[2].split("+")[0] + "+search")
            if size <= bound:
                break
        elif size > best[0]:
            order[i], order[j] = order[j], order[i]
    return best


def _with_scratch(bufs: list[Buffer], chosen: dict[int, InPlace], alignment: int) -> list[Buffer]:
    out = list(bufs)
    for op, c in chosen.items():
        if c.scratch:
            out.append(Buffer(-1 - op, [], align(c.scratch, alignment), op, op))
    return out


def plan_arena(model: Model, external=frozenset(), alignment: int = 4,
               inplace: Iterable[InPlace] = (), effort: int = 1) -> ArenaPlan:
    """The standalone C target's arena (see the module docstring): the smallest of the plans
    without in-place ops, with every in-place option the emitters declare, and with the
    temporary-free ones only; then in-place ops that need a temporary (their kernels copy rows:
    slower) or say only_if_smaller are dropped one at a time while the arena does not grow.
    effort=0: one quick plan with every in-place option (for searches over many candidate
    graphs)."""
    external = set(external)
    options: dict[int, list[InPlace]] = {}
    for c in inplace:
        options.setdefault(c.op, []).append(c)
    for opts in options.values():  # temporary-free first, then the smallest temporary
        opts.sort(key=lambda c: (c.method != "direct", c.scratch))

    def build(allow, label: str):
        joined, chosen = _choose_inplace(model, external, options, allow)
        bufs = _with_scratch(buffers(model, alignment, external, alias=True, joined=joined),
                             chosen, alignment)
        size, offsets, how = _best_placement(bufs, alignment, effort)
        return size, bufs, offsets, chosen, f"{label}:{how}"

    if effort <= 0 and options:  # a quick estimate (searches over many graphs)
        variants = [build(lambda c: True, "inplace")]
    else:
        variants = [build(lambda c: False, "no-inplace")]
    if options and effort > 0:
        variants.append(build(lambda c: True, "inplace"))
        variants.append(build(lambda c: c.scratch == 0, "inplace-direct"))
    best = min(variants, key=lambda v: (v[0], len(v[3])))
    size, bufs, offsets, chosen, how = best
    costly = [op for op, c in chosen.items() if c.scratch or c.only_if_smaller]
    if costly and len(costly) <= 48 and effort > 0:
        keep_off: set[int] = set()
        for op in sorted(costly):
            trial = build(lambda c, off=keep_off | {op}, pick=dict(chosen):
                          pick.get(c.op) == c and c.op not in off, "inplace-pruned")
            if trial[0] <= size:
                keep_off.add(op)
                size, bufs, offsets, chosen, how = trial
        # the per-channel depthwise copies with a slow kernel (DS-CNN: 1.4x the instructions
        # of the usual one): by rows (the usual kernel) unless channels save more than
        # CHANNELS_SAVING of the arena
        for op in sorted(o for o, c in chosen.items() if c.method == "channels"):
            rows = [c for c in options.get(op, ()) if c.method == "rows"]
            if not rows:
                continue
            pick = dict(chosen)
            pick[op] = rows[0]
            trial = build(lambda c, pick=pick: pick.get(c.op) == c, "inplace-pruned")
            if trial[0] * (1 - CHANNELS_SAVING) <= size:
                size, bufs, offsets, chosen, how = trial
    return _plan(bufs, offsets, alignment, external, chosen, how)


# ---- byte-level proof of a plan ---------------------------------------------------------------

def order_conflicts(read_time: np.ndarray, write_time: np.ndarray, shift: int) -> np.ndarray:
    """Output bytes (indices) of an in-place op's `InPlace.order` written over an input byte
    that is read at the same time or later, the output starting `shift` bytes after the input
    (0: the same offset). Empty: the order is safe."""
    k = np.arange(write_time.size, dtype=np.int64)
    j = k + shift
    inside = (j >= 0) & (j < read_time.size)
    bad = inside.copy()
    bad[inside] = write_time[inside] <= read_time[j[inside]]
    return np.flatnonzero(bad)


def check_reads(model: Model, plan: ArenaPlan) -> None:
    """Simulate the arena byte by byte over the ops: every byte remembers which tensor wrote it
    last. Raises AssertionError if an op reads a tensor whose bytes another tensor (or a
    temporary) has overwritten, if an op's output or temporary overwrites a tensor that is still
    needed, if an output overwrites one of the op's inputs other than the declared in-place
    operand, if an in-place op that declares its byte order (InPlace.order) writes an output
    byte over an input byte it reads later, or if a model output is not intact at the end."""
    alias = alias_groups(model)
    life = lifetimes(model)
    end = len(model.operators)
    last_read: dict[int, int] = {}
    for op in model.operators:
        for t in op.inputs:
            if t >= 0 and t in life:
                last_read[alias[t]] = max(last_read.get(alias[t], -1), op.index)
    for t in model.outputs:
        last_read[alias[t]] = end + 1
    owner = np.full(plan.size + 1, -1, np.int64)
    SCRATCH = -2

    def span(t: int) -> tuple[int, int]:
        o = plan.offsets[t]
        return o, o + model.tensors[t].nbytes

    def in_arena(t: int) -> bool:
        return t >= 0 and t in plan.offsets and model.tensors[t].data is None

    def dead(u: int, i: int) -> bool:
        return u == SCRATCH or last_read.get(u, -1) <= i

    for t in model.inputs:
        if in_arena(t):
            a, b = span(t)
            owner[a:b] = alias[t]
    for op in model.operators:
        i = op.index
        if op.opcode in ALIAS_OPS and in_arena(op.inputs[0]) and in_arena(op.outputs[0]) \
                and alias[op.outputs[0]] == alias[op.inputs[0]]:
            continue  # no code: the output is the input's bytes
        ins = [t for t in op.inputs if in_arena(t)]
        so = plan.scratch_offset(i)
        if so is not None:
            sb = next(b.size for b in plan.buffers if b.root == -1 - i)
            hit = set(owner[so:so + sb].tolist()) - {-1}
            bad = [u for u in hit if not dead(u, i) or u in {alias[t] for t in ins}]
            assert not bad, f"op #{i}: its temporary overwrites live tensor(s) {bad}"
            owner[so:so + sb] = SCRATCH
        for t in ins:
            a, b = span(t)
            got = set(owner[a:b].tolist())
            assert got <= {alias[t]}, (
                f"op #{i} {op.opcode} reads tensor {t} '{model.tensors[t].name}' but its bytes "
                f"hold {sorted(got - {alias[t]})}")
        choice = plan.inplace.get(i)
        allowed = set()
        if choice is not None:
            allowed.add(alias[op.inputs[choice.operand]])
            x, y = op.inputs[choice.operand], op.outputs[0]
            if choice.order is not None and in_arena(x) and in_arena(y):
                reads, writes = choice.order()
                assert reads.size == model.tensors[x].nbytes and \
                    writes.size == model.tensors[y].nbytes, f"op #{i}: order of other shapes"
                bad = order_conflicts(reads, writes, span(y)[0] - span(x)[0])
                assert not bad.size, (
                    f"op #{i} {op.opcode} in place ({choice.method}) writes output byte "
                    f"{int(bad[0])} over input bytes it reads later ({bad.size} bytes)")
        for y in op.outputs:
            if not in_arena(y):
                continue
            a, b = span(y)
            hit = set(owner[a:b].tolist()) - {-1, alias[y]}
            for u in hit:
                assert dead(u, i), (f"op #{i} {op.opcode} writes tensor {y} over tensor {u}, "
                                    "which is read later")
                assert u not in {alias[t] for t in ins} or u in allowed, (
                    f"op #{i} {op.opcode} writes tensor {y} over its input {u}, which is not "
                    "its declared in-place operand")
            owner[a:b] = alias[y]
    for t in model.outputs:
        if in_arena(t):
            a, b = span(t)
            assert set(owner[a:b].tolist()) <= {alias[t]}, f"model output {t} overwritten"


# ---- pictures (HTML report) -------------------------------------------------------------------

def plan_picture(model: Model, plan: ArenaPlan, title: str) -> dict:
    """A plan as plain data for a picture: one rectangle per buffer (x = the op steps it is
    alive, y = its arena offset and size), with the names of the tensors stored in it."""
    rects = []
    for b in sorted(plan.buffers, key=lambda b: (plan.offsets[b.root], b.first)):
        name = model.tensors[b.root].name if b.root >= 0 else f"op #{-1 - b.root} temporary"
        rects.append({"tensor": name, "tensors": list(b.members),
                      "first": b.first, "last": min(b.last, max(len(model.operators) - 1, 0)),
                      "offset": plan.offsets[b.root], "size": b.size})
    return {"title": title, "size": plan.size, "lower_bound": plan.lower_bound,
            "alignment": plan.alignment, "steps": len(model.operators), "rects": rects,
            "external_bytes": sum(model.tensors[i].nbytes for i in plan.external)}
