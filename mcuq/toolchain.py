"""Facts about the tools mcuq drives: what is installed, how to install it, and `make`.

Below codegen, runners, footprint and the TFLite Micro measurement, so that each of them asks
here instead of asking one another (data flows one way: nothing here imports codegen or a runner).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from .errors import McuqError, ToolchainError

#: Debian packages of the Cortex-M toolchain: the C++ library is for TFLite Micro projects.
APT_PACKAGES = ("gcc-arm-none-eabi", "libnewlib-arm-none-eabi", "libstdc++-arm-none-eabi-newlib",
                "qemu-system-arm")
APT_LINE = ("sudo apt-get update && sudo apt-get install --no-install-recommends "
            + " ".join(APT_PACKAGES))
#: Programs each build target needs on PATH.
TOOLS = {
    "host": ("cc",),
    "cortex-m4": ("arm-none-eabi-gcc", "qemu-system-arm"),
}


def missing_tools(target: str) -> list[str]:
    return [t for t in TOOLS[target] if shutil.which(t) is None]


def require_tools(target: str) -> None:
    missing = missing_tools(target)
    if missing:
        hint = APT_LINE if target == "cortex-m4" else "install a C compiler (apt-get install gcc)"
        raise ToolchainError(f"{target}: {', '.join(missing)} not found on PATH", hint)


def tflm_runtime():
    """The tflite-micro package's runtime module (its real C++ interpreter)."""
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ToolchainError(f"the tflite-micro package is not importable ({e})",
                             "pip install tflite-micro (mcuq's pinned version is in "
                             "pyproject.toml)") from None
    return runtime


def cache_root() -> Path:
    """Where generated projects are built and kept, keyed by content ($MCUQ_CACHE/firmware)."""
    root = os.environ.get("MCUQ_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "mcuq")
    return Path(root) / "firmware"


@contextmanager
def cache_lock(folder: Path, what: str = "project"):
    """An exclusive lock on one thing in a build-cache folder: "project" (generating it) or a
    make goal (its build directory). Two mcuq processes (two shells, parallel CI jobs, pytest
    -n) or threads that make the same thing take turns instead of writing the same files at
    once, and the second finds the first one's result; different goals of one project still
    build side by side. POSIX `flock` (released by the kernel if the holder dies); where there
    is none, no lock."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(folder / f".lock-{what}", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def sources_digest() -> str:
    """Hash of every file under mcuq/firmware, mcuq/templates and mcuq/codegen (the emitters
    choose kernel paths and weight layouts), and of mcuq/memory.py and mcuq/tiling.py (the
    arena plan with its in-place choices, the tiled graph): a build cache key part."""
    h = hashlib.sha256()
    for package in ("mcuq.firmware", "mcuq.templates", "mcuq.codegen"):
        root = Path(str(resources.files(package)))
        for p in sorted(root.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(root)).encode())
                h.update(p.read_bytes())
    for name in ("memory.py", "tiling.py"):
        h.update(name.encode())
        h.update(resources.files("mcuq").joinpath(name).read_bytes())
    return h.hexdigest()


def make(project: Path, goal: str, extra_cflags: tuple[str, ...] = ()) -> str:
    """Run `make goal` in a generated project; a failure is an McuqError with the log's tail."""
    env = dict(os.environ, EXTRA_CFLAGS=" ".join(extra_cflags))
    proc = subprocess.run(["make", "-C", str(project), goal], capture_output=True, text=True,
                          env=env)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-12:]
        raise McuqError(f"building the generated C project failed ({project}, make {goal}):"
                        "\n    " + "\n    ".join(tail),
                        "this is a bug in mcuq's C target; please report it with the model")
    return proc.stdout


__all__ = ["APT_PACKAGES", "APT_LINE", "TOOLS", "missing_tools", "require_tools", "tflm_runtime",
           "cache_root", "cache_lock", "sources_digest", "make"]
