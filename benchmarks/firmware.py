"""The standalone C target on Cortex-M4, per model, measured in one run:

RAM, counted the same way on both sides:
- mcuq's total RAM = the static RAM of the Cortex-M4 image (the arena, which holds the inputs,
  outputs, activations and in-place temporaries; no persistent state yet) + the stack measured
  on the Cortex-M4 (the larger of GCC's call graph and a painted stack over one inference);
- TFLite Micro's total = its whole arena (head: activations incl. inputs/outputs and kernel
  scratch; tail: its persistent structures). The fair figure is the Cortex-M4 build's own
  (`arena_used_bytes()` printed by the generated TFLite Micro project, CMSIS-NN kernels, 32-bit),
  used when ../shared/third_party/tflm holds a prebuilt TFLite Micro; otherwise the tflite-micro
  package's 64-bit figure (larger). TFLite Micro's stack is not counted (in its favour);
- mcuq's plan (its arena) vs TFLite Micro's head (the tflite-micro package's, 64-bit: the
  Cortex-M4 build prints only its total), and the largest live set of mcuq's plan (no plan of
  the same tensors is smaller).
RAM targets: total RAM <= 0.7x TFLite Micro's total on every model; plan <= 0.9x TFLite Micro's
head on models with depthwise or residual blocks. A missed target prints what bounds the model.

Flash of the Cortex-M4 build (arm-none-eabi-size, model image minus a baseline image) vs the
weight bytes in the .tflite.

Speed: instructions of one inference (unicorn, Cortex-M4, exact count) and estimated cycles
(mcuq.m4timing: the Cortex-M4 timing table, a refill per taken branch, --wait-states flash wait
states), next to TensorFlow Lite Micro built for Cortex-M4 with Arm's CMSIS-NN kernels (the
prebuilt library in ../shared/third_party/tflm; the generated TFLM project's QEMU self-test, one
MicroInterpreter::Invoke() counted on the same emulated Cortex-M4 with the same counter) on the
same input; the instructions of the same build with no op in place (the in-place cost);
the C target built with TFLite Micro's double rounding (the default) and with single rounding
(`generate --rounding single`: no sign term in the requantization's SMLAL addend), side by
side: instructions and cycles per inference and per MAC, and flash;
--by-op: instructions and estimated cycles per op of mcuq's inference.
Speed targets (instructions): mcuq <= 0.8x CMSIS-NN on every real-size model kind, geometric
mean <= 0.7; <= 2.0 instructions/MAC on the conv-heavy zoo models; no layer above 4
instructions/MAC.

Models: the zoo (mcuq/testing/zoo.py) and the benchmark-only real-size models of
benchmarks/models.py (the model kinds of issue 17).

--tile: patch-based execution (mcuq.tiling, `generate --tile auto`) on MobileNet-style 96x96x3
models built here (not in CI's zoo): MobileNetV2 (alpha 0.35, the visual-wake-words / MCUNet
backbone) and MobileNetV1 (alpha 0.25); peak (arena) tiled vs untiled and the extra MACs.
Target: >= 2x lower peak at <= 15 % extra MACs.

Run: python benchmarks/firmware.py [--by-op] [--wait-states N] [--zoo | --bench] [--tile]
     [names...]
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from mcuq.codegen.inplace import c_plan  # noqa: E402
from mcuq.costs import inspect_model, op_macs  # noqa: E402
from mcuq.footprint import cortex_m4_footprint  # noqa: E402
from mcuq.instructions import measure, measure_function  # noqa: E402
from mcuq.m4timing import Timing  # noqa: E402
from mcuq.model import load_model  # noqa: E402
from mcuq.report.common import table  # noqa: E402
from mcuq.testing.zoo import zoo_models  # noqa: E402
from mcuq.vectors import random_inputs  # noqa: E402

INVOKE = "_ZN6tflite16MicroInterpreter6InvokeEv"
CONV_HEAVY = ("cnn", "ds_cnn", "mobilenet_v1", "resnet8", "first_layers")
TARGET_RATIO, TARGET_GEOMEAN, TARGET_PER_MAC, TARGET_LAYER = 0.8, 0.7, 2.0, 4.0
TOTAL_TARGET, HEAD_TARGET = 0.7, 0.9
TILE_PEAK_TARGET, TILE_MACS_TARGET = 2.0, 0.15


def tflm_anchor():
    """(prebuilt TFLite Micro, None) or (None, why the CMSIS-NN column is skipped)."""
    from mcuq.toolchain import missing_tools
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
    test vector (the same input mcuq is measured on), and the arena_used_bytes() it prints."""
    from mcuq.testing import tflm_build

    project = tflm_build.cached_project(data, name, tflm, vectors=1)
    result = tflm_build.self_test(project, "cortex-m4", tflm)
    elf = tflm_build.build(project, "cortex-m4", tflm)
    return measure_function(elf, INVOKE, timing), (result.arena_used if result.passed else None)


