"""What running LiteRT and TFLite Micro in child processes costs `mcuq verify` on the happy path:
the default runners (reference, tflm, tflite) on 100 random samples per zoo model, with the
native runners in child processes (what verify does) and in this process (isolate=False, what
verify did before issue 9), measured side by side, alternating, best of --reps.

Run: python benchmarks/verify_isolation.py [names...] [--reps 3] [--samples 100]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--samples", type=int, default=100)
    args = ap.parse_args()

    from mcuq.model import load_model
    from mcuq.report.common import table
    from mcuq.testing.zoo import ZOO_NAMES, zoo_models
    from mcuq.verification import verify_model

    zoo = zoo_models()
    rows = []
    for name in args.names or ZOO_NAMES:
        m = load_model(zoo[name])
        best = {True: float("inf"), False: float("inf")}
        codes = set()
        for _ in range(args.reps):
            for isolate in (False, True):
                t0 = time.perf_counter()
                r = verify_model(m, runners=("reference", "tflm", "tflite"),
                                 samples=args.samples, isolate=isolate)
                best[isolate] = min(best[isolate], time.perf_counter() - t0)
                codes.add(r.exit_code)
        rows.append([name, f"{best[False]:.2f}", f"{best[True]:.2f}",
                     f"{best[True] - best[False]:+.2f}", f"{best[True] / best[False]:.2f}x",
                     ",".join(map(str, sorted(codes)))])
    print(f"verify, runners reference,tflm,tflite, {args.samples} samples, best of {args.reps}")
    print(table(rows, ["model", "in-process s", "isolated s", "cost s", "ratio", "exit"],
                "lrrrrl"))


if __name__ == "__main__":
    main()
