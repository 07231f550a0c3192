"""Throughput of mcuq's numpy int8 reference next to the real interpreters, in one run.

    .venv/bin/python benchmarks/reference.py        # zoo DS-CNN, MobileNetV1, ResNet-8
    .venv/bin/python benchmarks/reference.py --model a.tflite --samples 64

For each model, the same 256 random int8 inputs go through: the reference (vectorized over the
batch), TFLite with reference kernels (BUILTIN_REF), TFLite Micro, and TFLite's default
(optimized) kernels. Each runner gets one warm-up call, then the best of --repeat timed runs.
Prints inferences/s and the reference's speed relative to each (target: reference >= 1.0x
TFLite reference kernels), plus whether reference == TFLM to the byte on those inputs.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import numpy as np  # noqa: E402

RUNNERS = ("reference", "tflite", "tflm", "tflite-default")
#: Zoo models this benchmark reports on, matched case-insensitively against zoo_models() keys.
WANTED = {"DS-CNN": ("ds_cnn", "ds-cnn", "dscnn"),
          "MobileNetV1": ("mobilenet",),
          "ResNet-8": ("resnet",)}
TARGET = 1.0


def zoo_selection() -> dict[str, bytes]:
    from mcuq.testing.zoo import zoo_models

    zoo = zoo_models()
    chosen = {}
    for label, keys in WANTED.items():
        for name, data in zoo.items():
            if any(k in name.lower().replace(" ", "_") for k in keys):
                chosen[f"{label} ({name})" if name != label else label] = data
                break
        else:
            print(f"warning: no {label} model in zoo_models() ({', '.join(zoo)})",
                  file=sys.stderr)
    return chosen


def time_runner(runner, inputs, repeat: int) -> tuple[float, list[np.ndarray]]:
    runner.run([x[:2] for x in inputs])  # warm-up: imports, interpreter creation, caches
    best, outs = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        outs = runner.run(inputs).outputs
        best = min(best, time.perf_counter() - t0)
    return best, outs


def bench_model(name: str, data: bytes, samples: int, repeat: int, seed: int) -> dict:
    from mcuq.model import load_model
    from mcuq.runners import make_runner
    from mcuq.vectors import random_inputs

    model = load_model(data)
    inputs = random_inputs(model, samples, seed)
    rates, outputs = {}, {}
    for r in RUNNERS:
        seconds, outs = time_runner(make_runner(r, model), inputs, repeat)
        rates[r] = samples / seconds
        outputs[r] = outs
    exact = all(np.array_equal(a, b) for a, b in zip(outputs["reference"], outputs["tflm"]))
    return {"model": name, "ops": len(model.operators), "rates": rates, "exact_vs_tflm": exact}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", default=[],
                    help=".tflite file(s) to measure instead of the zoo models")
    ap.add_argument("--samples", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=1, help="timed runs per runner (best kept)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", action="store_true",
                    help=f"exit 1 if the reference is below {TARGET}x TFLite reference kernels")
    args = ap.parse_args(argv)

    if args.model:
        models = {os.path.basename(p): open(p, "rb").read() for p in args.model}
    else:
        try:
            models = zoo_selection()
        except ImportError as e:
            print(f"blocked: mcuq.testing.zoo is not available ({e}); pass --model FILE",
                  file=sys.stderr)
            return 2
    results = []
    for name, data in models.items():
        print(f"measuring {name} ({args.samples} inputs) ...", file=sys.stderr, flush=True)
        results.append(bench_model(name, data, args.samples, args.repeat, args.seed))

    header = (f"{'model':<28} {'ops':>4} " + " ".join(f"{r + ' inf/s':>20}" for r in RUNNERS)
              + f" {'ref/tflite':>10} {'ref/tflm':>9} {'ref/default':>11}  exact")
    print(header)
    print("-" * len(header))
    ok = True
    for res in results:
        rt = res["rates"]
        ratio = rt["reference"] / rt["tflite"]
        ok &= ratio >= TARGET
        print(f"{res['model']:<28} {res['ops']:>4} "
              + " ".join(f"{rt[r]:>20.1f}" for r in RUNNERS)
              + f" {ratio:>9.2f}x {rt['reference'] / rt['tflm']:>8.2f}x"
              f" {rt['reference'] / rt['tflite-default']:>10.2f}x  "
              + ("yes" if res["exact_vs_tflm"] else "NO"))
    print(f"target: reference >= {TARGET:.1f}x TFLite reference kernels: "
          + ("met" if ok else "MISSED"))
    return 1 if (args.check and not ok) else 0


if __name__ == "__main__":
    sys.exit(main())
