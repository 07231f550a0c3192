"""Build and run generated TensorFlow Lite Micro projects against a prebuilt TFLite Micro
(mcuq.testing.tflm_prebuilt): on the host (lib/host, reference kernels) and on Cortex-M4 with
CMSIS-NN (lib/m4-cmsis_nn) under QEMU mps2-an386, through the project's own Makefile goals
(`host`, `cortex-m4`). Used by the tests and benchmarks.

Projects are generated into a cache folder keyed by content (model bytes, mcuq version, every
template and firmware file, the vectors, the prebuilt library's identity) like
mcuq.runners.firmware does, and built there, so a second run rebuilds nothing.
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..toolchain import cache_lock, cache_root, sources_digest as _sources_digest
from .tflm_prebuilt import PrebuiltTflm

#: target -> (Makefile goal, binary under build/, prebuilt library variant)
TARGETS = {
    "host": ("host", "host/{name}", "host"),
    "cortex-m4": ("cortex-m4", "arm/{name}-mps2-an386.elf", "m4-cmsis_nn"),
}
_ARENA = re.compile(r"arena (\d+) of (\d+) bytes used")


@dataclass
class SelfTest:
    name: str
    target: str
    passed: bool
    output: str
    arena_used: int | None  # TFLite Micro's arena_used_bytes() as printed on boot
    arena_size: int | None

    def describe(self) -> str:
        return f"{self.name} on {self.target}: {'PASS' if self.passed else 'FAIL'}\n{self.output}"


def _library_identity(tflm: PrebuiltTflm) -> bytes:
    h = hashlib.sha256(str(tflm.root).encode())
    for variant in ("host", "m4-cmsis_nn"):
        st = tflm.lib(variant).stat()
        h.update(f"{variant}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.digest()


def cached_project(model: bytes, name: str, tflm: PrebuiltTflm, vectors: int = 3,
                   layout: str = "make", cache_dir: Path | None = None,
                   compress: bool = False) -> Path:
    """The generated TFLite Micro project of `model` in the build cache (generated once).
    compress: `generate --target tflm --compress` (TFLite Micro's own weight compression)."""
    from ..codegen import generate_project

    h = hashlib.sha256()
    for part in (model, __version__.encode(), _sources_digest().encode(), name.encode(),
                 str(vectors).encode(), layout.encode(), _library_identity(tflm),
                 b"compress" if compress else b""):
        h.update(part)
        h.update(b"\0")
    folder = (cache_dir or cache_root()).parent / "tflm" / h.hexdigest()[:24]
    project = folder / "project"
    with cache_lock(folder):
        if not (project / "main.cc").exists():
            generate_project(model, project, target="tflm", name=name, vectors=vectors,
                             force=True, layout=layout, compress=compress)
    return project


def make_args(tflm: PrebuiltTflm) -> list[str]:
    return [f"TFLM_DIR={tflm.root}", f"HOST_TFLM_LIB={tflm.lib('host')}",
            f"ARM_TFLM_LIB={tflm.lib('m4-cmsis_nn')}"]


def build(project: Path, target: str, tflm: PrebuiltTflm) -> Path:
    """`make <goal>` in the project; returns the binary. Raises AssertionError with the log."""
    goal, binary, _ = TARGETS[target]
    name = _project_name(project)
    with cache_lock(project.parent, goal):  # a parallel test or benchmark may build it too
        proc = subprocess.run(["make", "-C", str(project), *make_args(tflm), goal],
                              capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise AssertionError(f"make {goal} failed in {project}:\n{proc.stdout[-3000:]}\n"
                             f"{proc.stderr[-3000:]}")
    return project / "build" / binary.format(name=name)


def _project_name(project: Path) -> str:
    m = re.search(r"^NAME\s*\?=\s*(\S+)", (project / "Makefile").read_text(), re.M)
    assert m, f"{project}/Makefile has no NAME"
    return m.group(1)


def qemu_command(binary: Path, argv: tuple[str, ...] = ()) -> list[str]:
    """QEMU mps2-an386 running `binary` with semihosting (argv: the program's argv)."""
    config = "enable=on,target=native" + "".join(f",arg={a}" for a in argv)
    return ["qemu-system-arm", "-machine", "mps2-an386", "-nographic",
            "-semihosting-config", config, "-kernel", str(binary)]


def run(binary: Path, target: str, timeout: float = 120) -> tuple[int, str]:
    cmd = [str(binary)] if target == "host" else qemu_command(binary)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def self_test(project: Path, target: str, tflm: PrebuiltTflm) -> SelfTest:
    binary = build(project, target, tflm)
    code, out = run(binary, target)
    m = _ARENA.search(out)
    last = out.splitlines()[-1] if out else ""
    return SelfTest(_project_name(project), target, code == 0 and last.startswith("PASS"), out,
                    int(m.group(1)) if m else None, int(m.group(2)) if m else None)


def self_tests(jobs: list[tuple[Path, str]], tflm: PrebuiltTflm,
               workers: int | None = None) -> list[SelfTest]:
    """Build and run many (project, target) self-tests, `workers` at a time (default: CPUs)."""
    workers = workers or max(1, min(len(jobs), os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda j: self_test(j[0], j[1], tflm), jobs))