def _has_blocks(m) -> bool:
    return any(op.opcode in ("DEPTHWISE_CONV_2D", "ADD") for op in m.operators)


def _largest_frame(fp) -> str:
    frames = [(int(p.rsplit("(", 1)[1].split()[0]), p.split(" (")[0]) for p in fp.stack_path
              if "(" in p and p.rsplit("(", 1)[1].split()[0].isdigit()]
    size, name = max(frames) if frames else (0, "?")
    return f"{name} {size:,} B"


def bound_note(name: str, m, plan, fp, tflm_total: int) -> str:
    """What stops `total <= 0.7 x TFLite Micro's total` for one model."""
    budget = TOTAL_TARGET * tflm_total
    parts = [f"{name}: total {fp.peak_ram_bytes:,} B > {budget:,.0f} B (0.7 x {tflm_total:,})"]
    if plan.size == plan.lower_bound:
        parts.append(f"the arena is its largest live set ({plan.lower_bound:,} B: no plan of "
                     "these tensors is smaller)")
    else:
        parts.append(f"the arena is {plan.size - plan.lower_bound:,} B above its largest live "
                     f"set ({plan.lower_bound:,} B)")
    parts.append(f"the stack is {fp.stack_bytes:,} B (largest frame: {_largest_frame(fp)})")
    if plan.lower_bound <= budget < plan.lower_bound + fp.stack_bytes:
        parts.append(f"the arena alone is {plan.size / tflm_total:.2f}x; the target needs a "
                     f"stack below {budget - plan.size:,.0f} B")
    return "; ".join(parts)


