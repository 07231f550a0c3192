"""The standalone C target on Cortex-M4, per model, measured in one run:

- arena: mcuq's planned arena (caller-owned I/O excluded) vs TFLite Micro's measured arena
  (head section = its activation plan, and total incl. the tail of persistent structures);
  also mcuq's arena + the I/O buffers, for a like-for-like view (TFLM's head holds the I/O);
- flash of the Cortex-M4 build (arm-none-eabi-size, model image minus a baseline image) vs the
  weight bytes in the .tflite;
- speed: instructions of one inference (unicorn, Cortex-M4, exact count) and estimated cycles
  (mcuq.m4timing: the Cortex-M4 timing table, a refill per taken branch, --wait-states flash
  wait states), next to TensorFlow Lite Micro built for Cortex-M4 with Arm's CMSIS-NN kernels
  (the prebuilt library in ../shared/third_party/tflm; the generated TFLM project's QEMU
  self-test, one MicroInterpreter::Invoke() counted on the same emulated Cortex-M4 with the same
  counter) on the same input;
- the C target built with TFLite Micro's double rounding (the default) and with single rounding
  (`generate --rounding single`: no sign term in the requantization's SMLAL addend), side by
  side: instructions and cycles per inference and per MAC, and flash;
- --by-op: instructions and estimated cycles per op of mcuq's inference.

Models: the zoo (mcuq/testing/zoo.py) and the benchmark-only real-size models of
benchmarks/models.py (the model kinds of issue 17). Targets (instructions): mcuq <= 0.8x
CMSIS-NN on every real-size model kind, geometric mean <= 0.7; <= 2.0 instructions/MAC on the
conv-heavy zoo models; no layer above 4 instructions/MAC.

Run: python benchmarks/firmware.py [--by-op] [--wait-states N] [--zoo | --bench] [names...]
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from mcuq.costs import inspect_model, op_macs  # noqa: E402
from mcuq.footprint import cortex_m4_footprint  # noqa: E402
from mcuq.instructions import measure, measure_function  # noqa: E402
from mcuq.m4timing import Timing  # noqa: E402
from mcuq.model import load_model  # noqa: E402
from mcuq.report.common import table  # noqa: E402
from mcuq.testing.zoo import ZOO_NAMES, zoo_models  # noqa: E402
from mcuq.vectors import random_inputs  # noqa: E402

INVOKE = "_ZN6tflite16MicroInterpreter6InvokeEv"
CONV_HEAVY = ("cnn", "ds_cnn", "mobilenet_v1", "resnet8", "first_layers")
TARGET_RATIO, TARGET_GEOMEAN, TARGET_PER_MAC, TARGET_LAYER = 0.8, 0.7, 2.0, 4.0


def tflm_anchor():
    """(prebuilt TFLite Micro, None) or (None, why the CMSIS-NN column is skipped)."""
    from mcuq.runners.firmware import missing_tools
    from mcuq.testing import tflm_prebuilt

    missing = missing_tools("cortex-m4")
    if "arm-none-eabi-gcc" in missing:
        return None, "arm-none-eabi-gcc not found"
    tflm = tflm_prebuilt.locate()
    if tflm is None:
        return None, tflm_prebuilt.missing_reason()
    return tflm, None


def cmsis_nn_cost(data: bytes, name: str, tflm, timing: Timing):
    """One Invoke() of the generated TFLM project's Cortex-M4 (CMSIS-NN) self-test on its first
    test vector (the same input mcuq is measured on)."""
    from mcuq.testing import tflm_build

    project = tflm_build.cached_project(data, name, tflm, vectors=1)
    elf = tflm_build.build(project, "cortex-m4", tflm)
    return measure_function(elf, INVOKE, timing)


def measure_models(models: dict[str, bytes], timing: Timing, by_op: bool, tflm):
    rows, speed, per_op, rounding_rows = [], [], {}, []
    t0 = time.perf_counter()
    for name, data in models.items():
        m = load_model(data)
        info = inspect_model(m)
        a = info.arena
        fp = cortex_m4_footprint(m)
        x = random_inputs(m, 1, 0)  # the TFLM project's test vector 0
        cost = measure(m, x, timing, by_op=by_op)[0]
        single = measure(m, x, timing, rounding="single")[0]
        fp1 = cortex_m4_footprint(m, painted=False, rounding="single")
        anchor = cmsis_nn_cost(data, name, tflm, timing) if tflm else None
        rounding_rows.append([
            name, f"{info.macs:,}", f"{cost.instructions:,}", f"{single.instructions:,}",
            f"{cost.instructions / max(info.macs, 1):.3f}",
            f"{single.instructions / max(info.macs, 1):.3f}",
            f"{single.instructions / cost.instructions:.4f}",
            f"{single.cycles / cost.cycles:.4f}", f"{fp.flash_bytes:,}",
            f"{fp1.flash_bytes:,}"])
        rows.append([
            name, f"{info.macs:,}", f"{a.c_arena_bytes:,}", f"{a.tflm_head_bytes:,}",
            f"{a.tflm_total_bytes:,}", f"{a.c_arena_bytes / a.tflm_total_bytes:.2f}",
            f"{(a.c_arena_bytes + a.c_io_bytes) / a.tflm_head_bytes:.2f}",
            f"{info.weight_bytes:,}", f"{fp.flash_bytes:,}",
            f"{fp.flash_bytes / max(info.weight_bytes, 1):.2f}"])
        speed.append((name, info.macs, cost, anchor))
        if by_op:
            per_op[name] = (m, cost)
        print(f"  {name}: done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    return rows, speed, per_op, rounding_rows


def speed_table(speed) -> str:
    rows = []
    for name, macs, c, anchor in speed:
        row = [name, f"{macs:,}", f"{c.instructions:,}", f"{c.instructions / max(macs, 1):.2f}",
               f"{c.cycles:,}", f"{c.cycles / max(macs, 1):.2f}"]
        if anchor:
            row += [f"{anchor.instructions:,}", f"{anchor.instructions / max(macs, 1):.2f}",
                    f"{anchor.cycles:,}", f"{c.instructions / anchor.instructions:.2f}",
                    f"{c.cycles / anchor.cycles:.2f}"]
        rows.append(row)
    head = ["model", "MACs", "mcuq instr", "instr/MAC", "mcuq cycles", "cycles/MAC"]
    if any(a for *_, a in speed):
        head += ["CMSIS-NN instr", "instr/MAC", "CMSIS-NN cycles", "mcuq/CMSIS instr",
                 "mcuq/CMSIS cycles"]
    return table(rows, head)


def by_op_table(m, cost) -> str:
    rows = []
    for op in cost.by_op:
        macs = op_macs(m, m.operators[op.index])
        path = op.label.rsplit("[", 1)[1].rstrip("]") if "[" in op.label else ""
        rows.append([f"{op.index}", op.opcode, path, f"{macs:,}", f"{op.instructions:,}",
                     f"{op.instructions / macs:.2f}" if macs else "-", f"{op.cycles:,}",
                     f"{op.cycles / macs:.2f}" if macs else "-",
                     f"{100 * op.instructions / max(cost.instructions, 1):.1f}"])
    return table(rows, ["#", "op", "kernel path", "MACs", "instr", "instr/MAC", "cycles",
                        "cycles/MAC", "% instr"])


def targets(speed, per_op) -> list[str]:
    from models import BENCH_NAMES, KINDS

    lines = []
    ratios = {n: c.instructions / a.instructions for n, _, c, a in speed if a}
    kinds = [n for n in BENCH_NAMES if n in ratios]
    if kinds:
        for n in kinds:
            ok = ratios[n] <= TARGET_RATIO
            lines.append(f"  {KINDS[n]:<62} {ratios[n]:.2f}x CMSIS-NN "
                         f"{'ok' if ok else 'MISSED'} (<= {TARGET_RATIO})")
        g = math.exp(sum(math.log(ratios[n]) for n in kinds) / len(kinds))
        lines.append(f"  geometric mean over {len(kinds)} model kinds: {g:.2f}x "
                     f"{'ok' if g <= TARGET_GEOMEAN else 'MISSED'} (<= {TARGET_GEOMEAN})")
    for n, macs, c, _ in speed:
        if n in CONV_HEAVY:
            v = c.instructions / macs
            lines.append(f"  {n}: {v:.2f} instructions/MAC "
                         f"{'ok' if v <= TARGET_PER_MAC else 'MISSED'} (<= {TARGET_PER_MAC})")
    for n, (m, cost) in per_op.items():
        worst = [(op.instructions / op_macs(m, m.operators[op.index]), op)
                 for op in cost.by_op if op_macs(m, m.operators[op.index])]
        over = [f"#{op.index} {op.opcode} {v:.2f}" for v, op in worst if v > TARGET_LAYER]
        lines.append(f"  {n}: layers above {TARGET_LAYER} instructions/MAC: "
                     + (", ".join(over) if over else "none"))
    return lines


def main(argv=None) -> int:
    from models import BENCH_NAMES, bench_models

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="zoo or benchmark model names (default: all)")
    ap.add_argument("--by-op", action="store_true", help="instructions and cycles per op")
    ap.add_argument("--wait-states", type=int, default=0, help="flash wait states (cycles)")
    ap.add_argument("--branch-refill", type=int, default=Timing().branch_refill,
                    help="pipeline refill cycles of a taken branch (1-3)")
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--zoo", action="store_true", help="the zoo models only")
    group.add_argument("--bench", action="store_true", help="the real-size models only")
    args = ap.parse_args(argv)
    timing = Timing(branch_refill=args.branch_refill, wait_states=args.wait_states)

    zoo = zoo_models()
    bench = {} if args.zoo else bench_models([n for n in BENCH_NAMES if n != "resnet8"])
    if args.bench:  # the real-size model kinds (the zoo's resnet8 is the real size)
        zoo = {"resnet8": zoo["resnet8"]}
    models = {**zoo, **{n: d for n, d in bench.items() if n not in zoo}}
    if args.names:
        unknown = [n for n in args.names if n not in models]
        if unknown:
            print(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(models)}",
                  file=sys.stderr)
            return 2
        models = {n: models[n] for n in args.names}
    tflm, why = tflm_anchor()
    if why:
        print(f"CMSIS-NN column skipped: {why}", file=sys.stderr)
    rows, speed, per_op, rounding_rows = measure_models(models, timing, args.by_op, tflm)
    print(table(rows, ["model", "MACs", "mcuq arena", "TFLM head", "TFLM total",
                       "arena/TFLM", "(arena+IO)/head", "weights", "M4 flash",
                       "flash/weights"]))
    print("\narena/TFLM: mcuq's static arena vs TFLite Micro's whole arena (what a user "
          "sizes); (arena+IO)/head: with the caller's I/O buffers, vs TFLM's activation plan.")
    print(f"\nSpeed on Cortex-M4 (one inference; cycles estimated: branch refill "
          f"{timing.branch_refill}, {timing.wait_states} flash wait states; see "
          "mcuq/m4timing.py):")
    print(speed_table(speed))
    print("\nCortex-M4 requantization: double rounding (TFLite Micro's default) vs single "
          "rounding (--rounding single), one inference each, same input:")
    print(table(rounding_rows, ["model", "MACs", "instr double", "instr single",
                                "instr/MAC double", "instr/MAC single", "single/double instr",
                                "single/double cycles", "flash double", "flash single"]))
    for name, (m, cost) in per_op.items():
        print(f"\n{name}: per op (mcuq)")
        print(by_op_table(m, cost))
    print("\nTargets:")
    print("\n".join(targets(speed, per_op)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
