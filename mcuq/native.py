"""Native code, kept at arm's length.

- `quiet_native_output()`: capture what C++ libraries (TensorFlow) print on fds 1 and 2 and
  pass on only what is not known log noise.
- `capture_stderr()`: read what a C++ library printed on fd 2 (TFLite Micro's MicroPrintf).
- `call_in_child(target, *args)`: run a Python function in a fresh interpreter, so that a
  native library that crashes (SIGSEGV, SIGABRT, SIGFPE), hangs or runs out of memory on a
  model takes down the child, never the mcuq process; the outcome says which it was.

Below sources, conversion, the TFLite Micro measurement and the runners; imports nothing of mcuq
but the errors.
"""
from __future__ import annotations

import contextlib
import io
import os
import pickle
import re
import signal
import subprocess
import sys
import tempfile
import traceback
from dataclasses import dataclass
from typing import Any

from .errors import McuqError

# --------------------------------------------------------------------------------------------
# Quiet native output
# --------------------------------------------------------------------------------------------

_NOISE = [re.compile(p) for p in (
    r"^[IW]\d{4} ",  # absl INFO/WARNING lines from C++
    r"^WARNING: All log messages before absl::InitializeLog",
    r"^fully_quantize: ",
    r"^E\d{4} .*(cuInit|cuda|CUDA)",
    r"^To enable the following instructions",
    r"Statistics for quantized inputs were expected",
    r"^\s*warnings\.warn\(",
    r"^Estimated count of arithmetic ops",
    r"^\s*$",
)]