def measure_models(models: dict[str, bytes], timing: Timing, by_op: bool, tflm):
    ram, misses, rows, speed, per_op, rounding_rows = [], [], [], [], {}, []
    t0 = time.perf_counter()
    for name, data in models.items():
        m = load_model(data)
        info = inspect_model(m)
        a = info.arena
        plan = c_plan(m)
        fp = cortex_m4_footprint(m)
        x = random_inputs(m, 1, 0)  # the TFLM project's test vector 0
        cost = measure(m, x, timing, by_op=by_op)[0]
        plain = measure(m, x, timing, inplace=False)[0]
        single = measure(m, x, timing, rounding="single")[0]
        fp1 = cortex_m4_footprint(m, painted=False, rounding="single")
        rounding_rows.append([
            name, f"{info.macs:,}", f"{cost.instructions:,}", f"{single.instructions:,}",
            f"{cost.instructions / max(info.macs, 1):.3f}",
            f"{single.instructions / max(info.macs, 1):.3f}",
            f"{single.instructions / cost.instructions:.4f}",
            f"{single.cycles / cost.cycles:.4f}", f"{fp.flash_bytes:,}",
            f"{fp1.flash_bytes:,}"])
        anchor, m4_total = cmsis_nn_cost(data, name, tflm, timing) if tflm else (None, None)
        tflm_total = m4_total or a.tflm_total_bytes
        which = "M4" if m4_total else "pip"
        total_ratio = fp.peak_ram_bytes / tflm_total
        head_ratio = plan.size / a.tflm_head_bytes
        blocks = _has_blocks(m)
        ram.append([name, f"{plan.size:,}", f"{plan.lower_bound:,}", f"{fp.stack_bytes:,}",
                    f"{fp.peak_ram_bytes:,}", f"{tflm_total:,} ({which})",
                    f"{total_ratio:.2f}", f"{a.tflm_head_bytes:,}", f"{head_ratio:.2f}",
                    f"{len(plan.inplace)}", "yes" if blocks else "no"])
        if total_ratio > TOTAL_TARGET:
            misses.append(bound_note(name, m, plan, fp, tflm_total))
        if blocks and head_ratio > HEAD_TARGET:
            misses.append(f"{name}: plan {plan.size:,} B > 0.9 x TFLite Micro's head "
                          f"{a.tflm_head_bytes:,} B (largest live set {plan.lower_bound:,} B)")
        rows.append([name, f"{info.macs:,}", f"{info.weight_bytes:,}", f"{fp.flash_bytes:,}",
                     f"{fp.flash_bytes / max(info.weight_bytes, 1):.2f}",
                     f"{plain.instructions / max(info.macs, 1):.2f}",
                     f"{cost.instructions / plain.instructions:.2f}"])
        speed.append((name, info.macs, cost, anchor))
        if by_op:
            per_op[name] = (m, cost)
        print(f"  {name}: done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    return ram, misses, rows, speed, per_op, rounding_rows


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
    from mcuq.codegen.cmodel import build_cmodel

    calls = {c.index: c for c in build_cmodel(m, "model").calls}
    rows = []
    for op in cost.by_op:
        macs = op_macs(m, m.operators[op.index])
        call = calls.get(op.index)
        path = ""
        if call is not None:  # the kernel's first path label and the in-place method
            path = (call.paths[0] if call.paths else "") + \
                (f" ({call.inplace})" if call.inplace else "")
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


# ---- --tile: MobileNet-style 96x96 models -----------------------------------------------------

def mobilenets() -> dict[str, bytes]:
    """MobileNetV2 (alpha 0.35) and MobileNetV1 (alpha 0.25) at 96x96x3 from keras.applications
    (random weights, realistic BatchNorm statistics), converted to full int8 by mcuq."""
    from mcuq.conversion import convert_model
    from mcuq.sources import import_keras
    from mcuq.testing.zoo import _randomize_batchnorm

    keras = import_keras()
    x = np.random.default_rng(0).uniform(-1, 1, (64, 96, 96, 3)).astype(np.float32)
    out = {}
    for name, build in (("mobilenet_v2_0.35_96", lambda: keras.applications.MobileNetV2(
            input_shape=(96, 96, 3), alpha=0.35, weights=None, classes=2)),
                        ("mobilenet_v1_0.25_96", lambda: keras.applications.MobileNet(
                            input_shape=(96, 96, 3), alpha=0.25, weights=None, classes=2))):
        keras.utils.set_random_seed(0)
        model = build()
        _randomize_batchnorm(model, np.random.default_rng(1))
        out[name] = convert_model(model, [x], seed=0).data
    return out


def tile_table() -> None:
    from mcuq.tiling import tile_model

    rows, notes = [], []
    for name, data in mobilenets().items():
        m = load_model(data)
        t0 = time.perf_counter()
        try:
            tiled = tile_model(m, "auto")
        except Exception as e:  # noqa: BLE001 - a benchmark row, not a failure
            notes.append(f"{name}: {e}")
            continue
        f = tiled.figures()
        search = time.perf_counter() - t0
        fp = cortex_m4_footprint(m, tile=tiled.spec, painted=False)
        ratio = f["untiled_arena_bytes"] / f["arena_bytes"]
        tflm = inspect_model(m).arena
        rows.append([name, f"{tflm.tflm_head_bytes:,}", f"{f['untiled_arena_bytes']:,}",
                     str(tiled.spec), f"{f['arena_bytes']:,}", f"{ratio:.2f}",
                     f"{100 * f['extra_macs_fraction']:.1f} %", f"{fp.stack_bytes:,}",
                     f"{search:.0f} s"])
        if ratio < TILE_PEAK_TARGET or f["extra_macs_fraction"] > TILE_MACS_TARGET:
            notes.append(f"{name}: {ratio:.2f}x at {100 * f['extra_macs_fraction']:.1f} % "
                         "extra MACs")
        print(f"  {name}: done", file=sys.stderr, flush=True)
    print("\nPatch-based execution of the first layers (--tile auto), MobileNet-style 96x96x3")
    print(table(rows, ["model", "TFLM head", "peak untiled", "tile", "peak tiled",
                       "untiled/tiled", "extra MACs", "M4 stack", "search"]))
    print("peak: mcuq's arena (inputs, outputs, activations; ops in place in both); tile N:RxC: "
          "the first N ops over an R x C grid;\nTFLM head: TensorFlow Lite Micro's activation "
          "plan (tflite-micro package, 64-bit); M4 stack: call graph of the tiled build.")
    print(f"target: untiled/tiled >= {TILE_PEAK_TARGET} at <= {TILE_MACS_TARGET:.0%} extra MACs")
    for n in notes:
        print(f"  {n}")


def main(argv=None) -> int:
    from models import BENCH_NAMES, bench_models

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="zoo or benchmark model names (default: all)")
    ap.add_argument("--by-op", action="store_true", help="instructions and cycles per op")
    ap.add_argument("--wait-states", type=int, default=0, help="flash wait states (cycles)")
    ap.add_argument("--branch-refill", type=int, default=Timing().branch_refill,
                    help="pipeline refill cycles of a taken branch (1-3)")
    ap.add_argument("--tile", action="store_true", help="also the MobileNet 96x96 tiling rows")
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
        print(f"CMSIS-NN column skipped (TFLite Micro's totals are the pip package's): {why}",
              file=sys.stderr)
    ram, misses, rows, speed, per_op, rounding_rows = measure_models(models, timing, args.by_op, tflm)
    print("RAM (bytes): mcuq C target (Cortex-M4 build) vs TensorFlow Lite Micro")
    print(table(ram, ["model", "plan", "lower bound", "stack", "total RAM", "TFLM total",
                      "total/TFLM", "TFLM head", "plan/head", "in place", "dw/res"]))
    print("\nplan: mcuq's arena (inputs, outputs, activations, in-place temporaries); lower "
          "bound: its largest live set;\ntotal RAM: the image's static RAM (the arena) + the "
          "stack measured on Cortex-M4; TFLM total: TFLite Micro's arena_used_bytes() on "
          "Cortex-M4\n(M4: CMSIS-NN build under QEMU) or the tflite-micro package's 64-bit "
          "figure (pip); TFLM head: the package's head (64-bit).")
    print(f"RAM targets: total/TFLM <= {TOTAL_TARGET} on every model; plan/head <= "
          f"{HEAD_TARGET} on models with depthwise or residual blocks (dw/res)")
    print("\n".join(["all RAM targets met"] if not misses else ["missed:"] +
                    [f"  {n}" for n in misses]))
    print("\nFlash (Cortex-M4) and the in-place cost")
    print(table(rows, ["model", "MACs", "weights", "M4 flash", "flash/weights",
                       "instr/MAC no in-place", "in-place cost"]))
    print("no in-place: the same model built with no op in place (the Python API's "
          "inplace=False);\nin-place cost: instructions with / without (row copies, per-row "
          "kernel calls, the per-channel depthwise kernel).")
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
    print("\nSpeed targets:")
    print("\n".join(targets(speed, per_op)))
    if args.tile:
        tile_table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
