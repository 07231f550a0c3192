"""Train the bundled example: a small Keras CNN on scikit-learn's 8x8 digits (10 classes).

Writes into --out: model.keras (float), calib.npy (300 training images, for `mcuq convert`),
test_x.npy (float32, N x 8 x 8 x 1) and test_y.npy (int64 labels), plus split.npz (the train/
test indices into load_digits(), so the split can be reproduced). Fixed seeds; about 10 s on
2 cores.

    python examples/digits/train.py --out build/digits
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

SEED = 0


def load_data():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]  # pixels 0..16 -> [0, 1]
    y = digits.target.astype(np.int64)
    idx = np.arange(len(y))
    train, test = train_test_split(idx, test_size=0.25, random_state=SEED, stratify=y)
    return x, y, np.sort(train), np.sort(test)


def build_model(keras):
    L = keras.layers
    i = keras.Input((8, 8, 1), name="image")
    x = L.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(i)
    x = L.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(x)
    x = L.MaxPooling2D(2, name="pool")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Dense(64, activation="relu", name="fc")(x)
    x = L.Dense(10, activation="softmax", name="classes")(x)
    return keras.Model(i, x, name="digits_cnn")


def main() -> None:
    ap = argparse.ArgumentParser(description="Train the digits example model.")
    ap.add_argument("--out", required=True, help="Folder to write model.keras and the data to.")
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--calib", type=int, default=300, help="Calibration samples to save.")
    args = ap.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    start = time.perf_counter()
    x, y, train, test = load_data()
    import keras

    keras.utils.set_random_seed(SEED)
    model = build_model(keras)
    model.compile(optimizer=keras.optimizers.Adam(2e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[train], y[train], epochs=args.epochs, batch_size=32, shuffle=True, verbose=0)
    _, acc = model.evaluate(x[test], y[test], verbose=0)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    rng = np.random.default_rng(SEED)
    calib = rng.choice(train, size=min(args.calib, len(train)), replace=False)
    np.save(out / "calib.npy", x[np.sort(calib)])
    np.save(out / "test_x.npy", x[test])
    np.save(out / "test_y.npy", y[test])
    np.savez(out / "split.npz", train=train, test=test)
    print(f"trained digits CNN: test accuracy {acc:.4f} on {len(test)} images "
          f"({len(train)} train) in {time.perf_counter() - start:.1f} s -> {out}")


if __name__ == "__main__":
    main()