@contextlib.contextmanager
def quiet_native_output(progress_sink: list | None = None, keep: list | None = None):
    """Capture what TensorFlow's C++ code prints on fds 1 and 2 and what Python code prints on
    sys.stdout; afterwards every line that is not known log noise is passed on: appended to
    `keep` if given (the caller shows it: convert's summary, or its error), else written to
    stderr (so real errors still show). If progress_sink is a list, a writable text stream on
    the original stderr is appended to it (for tqdm)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = (os.dup(1), os.dup(2))
    except (OSError, ValueError):  # no real fds (embedded interpreters): do nothing
        yield None
        return
    tmp = tempfile.TemporaryFile()
    progress = None
    py_out = io.StringIO()
    try:
        os.dup2(tmp.fileno(), 1)
        os.dup2(tmp.fileno(), 2)
        if progress_sink is not None:
            progress = _progress_stream(saved[1])
            progress_sink.append(progress)
        with contextlib.redirect_stdout(py_out):
            yield tmp
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        if progress is not None and progress is not sys.stderr:
            with contextlib.suppress(Exception):
                progress.close()
        tmp.seek(0)
        text = tmp.read().decode(errors="replace")
        tmp.close()
        lines = text.splitlines() + py_out.getvalue().splitlines()
        kept = [ln for ln in lines if not any(p.search(ln) for p in _NOISE)]
        if kept and keep is not None:
            keep.extend(kept)
        elif kept:
            sys.stderr.write("\n".join(kept) + "\n")


def _progress_stream(fd: int):
    """Where the progress bar goes: sys.stderr if it is not fd 2 (e.g. click's test runner),
    else a stream on the saved real stderr (fd 2 is captured meanwhile)."""
    try:
        if sys.stderr.fileno() != 2:
            return sys.stderr
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return sys.stderr
    return os.fdopen(os.dup(fd), "w", buffering=1)


class capture_stderr:
    """Redirect the process's fd 2 (C-level stderr) into a temporary file; `.text` afterwards."""

    def __enter__(self):
        sys.stderr.flush()
        self._file = tempfile.TemporaryFile()
        self._saved = os.dup(2)
        os.dup2(self._file.fileno(), 2)
        self.text = ""
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


# --------------------------------------------------------------------------------------------
# Child processes
# --------------------------------------------------------------------------------------------

def signal_name(returncode: int) -> str | None:
    """'SIGSEGV' for a child killed by signal 11 (returncode -11), else None."""
    if returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


@dataclass
class ChildOutcome:
    """What happened to a function run by call_in_child. Exactly one of: `value` set (it
    returned; `returned` is True), `error` (it raised an McuqError, re-created here),
    `exception` ((type name, message, traceback) of any other exception), `signal` (killed by
    it),
    `timed_out`, or none of them with a non-zero `returncode` (it exited, e.g. out of memory)."""

    returncode: int
    stdout: str
    stderr: str
    returned: bool = False
    value: Any = None
    error: McuqError | None = None
    exception: tuple[str, str, str] | None = None
    signal: str | None = None
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returned

    def describe(self) -> str:
        """One phrase: 'crashed (SIGSEGV)', 'did not finish within 600 s', ..."""
        if self.signal:
            return f"crashed ({self.signal})"
        if self.timed_out:
            return "did not finish in time (hang?)"
        if self.exception:
            return f"failed ({self.exception[0]}: {self.exception[1]})"
        if self.error is not None:
            return f"failed ({self.error.message})"
        return f"exited with status {self.returncode}"

    def log_tail(self, lines: int = 3) -> str:
        """The last lines the native code printed on stderr (for error messages)."""
        kept = [ln.strip() for ln in self.stderr.splitlines() if ln.strip()]
        return " / ".join(kept[-lines:])


_CHILD = ("import sys; from mcuq.native import _child_main; _child_main(sys.argv[1])")


def _child_env() -> dict:
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def call_in_child(target: str, *args, timeout: float = 600.0,
                  idle_timeout: float | None = None) -> ChildOutcome:
    """Run `target` ("package.module:function") with `args` (picklable) in a fresh Python
    process and return its outcome. The function's stdout and stderr (Python and native) are
    captured whole: a function can print progress lines that survive its crash. The child is
    killed (`timed_out`) after `timeout` seconds, or after `idle_timeout` seconds without a new
    line on its stdout (a function that reports each step can be watched step by step)."""
    with tempfile.TemporaryDirectory(prefix="mcuq-child-") as tmp:
        with open(os.path.join(tmp, "call.pkl"), "wb") as f:
            pickle.dump((target, args), f)
        with open(os.path.join(tmp, "stderr"), "w+b") as err:
            proc = subprocess.Popen([sys.executable, "-c", _CHILD, tmp], stdout=subprocess.PIPE,
                                    stderr=err, env=_child_env(), stdin=subprocess.DEVNULL)
            stdout, timed_out = _watch(proc, timeout, idle_timeout)
            err.seek(0)
            stderr = _text(err.read())
        if timed_out:
            return ChildOutcome(-1, stdout, stderr, timed_out=True)
        out = ChildOutcome(proc.returncode, stdout, stderr, signal=signal_name(proc.returncode))
        result = os.path.join(tmp, "result.pkl")
        if out.signal is None and os.path.exists(result):
            with open(result, "rb") as f:
                kind, payload = pickle.load(f)
            if kind == "value":
                out.returned, out.value = True, payload
            elif kind == "mcuq":
                out.error = payload
            else:
                out.exception = payload
        return out


def _watch(proc: subprocess.Popen, timeout: float, idle: float | None) -> tuple[str, bool]:
    """Read the child's stdout until it exits; kill it on a timeout. (stdout, timed out)."""
    import selectors
    import time

    chunks: list[bytes] = []
    start = last = time.monotonic()
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        while True:
            now = time.monotonic()
            left = timeout - (now - start)
            if idle is not None:
                left = min(left, idle - (now - last))
            if left <= 0:
                proc.kill()
                proc.wait()
                chunks.append(proc.stdout.read() or b"")
                return _text(b"".join(chunks)), True
            if sel.select(timeout=min(left, 1.0)):
                data = os.read(proc.stdout.fileno(), 65536)
                if not data:  # EOF: the child closed stdout (it is exiting)
                    try:
                        proc.wait(timeout=max(timeout - (time.monotonic() - start), 1.0))
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
                        return _text(b"".join(chunks)), True
                    return _text(b"".join(chunks)), False
                chunks.append(data)
                if b"\n" in data:
                    last = time.monotonic()
    finally:
        sel.close()
        proc.stdout.close()


def _text(b) -> str:
    return b.decode(errors="replace") if isinstance(b, bytes) else (b or "")


def _child_main(tmp: str) -> None:
    """The child side of call_in_child."""
    import importlib

    with open(os.path.join(tmp, "call.pkl"), "rb") as f:
        target, args = pickle.load(f)
    module, _, name = target.partition(":")
    try:
        value = getattr(importlib.import_module(module), name)(*args)
        result = ("value", value)
    except McuqError as e:
        result = ("mcuq", e)
    except MemoryError:
        result = ("exception", ("MemoryError", "out of memory", ""))
    except Exception as e:  # noqa: BLE001 - reported to the parent, which decides
        result = ("exception", (type(e).__name__, str(e), traceback.format_exc()))
    sys.stdout.flush()
    with open(os.path.join(tmp, "result.pkl.tmp"), "wb") as f:
        pickle.dump(result, f)
    os.replace(os.path.join(tmp, "result.pkl.tmp"), os.path.join(tmp, "result.pkl"))


__all__ = ["quiet_native_output", "capture_stderr", "call_in_child", "ChildOutcome",
           "signal_name"]
