"""TensorFlow Lite Micro's own arena figures for a model, measured with its real interpreter.

`measure_tflm_arena(model)` does two things:

1. Allocates the model in the tflite-micro package's interpreter (its RecordingMicroAllocator)
   and reads `print_allocations()`: "Arena allocation total/head/tail N bytes", written by
   MicroPrintf to the C-level stderr, which is captured by pointing fd 2 at a temporary file.
   head = non-persistent (activations planned by TFLM's greedy planner), tail = persistent
   (TfLiteEvalTensors, node/registration structs, op data, the allocator objects themselves).
2. Finds the smallest arena with which AllocateTensors() and Invoke() succeed. This is not
   always `total`: during Prepare, kernels allocate temporary TfLiteTensors (and the planner
   its scratch) in the head region, and that transient peak can exceed the final head (a small
   model: total 1008, smallest working arena 1328 on x86-64).

Both run in a child process (mcuq.native.call_in_child): TFLite Micro does not verify what it
reads and can crash (not just fail) on a model, and on an arena too small for its own tail.
A crash while allocating the model is an UnsupportedModelError naming the signal; a crash
while probing a size means that size does not work. A failure with an arena smaller than one the
model is known to run with (allocate and invoke) is "too small"; a failure with that known
arena is the model's, reported with TFLite Micro's own message.

All figures are for the 64-bit host build of TFLM (pointers of 8 bytes).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import McuqError, ToolchainError, UnsupportedModelError
from .model import Model, load_model
from .native import ChildOutcome, call_in_child, capture_stderr
from .toolchain import tflm_runtime
from .validate import seconds_per_inference

_FIGURE = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")
_OP_PATTERNS = (re.compile(r"Didn't find op for builtin opcode '([^']+)'"),
                re.compile(r"Failed to get registration from op code (\S+)"),
                re.compile(r"Node (\S+) \(number (\d+)\) failed to (?:prepare|init)"))
#: What TFLite Micro prints when the arena, not the model, is the problem.
_TOO_SMALL = re.compile(r"(?i)failed to (?:re)?(?:allocate|resize)|missing: \d+")
_PROBE_TAG = "@@mcuq-probe"


def timeouts(model: Model) -> tuple[float, float]:
    """(whole measurement, one step) in seconds: a step (start, an allocation, a probe) that
    takes longer is a hang of TFLite Micro on this model."""
    step = 30.0 + 10 * seconds_per_inference(model)
    return 300.0 + 60 * step, step


@dataclass(frozen=True)
class TflmArena:
    total_bytes: int      # head + tail after AllocateTensors (RecordingMicroAllocator)
    head_bytes: int       # non-persistent: planned activations
    tail_bytes: int       # persistent: tensors' metadata, op data, allocator objects
    required_bytes: int   # smallest arena_size with which allocation and Invoke succeed

    @property
    def transient_bytes(self) -> int:
        """Extra bytes needed only while the model is being prepared."""
        return self.required_bytes - self.total_bytes


def _generous_arena(model: Model) -> int:
    """An arena that certainly holds the model: every non-constant tensor twice, plus
    per-tensor and per-op metadata at 64-bit sizes, plus 64 KiB."""
    acts = sum(t.nbytes for t in model.tensors if t.data is None)
    return 2 * acts + 512 * (len(model.tensors) + len(model.operators)) + (64 << 10)


def too_small(log: str) -> bool:
    """Whether TFLite Micro's log says the arena was too small (rather than the model bad)."""
    return bool(_TOO_SMALL.search(log))


def _failed_op(log: str) -> str | None:
    for pat in _OP_PATTERNS:
        m = pat.search(log)
        if m:
            return m.group(1)
    return None


