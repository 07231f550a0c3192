"""Many one-op models through TensorFlow Lite Micro in ONE build: property tests generate a
batch of models (mcuq.testing.cbatch.Case), this links them all into one binary against the
prebuilt TFLite Micro (mcuq.testing.tflm_prebuilt) and runs every case in one process: on the
host (reference kernels) or on Cortex-M4 with CMSIS-NN under QEMU. Each case's outputs are
compared with mcuq's reference; returns the failures (empty: all identical)."""
from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .. import __version__
from ..codegen.carray import format_bytes
from ..codegen.layouts import TFLM_CXX_FLAGS, cpu
from ..codegen.render import ProjectWriter, firmware_dir
from ..codegen.tflm_ops import resolver_calls
from ..model import load_model
from ..reference import Interpreter
from .cbatch import Case
from .tflm_build import qemu_command
from .tflm_prebuilt import PrebuiltTflm

#: One arena for every case (the op test models are small); QEMU's mps2-an386 has 4 MiB RAM.
ARENA_BYTES = 512 * 1024
VARIANT = {"host": "host", "cortex-m4": "m4-cmsis_nn"}


def run_batch(cases: list[Case], target: str, tflm: PrebuiltTflm,
              workdir: str | None = None, timeout: float = 120) -> list[str]:
    """Build all cases into one TFLite Micro binary for `target` ("host" or "cortex-m4"), run
    them, compare with the reference. Returns one description per mismatching case."""
    tmp = tempfile.TemporaryDirectory(prefix="mcuq-tflm-batch-") if workdir is None else None
    root = Path(workdir or tmp.name)
    root.mkdir(parents=True, exist_ok=True)
    try:
        return _run(cases, target, tflm, root, timeout)
    finally:
        if tmp is not None:
            tmp.cleanup()


def _render(cases, models, proj: Path) -> None:
    methods: list[str] = []
    for m in models:
        methods += [method for _, method in resolver_calls(m) if method not in methods]
    names = [f"case{k}" for k in range(len(cases))]
    with ProjectWriter(proj, force=True) as w:
        for n, case in zip(names, cases):
            w.render("tflm/model_data.cc.j2", f"{n}.cc", {
                "version": __version__, "source": "property tests", "name": n,
                "model_bytes": format_bytes(case.model), "model_len": len(case.model)})
        # model_data.cc.j2 includes it: extern declarations give the arrays external linkage
        w.write_text("model_data.h", "".join(
            f"extern const unsigned char g_{n}_model_data[];\n" for n in names))
        w.render("tflm/batch_main.cc.j2", "main.cc", {
            "version": __version__, "cases": names, "methods": methods,
            "arena_size": ARENA_BYTES,
            "max_in": max(sum(t.nbytes for t in m.input_tensors()) for m in models),
            "max_out": max(sum(t.nbytes for t in m.output_tensors()) for m in models)})
        for f in ("startup.c", "mps2-an386.ld"):  # the C target's QEMU start-up
            w.copy(firmware_dir() / "mps2-an386" / f, f)


def _build(proj: Path, n: int, target: str, tflm: PrebuiltTflm) -> Path:
    d = tflm.downloads
    inc = [f"-I{tflm.root}", f"-I{d / 'flatbuffers/include'}", f"-I{d / 'gemmlowp'}",
           f"-I{d / 'ruy'}"]
    sources = [str(proj / "main.cc")] + [str(proj / f"case{k}.cc") for k in range(n)]
    flags = [*TFLM_CXX_FLAGS, "-Werror", "-O2", f"-I{proj}", *inc]
    lib = str(tflm.lib(VARIANT[target]))
    if target == "host":
        binary = proj / "batch"
        cmds = [["g++", *flags, *sources, lib, "-lm", "-o", str(binary)]]
    else:
        binary = proj / "batch.elf"
        arch = cpu("cortex-m4").flags.split()
        startup = proj / "startup.o"
        cmds = [["arm-none-eabi-gcc", "-std=c99", *arch, "-O2", "-c", str(proj / "startup.c"),
                 "-o", str(startup)],
                ["arm-none-eabi-g++", *flags, *arch, "-ffunction-sections", "-fdata-sections",
                 "-DMCUQ_CORTEX_M_GENERIC", *sources, str(startup), lib, "--specs=nano.specs",
                 "--specs=rdimon.specs", "-nostartfiles", f"-T{proj / 'mps2-an386.ld'}",
                 "-Wl,--gc-sections", "-lm", "-o", str(binary)]]
    for cmd in cmds:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise AssertionError("TFLite Micro batch build failed:\n" + proc.stderr[-4000:])
    return binary


