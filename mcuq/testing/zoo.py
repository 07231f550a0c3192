"""The shared test-model zoo: eight small but real Keras models, built in code with seeded
random weights, converted to full int8 once and cached on disk for tests and benchmarks.

    from mcuq.testing import zoo
    models = zoo.zoo_models()            # {name: .tflite bytes}, converted once, cached
    m = zoo.build_keras("ds_cnn")        # the float Keras model
    xs = zoo.calibration("ds_cnn", n=64) # one float32 array per input

The cache key is a hash of this file, mcuq's conversion code and the TensorFlow version, so a
change to either re-converts. Cache folder: $MCUQ_CACHE/zoo, else ~/.cache/mcuq/zoo.
"""
from __future__ import annotations

import hashlib
import os
from importlib import metadata
from pathlib import Path

import numpy as np

ZOO_NAMES = ("mlp", "cnn", "ds_cnn", "mobilenet_v1", "resnet8", "autoencoder", "two_in_two_out",
             "first_layers")

# Input shapes (without batch), per model, in input order.
INPUT_SHAPES = {
    "mlp": [(64,)],
    "cnn": [(16, 16, 1)],
    "ds_cnn": [(49, 10, 1)],
    "mobilenet_v1": [(32, 32, 3)],
    "resnet8": [(32, 32, 3)],
    "autoencoder": [(64,)],
    "two_in_two_out": [(16,), (8, 8, 1)],
    "first_layers": [(20, 16, 1)],
}


def _check(name: str) -> None:
    if name not in ZOO_NAMES:
        raise KeyError(f"unknown zoo model '{name}'; choose from {', '.join(ZOO_NAMES)}")


