"""Float vs int8 vs 16x8 (int16 activations, int8 weights), one table, one run.

For every zoo model (mcuq/testing/zoo.py) and two models trained here on real data bundled with
scikit-learn (no network): a regression MLP on `load_diabetes` (RMSE in the target's units) and a
small CNN on `load_digits` (accuracy), the float Keras model is converted twice with mcuq's
converter, int8 and 16x8, on the same calibration samples (mcuq.int16_comparison, the code behind
`verify --compare-int16`), and each conversion is measured:

- its task metric on held-out samples (zoo models have synthetic inputs and no labels: top-1
  agreement with the float model for classifiers, RMSE against it for the autoencoder),
  computed from mcuq's reference outputs (== TFLite Micro's, proved by the tests);
- SQNR of the outputs against the float model (the worst output for multi-output models);
- arena bytes: mcuq's C target arena (inputs/outputs inside) and TensorFlow Lite Micro's
  measured arena (the tflite-micro package, 64-bit host);
- Cortex-M4 instructions of one inference of the standalone C target (mcuq.instructions:
  unicorn counts every executed Thumb instruction of the arm-none-eabi-gcc build) and of
  TensorFlow Lite Micro with Arm's CMSIS-NN kernels (one MicroInterpreter::Invoke() of the
  generated TFLM project's Cortex-M4 build, counted the same way; the prebuilt library in
  ../shared/third_party/tflm, as benchmarks/firmware.py), on the same input (the TFLM
  project's test vector 0: random integers); TFLite Micro's arena is the Cortex-M4 build's
  own arena_used_bytes() when it runs there, else the tflite-micro package's (64-bit);
  the last column is the 16x8 conversion's mcuq C instructions over TFLite Micro +
  CMSIS-NN's (the C target's 16x8 kernels aim at <= 1.00x).

A model the 16x8 converter refuses (an op without a 16-bit kernel) shows "refused" and the ops.

Run: python benchmarks/int16.py [names...]   (names: zoo names, diabetes, digits)
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from mcuq.int16_comparison import compare_int16  # noqa: E402
from mcuq.model import parse_model  # noqa: E402
from mcuq.report.common import table  # noqa: E402
from mcuq.testing import zoo  # noqa: E402
from mcuq.verification import Inputs, prepare_inputs  # noqa: E402

REAL = ("diabetes", "digits")
#: zoo models whose first output is a regression (RMSE vs the float model), not class scores
REGRESSION = ("autoencoder",)


def _inputs(arrays: list[np.ndarray], labels=None) -> Inputs:
    return Inputs(arrays=arrays, real=arrays, source="benchmark", labels=labels)


def zoo_case(name: str) -> dict:
    keras_model = zoo.build_keras(name)
    calib = zoo.calibration(name, n=200, seed=0)
    test = zoo.calibration(name, n=200, seed=1)
    kind = "rmse_vs_float" if name in REGRESSION else "agreement"
    return {"name": name, "model": keras_model, "calib": calib, "test": test, "labels": None,
            "kind": kind}


def diabetes_case(seed: int = 0) -> dict:
    """A 10-feature regression (disease progression after one year), 342 train / 100 test."""
    from sklearn.datasets import load_diabetes

    from mcuq.sources import import_keras

    keras = import_keras()
    keras.utils.set_random_seed(seed)
    x, y = load_diabetes(return_X_y=True)
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(x))
    tr, te = idx[:342], idx[342:]
    mu, sd = x[tr].mean(0), x[tr].std(0)
    x = ((x - mu) / sd).astype(np.float32)
    ym, ys = y[tr].mean(), y[tr].std()
    L = keras.layers
    inp = keras.Input((10,), name="features")
    h = L.Dense(32, activation="relu")(inp)
    h = L.Dense(16, activation="relu")(h)
    out = L.Dense(1, name="progression")(h)
    m = keras.Model(inp, out, name="diabetes")
    m.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mse")
    m.fit(x[tr], ((y[tr] - ym) / ys).astype(np.float32), epochs=150, batch_size=32, verbose=0)
    return {"name": "diabetes (sklearn, regression)", "model": m, "calib": [x[tr]],
            "test": [x[te]], "labels": None, "targets": y[te], "target_scale": (ym, ys),
            "kind": "rmse"}


def digits_case(seed: int = 0) -> dict:
    """8x8 handwritten digits, a small CNN, 1,347 train / 450 test."""
    from sklearn.datasets import load_digits

    from mcuq.sources import import_keras

    keras = import_keras()
    keras.utils.set_random_seed(seed)
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32).reshape(-1, 8, 8, 1)
    idx = np.random.default_rng(seed).permutation(len(x))
    tr, te = idx[:1347], idx[1347:]
    L = keras.layers
    inp = keras.Input((8, 8, 1), name="image")
    h = L.Conv2D(16, 3, padding="same", activation="relu")(inp)
    h = L.Conv2D(32, 3, padding="same", activation="relu")(h)
    h = L.MaxPooling2D()(h)
    h = L.Flatten()(h)
    h = L.Dense(64, activation="relu")(h)
    out = L.Dense(10, activation="softmax", name="classes")(h)
    m = keras.Model(inp, out, name="digits")
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    m.fit(x[tr], y[tr], epochs=12, batch_size=32, verbose=0)
    return {"name": "digits (sklearn, CNN)", "model": m, "calib": [x[tr][:300]],
            "test": [x[te]], "labels": y[te], "kind": "accuracy"}


def _metric(case: dict, outs: list[np.ndarray], fouts: list[np.ndarray]) -> float:
    o = outs[0]
    if case["kind"] == "accuracy":
        return float(np.mean(np.argmax(o, 1) == case["labels"]))
    if case["kind"] == "agreement":
        return float(np.mean(np.argmax(o, 1) == np.argmax(fouts[0], 1)))
    if case["kind"] == "rmse_vs_float":
        return float(np.sqrt(np.mean((o - fouts[0]) ** 2)))
    ym, ys = case["target_scale"]
    pred = o[:, 0] * ys + ym
    return float(np.sqrt(np.mean((pred - case["targets"]) ** 2)))


def _instructions(fig) -> int | None:
    from mcuq.instructions import count_instructions
    from mcuq.vectors import random_inputs

    m = parse_model(fig._data, f"<{fig.label}>")
    return count_instructions(fig._data, random_inputs(m, 1, 0))[0]  # TFLM's vector 0


def _cmsis_nn(fig, name: str, tflm) -> tuple[int | None, int | None, str | None]:
    """(instructions of one Invoke(), arena_used_bytes() on Cortex-M4, error)."""
    from firmware import cmsis_nn_cost

    from mcuq.errors import McuqError
    from mcuq.m4timing import Timing

    try:
        cost, arena = cmsis_nn_cost(fig._data, f"{name}_{fig.activations}", tflm, Timing())
    except McuqError as e:
        return None, None, e.message
    return cost.instructions, arena, None


def measure(case: dict, count: bool, tflm=None) -> dict:
    t0 = time.perf_counter()
    cmp = compare_int16(None, case["model"], _inputs(case["test"], case["labels"]),
                        measure_tflm=True, calibration=case["calib"] if len(case["calib"]) > 1
                        else case["calib"][0])
    fouts = cmp._float_outputs
    row = {"name": case["name"], "kind": case["kind"],
           "float": _metric(case, fouts, fouts) if case["kind"] in ("accuracy", "rmse")
           else None}
    for c in cmp.conversions:
        if c.status != "ok":
            row[c.activations] = {"status": c.status, "reason": c.reason}
            continue
        row[c.activations] = {
            "status": "ok", "metric": _metric(case, c._outputs, fouts),
            "sqnr_db": min(o.sqnr_db for o in c.outputs), "c_arena": c.c_arena_bytes,
            "tflm_arena": c.tflm_total_bytes, "tflite": c.tflite_bytes,
            "instructions": _instructions(c) if count else None}
        if tflm is not None:
            short = case["name"].split()[0]
            n, arena, err = _cmsis_nn(c, short, tflm)
            row[c.activations].update(cmsis_nn=n, cmsis_nn_error=err)
            if arena:
                row[c.activations]["tflm_arena"] = arena
    row["seconds"] = time.perf_counter() - t0
    return row


def _fmt_metric(kind: str, v) -> str:
    if v is None:
        return "-"
    if kind in ("accuracy", "agreement"):
        return f"{100 * v:.2f}%"
    return f"{v:.4g}" if v < 1 else f"{v:.2f}"


def _pair(a: dict, b: dict, key: str, fmt="{:,}") -> str:
    x, y = a.get(key), b.get(key)
    if x is None or y is None:
        return "-"
    return f"{fmt.format(x)} -> {fmt.format(y)} ({y / x:.2f}x)"


def _ratio(row: dict, key: str, other: str) -> str:
    """row[key] / row[other] (the same conversion on two targets)."""
    x, y = row.get(key), row.get(other)
    return "-" if x is None or not y else f"{x / y:.2f}x"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("names", nargs="*", help="zoo names, diabetes, digits (default: all)")
    p.add_argument("--no-instructions", action="store_true",
                   help="skip the Cortex-M4 builds and instruction counts")
    p.add_argument("--no-cmsis-nn", action="store_true",
                   help="skip TensorFlow Lite Micro + CMSIS-NN on Cortex-M4")
    args = p.parse_args(argv)
    names = args.names or [*zoo.ZOO_NAMES, *REAL]
    count = not args.no_instructions
    tflm = None
    if count:
        from mcuq.toolchain import missing_tools

        missing = missing_tools("cortex-m4")
        if missing:
            print(f"Cortex-M4 instruction counts skipped: {', '.join(missing)} missing")
            count = False
    if count and not args.no_cmsis_nn:
        from firmware import tflm_anchor

        tflm, why = tflm_anchor()
        if tflm is None:
            print(f"TFLite Micro + CMSIS-NN column skipped: {why}")
    start = time.perf_counter()
    rows = []
    for name in names:
        case = {"diabetes": diabetes_case, "digits": digits_case}.get(
            name, lambda n=name: zoo_case(n))()
        r = measure(case, count, tflm)
        rows.append(r)
        print(f"  {r['name']}: {r['seconds']:.1f} s", file=sys.stderr)
    table_rows = []
    refused = []
    for r in rows:
        a, b = r["int8"], r["int16"]
        metric = {"accuracy": "accuracy", "agreement": "top-1 agreement vs float",
                  "rmse": "RMSE vs targets", "rmse_vs_float": "RMSE vs float"}[r["kind"]]
        if b["status"] != "ok":
            refused.append(f"{r['name']}: 16x8 {b['status']}: {b['reason']}")
            b = {}
        table_rows.append([
            r["name"], metric, _fmt_metric(r["kind"], r["float"]),
            _fmt_metric(r["kind"], a.get("metric")), _fmt_metric(r["kind"], b.get("metric")),
            "-" if a.get("sqnr_db") is None else f"{a['sqnr_db']:.1f}",
            "-" if b.get("sqnr_db") is None else f"{b['sqnr_db']:.1f}",
            _pair(a, b, "c_arena"), _pair(a, b, "tflm_arena"), _pair(a, b, "instructions"),
            _pair(a, b, "cmsis_nn"), _ratio(b, "instructions", "cmsis_nn")])
        for k, v in (("int8", a), ("16x8", b)):
            if v.get("cmsis_nn_error"):
                refused.append(f"{r['name']}: TFLite Micro + CMSIS-NN {k}: {v['cmsis_nn_error']}")
    print(table(table_rows, ["model", "metric", "float", "int8", "16x8", "SQNR int8 dB",
                             "SQNR 16x8 dB", "C arena B int8 -> 16x8", "TFLM arena B",
                             "mcuq C M4 instructions", "TFLM+CMSIS-NN M4 instructions",
                             "16x8 mcuq C / TFLM+CMSIS-NN"],
                "llrrrrrllllr"))
    for line in refused:
        print(line)
    print(f"({time.perf_counter() - start:.0f} s; SQNR: the worst output against the float "
          "model; zoo inputs are synthetic (mcuq.testing.zoo.calibration), calibrated on seed "
          "0 and measured on seed 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
