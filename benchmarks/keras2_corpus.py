"""Keras 2-era models as they are published for microcontrollers, through the whole pipeline.

Builds (with tf_keras, in this process) the shapes people publish — MobileNet v1/v2 with `alpha`
(visual wake words), DS-CNN keyword spotting as a Keras 2 SavedModel with optimizer slots,
ResNet-8 with L2 regularizers, the MLPerf Tiny anomaly autoencoder, a Conv1D gesture model, a
model with SeparableConv2D / ZeroPadding2D / Activation / ReLU(max_value=6) / LeakyReLU(alpha),
Sequentials nested in Sequentials, a `.keras` file written by tf_keras, SavedModels with a
custom layer or a Lambda — plus any real model files given on the command line, and the files
mcuq must refuse (weights only, Lambda in an .h5). For each: `mcuq convert` (CLI, no flags),
`verify --runners reference,tflm,host --float`, and what the loader chain chose and why.

    python benchmarks/keras2_corpus.py [--only NAME ...] [--samples 40] [FILE[:SHAPE] ...]

A FILE given as path/to/model.h5:64x64x1 gets random uniform [0, 1) calibration data of that
sample shape (default: the model's own input shape).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def _bn(model, rng):
    for layer in model.layers:
        if hasattr(layer, "layers"):
            _bn(layer, rng)
        elif type(layer).__name__ == "BatchNormalization":
            c = layer.get_weights()[0].shape
            layer.set_weights([rng.uniform(0.5, 1.5, c), rng.normal(0, 0.1, c),
                               rng.normal(0, 0.1, c), rng.uniform(0.5, 2.0, c)])


def build_corpus(k2, d: Path, rng) -> dict[str, tuple[Path, tuple, str]]:
    """name -> (path, input shape, expectation: "converts" or "refused")."""
    L = k2.layers
    out = {}

    def save(name, model, fmt="h5", fit=False, shape=None):
        _bn(model, rng)
        if fit:
            model.compile(k2.optimizers.legacy.Adam(1e-3), "categorical_crossentropy")
            x = rng.random((8, *model.input_shape[1:]), np.float32)
            y = np.eye(model.output_shape[-1])[np.arange(8) % model.output_shape[-1]]
            model.fit(x, y, epochs=1, verbose=0)
        path = d / (name if fmt == "dir" else f"{name}.{fmt}")
        model.save(path)
        out[name] = (path, shape or tuple(model.input_shape[1:]), "converts")

    A = k2.applications
    save("mobilenet_v1_a025_96", A.MobileNet((96, 96, 3), alpha=0.25, weights=None, classes=2))
    save("mobilenet_v2_a035_96", A.MobileNetV2((96, 96, 3), alpha=0.35, weights=None, classes=2))

    # ARM ML-KWS / MLPerf Tiny DS-CNN, trained one step and saved as a Keras 2 SavedModel.
    i = k2.Input((49, 10, 1))
    h = L.ReLU()(L.BatchNormalization()(L.Conv2D(64, (10, 4), (2, 2), padding="same")(i)))
    for _ in range(4):
        h = L.ReLU()(L.BatchNormalization()(L.DepthwiseConv2D(3, padding="same")(h)))
        h = L.ReLU()(L.BatchNormalization()(L.Conv2D(64, 1)(h)))
    h = L.Dropout(0.4)(L.AveragePooling2D((25, 5))(h))
    save("ds_cnn_kws_savedmodel", k2.Model(i, L.Dense(12, activation="softmax")(L.Flatten()(h))),
         "dir", fit=True)

    # MLPerf Tiny ResNet-8 (CIFAR-10 shape), with L2 regularizers in every conv config.
    reg = k2.regularizers.l2(1e-4)
    i = k2.Input((32, 32, 3))
    h = L.Activation("relu")(L.BatchNormalization()(
        L.Conv2D(16, 3, padding="same", kernel_regularizer=reg)(i)))
    for f, s in ((16, 1), (32, 2), (64, 2)):
        y = L.Activation("relu")(L.BatchNormalization()(
            L.Conv2D(f, 3, s, padding="same", kernel_regularizer=reg)(h)))
        y = L.BatchNormalization()(L.Conv2D(f, 3, padding="same", kernel_regularizer=reg)(y))
        if s != 1:
            h = L.Conv2D(f, 1, s, kernel_regularizer=reg)(h)
        h = L.Activation("relu")(L.Add()([h, y]))
    h = L.Flatten()(L.AveragePooling2D(8)(h))
    save("resnet8_l2", k2.Model(i, L.Dense(10, activation="softmax")(h)))

    # MLPerf Tiny anomaly detection autoencoder (640 -> 8 -> 640).
    i = k2.Input((640,))
    h = i
    for n in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        h = L.ReLU()(L.BatchNormalization()(L.Dense(n)(h)))
    save("autoencoder_ad", k2.Model(i, L.Dense(640)(h)))

    # Gesture from a 3-axis accelerometer: Conv1D.
    save("gesture_conv1d", k2.Sequential([
        L.Conv1D(16, 5, activation="relu", input_shape=(128, 3)), L.MaxPooling1D(2),
        L.Conv1D(32, 3, activation="relu"), L.GlobalAveragePooling1D(),
        L.Dense(4, activation="softmax")]))

    # The layer zoo of TF 2.x tutorials.
    save("layer_mix", k2.Sequential([
        L.ZeroPadding2D(1, input_shape=(32, 32, 3)), L.Conv2D(16, 3, strides=2),
        L.BatchNormalization(), L.ReLU(max_value=6.0),
        L.SeparableConv2D(32, 3, padding="same"), L.Activation("relu"),
        L.DepthwiseConv2D(3, padding="same", depth_multiplier=2), L.LeakyReLU(alpha=0.1),
        L.MaxPooling2D(2), L.Conv2D(16, 1, activation="relu6"), L.GlobalAveragePooling2D(),
        L.Dropout(0.2), L.Dense(3), L.Softmax()]))

    # A Sequential of Sequentials (the block style of some Keras 2 tutorials).
    block = lambda n: k2.Sequential([L.Conv2D(n, 3, padding="same"),  # noqa: E731
                                     L.BatchNormalization(), L.ReLU(), L.MaxPooling2D(2)])
    save("sequential_of_sequentials", k2.Sequential(
        [k2.Input((32, 32, 1)), block(8), block(16), L.Flatten(), L.Dense(5)]))

    # tf_keras writing the new .keras zip format (TF 2.13-2.15 era users did).
    save("tf_keras_v3_format", k2.Sequential([
        k2.Input((16, 16, 1)), L.Conv2D(8, 3), L.BatchNormalization(), L.ReLU(),
        L.DepthwiseConv2D(3), L.ReLU(), L.GlobalAveragePooling2D(), L.Dense(4)]), "keras")

    # A Keras 2 SavedModel with a custom layer whose code is not given (tf_keras revives it).
    class Gain(L.Layer):
        def build(self, s):
            self.g = self.add_weight(name="g", shape=(s[-1],), initializer="ones")

        def call(self, x):
            return x * self.g

    i = k2.Input((16, 16, 1))
    h = Gain()(L.Conv2D(4, 3)(i))
    save("savedmodel_custom_layer", k2.Model(i, L.Dense(2)(L.Flatten()(h))), "dir")

    # A Keras 2 SavedModel with a Lambda: tf_keras would run its stored code; the signature
    # runs the traced graph only.
    i = k2.Input((16, 16, 1))
    h = L.Lambda(lambda t: t * 0.5)(L.Conv2D(4, 3)(i))
    save("savedmodel_lambda", k2.Model(i, L.Dense(2)(L.Flatten()(h))), "dir")

    # Files mcuq must refuse, with the fix in the message.
    m = k2.Sequential([k2.Input((8,)), L.Dense(4)])
    m.save_weights(d / "weights_only.h5")
    out["weights_only"] = (d / "weights_only.h5", (8,), "refused")
    i = k2.Input((8,))
    k2.Model(i, L.Lambda(lambda t: t + 1.0)(L.Dense(4)(i))).save(d / "lambda.h5")
    out["lambda_h5"] = (d / "lambda.h5", (8,), "refused")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", help="more model files (path[:SHAPE], e.g. m.h5:64x64x1)")
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--samples", type=int, default=40, help="verify samples per model")
    ap.add_argument("--json", default=None, help="write the rows to this file")
    args = ap.parse_args()

    from click.testing import CliRunner

    from mcuq.cli import main as cli
    from mcuq.sources import import_tf_keras

    k2 = import_tf_keras()
    k2.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            corpus = build_corpus(k2, d, rng)
        for spec in args.files:
            path, _, shape = spec.partition(":")
            dims = tuple(int(x) for x in shape.split("x")) if shape else None
            corpus[Path(path).name] = (Path(path).resolve(), dims, "converts")
        for name, (path, shape, expect) in corpus.items():
            if args.only and name not in args.only:
                continue
            if shape is None:
                from mcuq.sources import load_model_source

                shape = load_model_source(path).inputs[0].shape
            calib = d / f"{name}_calib.npy"
            np.save(calib, rng.random((100, *shape), np.float32))
            out = d / f"{name}.tflite"
            t0 = time.perf_counter()
            r = CliRunner().invoke(cli, ["convert", str(path), "-c", str(calib), "-o", str(out),
                                         "--json"])
            seconds = time.perf_counter() - t0
            row = {"model": name, "expect": expect, "convert_exit": r.exit_code,
                   "convert_s": round(seconds, 1)}
            if r.exit_code != 0:
                row["error"] = r.stderr.strip().splitlines()[0] if r.stderr.strip() else r.output
                row["ok"] = expect == "refused" and r.exit_code == 2
                rows.append(row)
                print(json.dumps(row), flush=True)
                continue
            info = json.loads(r.stdout)
            row.update(loader=info["loader"]["description"], reason=info["loader"]["reason"],
                       fallback=info["loader"]["fallback"], notes=info["loader"]["notes"],
                       tflite_bytes=info["tflite_bytes"], ops=sum(info["op_counts"].values()),
                       stderr=r.stderr.strip()[:200])
            t0 = time.perf_counter()
            v = CliRunner().invoke(cli, ["verify", str(out), "--runners", "reference,tflm,host",
                                         "--data", str(calib), "--samples", str(args.samples),
                                         "--float", str(path), "--json"])
            row["verify_s"] = round(time.perf_counter() - t0, 1)
            if v.exit_code == 0:
                rep = json.loads(v.stdout)
                row["exact"] = {x["runner"]: x["status"] for x in rep["runners"]}
                m = rep["metrics"][0]
                row["top1_agreement"] = m["top1_agreement"]
                row["sqnr_db"] = round(m["sqnr_db"], 1) if m["sqnr_db"] is not None else None
            else:
                row["verify_error"] = (v.stderr or v.output).strip()[:300]
            row["ok"] = expect == "converts" and v.exit_code == 0 and all(
                s == "exact" for s in row.get("exact", {}).values())
            rows.append(row)
            print(json.dumps(row), flush=True)
    ok = sum(r["ok"] for r in rows)
    print(f"\n{ok} of {len(rows)} as expected")
    for r in rows:
        what = (r.get("loader", "-") + (" [fallback]" if r.get("fallback") else "")
                if r["convert_exit"] == 0 else f"exit {r['convert_exit']}: {r['error'][:90]}")
        agree = f"{100 * r['top1_agreement']:.0f}%" if r.get("top1_agreement") is not None \
            else "-"
        print(f"{'ok ' if r['ok'] else 'BAD'} {r['model']:<28} {what:<40} agree {agree:>5}  "
              f"sqnr {r.get('sqnr_db', '-')}  convert {r['convert_s']} s")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    sys.exit(0 if ok == len(rows) else 1)


if __name__ == "__main__":
    main()
