"""16x8 test models: a small conv/FC Keras model built in code (seeded weights), converted
with int16 activations through mcuq's converter (int16 I/O and float32 I/O) once and cached
on disk like mcuq.testing.zoo (key: this file, zoo's key, TensorFlow's version).

    from mcuq.testing import zoo16
    models = zoo16.models16()   # {"conv_fc16": bytes (int16 I/O), "conv_fc16_f32": bytes}
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from . import zoo

INPUT_SHAPE = (12, 12, 2)
#: name -> I/O type of the conversion
VARIANTS = {"conv_fc16": "int16", "conv_fc16_f32": "float32"}


def build_keras(seed: int = 0):
    """Conv2D(relu) -> DepthwiseConv2D(relu6) -> MaxPool -> AveragePool -> Add(with a 1x1
    Conv2D of itself) -> Flatten -> Dense(tanh) -> Dense -> Softmax."""
    from ..sources import import_keras

    keras = import_keras()
    keras.utils.set_random_seed(seed)
    L = keras.layers
    inp = keras.Input(INPUT_SHAPE, name="x16")
    x = L.Conv2D(6, 3, padding="same", activation="relu", name="conv16_0")(inp)
    x = L.DepthwiseConv2D(3, activation="relu6", name="dw16_0")(x)
    x = L.MaxPooling2D(name="maxpool16_0")(x)
    x = L.AveragePooling2D(2, name="avgpool16_0")(x)
    x = L.Add(name="add16_0")([x, L.Conv2D(6, 1, name="conv16_1")(x)])
    x = L.Flatten(name="flatten16_0")(x)
    x = L.Dense(12, activation="tanh", bias_initializer="random_normal", name="dense16_0")(x)
    x = L.Dense(4, bias_initializer="random_normal", name="dense16_1")(x)
    x = L.Softmax(name="softmax16_0")(x)
    return keras.Model(inp, x, name="conv_fc16")


def calibration(n: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 1.0, size=(n, *INPUT_SHAPE)).astype(np.float32)


def cache_key() -> str:
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(zoo.cache_key().encode())
    return h.hexdigest()[:16]


def models16(cache_dir=None) -> dict[str, bytes]:
    from ..conversion import convert_model, write_atomic

    folder = (Path(cache_dir) if cache_dir is not None else zoo.default_cache_dir())
    folder = folder / f"int16-{cache_key()}"
    out = {}
    for name, io in VARIANTS.items():
        path = folder / f"{name}.tflite"
        if not path.exists():
            data = convert_model(build_keras(), [calibration()], io_type=io,
                                 activations="int16").data
            folder.mkdir(parents=True, exist_ok=True)
            write_atomic(path, data)
        out[name] = path.read_bytes()
    return out
