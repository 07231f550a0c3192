"""The standalone C target on Cortex-M4, per zoo model, measured in one run:

- arena: mcuq's planned arena (caller-owned I/O excluded) vs TFLite Micro's measured arena
  (head section = its activation plan, and total incl. the tail of persistent structures);
  also mcuq's arena + the I/O buffers, for a like-for-like view (TFLM's head holds the I/O);
- flash of the Cortex-M4 build (arm-none-eabi-size, model image minus a baseline image) vs the
  weight bytes in the .tflite;
- executed instructions per inference (unicorn, Cortex-M4, exact count) per MAC.

Targets for later rounds: arena <= 0.7x TFLite Micro, <= 3 instructions/MAC on conv models.
Run: python benchmarks/firmware.py [names...]
"""
from __future__ import annotations

import sys
import time

import numpy as np

from mcuq.costs import inspect_model
from mcuq.footprint import cortex_m4_footprint
from mcuq.instructions import count_instructions
from mcuq.model import load_model
from mcuq.report.common import table
from mcuq.testing.zoo import ZOO_NAMES, zoo_models


def main(names) -> None:
    t0 = time.perf_counter()
    models = zoo_models()
    rows = []
    for name in names:
        m = load_model(models[name])
        info = inspect_model(m)
        a = info.arena
        fp = cortex_m4_footprint(m)
        x = [np.random.default_rng(0).integers(-128, 128, (1, *t.shape), dtype=np.int8)
             for t in m.input_tensors()]
        instr = count_instructions(m, x)[0]
        rows.append([
            name, f"{info.macs:,}", f"{a.c_arena_bytes:,}", f"{a.tflm_head_bytes:,}",
            f"{a.tflm_total_bytes:,}", f"{a.c_arena_bytes / a.tflm_total_bytes:.2f}",
            f"{(a.c_arena_bytes + a.c_io_bytes) / a.tflm_head_bytes:.2f}",
            f"{info.weight_bytes:,}", f"{fp.flash_bytes:,}",
            f"{fp.flash_bytes / info.weight_bytes:.2f}", f"{instr:,}",
            f"{instr / max(info.macs, 1):.2f}"])
        print(f"  {name}: done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    print(table(rows, ["model", "MACs", "mcuq arena", "TFLM head", "TFLM total",
                       "arena/TFLM", "(arena+IO)/head", "weights", "M4 flash", "flash/weights",
                       "instr/inf", "instr/MAC"]))
    print("\narena/TFLM: mcuq's static arena vs TFLite Micro's whole arena (what a user "
          "sizes); (arena+IO)/head: with the caller's I/O buffers, vs TFLM's activation plan.")


if __name__ == "__main__":
    main(sys.argv[1:] or list(ZOO_NAMES))
