"""User-facing failures. Every error is one line saying what is wrong and where,
plus one line saying what to do. The CLI maps the class to an exit code."""
from __future__ import annotations

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_USAGE = 2
EXIT_UNSUPPORTED = 3
EXIT_TOOLCHAIN = 4


class McuqError(Exception):
    """Base class: `message` (what and where) and `hint` (what to do)."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class InputError(McuqError):
    """A bad file, argument or data set given by the user (exit 2)."""

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
