"""A runner whose interpreter is native code (LiteRT, TFLite Micro), run in a child process.

`mcuq verify` wraps every runner marked `native` in an IsolatedRunner: each run() starts a
fresh Python process (mcuq.native.call_in_child) that rebuilds the runner from the model's
bytes and its options and runs the whole batch. A runtime that refuses the model (an error at
load, allocation, prepare or invoke) or crashes on it (a signal, a hang, out of memory) takes
down the child only, and the run raises RunnerError with status "refused" or "crashed" and
the runtime's own words, which verify reports as that runner's status.

Cost on the happy path: one interpreter start per run (about 0.2 s, measured in
benchmarks/verify_isolation.py), since a run takes every sample at once.
"""
from __future__ import annotations

from ..errors import RunnerError, ToolchainError
from ..native import call_in_child
from ..validate import seconds_per_inference
from .base import Runner, RunResult

#: Seconds a child may take to start, plus per inference (times the model's bound): beyond
#: that the runtime counts as hung on the model.
START_SECONDS = 60.0
_RUNTIMES = {"tflm": "TFLite Micro", "tflite": "LiteRT", "tflite-default": "LiteRT"}


class IsolatedRunner(Runner):
    """Delegates to `inner` (name, exactness, intermediates) but runs it in a child."""

    def __init__(self, inner: Runner):
        self.inner = inner
        self.model = inner.model
        self.name = inner.name
        self.exact = inner.exact
        self.profile = inner.profile
        self.gives_intermediates = inner.gives_intermediates
        self.differences = getattr(inner, "differences", {})
        self.note = getattr(inner, "note", "")  # e.g. tflm: "compressed model (TFLM_DECODE)"

    def run(self, inputs, keep_intermediates: bool = False) -> RunResult:
        cls = type(self.inner)
        batch = int(inputs[0].shape[0]) if len(inputs) else 1
        timeout = START_SECONDS + 3 * batch * seconds_per_inference(self.model)
        out = call_in_child("mcuq.runners.isolated:_run_child",
                            f"{cls.__module__}:{cls.__qualname__}", self.model.data,
                            self.inner.spawn_args(), list(inputs), keep_intermediates,
                            self.windows, timeout=timeout)
        if out.ok:
            return out.value
        runtime = _RUNTIMES.get(self.name, self.name)
        if isinstance(out.error, (ToolchainError, RunnerError)):
            raise out.error
        if out.error is not None:
            raise RunnerError(f"{self.name}: {out.error.message}", out.error.hint)
        log = out.log_tail(2)
        if out.exception is not None and out.exception[0] in ("RuntimeError", "ValueError"):
            reason = out.exception[1].strip()
            reason = reason if len(reason) <= 200 else reason[:197] + "..."
            if log and log not in reason:
                reason = f"{reason} ({log})" if reason else log
            raise RunnerError(f"{self.name}: {runtime} refused the model: {reason}",
                              f"{runtime} cannot run this model as stored; the other runners' "
                              "results stand")
        what = out.describe()
        raise RunnerError(f"{self.name}: {runtime} {what} on this model"
                          + (f"; its last words: {log}" if log else ""),
                          f"{runtime} cannot run this model; the other runners' results stand",
                          status="crashed")


def _run_child(cls_path: str, data: bytes, options: dict, inputs, keep: bool,
               windows: bool = False) -> RunResult:
    import importlib

    from ..model import load_model

    module, _, name = cls_path.partition(":")
    cls = getattr(importlib.import_module(module), name)
    runner = cls(load_model(data), **options)
    runner.windows = windows
    return runner.run(inputs, keep)


__all__ = ["IsolatedRunner"]
