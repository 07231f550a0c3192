"""User-facing failures. Every error is one line saying what is wrong and where,
plus one line saying what to do. The CLI maps the class to an exit code.

Exit codes:
  0  ok
  1  verification mismatch: runners that ran disagree where they must agree to the byte
  2  usage or input error: a bad argument, file or data set; a malformed model
  3  unsupported model: valid, but uses an op, type or shape mcuq or TFLite Micro cannot run
  4  toolchain missing: a compiler, emulator or interpreter package is not installed
  5  a runner could not run the model (refused it or crashed); every runner that ran agrees
"""
from __future__ import annotations

import re

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_USAGE = 2
EXIT_UNSUPPORTED = 3
EXIT_TOOLCHAIN = 4
EXIT_RUNNER_FAILED = 5

#: Longest line and longest message an error prints (names inside are already cut by
#: mcuq.text.label; this is the safety net for anything that was not).
_MAX_LINE = 400
_MAX_MESSAGE = 2000
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


def _tidy(text: str) -> str:
    """No control characters but newlines, no line over _MAX_LINE, no message over
    _MAX_MESSAGE characters."""
    text = _CONTROL.sub(lambda m: f"<{ord(m.group()):02x}>", str(text))
    lines = [ln if len(ln) <= _MAX_LINE else ln[:_MAX_LINE - 3] + "..."
             for ln in text.split("\n")]
    text = "\n".join(lines)
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE - 3] + "..."


class McuqError(Exception):
    """Base class: `message` (what and where) and `hint` (what to do)."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str = ""):
        message, hint = _tidy(message), _tidy(hint)
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"

    def __reduce__(self):  # picklable across processes with message and hint
        return (type(self), (self.message, self.hint))


class InputError(McuqError):
    """A bad file, argument or data set given by the user; a malformed model (exit 2)."""

    exit_code = EXIT_USAGE


class UnsupportedModelError(McuqError):
    """The model uses an op, type or shape mcuq or TFLite Micro cannot handle (exit 3)."""

    exit_code = EXIT_UNSUPPORTED


class ToolchainError(McuqError):
    """A compiler, emulator or interpreter package is missing (exit 4)."""

    exit_code = EXIT_TOOLCHAIN


class VerificationError(McuqError):
    """Runners disagree where they must agree to the byte (exit 1)."""

    exit_code = EXIT_MISMATCH


class RunnerError(McuqError):
    """A runner could not run the model (exit 5). `status` is "refused" (it declined the
    model before computing: a load, allocation, prepare or build error) or "crashed" (it died
    while running: a signal, a hard fault, a hang). `mcuq verify` reports it as that runner's
    status and still prints every other runner's result."""

    exit_code = EXIT_RUNNER_FAILED

    def __init__(self, message: str, hint: str = "", status: str = "refused"):
        super().__init__(message, hint)
        self.status = status

    def __reduce__(self):
        return (type(self), (self.message, self.hint, self.status))
