"""Runners `host` and `cortex-m4`: the generated standalone C project, built and run.

The project is generated and built once per content hash (model bytes, mcuq version, every
firmware/ and templates/ file, target, flags) in a cache folder, so repeated verifies reuse
the binary. Inputs go in and outputs come out through files in the binary's `--stream` mode;
under QEMU the files are reached through semihosting.
"""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..codegen.target_c import build_cached, project_dir
from ..errors import McuqError, RunnerError, ToolchainError, VerificationError
from ..toolchain import TOOLS, cache_root, require_tools
from .base import Runner, RunResult

_SANITIZER_MARKS = ("runtime error:", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                    "SUMMARY: AddressSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")


def sanitizer_report(stderr: str, lines: int = 12) -> list[str]:
    """The sanitizer report in a run's stderr (from its first marked line), or []."""
    text = stderr.splitlines()
    for k, line in enumerate(text):
        if any(m in line for m in _SANITIZER_MARKS):
            return [t for t in text[k:k + lines] if t.strip()]
    return []


class FirmwareRunner(Runner):
    """Builds the standalone C target for `target` ("host" or "cortex-m4") and runs it.

    sanitize=True builds the host binary with AddressSanitizer and UBSan
    (-fno-sanitize-recover=all): the runner is named "host-sanitize" and any sanitizer report
    fails it with the report's text (VerificationError).
    extra_cflags are added to the compile (tests use -DMCUQ_TEST_ROUNDING_FAULT).
    rounding: "double" (TFLite Micro's default) or "single" (TFLITE_SINGLE_ROUNDING); the runner
    is compared with the reference profile of that rounding (tflm / single-rounding).
    external_io / tile: generate options of the project (caller-owned I/O buffers; patch-based
    execution of the first layers, mcuq.tiling).
    pack: "off", "auto" or index bits (generate --target c --pack): the packed C project.
    """

    gives_intermediates = False

    def __init__(self, model, target: str = "host", sanitize: bool = False,
                 extra_cflags: tuple[str, ...] = (), cache_dir: Path | None = None,
                 timeout: float | None = None, rounding: str = "double",
                 external_io: bool = False, tile=None, pack="off"):
        from ..codegen.target_c import check_tile_pack
        from ..packing import parse_pack

        super().__init__(model)
        self.pack = parse_pack(pack)
        check_tile_pack(tile, self.pack)
        if target not in TOOLS:
            raise ValueError(target)
        from ..reference.profiles import profile_for_rounding

        self.rounding = rounding
        self.profile = profile_for_rounding(rounding).name
        self.target = target
        self.sanitize = sanitize and target == "host"
        self.name = "host-sanitize" if self.sanitize else target
        self.extra_cflags = tuple(extra_cflags)
        self.cache_dir = Path(cache_dir) if cache_dir else cache_root()
        self.timeout = timeout
        self.external_io = external_io
        self.tile = tile
        self._binary: Path | None = None

    # -- build -----------------------------------------------------------------------------
    def build(self) -> Path:
        """Generate and build the project (cached). A missing toolchain is a ToolchainError;
        a model the C target cannot generate, or a project that does not build, is a
        RunnerError with status "refused"."""
        if self._binary is None:
            require_tools(self.target)
            goal = self._make_target()
            try:
                project = project_dir(self.model, f"{goal}|{' '.join(self.extra_cflags)}",
                                      self.cache_dir, self.rounding,
                                      external_io=self.external_io, tile=self.tile,
                                      pack=self.pack)
                binary = build_cached(project, goal, project / "build" / goal / (
                    "model.elf" if goal == "cortex-m4" else "model"), self.extra_cflags)
            except (RunnerError, ToolchainError):
                raise
            except McuqError as e:
                raise RunnerError(f"{self.target}: {e.message}", e.hint) from None
            self._binary = binary
        return self._binary

    def _make_target(self) -> str:
        if self.target == "cortex-m4":
            return "cortex-m4"
        return "sanitize" if self.sanitize else "host"

    # -- run -------------------------------------------------------------------------------
    def _command(self, binary: Path, in_file: str, out_file: str) -> list[str]:
        args = ["--stream", in_file, out_file] + (["--windows"] if self.windows else [])
        if self.target == "host":
            return [str(binary), *args]
        return ["qemu-system-arm", "-machine", "mps2-an386", "-nographic",
                "-semihosting-config",
                "enable=on,target=native,arg=model" + "".join(f",arg={a}" for a in args),
                "-kernel", str(binary)]

    def run(self, inputs, keep_intermediates=False) -> RunResult:
        binary = self.build()
        batch = inputs[0].shape[0]
        outs_t = self.model.output_tensors()
        with tempfile.TemporaryDirectory(prefix="mcuq-run-") as tmp:
            payload = b"".join(
                np.ascontiguousarray(x[b]).tobytes() for b in range(batch) for x in inputs)
            Path(tmp, "in.bin").write_bytes(payload)
            timeout = self.timeout or (60.0 + 2.0 * batch)
            try:
                proc = subprocess.run(self._command(binary, "in.bin", "out.bin"), cwd=tmp,
                                      stdin=subprocess.DEVNULL, capture_output=True,
                                      timeout=timeout)
            except subprocess.TimeoutExpired:
                raise RunnerError(
                    f"{self.target}: firmware did not finish {batch} inferences in "
                    f"{timeout:.0f} s (hang?)",
                    "run the generated project's self-test (make run-host / run-qemu)",
                    status="crashed") from None
            report = sanitizer_report(proc.stderr.decode(errors="replace"))
            if self.sanitize and report:
                raise VerificationError(
                    f"{self.name}: the sanitizers reported undefined behaviour or a memory "
                    f"error in the generated C (exit status {proc.returncode}):\n    "
                    + "\n    ".join(report),
                    "this is a bug in mcuq's C kernels; please report it with the model")
            if proc.returncode != 0:
                text = (proc.stdout + proc.stderr).decode(errors="replace").strip()
                what = "faulted (hard fault / lockup)" if (
                    proc.returncode == 134 or "Lockup" in text) else "failed"
                first = text.splitlines()[:6]
                raise RunnerError(
                    f"{self.target}: firmware {what} with exit status {proc.returncode}"
                    + (":\n    " + "\n    ".join(first) if first else ""),
                    "run the generated project's self-test to reproduce", status="crashed")
            data = Path(tmp, "out.bin").read_bytes()
        per_sample = sum(t.nbytes for t in outs_t)
        if len(data) != per_sample * batch:
            raise RunnerError(
                f"{self.target}: firmware wrote {len(data)} bytes for {batch} samples, "
                f"expected {per_sample * batch}", "run the generated project's self-test",
                status="crashed")
        raw = np.frombuffer(data, np.uint8).reshape(batch, per_sample)
        outputs, off = [], 0
        for t in outs_t:
            chunk = raw[:, off:off + t.nbytes].copy()
            outputs.append(chunk.view(t.dtype).reshape(batch, *t.shape))
            off += t.nbytes
        return RunResult(outputs, {})