def _run(cases: list[Case], target: str, tflm: PrebuiltTflm, root: Path,
         timeout: float) -> list[str]:
    models = [load_model(c.model) for c in cases]
    proj = root / "proj"
    _render(cases, models, proj)
    binary = _build(proj, len(cases), target, tflm)
    expected, lines = [], []
    for k, (case, m) in enumerate(zip(cases, models)):
        expected.append(Interpreter(m).run(case.inputs).outputs)
        batch = case.inputs[0].shape[0]
        (root / f"in{k}.bin").write_bytes(b"".join(
            np.ascontiguousarray(x[b]).tobytes() for b in range(batch) for x in case.inputs))
        lines.append(f"{k} in{k}.bin out{k}.bin\n")
    log, crashed = _run_all(binary, target, root, lines, timeout)
    failures = []
    for k, (case, m, exp) in enumerate(zip(cases, models, expected)):
        what = f"case {k} ({','.join(op.opcode for op in m.operators)})"
        if k in crashed:
            failures.append(f"{what}: {crashed[k]}")
            continue
        out = root / f"out{k}.bin"
        raw = np.frombuffer(out.read_bytes() if out.exists() else b"", np.uint8)
        per = sum(t.nbytes for t in m.output_tensors())
        batch = case.inputs[0].shape[0]
        if raw.size != per * batch:
            note = [line for line in log.splitlines() if line.startswith(f"case {k}:")]
            failures.append(f"{what}: {raw.size} output bytes, expected {per * batch}"
                            + (f" ({note[0]})" if note else ""))
            continue
        raw = raw.reshape(batch, per)
        off = 0
        for j, (t, e) in enumerate(zip(m.output_tensors(), exp)):
            got = raw[:, off:off + t.nbytes].copy().view(t.dtype).reshape(e.shape)
            off += t.nbytes
            if got.tobytes() != np.ascontiguousarray(e).tobytes():
                bad = np.argwhere(got != e)
                first = tuple(int(v) for v in bad[0]) if len(bad) else ()
                failures.append(f"{what} output {j}: {len(bad)} of {e.size} differ; first at "
                                f"{first}: ref {e[first] if first else '?'} vs TFLM "
                                f"{got[first] if first else '?'}")
    return failures


def _run_all(binary: Path, target: str, root: Path, lines: list[str],
             timeout: float) -> tuple[str, dict[int, str]]:
    """Run the cases of `lines` in one process; when it crashes or hangs, the first case it did
    not finish is blamed and the rest run in a new process. Returns (log, {case: reason})."""
    log, crashed, todo = "", {}, list(lines)
    while todo:
        (root / "list.txt").write_text("".join(todo))
        cmd = [str(binary), "list.txt"] if target == "host" else \
            qemu_command(binary, ("batch", "list.txt"))
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, cwd=root,
                                  stdin=subprocess.DEVNULL)
            out, code = (proc.stdout + proc.stderr).decode(errors="replace"), proc.returncode
        except subprocess.TimeoutExpired as e:
            out = ((e.stdout or b"") + (e.stderr or b"")).decode(errors="replace")
            code = None
        log += out
        done = {int(m) for m in re.findall(r"^done (\d+)", out, re.M)}
        left = [line for line in todo if int(line.split()[0]) not in done]
        if code in (0, 1) or not left:
            break
        k = int(left[0].split()[0])
        crashed[k] = (f"did not finish in {timeout:.0f} s (hang)" if code is None
                      else f"crashed (exit status {code})")
        todo = left[1:]
    return log, crashed
