"""LSTM test models.

`lstm_model(...)`: one UNIDIRECTIONAL_SEQUENCE_LSTM written with the one-op builder (24
inputs: the unused peephole, projection and layer-norm ones omitted as -1; hidden and cell
states as variable tensors), int8 (int16 cell state, int32 biases) or 16x8 (int16 activations,
int64 biases), with the chosen sizes and quantization. `random_lstm(rng)` draws one.

`keras_lstm_classifier()`: a small tf_keras LSTM sequence classifier (synthetic sine
"gestures": three classes of noisy waveforms), trained briefly, saved as .h5 (Keras 2, what
TFLiteConverter fuses into UNIDIRECTIONAL_SEQUENCE_LSTM) with calibration and test data.
Cached in $MCUQ_CACHE/lstm/<hash of this file and the TensorFlow version>/.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from .builder import ModelBuilder


@dataclass
class LstmSpec:
    batch: int = 1
    steps: int = 3
    n_input: int = 4
    n_state: int = 5
    time_major: bool = False
    int16: bool = False  # 16x8 activations
    input_scale: float = 0.05
    input_zp: int = 3
    hidden_scale: float = 0.008
    hidden_zp: int = -2
    cell_power: int = -11  # cell state scale 2^power
    weight_scales: tuple = (0.02,) * 8  # input->gate x4 (i, f, c, o), recurrent x4
    bias_range: int = 3000
    cell_clip: float = 0.0
    activation: str = "TANH"
    seed: int = 0


def lstm_model(spec: LstmSpec) -> bytes:
    rng = np.random.default_rng(spec.seed)
    act, bias_t = ("INT16", np.int64) if spec.int16 else ("INT8", np.int32)
    b = ModelBuilder("LSTM test model")
    n, t_, i_, s_ = spec.batch, spec.steps, spec.n_input, spec.n_state
    in_shape = (t_, n, i_) if spec.time_major else (n, t_, i_)
    in_zp = 0 if spec.int16 else spec.input_zp
    h_zp = 0 if spec.int16 else spec.hidden_zp
    x = b.input("x", in_shape, act, scale=spec.input_scale, zero_point=in_zp)
    ins = [x]
    for k in range(8):
        cols = i_ if k < 4 else s_
        w = rng.integers(-127, 128, (s_, cols)).astype(np.int8)
        ins.append(b.const(f"w{k}", w, scale=spec.weight_scales[k]))
    ins += [-1, -1, -1]  # no peephole
    for k in range(4):
        bias = rng.integers(-spec.bias_range, spec.bias_range + 1, s_).astype(bias_t)
        ins.append(b.const(f"b{k}", bias, scale=spec.input_scale * spec.weight_scales[k]))
    ins += [-1, -1]  # no projection
    ins.append(b.tensor("h", (n, s_), act, scale=spec.hidden_scale, zero_point=h_zp,
                        variable=True))
    ins.append(b.tensor("c", (n, s_), "INT16", scale=2.0 ** spec.cell_power, zero_point=0,
                        variable=True))
    ins += [-1, -1, -1, -1]  # no layer norm
    out_shape = (t_, n, s_) if spec.time_major else (n, t_, s_)
    y = b.tensor("y", out_shape, act, scale=spec.hidden_scale, zero_point=h_zp)
    # the converter's five intermediates (LiteRT's kernel requires them): the gates' matmul
    # outputs (float, unquantized without layer norm) and the effective hidden scale
    inter = [b.tensor(f"{g}_intermediate", (0,), "FLOAT32") for g in "ifco"]
    inter.append(b.tensor("effective_hidden_scale_intermediate", (0,), act,
                          scale=spec.hidden_scale, zero_point=h_zp))
    b.op("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, [y], intermediates=inter,
         fused_activation_function=spec.activation,
         cell_clip=float(spec.cell_clip), proj_clip=0.0, time_major=spec.time_major)
    b.output(y)
    return b.build()


def random_spec(rng: np.random.Generator, int16: bool = False) -> LstmSpec:
    """Sizes and quantization drawn around what the converter gives a Keras LSTM."""
    i_ = int(rng.integers(1, 7))
    s_ = int(rng.integers(1, 9))
    in_scale = float(np.exp(rng.uniform(np.log(0.003), np.log(0.1))))
    if int16:
        in_scale /= 256
    return LstmSpec(
        batch=int(rng.integers(1, 3)), steps=int(rng.integers(1, 6)), n_input=i_, n_state=s_,
        time_major=bool(rng.integers(0, 2)), int16=int16, input_scale=in_scale,
        input_zp=int(rng.integers(-100, 101)),
        hidden_scale=float(np.exp(rng.uniform(np.log(0.003), np.log(0.02))))
        / (256 if int16 else 1),
        hidden_zp=int(rng.integers(-60, 61)), cell_power=int(rng.integers(-15, -8)),
        weight_scales=tuple(float(np.exp(rng.uniform(np.log(0.002), np.log(0.03))))
                            for _ in range(8)),
        bias_range=int(rng.choice([0, 300, 3000, 30000])),
        cell_clip=float(rng.choice([0.0, 0.0, float(rng.uniform(0.3, 8.0))])),
        seed=int(rng.integers(0, 2**31)))


# -- a real Keras LSTM -------------------------------------------------------------------------
STEPS, FEATURES, UNITS, CLASSES = 16, 3, 12, 3


def gesture_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(x float32 (n, STEPS, FEATURES), labels int64 (n,)): class k is a sine of frequency
    (k + 1) cycles per window on the first axis, its cosine on the second, a ramp on the
    third, with random phase, amplitude and noise (a stand-in for 3-axis gesture windows)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, CLASSES, n)
    t = np.linspace(0.0, 1.0, STEPS)[None, :]
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    amp = rng.uniform(0.6, 1.4, (n, 1))
    f = (y[:, None] + 1) * 2 * np.pi * t + phase
    x = np.stack([amp * np.sin(f), amp * np.cos(f), (y[:, None] - 1) * t], axis=-1)
    x += rng.normal(0.0, 0.15, x.shape)
    return x.astype(np.float32), y.astype(np.int64)


def _key() -> str:
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(metadata.version("tensorflow").encode())
    return h.hexdigest()[:16]


def keras_lstm_classifier(root: str | os.PathLike | None = None) -> Path:
    """A folder with model.h5 (tf_keras: LSTM(12) -> Dense(3) softmax),
    calib.npy (100 windows), test_x.npy / test_y.npy (60 windows). Trained for a few epochs
    (about 90 % test accuracy); made once per cache key."""
    base = Path(root or os.environ.get("MCUQ_CACHE") or
                Path.home() / ".cache" / "mcuq") / "lstm" / _key()
    if (base / "model.h5").exists():
        return base
    base.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    import tf_keras as keras

    tf.random.set_seed(0)
    keras.utils.set_random_seed(0)
    x, y = gesture_data(600, seed=1)
    inp = keras.Input((STEPS, FEATURES), name="window")
    h = keras.layers.LSTM(UNITS, name="lstm")(inp)
    out = keras.layers.Dense(CLASSES, activation="softmax", name="classes")(h)
    m = keras.Model(inp, out)
    m.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
    m.fit(x, y, batch_size=16, epochs=12, verbose=0, shuffle=True)
    tmp = base / "model.tmp.h5"
    m.save(tmp)
    np.save(base / "calib.npy", x[:100])
    tx, ty = gesture_data(60, seed=2)
    np.save(base / "test_x.npy", tx)
    np.save(base / "test_y.npy", ty)
    os.replace(tmp, base / "model.h5")
    return base
