"""Throughput of mcuq's numpy int8 reference next to the real interpreters, in one run.

    .venv/bin/python benchmarks/reference.py        # every zoo model
    .venv/bin/python benchmarks/reference.py --model a.tflite --samples 64

For each model, the same 256 random int8 inputs go through: the reference (vectorized over the
batch), TFLite with reference kernels (BUILTIN_REF, one sample per invoke), TFLite Micro, and
TFLite's default (optimized) kernels. Each runner gets one warm-up call, then the best of
--repeat timed runs (a run of a small model takes a millisecond: on a shared machine one run
is noise). Prints inferences/s and the reference's speed relative to each (target: reference
>= 2.0x TFLite reference kernels), plus whether reference == TFLM to the byte on those inputs.
The reference limits BLAS to one thread while it runs (mcuq/reference/blas.py).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import numpy as np  # noqa: E402

RUNNERS = ("reference", "tflite", "tflm", "tflite-default")
TARGET = 2.0


def zoo_selection() -> dict[str, bytes]:
    from mcuq.testing.zoo import zoo_models

    return zoo_models()


def blas_note() -> str:
    """Which BLAS numpy uses and its default threads (the reference runs it on one)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS: threadpoolctl not installed (BLAS threads not limited)"
    libs = [f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads by "
            "default)" for i in threadpool_info() if i.get("user_api") == "blas"]
    return "BLAS: " + (", ".join(libs) or "none found") + "; the reference uses 1 thread"


def time_runner(runner, inputs, repeat: int, min_time: float = 1.0
                ) -> tuple[float, list[np.ndarray]]:
    """Best time of at least `repeat` runs, repeated until `min_time` seconds were spent (a
    run of a small model takes a millisecond: one run is noise on a shared machine)."""
    runner.run([x[:2] for x in inputs])  # warm-up: imports, interpreter creation, caches
    best, outs, spent, runs = float("inf"), None, 0.0, 0
    while runs < repeat or (spent < min_time and runs < 200):
        t0 = time.perf_counter()
        outs = runner.run(inputs).outputs
        dt = time.perf_counter() - t0
        best, spent, runs = min(best, dt), spent + dt, runs + 1
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
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per runner (best kept)")
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

    print(blas_note())
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
