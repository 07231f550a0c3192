"""Benchmark-only models at the real sizes of the model kinds issue 17 measures mcuq against
TensorFlow Lite Micro + CMSIS-NN on (too big for CI's zoo): built in Keras with seeded random
weights (BatchNorm statistics randomized like the zoo's), converted to full int8 by mcuq's
converter once and cached by content ($MCUQ_CACHE/bench, else ~/.cache/mcuq/bench).

- ds_cnn_kws: MLPerf Tiny keyword spotting DS-CNN (49x10 MFCC, 64 channels, 4 blocks);
- resnet8: MLPerf Tiny image classification ResNet-8 (the zoo's resnet8 is that size);
- fc_autoencoder: MLPerf Tiny anomaly detection (640 -> 128 x4 -> 8 -> 128 x4 -> 640);
- person_detection: MobileNetV1 alpha 0.25 on 96x96x1, first layer a depthwise conv x8
  (what TensorFlow Lite Micro's person detection model starts with);
- vww_mobilenet: MLPerf Tiny visual wake words MobileNetV1 alpha 0.25 on 96x96x3;
- speech: TensorFlow Lite Micro's micro_speech 'tiny_conv' (49x40 spectrogram, one 10x8
  depthwise conv 1 channel x8 stride 2, a fully connected layer).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

BENCH_NAMES = ("ds_cnn_kws", "resnet8", "fc_autoencoder", "person_detection", "vww_mobilenet",
               "speech")

#: the issue's model kinds each benchmark model stands for
KINDS = {
    "ds_cnn_kws": "DS-CNN keyword spotting",
    "resnet8": "ResNet-8",
    "fc_autoencoder": "FC autoencoder",
    "person_detection": "person detection MobileNet (96x96x1, first layer depthwise x8)",
    "vww_mobilenet": "VWW MobileNet 96x96x3",
    "speech": "speech model (one depthwise conv, 1 channel x8)",
}

INPUT_SHAPES = {
    "ds_cnn_kws": (49, 10, 1), "fc_autoencoder": (640,), "person_detection": (96, 96, 1),
    "vww_mobilenet": (96, 96, 3), "speech": (49, 40, 1),
}


def _ds_cnn_kws(keras):
    L = keras.layers
    x = i = keras.Input((49, 10, 1), name="mfcc")
    x = L.Conv2D(64, (10, 4), strides=(2, 2), padding="same", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    for _ in range(4):
        x = L.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
        x = L.Conv2D(64, 1, use_bias=False)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(12, activation="softmax")(x)
    return keras.Model(i, x, name="ds_cnn_kws")


def _fc_autoencoder(keras):
    L = keras.layers
    x = i = keras.Input((640,), name="frames")
    for units in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        x = L.Dense(units)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
    x = L.Dense(640)(x)
    return keras.Model(i, x, name="fc_autoencoder")


def _mobilenet_025(keras, shape, first_depthwise: bool, classes: int, name: str):
    """MobileNetV1 alpha 0.25 at 96x96: 8-channel first layer (stride 2), 13 blocks."""
    L = keras.layers

    def bn_relu(x):
        x = L.BatchNormalization()(x)
        return L.ReLU(6.0)(x)

    x = i = keras.Input(shape, name="image")
    if first_depthwise:  # 1 channel x 8
        x = L.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=8,
                              use_bias=False)(x)
    else:
        x = L.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(x)
    x = bn_relu(x)
    for filters, strides in ((16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1),
                             (128, 1), (128, 1), (128, 1), (128, 1), (256, 2), (256, 1)):
        x = L.DepthwiseConv2D(3, strides=strides, padding="same", use_bias=False)(x)
        x = bn_relu(x)
        x = L.Conv2D(filters, 1, use_bias=False)(x)
        x = bn_relu(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(classes, activation="softmax")(x)
    return keras.Model(i, x, name=name)


def _speech(keras):
    L = keras.layers
    x = i = keras.Input((49, 40, 1), name="spectrogram")
    x = L.DepthwiseConv2D((10, 8), strides=(2, 2), padding="same", depth_multiplier=8,
                          activation="relu")(x)
    x = L.Flatten()(x)
    x = L.Dense(4, activation="softmax")(x)
    return keras.Model(i, x, name="speech")


BUILDERS = {
    "ds_cnn_kws": _ds_cnn_kws,
    "fc_autoencoder": _fc_autoencoder,
    "person_detection": lambda k: _mobilenet_025(k, (96, 96, 1), True, 2, "person_detection"),
    "vww_mobilenet": lambda k: _mobilenet_025(k, (96, 96, 3), False, 2, "vww_mobilenet"),
    "speech": _speech,
}


def _calibration(name: str, n: int = 32, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    shape = INPUT_SHAPES[name]
    if len(shape) == 1:
        x = rng.normal(0.0, 1.0, size=(n, *shape))
    elif name in ("ds_cnn_kws", "speech"):
        x = np.clip(rng.normal(0.0, 4.0, size=(n, *shape)), -30, 30)
    else:
        x = rng.uniform(0, 1, size=(n, *shape)) * 0.5
        x += 0.5 * np.sin(np.linspace(0, np.pi, shape[0]))[None, :, None, None]
        x = np.clip(x, 0.0, 1.0)
    return [x.astype(np.float32)]


def _convert(name: str) -> bytes:
    from mcuq.conversion import convert_model
    from mcuq.sources import import_keras
    from mcuq.testing.zoo import _randomize_batchnorm

    keras = import_keras()
    keras.utils.set_random_seed(0)
    model = BUILDERS[name](keras)
    _randomize_batchnorm(model, np.random.default_rng(1))
    return convert_model(model, _calibration(name), seed=0).data


def _cache_dir() -> Path:
    from mcuq.testing import zoo

    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(zoo.cache_key().encode())
    root = os.environ.get("MCUQ_CACHE")
    base = Path(root) / "bench" if root else Path.home() / ".cache" / "mcuq" / "bench"
    return base / h.hexdigest()[:16]


def bench_models(names=BENCH_NAMES) -> dict[str, bytes]:
    """{name: .tflite bytes}, converted once and cached."""
    from mcuq.conversion import write_atomic
    from mcuq.testing.zoo import zoo_models

    folder = _cache_dir()
    out = {}
    for name in names:
        if name == "resnet8":
            out[name] = zoo_models()["resnet8"]
            continue
        path = folder / f"{name}.tflite"
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            write_atomic(path, _convert(name))
        out[name] = path.read_bytes()
    return out
