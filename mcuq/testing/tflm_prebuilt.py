"""Where the prebuilt TensorFlow Lite Micro (a test dependency, not part of mcuq) is.

`$MCUQ_TFLM_DIR` if set, else `<repo root>/../shared/third_party/tflm` (the shared folder of
the project's checkouts). `locate()` returns None when it is absent or incomplete; tests then
skip with `missing_reason()`, which says what is missing and how to provide it.

The folder holds TFLite Micro's headers laid out as a checkout (usable as `TFLM_DIR`) and three
static libraries: `lib/host` (x86-64, reference kernels), `lib/m4-ref` and `lib/m4-cmsis_nn`
(Cortex-M4F hard-float, reference / CMSIS-NN kernels); `lib/*/flags.txt` holds the exact
compiler command each was built with.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV = "MCUQ_TFLM_DIR"
VARIANTS = ("host", "m4-ref", "m4-cmsis_nn")
LIBRARY = "libtensorflow-microlite.a"
_HEADER = "tensorflow/lite/micro/micro_interpreter.h"


@dataclass(frozen=True)
class PrebuiltTflm:
    root: Path

    def lib(self, variant: str) -> Path:
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; one of {', '.join(VARIANTS)}")
        return self.root / "lib" / variant / LIBRARY

    def flags(self, variant: str) -> tuple[list[str], list[str]]:
        """(C++ command, C command) of `variant`, split into words, $TFLM replaced."""
        import shlex

        lines = (self.root / "lib" / variant / "flags.txt").read_text().splitlines()
        cmds = [shlex.split(line.replace("$TFLM", str(self.root))) for line in lines if line]
        return cmds[0], cmds[1]

    @property
    def downloads(self) -> Path:
        return self.root / "tensorflow/lite/micro/tools/make/downloads"


def default_dir() -> Path:
    """`<repo root>/../shared/third_party/tflm` for a source checkout of mcuq."""
    repo_root = Path(__file__).resolve().parents[2]
    return repo_root.parent / "shared" / "third_party" / "tflm"


def candidate_dir() -> Path:
    env = os.environ.get(ENV)
    return Path(env) if env else default_dir()


def _problem(root: Path) -> str | None:
    if not root.is_dir():
        return f"{root} does not exist"
    if not (root / _HEADER).is_file():
        return f"{root} has no {_HEADER} (not a TFLite Micro header tree)"
    missing = [v for v in VARIANTS if not (root / "lib" / v / LIBRARY).is_file()]
    if missing:
        return f"{root} has no lib/{{{','.join(missing)}}}/{LIBRARY}"
    return None


def locate() -> PrebuiltTflm | None:
    root = candidate_dir()
    return None if _problem(root) else PrebuiltTflm(root.resolve())


def missing_reason() -> str:
    root = candidate_dir()
    problem = _problem(root) or "found"
    return (f"prebuilt TensorFlow Lite Micro not available: {problem}; set {ENV} to a folder "
            f"with TFLite Micro headers and lib/{{{','.join(VARIANTS)}}}/{LIBRARY} "
            "(see ../shared/third_party/tflm/README.md)")