class _Namer:
    """Explicit, per-model layer names: the same bytes whatever was built before."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.counts: dict[str, int] = {}

    def __call__(self, kind: str) -> str:
        n = self.counts.get(kind, 0)
        self.counts[kind] = n + 1
        return f"{kind}_{n}"


def build_keras(name: str, seed: int = 0):
    """The float Keras model `name`, weights random from `seed` (BatchNorm statistics too)."""
    _check(name)
    from ..sources import import_keras

    keras = import_keras()
    keras.utils.set_random_seed(seed)
    model = _BUILDERS[name](keras, _Namer(name))
    _randomize_batchnorm(model, np.random.default_rng(seed + 1))
    return model


def _randomize_batchnorm(model, rng) -> None:
    """Give BatchNormalization layers realistic non-trivial statistics (folded by TFLite)."""
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            gamma, beta, mean, var = (np.asarray(w) for w in layer.get_weights())
            c = gamma.shape
            layer.set_weights([
                rng.uniform(0.5, 1.5, c).astype(np.float32),
                rng.normal(0, 0.1, c).astype(np.float32),
                rng.normal(0, 0.1, c).astype(np.float32),
                rng.uniform(0.5, 2.0, c).astype(np.float32),
            ])


def _mlp(keras, n):
    L = keras.layers
    x = i = keras.Input((64,), name="features")
    for units in (32, 16):
        x = L.Dense(units, activation="relu", name=n("dense"))(x)
    x = L.Dense(4, activation="softmax", name=n("dense"))(x)
    return keras.Model(i, x, name="mlp")


def _cnn(keras, n):
    L = keras.layers
    x = i = keras.Input((16, 16, 1), name="image")
    x = L.Conv2D(8, 3, padding="same", activation="relu", name=n("conv"))(x)
    x = L.MaxPooling2D(2, name=n("pool"))(x)
    x = L.Conv2D(16, 3, padding="valid", activation="relu", name=n("conv"))(x)
    x = L.MaxPooling2D(2, name=n("pool"))(x)
    x = L.Flatten(name=n("flatten"))(x)
    x = L.Dense(32, activation="relu", name=n("dense"))(x)
    x = L.Dense(10, activation="softmax", name=n("dense"))(x)
    return keras.Model(i, x, name="cnn")


def _ds_cnn(keras, n):
    """Keyword spotting style (Zhang et al. 'Hello Edge'), reduced: 49x10 MFCC frames."""
    L = keras.layers
    x = i = keras.Input((49, 10, 1), name="mfcc")
    x = L.Conv2D(32, (10, 4), strides=(2, 2), padding="same", use_bias=False, name=n("conv"))(x)
    x = L.BatchNormalization(name=n("bn"))(x)
    x = L.ReLU(name=n("relu"))(x)
    for _ in range(2):
        x = L.DepthwiseConv2D(3, padding="same", use_bias=False, name=n("dwconv"))(x)
        x = L.BatchNormalization(name=n("bn"))(x)
        x = L.ReLU(name=n("relu"))(x)
        x = L.Conv2D(32, 1, use_bias=False, name=n("pwconv"))(x)
        x = L.BatchNormalization(name=n("bn"))(x)
        x = L.ReLU(name=n("relu"))(x)
    x = L.GlobalAveragePooling2D(name=n("gap"))(x)
    x = L.Dense(12, activation="softmax", name=n("dense"))(x)
    return keras.Model(i, x, name="ds_cnn")


def _mobilenet_v1(keras, n):
    """MobileNetV1 (alpha 0.25) style stack at 32x32x3: depthwise/pointwise blocks, ReLU6."""
    L = keras.layers

    def cbr(x, filters, kernel, strides):
        x = L.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False,
                     name=n("conv"))(x)
        x = L.BatchNormalization(name=n("bn"))(x)
        return L.ReLU(6.0, name=n("relu6"))(x)

    def dw(x, filters, strides):
        x = L.DepthwiseConv2D(3, strides=strides, padding="same", use_bias=False,
                              name=n("dwconv"))(x)
        x = L.BatchNormalization(name=n("bn"))(x)
        x = L.ReLU(6.0, name=n("relu6"))(x)
        return cbr(x, filters, 1, 1)

    x = i = keras.Input((32, 32, 3), name="image")
    x = cbr(x, 8, 3, 2)  # 32 * 0.25
    for filters, strides in ((16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1)):
        x = dw(x, filters, strides)
    x = L.GlobalAveragePooling2D(name=n("gap"))(x)
    x = L.Dense(10, activation="softmax", name=n("dense"))(x)
    return keras.Model(i, x, name="mobilenet_v1")


def _resnet8(keras, n):
    """MLPerf Tiny ResNet-8 style: 3 residual stacks (16, 32, 64) with residual ADDs."""
    L = keras.layers

    def conv_bn(x, filters, strides, relu=True):
        x = L.Conv2D(filters, 3, strides=strides, padding="same", name=n("conv"))(x)
        x = L.BatchNormalization(name=n("bn"))(x)
        return L.ReLU(name=n("relu"))(x) if relu else x

    x = i = keras.Input((32, 32, 3), name="image")
    x = conv_bn(x, 16, 1)
    for filters, strides in ((16, 1), (32, 2), (64, 2)):
        y = conv_bn(x, filters, strides)
        y = conv_bn(y, filters, 1, relu=False)
        if strides != 1 or x.shape[-1] != filters:
            x = L.Conv2D(filters, 1, strides=strides, name=n("shortcut"))(x)
        x = L.Add(name=n("add"))([x, y])
        x = L.ReLU(name=n("relu"))(x)
    x = L.AveragePooling2D(pool_size=8, name=n("pool"))(x)
    x = L.Flatten(name=n("flatten"))(x)
    x = L.Dense(10, activation="softmax", name=n("dense"))(x)
    return keras.Model(i, x, name="resnet8")


def _autoencoder(keras, n):
    """Fully connected autoencoder (MLPerf Tiny anomaly detection style), 64->32->8->32->64."""
    L = keras.layers
    x = i = keras.Input((64,), name="frames")
    for units in (32, 8, 32):
        x = L.Dense(units, name=n("dense"))(x)
        x = L.BatchNormalization(name=n("bn"))(x)
        x = L.ReLU(name=n("relu"))(x)
    x = L.Dense(64, name=n("dense"))(x)
    return keras.Model(i, x, name="autoencoder")


def _two_in_two_out(keras, n):
    L = keras.layers
    vec = keras.Input((16,), name="vector")
    img = keras.Input((8, 8, 1), name="image")
    a = L.Dense(16, activation="relu", name=n("dense"))(vec)
    b = L.Conv2D(4, 3, padding="same", activation="relu", name=n("conv"))(img)
    b = L.MaxPooling2D(2, name=n("pool"))(b)
    b = L.Flatten(name=n("flatten"))(b)
    h = L.Concatenate(name=n("concat"))([a, b])
    h = L.Dense(32, activation="relu", name=n("dense"))(h)
    classes = L.Dense(5, activation="softmax", name="classes")(h)
    value = L.Dense(1, name="value")(h)
    return keras.Model([vec, img], [classes, value], name="two_in_two_out")


def _first_layers(keras, n):
    """The first layers of audio/grayscale models and the channel edge cases of converted
    models, small: one input channel into a depthwise conv x8 (stride 2) and a 1-channel
    Conv2D side by side, then a 1x1 conv whose channels include an all-zero one, a dead one
    (weights ~1e-9: multiplier 0) and a 'hot' one (large weights whose outputs ReLU always clips, so its
    effective scale input * weight / output is above 0.5: shift >= -1)."""
    L = keras.layers
    x = i = keras.Input((20, 16, 1), name="spectrogram")
    a = L.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=8, activation="relu",
                          name=n("dwconv"))(x)
    b = L.Conv2D(8, 3, strides=2, padding="same", activation="relu", name=n("conv"))(x)
    h = L.Concatenate(name=n("concat"))([a, b])
    pw = L.Conv2D(16, 1, activation="relu", name=n("pwconv"))
    h = pw(h)
    w, bias = pw.get_weights()
    w[..., 3] = 0.0  # an all-zero channel (the converter gives it a tiny scale)
    w[..., 11] = np.sign(w[..., 11]) * 1e-9  # dead: a scale so small the multiplier is 0
    bias[[3, 11]] = 0.0
    w[..., 7] = -np.abs(w[..., 7]) * 400.0  # hot: huge weights, inputs >= 0, output clipped
    bias[7] = -1.0
    pw.set_weights([w, bias])
    h = L.GlobalAveragePooling2D(name=n("gap"))(h)
    h = L.Dense(4, activation="softmax", name=n("dense"))(h)
    return keras.Model(i, h, name="first_layers")


_BUILDERS = {
    "mlp": _mlp, "cnn": _cnn, "ds_cnn": _ds_cnn, "mobilenet_v1": _mobilenet_v1,
    "resnet8": _resnet8, "autoencoder": _autoencoder, "two_in_two_out": _two_in_two_out,
    "first_layers": _first_layers,
}


def calibration(name: str, n: int = 64, seed: int = 0) -> list[np.ndarray]:
    """Float32 calibration samples, one (n, *shape) array per input, in realistic ranges:
    images in [0, 1], MFCC-like frames ~N(0, 4) clipped, feature vectors ~N(0, 1)."""
    _check(name)
    rng = np.random.default_rng(seed)
    out = []
    for shape in INPUT_SHAPES[name]:
        if len(shape) == 3 and name == "ds_cnn":
            base = rng.normal(0.0, 4.0, size=(n, *shape))
            x = np.clip(base + np.linspace(-8, 8, shape[1])[None, None, :, None], -30, 30)
        elif len(shape) == 3:
            # smooth-ish images: a low-frequency pattern plus noise, in [0, 1]
            x = rng.uniform(0, 1, size=(n, *shape)) * 0.5
            x += 0.5 * np.sin(np.linspace(0, np.pi, shape[0]))[None, :, None, None]
            x = np.clip(x, 0.0, 1.0)
        else:
            x = rng.normal(0.0, 1.0, size=(n, *shape))
        out.append(x.astype(np.float32))
    return out


def convert_zoo(name: str, seed: int = 0) -> bytes:
    """Convert the zoo model through mcuq's converter (full int8, int8 I/O, per-channel)."""
    from ..conversion import convert_model

    return convert_model(build_keras(name, seed), calibration(name, seed=seed), seed=0).data


