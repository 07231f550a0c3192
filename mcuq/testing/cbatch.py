"""Many models through the standalone C target in ONE build: property tests generate a batch
of one-op models, this links them all into one host (or Cortex-M4) binary and runs every case
against the reference. Returns per-case mismatch descriptions (empty list: all identical)."""
from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..codegen.render import ProjectWriter, firmware_dir
from ..codegen.target_c import (PLATFORM_FILES, c_model, kernel_files, render_c_model,
                                template_data)
from ..model import load_model
from ..packing import plan_packing
from ..reference import Interpreter
from ..reference.profiles import profile_for_rounding
from ..toolchain import require_tools

HOST_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", "-g", "-fno-omit-frame-pointer",
              "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
ARM_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-mcpu=cortex-m4", "-mthumb",
             "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-ffunction-sections", "-fdata-sections"]


@dataclass
class Case:
    model: bytes
    inputs: list[np.ndarray]  # one array per model input, (B, *shape)
    #: filled by run_batch: the kernel paths the emitters chose, every op's in order
    paths: tuple[str, ...] = ()
    #: the caller's I/O buffers (generate --external-io) instead of I/O inside the arena
    external_io: bool = False
    #: patch-based execution of the first layers (generate --tile: "auto", "N:RxC")
    tile: str | None = None
    #: filled by run_batch: the ops the arena plan runs in place, {op index: method}
    inplace: dict = None
    #: weights stored packed (mcuq.packing.plan_packing): "off", "auto" or index bits
    pack: object = "off"
    #: plan_packing's tables: "auto", "channel" or "tensor"
    tables: str = "auto"


def run_batch(cases: list[Case], target: str = "host", extra_cflags: tuple[str, ...] = (),
              workdir: str | None = None, rounding: str = "double") -> list[str]:
    """Build all cases into one binary for `target`, run each, compare with the reference.
    rounding: the kernels' requantization ("double" or "single": built with
    -DMCUQ_SINGLE_ROUNDING=1 and compared with the reference's single-rounding profile).
    Returns a list of failure descriptions (one per mismatching case)."""
    require_tools(target)
    tmp_ctx = tempfile.TemporaryDirectory(prefix="mcuq-batch-") if workdir is None else None
    root = Path(workdir or tmp_ctx.name)
    flags = (f"-DMCUQ_SINGLE_ROUNDING={int(rounding == 'single')}", *extra_cflags)
    try:
        return _run(cases, target, flags, root, rounding)
    finally:
        if tmp_ctx is not None:
            tmp_ctx.cleanup()


