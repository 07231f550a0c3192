"""Run one mutant through mcuq's verbs and classify what happened (tests/test_fuzz.py in
process, benchmarks/fuzz.py in child processes).

Per command the outcome is one of:
  ok            exit 0 (for generate: the project built on the host and its self-test passed)
  refused       a clean error: exit 2, 3 (or 5 for verify: a runner refused or crashed), one
                "error:" line and a "hint:" line, no traceback
  traceback     a Python traceback (an exception that was not an McuqError)
  signal        the mcuq process was killed by a signal (child-process mode only)
  bad-exit      another exit code, or an error without its hint
  broken        generate exited 0 but the project does not build or its self-test fails
  left-behind   a temporary file or folder remained, or a failed generate left its output
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

CLEAN_EXITS = {"inspect": {0, 2, 3}, "verify": {0, 2, 3, 5}, "generate": {0, 2, 3}}
OUTCOMES = ("ok", "refused", "traceback", "signal", "bad-exit", "broken", "left-behind")


def commands(model: Path, out: Path) -> dict[str, list[str]]:
    return {
        "inspect": ["inspect", str(model)],
        "verify": ["verify", str(model), "--runners", "reference,tflm", "--samples", "8"],
        "generate": ["generate", str(model), "-o", str(out), "--target", "c", "--vectors", "2"],
    }


@dataclass
class Outcome:
    command: str
    kind: str
    exit_code: int | None
    detail: str = ""


@dataclass
class MutantResult:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return all(o.kind in ("ok", "refused") for o in self.outcomes)


def classify(command: str, code: int | None, output: str, traceback: bool) -> Outcome:
    if traceback:
        return Outcome(command, "traceback", code, output[-2000:])
    if code is not None and code < 0:
        return Outcome(command, "signal", code, output[-2000:])
    if code == 0:
        return Outcome(command, "ok", code)
    if code in CLEAN_EXITS[command] and (command == "verify" and code == 5
                                         or ("error:" in output and "hint:" in output)):
        return Outcome(command, "refused", code, _first_error(output))
    return Outcome(command, "bad-exit", code, output[-2000:])


def _first_error(output: str) -> str:
    return next((ln for ln in output.splitlines() if ln.startswith("error:")), "")[:300]


def build_project(project: Path, timeout: float = 300.0) -> str | None:
    """Build the generated project on the host (-O0: the check is that it compiles, warning
    free, and that its self-test passes) and run the self-test. None if fine, else the log."""
    try:
        proc = subprocess.run(["make", "-C", str(project), "run-host", "HOST_CFLAGS=-O0"],
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return "make run-host timed out"
    if proc.returncode != 0:
        return (proc.stdout + proc.stderr)[-3000:]
    return None


def leftovers(tmp: Path, out: Path, generated: bool) -> list[str]:
    """What a command left behind in the scratch folder `tmp` (which holds `out`)."""
    left = [p.name for p in tmp.iterdir() if p.name not in ("model.tflite", out.name)]
    if not generated and out.exists():
        left.append(out.name)
    return left


def in_process(data: bytes, workdir: Path, build: bool = True) -> MutantResult:
    """Every command through click's CliRunner in this process (native code still runs in
    mcuq's own child processes). Temporary files go to `workdir`, checked empty after."""
    from click.testing import CliRunner

    from ..cli import main

    result = MutantResult()
    runner = CliRunner()
    for name in ("inspect", "verify", "generate"):
        tmp = Path(tempfile.mkdtemp(dir=workdir))
        model, out = tmp / "model.tflite", tmp / "out"
        model.write_bytes(data)
        saved = tempfile.tempdir
        tempfile.tempdir = str(tmp)
        try:
            res = runner.invoke(main, commands(model, out)[name])
        finally:
            tempfile.tempdir = saved
        tb = res.exception is not None and not isinstance(res.exception, SystemExit)
        detail = res.output
        if tb:
            import traceback

            detail += "".join(traceback.format_exception(res.exception))
        o = classify(name, res.exit_code, detail, tb)
        if o.kind in ("ok", "refused"):
            left = leftovers(tmp, out, name == "generate" and res.exit_code == 0)
            if left:
                o = Outcome(name, "left-behind", res.exit_code, ", ".join(left))
            elif name == "generate" and res.exit_code == 0 and build:
                log = build_project(out)
                if log is not None:
                    o = Outcome(name, "broken", 0, log)
        result.outcomes.append(o)
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def in_children(data: bytes, workdir: Path, env: dict | None = None, build: bool = True,
                timeout: float = 900.0) -> MutantResult:
    """Every command as `python -m mcuq.cli ...` in a child process (a signal is seen)."""
    result = MutantResult()
    for name in ("inspect", "verify", "generate"):
        tmp = Path(tempfile.mkdtemp(dir=workdir))
        model, out = tmp / "model.tflite", tmp / "out"
        model.write_bytes(data)
        child_env = dict(env or os.environ, TMPDIR=str(tmp))
        try:
            proc = subprocess.run([sys.executable, "-m", "mcuq.cli", *commands(model, out)[name]],
                                  capture_output=True, text=True, env=child_env,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
            code, text = proc.returncode, proc.stdout + proc.stderr
        except subprocess.TimeoutExpired:
            code, text = None, f"timed out after {timeout} s"
        if code is None:
            o = Outcome(name, "bad-exit", None, text)
        else:
            o = classify(name, code, text, "Traceback (most recent call last)" in text)
        if o.kind in ("ok", "refused"):
            left = leftovers(tmp, out, name == "generate" and code == 0)
            if left:
                o = Outcome(name, "left-behind", code, ", ".join(left))
            elif name == "generate" and code == 0 and build:
                log = build_project(out)
                if log is not None:
                    o = Outcome(name, "broken", 0, log)
        result.outcomes.append(o)
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def _hide_cross_toolchain() -> None:
    """In a worker: generate's Cortex-M4 figures become the 'install arm-none-eabi-gcc' note."""
    from .. import footprint

    footprint.missing_tools = lambda target: ["arm-none-eabi-gcc"]


def _one(job: tuple[bytes, str], build: bool) -> MutantResult:
    data, workdir = job
    return in_process(data, Path(workdir), build=build)


def run_many(mutants: list[bytes], workdir: Path, processes: int = 2,
             build: bool = True) -> list[MutantResult]:
    """in_process() for every mutant, spread over `processes` fresh worker processes (one
    core each; each worker's own native children as usual). Results in order."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    ctx = multiprocessing.get_context("spawn")  # no fork of a process with threads
    with ProcessPoolExecutor(processes, mp_context=ctx,
                             initializer=_hide_cross_toolchain) as pool:
        return list(pool.map(partial(_one, build=build),
                             [(m, str(workdir)) for m in mutants]))


def without_cross_toolchain(bin_dir: Path) -> dict:
    """An environment whose PATH has the host tools but no arm-none-eabi-* (generate's
    Cortex-M4 figures become a note: a fuzz run measures mcuq, not the cross compiler)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for tool in ("cc", "gcc", "make", "as", "ld", "ld.bfd", "sh", "rm", "mkdir", "cat"):
        found = shutil.which(tool)
        if found and not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(found)
    return dict(os.environ, PATH=str(bin_dir))


__all__ = ["in_process", "in_children", "run_many", "classify", "Outcome", "MutantResult",
           "OUTCOMES", "without_cross_toolchain", "build_project"]
