"""FULLY_CONNECTED: random shapes, quantization and activations, reference == TFLM == TFLite."""
import numpy as np
from hypothesis import given, settings, strategies as st

from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES, assert_exact

ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


@st.composite
def fc_models(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    batches = draw(st.integers(1, 3))
    depth = draw(st.integers(1, 64))
    units = draw(st.integers(1, 24))
    per_channel = draw(st.booleans())
    with_bias = draw(st.booleans())
    act = draw(st.sampled_from(ACTIVATIONS))
    s_in = float(np.float32(10 ** rng.uniform(-3, 0)))
    zp_in = int(rng.integers(-128, 128))
    s_w = (10 ** rng.uniform(-3, -1, size=units if per_channel else 1)).astype(np.float32)
    s_out = float(np.float32(10 ** rng.uniform(-2, 0.5)))
    zp_out = int(rng.integers(-128, 128))
    b = ModelBuilder()
    x = b.input("x", (batches, depth), scale=s_in, zero_point=zp_in)
    w = b.const("w", rng.integers(-127, 128, (units, depth), dtype=np.int8),
                scale=s_w, zero_point=0, axis=0)
    ins = [x, w]
    if with_bias:
        bias_scale = (np.float64(s_in) * s_w.astype(np.float64)).astype(np.float32)
        ins.append(b.const("b", rng.integers(-5000, 5000, units, dtype=np.int32),
                           scale=bias_scale, zero_point=0, axis=0))
    else:
        ins.append(-1)
    y = b.tensor("y", (batches, units), scale=s_out, zero_point=zp_out)
    b.op("FULLY_CONNECTED", ins, [y], version=4, fused_activation_function=act)
    b.output(y)
    return b.build()


@settings(max_examples=EXAMPLES, deadline=None)
@given(fc_models(), st.integers(0, 1000))
def test_fully_connected_matches_tflm_and_tflite(model, seed):
    assert_exact(model, batch=3, seed=seed)
