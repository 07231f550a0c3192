"""`mcuq diagnose` on every zoo model: the ranking (most error added first) and the remedies,
on held-out samples (seed 1; the zoo was calibrated on seed 0), with the time each took.

    .venv/bin/python benchmarks/diagnose_zoo.py [samples]
"""
from __future__ import annotations

import sys
import time

from mcuq.diagnosis import diagnose_model
from mcuq.testing import zoo


def main(samples: int = 128) -> None:
    models = zoo.zoo_models()
    for name in zoo.ZOO_NAMES:
        data = zoo.calibration(name, n=samples, seed=1)
        t0 = time.perf_counter()
        d = diagnose_model(models[name], zoo.build_keras(name),
                           data=data if len(data) > 1 else data[0])
        secs = time.perf_counter() - t0
        outs = ", ".join(f"{o.output} {o.sqnr_db:.1f} dB" for o in d.outputs)
        print(f"== {name}: {len(d.layers)} tensors matched, {len(d.unmatched)} not; output SQNR "
              f"{outs}; {secs:.1f} s for {d.samples} samples")
        for k, t in enumerate(d.ranking[:3]):
            lr = d.layer(t)
            print(f"   {k + 1}. {lr.layer:10} {lr.op:18} adds {lr.score_db:5.1f} dB "
                  f"(whole tensor {lr.added_sqnr_db:5.1f}), {lr.sqnr_db:5.1f} dB at its output, "
                  f"rmse/scale {lr.rmse_over_scale:.2f}, saturation {lr.saturation:.3%}")
        for r in d.remedies:
            print(f"   remedy [{r.kind}] {r.summary}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