def _last_line(log: str) -> str:
    lines = [ln.strip() for ln in log.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "no message"


def _refusal(source: str, log: str) -> UnsupportedModelError:
    op = _failed_op(log)
    what = f"op {op}" if op else "the model"
    return UnsupportedModelError(
        f"{source}: TensorFlow Lite Micro cannot allocate/prepare {what} ({_last_line(log)})",
        "TFLite Micro lacks a kernel or an option this model uses; replace the layer "
        "and convert again (mcuq inspect lists the ops)")


def _crash(source: str, out: ChildOutcome, doing: str) -> McuqError:
    if out.timed_out:
        return UnsupportedModelError(
            f"{source}: TensorFlow Lite Micro hung on this model while {doing} (no progress "
            "within the time its size allows)",
            "TFLite Micro cannot run this model as stored; re-convert it (mcuq convert), "
            "or use `mcuq inspect --no-tflm` to see mcuq's own figures")
    log = out.log_tail()
    return UnsupportedModelError(
        f"{source}: TensorFlow Lite Micro crashed on this model ({out.signal or out.describe()})"
        f" while {doing}" + (f"; its last words: {log}" if log else ""),
        "TFLite Micro cannot run this model as stored; re-convert it (mcuq convert), "
        "or use `mcuq inspect --no-tflm` to see mcuq's own figures")


def measure_tflm_arena(model) -> TflmArena:
    """Measure TFLite Micro's arena for `model` (path, bytes or Model), in a child process.
    Raises ToolchainError without tflite-micro, UnsupportedModelError when TFLM cannot
    allocate, prepare or invoke the model, or crashes on it."""
    model = load_model(model)
    tflm_runtime()  # a missing package is a ToolchainError here, not in the child
    bound = _generous_arena(model)
    total, step = timeouts(model)
    out = call_in_child("mcuq.tflm_arena:_measure_child", model.data, bound, timeout=total,
                        idle_timeout=step)
    figures, lo, hi, tried, bound = _read_probe(out.stdout, None, None, bound)
    if figures is None:
        if out.error is not None:
            raise out.error
        if out.exception is not None:
            raise ToolchainError(f"{model.source}: the TFLite Micro measurement failed "
                                 f"({out.exception[0]}: {out.exception[1]})",
                                 "use `mcuq inspect --no-tflm`; please report this model")
        raise _crash(model.source, out, "allocating it")
    if out.error is not None:  # the model allocates but fails to run, for a reason of its own
        raise out.error
    if out.timed_out:
        raise _crash(model.source, out, "running it")
    if not out.ok:
        if tried is None:
            raise _crash(model.source, out, "probing arena sizes")
        lo, hi = _update(lo, hi, tried, False, figures["total"])  # this size crashed TFLM
    required = out.value if out.ok else _smallest_arena(model, figures["total"], bound, lo, hi)
    return TflmArena(figures["total"], figures["head"], figures["tail"], required)


# ---- the child ------------------------------------------------------------------------------

def _allocate(rt, data: bytes, arena_size: int):
    """(interpreter or None, captured TFLM log)."""
    with capture_stderr() as cap:
        try:
            it = rt.Interpreter.from_bytes(data, arena_size=arena_size)
        except (RuntimeError, ValueError):
            it = None
    return it, cap.text


def _measure_child(data: bytes, bound: int) -> int:
    """Child process: allocate, print the figures, then probe for the smallest arena. Each
    finding is a tagged stdout line, so a crash keeps what was learnt before it."""
    rt = tflm_runtime()
    model = load_model(data)
    print(f"{_PROBE_TAG} start", flush=True)
    it, log = _allocate(rt, data, bound)
    for _ in range(3):  # grow only when the failure is the arena's size
        if it is not None or not too_small(log):
            break
        bound *= 8
        it, log = _allocate(rt, data, bound)
    if it is None:
        raise _refusal(model.source, log)
    with capture_stderr() as cap:
        it.print_allocations()
    del it
    figures = {k: int(v) for k, v in _FIGURE.findall(cap.text)}
    if set(figures) != {"total", "head", "tail"}:
        raise ToolchainError("tflite-micro's print_allocations() printed no arena figures "
                             f"(got: {cap.text.strip()[:200]!r})",
                             "install the tflite-micro version pinned in pyproject.toml")
    print(f"{_PROBE_TAG} figures {figures['total']} {figures['head']} {figures['tail']} "
          f"{bound}", flush=True)
    print(f"{_PROBE_TAG} try {bound}", flush=True)
    ok, log = _try(rt, model, bound)
    print(f"{_PROBE_TAG} checked {bound}", flush=True)
    if not ok:  # it fails with an arena known to hold it: the failure is the model's
        raise UnsupportedModelError(
            f"{model.source}: TensorFlow Lite Micro cannot run this model ({_last_line(log)})",
            "TFLite Micro allocates this model but fails to invoke it; check the op named")
    return _probe(model, None, None, figures["total"], bound)


def _try(rt, model: Model, n: int) -> tuple[bool, str]:
    """Allocate with arena n and invoke once on zeros: (worked, TFLM's log)."""
    import numpy as np

    with capture_stderr() as cap:
        try:
            it = rt.Interpreter.from_bytes(model.data, arena_size=n)
            for k, t in enumerate(model.input_tensors()):
                it.set_input(np.zeros(t.shape, t.dtype), k)
            it.invoke()
            del it
            ok = True
        except (RuntimeError, ValueError):
            ok = False
    return ok, cap.text


def _probe_child(data: bytes, lo, hi, start: int, bound: int) -> int:
    model = load_model(data)
    print(f"{_PROBE_TAG} start", flush=True)
    return _probe(model, lo, hi, start, bound)


def _probe(model: Model, lo, hi, start: int, bound: int) -> int:
    """Probe sizes until the bracket closes, one tagged line per probe; returns the smallest
    working size. The model is known to run with `bound` bytes, so a failure with fewer is
    the arena's (TFLite Micro's messages for it vary by op: no pattern is relied on)."""
    rt = tflm_runtime()
    while (n := _next_probe(lo, hi, start, bound)) is not None:
        print(f"{_PROBE_TAG} try {n}", flush=True)
        ok, _ = _try(rt, model, n)
        print(f"{_PROBE_TAG} {'ok' if ok else 'fail'} {n}", flush=True)
        lo, hi = _update(lo, hi, n, ok, start)
    if hi is None:
        raise UnsupportedModelError(f"{model.source}: TFLite Micro failed with every arena "
                                    f"size up to {bound} bytes",
                                    "run `mcuq verify --runners tflm` to see its error")
    return hi


# ---- the smallest working arena ---------------------------------------------------------

def _next_probe(lo: int | None, hi: int | None, start: int, bound: int) -> int | None:
    """Next size to try. lo: largest failing size known, hi: smallest working size known,
    start: TFLM's reported total, bound: a size known to work. None when done."""
    if lo is None and hi is None:
        return start
    if lo is None:              # start worked: confirm that 16 bytes less does not
        return max(hi - 16, 1)
    if hi is None:              # start failed: step up, doubling the distance
        return min(start + max(256, 2 * (lo - start)), bound) if lo < bound else None
    return (lo + hi) // 2 if hi - lo > 1 else None


def _update(lo, hi, n: int, ok: bool, start: int):
    if ok:
        hi = n
        if n < start and lo is None:
            lo = 0  # even total-16 worked; bisect all the way down
    else:
        lo = n
    return lo, hi


def _read_probe(stdout: str, lo, hi, bound: int):
    """(figures or None, lo, hi, size being tried when the child stopped, bound) from the
    child's tagged lines."""
    figures, tried = None, None
    for line in stdout.splitlines():
        if not line.startswith(_PROBE_TAG):
            continue
        parts = line.split()
        if parts[1] == "start":
            continue
        if parts[1] == "checked":
            tried = None
            continue
        if parts[1] == "figures":
            figures = dict(zip(("total", "head", "tail"), map(int, parts[2:5])))
            bound = int(parts[5])
        elif parts[1] == "try":
            tried = int(parts[2])
        else:
            lo, hi = _update(lo, hi, int(parts[2]), parts[1] == "ok",
                             figures["total"] if figures else 0)
            tried = None
    return figures, lo, hi, tried, bound


def _smallest_arena(model: Model, start: int, bound: int, lo=None, hi=None) -> int:
    """Resume the bracket [lo, hi] after a child crashed on a size, one child per crash."""
    for _ in range(64):  # each round ends the search or learns that one size crashes
        if _next_probe(lo, hi, start, bound) is None:
            if hi is None:
                raise UnsupportedModelError(f"{model.source}: TFLite Micro failed with every "
                                            f"arena size up to {bound} bytes",
                                            "run `mcuq verify --runners tflm` to see its error")
            return hi
        total, step = timeouts(model)
        out = call_in_child("mcuq.tflm_arena:_probe_child", model.data, lo, hi, start, bound,
                            timeout=total, idle_timeout=step)
        if out.error is not None:
            raise out.error
        if out.ok:
            return out.value
        if out.timed_out:
            raise _crash(model.source, out, "probing arena sizes")
        _, lo, hi, tried, _ = _read_probe(f"{_PROBE_TAG} figures {start} 0 0 {bound}\n"
                                          + out.stdout, lo, hi, bound)
        if tried is None:
            raise _crash(model.source, out, "probing arena sizes")
        lo, hi = _update(lo, hi, tried, False, start)  # the child died on this size
    raise ToolchainError("the TFLite Micro arena probe did not converge",
                         "please report this model")
