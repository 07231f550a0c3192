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
   model: total 1008, smallest working arena 1328 on x86-64). The search runs in a child
   process because TFLM can crash (not just fail) on an arena too small for its own tail.

All figures are for the 64-bit host build of TFLM (pointers of 8 bytes).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from .errors import ToolchainError, UnsupportedModelError
from .model import Model, load_model
from .runners.tflm import tflm_runtime

_FIGURE = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")
_OP_PATTERNS = (re.compile(r"Didn't find op for builtin opcode '([^']+)'"),
                re.compile(r"Failed to get registration from op code (\S+)"),
                re.compile(r"Node (\S+) \(number (\d+)\) failed to (?:prepare|init)"))
_PROBE_TAG = "@@mcuq-probe"


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


class _CaptureStderr:
    """Redirect the process's fd 2 (C-level stderr) into a temporary file."""

    def __enter__(self):
        sys.stderr.flush()
        self._file = tempfile.TemporaryFile()
        self._saved = os.dup(2)
        os.dup2(self._file.fileno(), 2)
        return self

    def __exit__(self, *exc):
        try:
            sys.stderr.flush()
        finally:
            os.dup2(self._saved, 2)
            os.close(self._saved)
        self._file.seek(0)
        self.text = self._file.read().decode(errors="replace")
        self._file.close()
        return False


def _generous_arena(model: Model) -> int:
    """An arena that certainly holds the model: every non-constant tensor twice, plus
    per-tensor and per-op metadata at 64-bit sizes, plus 64 KiB."""
    acts = sum(t.nbytes for t in model.tensors if t.data is None)
    return 2 * acts + 512 * (len(model.tensors) + len(model.operators)) + (64 << 10)


def _failed_op(model: Model, log: str) -> str | None:
    for pat in _OP_PATTERNS:
        m = pat.search(log)
        if m:
            return m.group(1)
    return None


def _allocate(rt, model: Model, arena_size: int):
    """(interpreter or None, captured TFLM log)."""
    with _CaptureStderr() as cap:
        try:
            it = rt.Interpreter.from_bytes(model.data, arena_size=arena_size)
        except (RuntimeError, ValueError):
            it = None
    return it, cap.text


def measure_tflm_arena(model) -> TflmArena:
    """Measure TFLite Micro's arena for `model` (path, bytes or Model). Raises ToolchainError
    without tflite-micro, UnsupportedModelError when TFLM cannot allocate/prepare the model."""
    model = load_model(model)
    rt = tflm_runtime()
    arena = _generous_arena(model)
    it, log = _allocate(rt, model, arena)
    for _ in range(3):  # grow only when the failure is the arena's size
        if it is not None or not re.search(r"(?i)failed to (re)?allocate|missing:", log):
            break
        arena *= 8
        it, log = _allocate(rt, model, arena)
    if it is None:
        op = _failed_op(model, log)
        last = log.strip().splitlines()[-1] if log.strip() else "no message"
        what = f"op {op}" if op else "the model"
        raise UnsupportedModelError(
            f"{model.source}: TensorFlow Lite Micro cannot allocate/prepare {what} ({last})",
            "TFLite Micro lacks a kernel or an option this model uses; replace the layer "
            "and convert again (mcuq inspect lists the ops)")
    with _CaptureStderr() as cap:
        it.print_allocations()
    del it
    figures = {k: int(v) for k, v in _FIGURE.findall(cap.text)}
    if set(figures) != {"total", "head", "tail"}:
        raise ToolchainError("tflite-micro's print_allocations() printed no arena figures "
                             f"(got: {cap.text.strip()[:200]!r})",
                             "install the tflite-micro version pinned in pyproject.toml")
    required = _smallest_arena(model, figures["total"], arena)
    return TflmArena(figures["total"], figures["head"], figures["tail"], required)


# ---- the smallest working arena, searched in a child process ----------------------------

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


def _probe_child(path: str, lo: int | None, hi: int | None, start: int, bound: int) -> None:
    """Child process: probe sizes until the bracket closes, one result line per probe."""
    import numpy as np

    rt = tflm_runtime()
    model = load_model(path)
    inputs = [np.zeros(t.shape, t.dtype) for t in model.input_tensors()]
    while (n := _next_probe(lo, hi, start, bound)) is not None:
        print(f"{_PROBE_TAG} try {n}", flush=True)
        try:
            it = rt.Interpreter.from_bytes(model.data, arena_size=n)
            for k, x in enumerate(inputs):
                it.set_input(x, k)
            it.invoke()
            del it
            ok = True
        except (RuntimeError, ValueError):
            ok = False
        print(f"{_PROBE_TAG} {'ok' if ok else 'fail'} {n}", flush=True)
        lo, hi = _update(lo, hi, n, ok, start)


def _smallest_arena(model: Model, start: int, bound: int) -> int:
    lo = hi = None
    with tempfile.TemporaryDirectory(prefix="mcuq-tflm-") as tmp:
        path = os.path.join(tmp, "model.tflite")
        with open(path, "wb") as f:
            f.write(model.data)
        for _ in range(64):  # each round ends the search or learns that one size crashes
            if _next_probe(lo, hi, start, bound) is None:
                if hi is None:
                    raise ToolchainError(f"{model.source}: TFLite Micro failed with every "
                                         f"arena size up to {bound} bytes in a child process",
                                         "run `mcuq verify --runners tflm` to see its error")
                return hi
            args = [sys.executable, "-c",
                    "import sys; from mcuq.tflm_arena import _probe_child as p; "
                    "p(sys.argv[1], *(None if a == '-' else int(a) for a in sys.argv[2:]))",
                    path, "-" if lo is None else str(lo), "-" if hi is None else str(hi),
                    str(start), str(bound)]
            env = dict(os.environ)
            root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
            proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True, env=env, timeout=600)
            tried = None
            for line in proc.stdout.splitlines():
                if not line.startswith(_PROBE_TAG):
                    continue
                _, verdict, n = line.split()
                if verdict == "try":
                    tried = int(n)
                else:
                    lo, hi = _update(lo, hi, int(n), verdict == "ok", start)
                    tried = None
            if tried is not None:       # the child died on this size: it does not work
                lo, hi = _update(lo, hi, tried, False, start)
            elif proc.returncode != 0:
                raise ToolchainError(f"the TFLite Micro arena probe failed (exit "
                                     f"{proc.returncode})", "run `mcuq inspect` with --no-tflm")
    raise ToolchainError("the TFLite Micro arena probe did not converge",
                         "please report this model")
