"""Look-up-table weights on the device (issue 13), measured side by side in one run.

Models: the zoo models with their float kernels clustered to K in {4, 16, 64} values per output
channel (1-D k-means, mcuq.compression.clustering, no training; mcuq.testing.clustered), then
converted by mcuq; plus the compressed model of benchmarks/compress.py when its cache holds one
(prune 0.5, K = 16 per channel, Fashion-MNIST, else digits: converted with that data set's
calibration images). For each:

- Cortex-M4 flash (arm-none-eabi-size, model image minus a baseline image, mcuq.footprint) of
  the C target plain and with `--pack auto`; the packed tensors as stored in the packed image
  (their indices, tables and descriptors, measured from the image's symbols) against the ideal
  k/8 x weight bytes + tables. Target: <= 1.1 x ideal (the kernels' code difference is reported
  next to it: the plain kernels stay linked for the layers left plain);
- TFLite Micro's compression (`--target tflm --compress`): model bytes plain -> compressed;
- RAM: the C image's static RAM (arena + I/O buffers + the decode scratch) plain vs packed,
  target packed <= plain + the largest scratch; TFLite Micro's measured arena plain vs
  compressed (the decoded tensors live in it);
- Cortex-M4 instructions per inference (unicorn, exact), plain vs packed: target <= 1.2x.

Run: python benchmarks/packed.py [--models cnn,ds_cnn,...] [--k 4,16,64]
     [--compressed FILE.keras|FILE.tflite] [--compress-cache DIR]
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mcuq.errors import McuqError
from mcuq.footprint import cortex_m4_footprint
from mcuq.instructions import count_instructions
from mcuq.model import load_model
from mcuq.packing import plan_packing
from mcuq.report.common import table
from mcuq.testing.clustered import clustered_zoo
from mcuq.testing.zoo import ZOO_NAMES

FLASH_TARGET = 1.1
INSTR_TARGET = 1.2
#: Symbols of the generated model itself (not kernel code) in the footprint image.
_MODEL_SYMBOLS = re.compile(r"^(mcuq_model_|mcuq_footprint|main$)")


@dataclass
class Row:
    label: str
    k: str
    tensors: str = "-"  # packed tensors and their widths
    plain_w: int = 0  # bytes of the tensors that get packed, plain
    packed_w: int = 0  # their indices + tables
    ideal: float = 0.0  # k/8 x plain bytes + tables
    flash_plain: int = 0
    flash_packed: int = 0
    stored: int = 0  # the packed tensors' measured share of the packed image
    code_delta: int = 0  # kernel code packed image - plain image
    ram_plain: int = 0
    ram_packed: int = 0
    scratch: int = 0
    instr_plain: int = 0
    instr_packed: int = 0
    tflm_plain: int = 0
    tflm_compressed: int | None = None
    tflm_arena_plain: int | None = None
    tflm_arena_compressed: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def flash_ok(self) -> bool:
        return self.stored <= FLASH_TARGET * self.ideal

    @property
    def ram_ok(self) -> bool:
        # the scratch sits before the 16-byte aligned arena: it costs its size rounded up to 16
        return self.ram_packed <= self.ram_plain + -(-self.scratch // 16) * 16

    @property
    def instr_ratio(self) -> float:
        return self.instr_packed / max(self.instr_plain, 1)


def kernel_code_bytes(elf: str) -> int:
    """Code of mcuq's kernels in an image: every text symbol named mcuq_* that is not the
    generated model's own (arm-none-eabi-nm --size)."""
    out = subprocess.run(["arm-none-eabi-nm", "-S", "--size-sort", elf], capture_output=True,
                         text=True, check=True).stdout
    total = 0
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tT" and parts[3].startswith("mcuq_") \
                and not _MODEL_SYMBOLS.match(parts[3]):
            total += int(parts[1], 16)
    return total


_PACKED_SYMBOL = re.compile(r"_t\d+_(idx|tab|lut)$")


