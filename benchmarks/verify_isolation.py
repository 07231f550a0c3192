"""What running LiteRT and TFLite Micro in child processes costs `mcuq verify` on the happy path:
the default runners (reference, tflm, tflite) on 100 random samples per zoo model, with the
native runners in child processes (what verify does) and in this process (isolate=False, what
verify did before issue 9), measured side by side, alternating, best of --reps: wall seconds,
and CPU seconds of this process plus its children (what the work costs, whatever else runs on
the machine).

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
        cpu = {True: float("inf"), False: float("inf")}
        codes = set()
        for _ in range(args.reps):
            for isolate in (False, True):
                c0, t0 = _cpu(), time.perf_counter()
                r = verify_model(m, runners=("reference", "tflm", "tflite"),
                                 samples=args.samples, isolate=isolate)
                best[isolate] = min(best[isolate], time.perf_counter() - t0)
                cpu[isolate] = min(cpu[isolate], _cpu() - c0)
                codes.add(r.exit_code)
        rows.append([name, f"{best[False]:.2f}", f"{best[True]:.2f}",
                     f"{cpu[False]:.2f}", f"{cpu[True]:.2f}", f"{cpu[True] - cpu[False]:+.2f}",
                     f"{cpu[True] / cpu[False]:.2f}x", ",".join(map(str, sorted(codes)))])
    print(f"verify, runners reference,tflm,tflite, {args.samples} samples, best of {args.reps}")
    print(table(rows, ["model", "wall in-process s", "wall isolated s", "CPU in-process s",
                       "CPU isolated s", "CPU cost s", "CPU ratio", "exit"], "lrrrrrrl"))


def _cpu() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    main()
