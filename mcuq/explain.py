"""How far two reference profiles are apart on given inputs, and where their differences start.

`verify --explain` asks this for every runner judged in a profile other than tflm: "TFLite
differs from TFLite Micro by up to N LSB, fully explained by FULLY_CONNECTED rounding" becomes a
measured statement. Both profiles run the same inputs (the runner itself is held to its own
profile separately, to the byte); then every op of the other profile runs on the tflm
profile's own input values for that op, so an op that *originates* a difference (its kernel
computes differently on identical inputs) is told apart from ops that only pass on a difference
from upstream.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import metrics
from .model import STATE_OPS, Model
from .reference import Interpreter

#: Samples per chunk (intermediates of every op are kept for one chunk at a time).
CHUNK = 64


@dataclass
class OutputGap:
    output: str
    elements: int
    mismatched_elements: int
    max_abs_lsb: float


@dataclass
class OriginOp:
    """An op whose own kernel differs between the profiles on identical inputs."""
    op_index: int
    op: str
    tensor: str  # its (first) output
    mismatched_elements: int
    max_abs_lsb: float


@dataclass
class ProfileGap:
    profile: str
    baseline: str
    samples: int
    outputs: list[OutputGap] = field(default_factory=list)
    origins: list[OriginOp] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return all(o.mismatched_elements == 0 for o in self.outputs)

    @property
    def max_abs_lsb(self) -> float:
        return max((o.max_abs_lsb for o in self.outputs), default=0)

    @property
    def explained_by(self) -> list[str]:
        """The op types where the differences originate (sorted, unique)."""
        return sorted({o.op for o in self.origins})

    def summary(self) -> str:
        mism = sum(o.mismatched_elements for o in self.outputs)
        total = sum(o.elements for o in self.outputs)
        if mism == 0 and not self.origins:
            return (f"{self.profile} and {self.baseline} give identical bytes on these "
                    f"{self.samples} inputs (every op too)")
        head = (f"{self.profile} differs from {self.baseline} by up to "
                f"{_lsb_text(self.max_abs_lsb)} LSB on {mism}/{total} output elements "
                f"({100.0 * mism / max(total, 1):.2f}%)")
        if mism == 0:
            head = (f"{self.profile} and {self.baseline} give identical outputs on these "
                    f"{self.samples} inputs (intermediate differences vanish)")
        where = "; ".join(f"op #{o.op_index}: {o.mismatched_elements} element"
                          f"{'' if o.mismatched_elements == 1 else 's'}, max "
                          f"{_lsb_text(o.max_abs_lsb)} LSB" for o in self.origins[:6])
        more = f"; {len(self.origins) - 6} more ops" if len(self.origins) > 6 else ""
        return (f"{head}; every difference originates at {' / '.join(self.explained_by)} "
                f"({where}{more})")


def _lsb_text(x: float) -> str:
    return f"{x:g}" if x != int(x) else str(int(x))


def profile_gap(model: Model, arrays: list[np.ndarray], profile: str,
                baseline: str = "tflm", interpreters: dict | None = None,
                windows: bool = False) -> ProfileGap:
    """Compare the reference in `profile` with the one in `baseline` on `arrays` (model
    inputs, (N, *shape)). interpreters: optional {profile name: Interpreter} to reuse.
    windows: a stateful model's samples are independent windows (state reset before each)."""
    from .verification import _lsb

    interpreters = interpreters if interpreters is not None else {}
    for name in (profile, baseline):
        if name not in interpreters:
            interpreters[name] = Interpreter(model, name)
    other, base = interpreters[profile], interpreters[baseline]
    other.windows = base.windows = windows
    n = arrays[0].shape[0]
    outs = model.output_tensors()
    gap = ProfileGap(profile, baseline, n,
                     [OutputGap(t.name, 0, 0, 0) for t in outs])
    origins: dict[int, OriginOp] = {}
    step = CHUNK
    if model.stateful:  # one sequence from the start, in one run (mcuq.reference.interpreter)
        other.reset()
        base.reset()
        step = max(n, 1)
    for start in range(0, n, step):
        chunk = [a[start:start + step] for a in arrays]
        ref = base.run(chunk, keep_intermediates=True)
        got = other.run(chunk).outputs
        for g, t, r, o in zip(gap.outputs, outs, ref.outputs, got):
            c = metrics.compare_exact(r, o, _lsb(model, t))
            g.elements += c.elements
            g.mismatched_elements += c.mismatched_elements
            g.max_abs_lsb = max(g.max_abs_lsb, c.max_abs_lsb or 0)
        values = ref.intermediates
        batch = chunk[0].shape[0]
        for op in model.operators:
            if op.opcode in STATE_OPS:  # moves state bytes, computes nothing
                continue
            args = [None if i < 0 else _state_before(model, values, i, windows)
                    if model.tensors[i].is_variable and i in values else values[i]
                    if i in values else
                    np.broadcast_to(model.tensors[i].data, (batch, *model.tensors[i].shape))
                    for i in op.inputs]
            mine = other.run_op(op.index, args)
            for ti, v in zip(op.outputs, mine):
                expect = values.get(ti)
                if expect is None or np.array_equal(expect, v):
                    continue
                t = model.tensors[ti]
                c = metrics.compare_exact(expect, v, _lsb(model, t))
                o = origins.setdefault(op.index, OriginOp(op.index, op.opcode, t.name, 0, 0))
                o.mismatched_elements += c.mismatched_elements
                o.max_abs_lsb = max(o.max_abs_lsb, c.max_abs_lsb or 0)
    gap.origins = [origins[k] for k in sorted(origins)]
    return gap


def _state_before(model, values: dict, i: int, windows: bool = False) -> np.ndarray:
    """A variable tensor's value before each step of the sequence (the intermediates hold it
    after each step; the first step starts from TFLite Micro's reset fill; with windows every
    step does), as a fresh writable array: the op (SVDF) updates its state in place."""
    t = model.tensors[i]
    first = np.full((1, *t.shape), t.zero_point if t.type_name == "INT8" else 0, t.dtype)
    if windows:
        return np.repeat(first, values[i].shape[0], axis=0)
    return np.concatenate([first, values[i][:-1]])


__all__ = ["ProfileGap", "OutputGap", "OriginOp", "profile_gap"]