def packed_bytes_in_image(elf: str) -> int:
    """The packed tensors as stored in an image: the sizes of their indices, tables and
    mcuq_lut_t descriptors (symbols s_t<N>_idx / _tab / _lut of model.c), alignment excluded."""
    out = subprocess.run(["arm-none-eabi-nm", "-S", elf], capture_output=True, text=True,
                         check=True).stdout
    return sum(int(p[1], 16) for p in (line.split() for line in out.splitlines())
               if len(p) == 4 and _PACKED_SYMBOL.search(p[3]))


def measure(label: str, k: str, data: bytes) -> Row:
    from mcuq.tflm_arena import measure_tflm_arena
    from mcuq.tflm_compression import compress_for_tflm

    m = load_model(data)
    row = Row(label, k, tflm_plain=m.size)
    plan = plan_packing(m, "auto")
    if not plan:
        row.notes.append("no tensor gets smaller with k <= 6")
        return row
    row.tensors = f"{len(plan)} ({'/'.join(str(b) for b in sorted({x.bits for x in plan.values()}))}-bit)"
    row.plain_w = sum(m.tensors[i].nbytes for i in plan)
    row.packed_w = sum(x.nbytes for x in plan.values())
    row.ideal = sum(x.bits / 8 * x.raw_bytes + x.tables.size for x in plan.values())
    row.scratch = max(x.segment_len for x in plan.values())
    plain = cortex_m4_footprint(m, painted=False)
    packed = cortex_m4_footprint(m, painted=False, pack="auto")
    row.flash_plain, row.flash_packed = plain.flash_bytes, packed.flash_bytes
    row.code_delta = kernel_code_bytes(packed.elf) - kernel_code_bytes(plain.elf)
    row.stored = packed_bytes_in_image(packed.elf)
    row.ram_plain, row.ram_packed = plain.ram_bytes, packed.ram_bytes
    x = [np.random.default_rng(0).integers(-128, 128, (1, *t.shape), dtype=np.int8)
         for t in m.input_tensors()]
    row.instr_plain = count_instructions(m, x)[0]
    row.instr_packed = count_instructions(m, x, pack="auto")[0]
    try:
        c = compress_for_tflm(m)
        row.tflm_compressed = c.size
        row.tflm_arena_plain = measure_tflm_arena(m).total_bytes
        row.tflm_arena_compressed = measure_tflm_arena(c.data).total_bytes
    except McuqError as e:
        row.notes.append(f"TFLM: {e.message.split(': ', 1)[-1][:60]}")
    return row


def compressed_model(path: str | None, cache: str | None) -> tuple[str, bytes] | None:
    """(label, .tflite bytes) of benchmarks/compress.py's prune 0.5 K=16 per-channel cell."""
    if path is None:
        root = Path(cache or os.environ.get("MCUQ_CACHE") or Path.home() / ".cache" / "mcuq")
        found = []
        for pattern in ("fashion-mnist-p0.5-k16-pc-*.keras", "fashion-mnist-p0.5-k16-e*.keras",
                        "digits-p0.5-k16-pc-*.keras", "digits-p0.5-k16-e*.keras"):
            found = sorted((root / "bench-compress").glob(f"*/mcuq-*/{pattern}"),
                           key=lambda p: p.stat().st_mtime)
            found = [p for p in found if "labels" not in p.name]
            if found:
                break
        if not found:
            return None
        path = str(found[-1])
    if path.endswith(".tflite"):
        return Path(path).name, Path(path).read_bytes()
    import importlib.util

    import mcuq
    from mcuq.sources import import_keras

    spec = importlib.util.spec_from_file_location("bench_compress",
                                                  Path(__file__).with_name("compress.py"))
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # its dataclasses look their module up
    spec.loader.exec_module(bench)
    fashion = Path(path).name.startswith("fashion")
    if fashion and not Path("/usr/share/datasets/fashion-mnist").exists():
        print("Fashion-MNIST is not installed: skipping the compress benchmark's model",
              file=sys.stderr)
        return None
    ds = bench.fashion() if fashion else bench.digits()
    student = import_keras().models.load_model(path, compile=False)
    return Path(path).stem, mcuq.convert(student, ds.calib)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=",".join(n for n in ZOO_NAMES if n != "two_in_two_out"))
    ap.add_argument("--k", default="4,16,64")
    ap.add_argument("--compressed", default=None,
                    help="a compressed .keras/.tflite (default: benchmarks/compress.py's cache)")
    ap.add_argument("--compress-cache", default=None,
                    help="the MCUQ_CACHE folder benchmarks/compress.py ran with")
    args = ap.parse_args()
    t0 = time.perf_counter()
    extra = compressed_model(args.compressed, args.compress_cache)  # converts: fail early
    if extra is None:
        print("no compressed model of benchmarks/compress.py found (--compressed FILE or "
              "--compress-cache DIR): zoo models only", file=sys.stderr)
    rows = []
    for name in [n for n in args.models.split(",") if n]:
        for k in [int(v) for v in args.k.split(",") if v]:
            rows.append(measure(name, str(k), clustered_zoo(name, k)))
            print(f"  {name} K={k}: {time.perf_counter() - t0:.0f} s", file=sys.stderr,
                  flush=True)
    if extra is not None:
        rows.append(measure(extra[0], "16", extra[1]))
    print_rows(rows)
    print(f"\n{time.perf_counter() - t0:.0f} s")