def _run(cases, target, extra_cflags, root: Path, rounding: str) -> list[str]:
    models, expected, entries, sources = [], [], [], set()
    proj = root / "proj"
    with ProjectWriter(proj, force=True) as w:
        for k, case in enumerate(cases):
            m = load_model(case.model)
            interp = Interpreter(m, profile_for_rounding(rounding))
            packing = plan_packing(m, case.pack, case.tables) if case.pack != "off" else {}
            cm, _ = c_model(m, f"case{k}", interp, case.external_io, case.tile,
                            packing=packing)
            case.paths = tuple(p for call in cm.calls for p in call.paths)
            case.inplace = {i: c.method for i, c in cm.plan.inplace.items()}
            data = template_data(m, cm, [], rounding)
            render_c_model(w, data, prefix=f"case{k}/")
            sources.update(cm.sources)
            models.append(m)
            expected.append(interp.run(case.inputs).outputs)
            entries.append({"name": f"case{k}", "NAME": f"CASE{k}", "dir": f"case{k}",
                            "external_io": case.external_io,
                            "in_total": sum(t.nbytes for t in m.input_tensors()),
                            "out_total": sum(t.nbytes for t in m.output_tensors())})
        fw = firmware_dir()
        for f in kernel_files(sorted(sources)):
            w.copy(fw / "kernels" / f, f"mcuq/{f}")
        for f in PLATFORM_FILES:
            w.copy(fw / f, f"platform/{f}")
        w.render("c/batch_main.c.j2", "main.c", {
            "version": "test", "source": "property tests", "cases": entries,
            "max_in": max(sum(t.nbytes for t in m.input_tensors()) for m in models),
            "max_out": max(sum(t.nbytes for t in m.output_tensors()) for m in models)})
    srcs = [str(p) for p in sorted(proj.glob("case*/model.c"))] + \
        [str(p) for p in sorted((proj / "mcuq").glob("*.c"))] + [str(proj / "main.c")]
    if target == "host":
        binary = proj / "batch"
        cc, cflags, ldflags = "cc", [*HOST_FLAGS, *extra_cflags], [*HOST_FLAGS, *extra_cflags]
    else:
        binary = proj / "batch.elf"
        srcs.append(str(proj / "platform/mps2-an386/startup.c"))
        cc, cflags = "arm-none-eabi-gcc", [*ARM_FLAGS, *extra_cflags]
        ldflags = [*ARM_FLAGS, "--specs=nano.specs", "--specs=rdimon.specs", "-nostartfiles",
                   f"-T{proj / 'platform/mps2-an386/mps2-an386.ld'}", "-Wl,--gc-sections"]
    objects = _compile(cc, [*cflags, f"-I{proj}"], srcs, proj / "obj")
    proc = subprocess.run([cc, *objects, *ldflags, "-o", str(binary)], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise AssertionError("C link failed:\n" + proc.stderr[-4000:])
    failures = []
    for k, (case, m, exp) in enumerate(zip(cases, models, expected)):
        batch = case.inputs[0].shape[0]
        inp = root / f"in{k}.bin"
        out = root / f"out{k}.bin"
        inp.write_bytes(b"".join(np.ascontiguousarray(x[b]).tobytes()
                                 for b in range(batch) for x in case.inputs))
        if target == "host":
            run = [str(binary), str(k), str(inp), str(out)]
            env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
            res = subprocess.run(run, capture_output=True, timeout=60, env=env)
        else:
            run = ["qemu-system-arm", "-machine", "mps2-an386", "-nographic",
                   "-semihosting-config",
                   f"enable=on,target=native,arg=batch,arg={k},arg={inp.name},arg={out.name}",
                   "-kernel", str(binary)]
            res = subprocess.run(run, capture_output=True, timeout=120, cwd=root,
                                 stdin=subprocess.DEVNULL)
        if res.returncode != 0:
            failures.append(f"case {k} ({_ops(m)}): exit {res.returncode}: "
                            + (res.stdout + res.stderr).decode(errors="replace")[-1500:])
            continue
        raw = np.frombuffer(out.read_bytes(), np.uint8)
        per = sum(t.nbytes for t in m.output_tensors())
        if raw.size != per * batch:
            failures.append(f"case {k} ({_ops(m)}): {raw.size} output bytes, expected {per * batch}")
            continue
        raw = raw.reshape(batch, per)
        off = 0
        for j, (t, e) in enumerate(zip(m.output_tensors(), exp)):
            got = raw[:, off:off + t.nbytes].copy().view(t.dtype).reshape(e.shape)
            off += t.nbytes
            if got.tobytes() != np.ascontiguousarray(e).tobytes():  # bytes: -0.0 != +0.0
                bad = np.argwhere(got != e)
                first = tuple(int(v) for v in bad[0])
                failures.append(f"case {k} ({_ops(m)}) output {j}: {len(bad)} of {e.size} "
                                f"differ; first at {first}: ref {e[first]} vs C {got[first]}")
    return failures


def _compile(cc: str, flags: list[str], srcs: list[str], objdir: Path) -> list[str]:
    """Compile every source to its own object, on all CPU cores (one cc per file: the batch's
    many model.c files share a basename). Returns the object paths in source order."""
    from concurrent.futures import ThreadPoolExecutor

    objdir.mkdir(parents=True, exist_ok=True)
    objects = [str(objdir / f"{k}_{Path(src).stem}.o") for k, src in enumerate(srcs)]

    def one(pair):
        src, obj = pair
        return subprocess.run([cc, *flags, "-c", src, "-o", obj], capture_output=True,
                              text=True)

    with ThreadPoolExecutor(max_workers=max(os.cpu_count() or 1, 1)) as pool:
        results = list(pool.map(one, zip(srcs, objects)))
    errors = [r.stderr for r in results if r.returncode != 0]
    if errors:
        raise AssertionError("C build failed:\n" + errors[0][-4000:])
    return objects


def _ops(model) -> str:
    return ",".join(op.opcode for op in model.operators)
