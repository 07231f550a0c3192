"""Skipping for a missing tool, honestly: a test that needs a compiler or emulator skips (with
the line that installs it) only where the tool is truly absent on a user's machine. Under CI
(CI=true, set by .ci/run) the toolchain is installed first (scripts/ensure-toolchain.sh), so
a missing tool there is a failure, never a skip that hides every Cortex-M check."""
from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def missing_tool(message: str) -> None:
    """Skip with `message` (what is missing and how to install it); fail under CI."""
    if in_ci():
        pytest.fail(f"CI: {message}", pytrace=False)
    pytest.skip(message)
