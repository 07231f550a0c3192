"""SVDF test models, built with the one-op model builder (no TensorFlow): hypothesis-drawn
one-op SVDF models with a sequence of inputs (the state carried between the steps), and a
whole keyword-spotting-style model (SVDF layers, FULLY_CONNECTED, SOFTMAX), as TFLite Micro's
keyword_scrambled_8bit example is made."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from .builder import ModelBuilder


@dataclass(frozen=True)
class SvdfShape:
    batch: int
    input_size: int
    units: int
    rank: int
    memory: int
    state_type: str = "INT16"  # activation state and weights_time
    state_zero_point: int = 0
    activation: str = "RELU"  # SVDFOptions' (TFLite Micro's integer kernel ignores it)


def add_svdf(b: ModelBuilder, x: int, shape: SvdfShape, rng: np.random.Generator, name: str,
             x_scale: float, gain_1: float, gain_2: float, y_scale: float | None = None,
             y_zero_point: int = 0, time_range: int | None = None) -> int:
    """Append one SVDF op reading tensor `x` ([batch, input_size] int8 of scale x_scale);
    returns its int8 output [batch, units]. gain_1 = s_x * s_wf / s_state and gain_2 =
    s_state * s_wt / s_y (the op's two requantization scales) fix the state and output scales.
    Weights are random int8 (feature) and int16/int8 (time, |w| < time_range)."""
    s = shape
    filters = s.units * s.rank
    wf_scale = 0.02
    state_scale = x_scale * wf_scale / gain_1
    wt_scale = 1e-3 if s.state_type == "INT16" else 0.02
    y_scale = y_scale if y_scale is not None else state_scale * wt_scale / gain_2
    wdt = np.int16 if s.state_type == "INT16" else np.int8
    top = time_range or (1 << 15 if s.state_type == "INT16" else 128)
    wf = b.const(f"{name}/weights_feature",
                 rng.integers(-127, 128, (filters, s.input_size)).astype(np.int8),
                 scale=wf_scale)
    wt = b.const(f"{name}/weights_time",
                 rng.integers(-top + 1, top, (filters, s.memory)).astype(wdt), scale=wt_scale)
    bias_scale = np.float32(np.float32(state_scale) * np.float32(wt_scale))
    bias = b.const(f"{name}/bias", rng.integers(-3000, 3000, s.units).astype(np.int32),
                   scale=bias_scale)
    state = b.tensor(f"{name}/state", (s.batch, s.memory * filters), s.state_type,
                     scale=state_scale, zero_point=s.state_zero_point, variable=True)
    y = b.tensor(f"{name}/output", (s.batch, s.units), scale=y_scale, zero_point=y_zero_point)
    b.op("SVDF", [x, wf, wt, bias, state], [y], rank=s.rank,
         fused_activation_function=s.activation)
    return y


@st.composite
def svdf_cases(draw, steps=(2, 8), activations=("RELU", "NONE")):
    """(model bytes, [inputs of shape (steps, batch, input_size)]): one SVDF op, shapes, rank,
    memory, state type and zero points, scales drawn; the inputs are one sequence."""
    state_type = draw(st.sampled_from(["INT16", "INT16", "INT8"]))
    shape = SvdfShape(
        batch=draw(st.integers(1, 2)), input_size=draw(st.integers(1, 12)),
        units=draw(st.integers(1, 6)), rank=draw(st.integers(1, 3)),
        memory=draw(st.integers(1, 8)), state_type=state_type,
        state_zero_point=draw(st.integers(-20, 20)) if state_type == "INT8" else 0,
        activation=draw(st.sampled_from(activations)))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    x_scale = float(2.0 ** draw(st.floats(-8, -2)))
    # requantization scales: state values from a few LSB to saturated; outputs likewise
    gain_1 = float(2.0 ** draw(st.floats(-14, -3)))
    gain_2 = float(2.0 ** draw(st.floats(-20, -6 if state_type == "INT16" else -2)))
    time_range = draw(st.sampled_from([None, 256, 8]))
    b = ModelBuilder("svdf case")
    x = b.input("x", (shape.batch, shape.input_size), scale=x_scale,
                zero_point=draw(st.integers(-128, 127)))
    y = add_svdf(b, x, shape, rng, "svdf", x_scale, gain_1, gain_2,
                 y_zero_point=draw(st.integers(-128, 127)), time_range=time_range)
    b.output(y)
    n = draw(st.integers(*steps))
    kind = draw(st.sampled_from(["uniform", "uniform", "extremes"]))
    size = (n, shape.batch, shape.input_size)
    xs = (rng.integers(-128, 128, size) if kind == "uniform"
          else rng.choice(np.array([-128, 127]), size)).astype(np.int8)
    return b.build(), [xs]


# -- a whole model ---------------------------------------------------------------------------

KWS_FEATURES = 40
KWS_LAYERS = ((16, 1, 8), (16, 1, 8), (16, 2, 6), (12, 1, 10), (12, 1, 4))
"""(units, rank, memory) of the keyword-spotting model's SVDF layers."""


def keyword_model(seed: int = 0, classes: int = 4) -> bytes:
    """A keyword-spotting model like TFLite Micro's keyword_scrambled_8bit: 40 int16 features
    per step -> QUANTIZE (int16 -> int8) -> 5 SVDF layers (int16 state, RELU; one of rank 2)
    -> FULLY_CONNECTED -> SOFTMAX (int8 probabilities, 1/256 - 128). Every SVDF keeps its
    memory in a variable tensor, so the model is stateful and runs as a sequence."""
    rng = np.random.default_rng(seed)
    b = ModelBuilder("svdf keyword model")
    x_scale = 0.1
    feats = b.input("features", (1, KWS_FEATURES), "INT16", scale=x_scale / 64,
                    zero_point=0)
    prev = b.tensor("features_int8", (1, KWS_FEATURES), scale=x_scale, zero_point=-10)
    b.op("QUANTIZE", [feats], [prev])
    inp = KWS_FEATURES
    for k, (units, rank, memory) in enumerate(KWS_LAYERS):
        shape = SvdfShape(1, inp, units, rank, memory, "INT16", 0, "RELU")
        y_scale = 0.05
        # the state scale puts the feature step in a good part of int16 (gain_1 = 2^-7)
        state_scale = x_scale * 0.02 * 2.0 ** 7
        prev = add_svdf(b, prev, shape, rng, f"svdf_{k}", x_scale, gain_1=2.0 ** -7,
                        gain_2=state_scale * 1e-3 / y_scale, y_scale=y_scale,
                        y_zero_point=-128, time_range=4096)
        x_scale, inp = y_scale, units
    units = KWS_LAYERS[-1][0]
    w = b.const("dense/weights", rng.integers(-127, 128, (classes, units)).astype(np.int8),
                scale=0.02)
    bias = b.const("dense/bias", rng.integers(-500, 500, classes).astype(np.int32),
                   scale=np.float32(x_scale) * np.float32(0.02))
    logits = b.tensor("dense/output", (1, classes), scale=0.3, zero_point=3)
    b.op("FULLY_CONNECTED", [prev, w, bias], [logits], fused_activation_function="NONE")
    probs = b.tensor("probabilities", (1, classes), scale=1 / 256, zero_point=-128)
    b.op("SOFTMAX", [logits], [probs], beta=1.0)
    b.output(probs)
    return b.build()


def keyword_frames(steps: int, seed: int = 0) -> np.ndarray:
    """A sequence of int16 feature frames (steps, 1, 40): slowly varying, like spectra."""
    rng = np.random.default_rng(seed)
    base = rng.integers(-6000, 6000, (1, 1, KWS_FEATURES))
    drift = np.cumsum(rng.integers(-800, 801, (steps, 1, KWS_FEATURES)), axis=0)
    return np.clip(base + drift, -8192, 8191).astype(np.int16)


def wrapping_case(steps: int = 6) -> tuple[bytes, list[np.ndarray]]:
    """An SVDF whose int32 time accumulator leaves the int32 range (TFLite Micro's int32 sums
    wrap as compiled): a saturated int16 state (feature gain 1 on full-scale inputs) times
    full-scale int16 time weights over 4 memory steps; unit 0's weights are all +32767 (its sum
    reaches 4 x 32767^2 > 2^31 once the memory is full), unit 1's alternate in sign."""
    b = ModelBuilder("svdf int32 wrap")
    x = b.input("x", (1, 4), scale=0.01, zero_point=-128)
    wf = b.const("wf", np.full((2, 4), 127, np.int8), scale=0.02)
    wt = b.const("wt", np.array([[32767] * 4, [32767, -32767] * 2], np.int16), scale=1e-3)
    state_scale = 0.01 * 0.02  # gain_1 = 1: the state saturates at 32767
    bias = b.const("bias", np.array([5, -5], np.int32),
                   scale=np.float32(np.float32(state_scale) * np.float32(1e-3)))
    st_ = b.tensor("state", (1, 8), "INT16", scale=state_scale, zero_point=0, variable=True)
    y = b.tensor("y", (1, 2), scale=state_scale * 1e-3 * 2.0 ** 24, zero_point=0)
    b.op("SVDF", [x, wf, wt, bias, st_], [y], rank=1, fused_activation_function="RELU")
    b.output(y)
    xs = np.full((steps, 1, 4), 127, np.int8)
    xs[::3] = -128  # a zero step now and then: the sums pass through the range both ways
    return b.build(), [xs]