def cache_key() -> str:
    """Hash of this file + mcuq's conversion code + the TensorFlow version."""
    here = Path(__file__).resolve()
    h = hashlib.sha256()
    for p in (here, *(here.parent.parent / f for f in ("conversion.py", "sources.py",
                                                      "calibration.py"))):
        h.update(p.read_bytes())
    try:
        h.update(metadata.version("tensorflow").encode())
    except metadata.PackageNotFoundError:
        h.update(b"no-tensorflow")
    return h.hexdigest()[:16]


def default_cache_dir() -> Path:
    root = os.environ.get("MCUQ_CACHE")
    return Path(root) / "zoo" if root else Path.home() / ".cache" / "mcuq" / "zoo"


def zoo_models(cache_dir: str | os.PathLike | None = None) -> dict[str, bytes]:
    """Every zoo model as .tflite bytes, converted once and cached (keyed by cache_key())."""
    from ..conversion import write_atomic

    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    folder = folder / cache_key()
    out = {}
    for name in ZOO_NAMES:
        path = folder / f"{name}.tflite"
        if path.exists():
            out[name] = path.read_bytes()
            continue
        data = convert_zoo(name)
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
        out[name] = data
    return out


__all__ = ["ZOO_NAMES", "INPUT_SHAPES", "build_keras", "calibration", "convert_zoo",
           "zoo_models", "cache_key", "default_cache_dir"]
