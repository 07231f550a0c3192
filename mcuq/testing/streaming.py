"""A streaming (wake-word style) test model with its state in resource variables.

Each invocation takes one frame of FEATURES values. Two ring buffers kept in `tf.Variable`s
carry the past: the last FRAMES-1 input frames (a conv over the sliding window of frames) and
the last two rows of that conv's output (a second conv over them), as streaming keyword
spotters do on microcontrollers. Converted by TensorFlow's TFLiteConverter with resource
variables enabled and the variables quantized to int8: two subgraphs, CALL_ONCE initialising
the variables, VAR_HANDLE / READ_VARIABLE / ASSIGN_VARIABLE, CONCATENATION, STRIDED_SLICE,
CONV_2D, FULLY_CONNECTED, SOFTMAX, and a QUANTIZE to the uint8 output (int8 input).

    from mcuq.testing import streaming
    data = streaming.streaming_model()          # .tflite bytes, converted once and cached
    frames = streaming.frames(n=24)              # float32 (n, 1, 1, FEATURES): one sequence

Cache: $MCUQ_CACHE/streaming/<hash of this file and the TensorFlow version>.tflite.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np

FEATURES = 12
FRAMES = 5  # the first conv's window in frames (its kernel height)
C1, C2, CLASSES = 6, 8, 3


def frames(n: int = 24, seed: int = 0) -> np.ndarray:
    """n consecutive float32 feature frames shaped (n, 1, 1, FEATURES): a drifting pattern
    plus noise, so the window's content changes from step to step."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    f = np.arange(FEATURES)[None, :]
    x = 2.0 * np.sin(0.3 * t + 0.5 * f) + rng.normal(0.0, 0.7, (n, FEATURES))
    return x.astype(np.float32).reshape(n, 1, 1, FEATURES)


def _module(tf):
    rng = np.random.default_rng(7)

    class Streaming(tf.Module):
        def __init__(self):
            super().__init__()
            self.frames = tf.Variable(tf.zeros([1, FRAMES - 1, FEATURES, 1]), trainable=False)
            self.rows = tf.Variable(tf.zeros([1, 2, FEATURES - 2, C1]), trainable=False)
            self.k1 = tf.constant(rng.normal(0, 0.3, (FRAMES, 3, 1, C1)), tf.float32)
            self.b1 = tf.constant(rng.normal(0, 0.2, (C1,)), tf.float32)
            self.k2 = tf.constant(rng.normal(0, 0.2, (3, 3, C1, C2)), tf.float32)
            self.b2 = tf.constant(rng.normal(0, 0.2, (C2,)), tf.float32)
            self.fc = tf.constant(rng.normal(0, 0.2, ((FEATURES - 4) * C2, CLASSES)),
                                  tf.float32)

        @tf.function(input_signature=[tf.TensorSpec([1, 1, FEATURES, 1], tf.float32)])
        def __call__(self, x):
            window = tf.concat([self.frames, x], axis=1)  # 1 x FRAMES x FEATURES x 1
            self.frames.assign(window[:, 1:])
            y = tf.nn.relu(tf.nn.conv2d(window, self.k1, 1, "VALID") + self.b1)
            rows = tf.concat([self.rows, y], axis=1)  # 1 x 3 x FEATURES-2 x C1
            self.rows.assign(rows[:, 1:])
            z = tf.nn.relu(tf.nn.conv2d(rows, self.k2, 1, "VALID") + self.b2)
            logits = tf.matmul(tf.reshape(z, [1, -1]), self.fc)
            return tf.nn.softmax(logits)

    return Streaming()


def convert() -> bytes:
    """Build the tf.Module, save it, convert it to full int8 (int8 input, uint8 output) with
    int8 resource variables."""
    import tensorflow as tf

    m = _module(tf)
    calib = frames(64, seed=1).reshape(64, 1, 1, FEATURES, 1)

    def representative():
        for x in calib:
            yield [x]

    with tempfile.TemporaryDirectory(prefix="mcuq-streaming-") as tmp:
        tf.saved_model.save(m, tmp, signatures=m.__call__.get_concrete_function())
        conv = tf.lite.TFLiteConverter.from_saved_model(tmp)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = representative
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.uint8  # uint8 scores, as wake-word models have
        conv.experimental_enable_resource_variables = True
        conv._experimental_variable_quantization = True  # int8 state (as microWakeWord does)
        return conv.convert()


def cache_key() -> str:
    h = hashlib.sha256(Path(__file__).read_bytes())
    try:
        h.update(metadata.version("tensorflow").encode())
    except metadata.PackageNotFoundError:
        h.update(b"no-tensorflow")
    return h.hexdigest()[:16]


def streaming_model(cache_dir: str | os.PathLike | None = None) -> bytes:
    """The converted streaming model (cached on disk)."""
    from ..conversion import write_atomic

    root = Path(cache_dir) if cache_dir is not None else (
        Path(os.environ["MCUQ_CACHE"]) if os.environ.get("MCUQ_CACHE")
        else Path.home() / ".cache" / "mcuq")
    path = root / "streaming" / f"{cache_key()}.tflite"
    if path.exists():
        return path.read_bytes()
    data = convert()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)
    return data


def quantized_frames(model, n: int = 24, seed: int = 0) -> np.ndarray:
    """frames() quantized with the model input's scale and zero point, int8."""
    from ..metrics import quantize

    t = model.input_tensors()[0]
    return quantize(frames(n, seed).reshape(n, *t.shape), t.scale, t.zero_point, t.dtype)


__all__ = ["streaming_model", "frames", "quantized_frames", "convert", "FEATURES"]