def _ratio(a, b) -> str:
    return "-" if not a or not b else f"{a / b:.2f}"


def print_rows(rows: list[Row]) -> None:
    out = []
    for r in rows:
        if not r.plain_w:
            out.append([r.label, r.k, "-", "-", "-", "-", "-", "-", "-", "-", "-",
                        f"{r.tflm_plain:,}", "-", "; ".join(r.notes)])
            continue
        tflm = "-" if r.tflm_compressed is None else f"{r.tflm_plain:,}->{r.tflm_compressed:,}"
        arena = ("-" if r.tflm_arena_compressed is None
                 else f"{r.tflm_arena_plain:,}->{r.tflm_arena_compressed:,}")
        out.append([
            r.label, r.k, r.tensors, f"{r.plain_w:,}->{r.packed_w:,}",
            f"{r.flash_plain:,}->{r.flash_packed:,}",
            f"{r.stored / r.ideal:.2f}{'' if r.flash_ok else ' !'}", f"{r.code_delta:+,}",
            f"{r.ram_plain:,}->{r.ram_packed:,}{'' if r.ram_ok else ' !'}", f"{r.scratch:,}",
            f"{r.instr_plain:,}->{r.instr_packed:,}",
            f"{r.instr_ratio:.2f}{'' if r.instr_ratio <= INSTR_TARGET else ' !'}",
            tflm, arena, "; ".join(r.notes)])
    print(table(out, ["model", "K", "packed", "weights B", "M4 flash B", "store/ideal",
                      "kernel code", "M4 RAM B", "scratch", "instr/inference", "instr x",
                      "TFLM model B", "TFLM arena B", "notes"], "llllllrllllllll"))
    measured = [r for r in rows if r.plain_w]
    print(f"\ntargets: packed tensors' flash <= {FLASH_TARGET} x (k/8 x weight bytes + tables) "
          f"(+ kernel code, column 'kernel code'): met by "
          f"{sum(r.flash_ok for r in measured)}/{len(measured)}; RAM <= plain + the largest "
          f"scratch (rounded up to 16 B, the arena's alignment): "
          f"{sum(r.ram_ok for r in measured)}/{len(measured)}; instructions <= "
          f"{INSTR_TARGET}x plain: {sum(r.instr_ratio <= INSTR_TARGET for r in measured)}/"
          f"{len(measured)} ('!' marks a miss)")
    print("store/ideal: the packed tensors' indices + tables + descriptors in the packed image "
          "(arm-none-eabi-nm) / (k/8 x their bytes + tables); kernel code: mcuq_* code packed "
          "image - plain image; M4 RAM: arena + I/O buffers + "
          "decode scratch (static); TFLM arena: measured total, plain -> compressed (the decoded "
          "tensors live in it)")


if __name__ == "__main__":
    main()
