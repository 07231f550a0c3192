"""Proof for every entry of mcuq.runners.tflite.KNOWN_DIFFERENCES: a concrete case where
TFLite's reference kernel differs from TFLite Micro, with mcuq's reference on TFLite Micro's side.
If LiteRT ever changes to match TFLite Micro, this test fails and the entry must go."""
import numpy as np

from mcuq.model import load_model
from mcuq.runners import make_runner
from mcuq.runners.tflite import KNOWN_DIFFERENCES
from mcuq.testing.builder import ModelBuilder


def _fc_near_tie_model() -> bytes:
    # Found by hypothesis: per-tensor FC, depth 1, no bias. For input 66 the accumulator
    # (66 - 2) * -69 = -4416 scales to -39.495 LSB: TFLite Micro's double rounding gives -40, single rounding -39.
    b = ModelBuilder()
    x = b.input("x", (1, 1), scale=0.08144887, zero_point=2)
    w = b.const("w", np.array([[-69]], np.int8), scale=0.00120767, zero_point=0)
    y = b.tensor("y", (1, 1), scale=0.01099814, zero_point=-59)
    b.op("FULLY_CONNECTED", [x, w, -1], [y], version=4)
    b.output(y)
    return b.build()


def test_fully_connected_rounding_differs_in_tflite_and_reference_follows_tflm():
    assert "FULLY_CONNECTED" in KNOWN_DIFFERENCES
    model = load_model(_fc_near_tie_model())
    x = [np.array([[[66]]], np.int8)]
    ref = make_runner("reference", model).run(x).outputs[0]
    tflm = make_runner("tflm", model).run(x).outputs[0]
    tfl = make_runner("tflite", model).run(x).outputs[0]
    assert np.array_equal(ref, tflm)
    assert not np.array_equal(ref, tfl)
    assert np.abs(ref.astype(int) - tfl).max() == 1
    assert not make_runner("tflite", model).exact


def test_leaky_relu_multiplier_differs_in_tflite_and_reference_follows_tflm():
    """Found by the edge strategies (power-of-two input scale): 0.25 / 0.1 is exactly 2.5 in
    float (LiteRT), just below in double (TFLite Micro): x - zp = 1 gives 3 vs 2."""
    from tests.reference.test_activations import one_op

    assert "LEAKY_RELU" in KNOWN_DIFFERENCES
    model = load_model(one_op("LEAKY_RELU", (1,), 0.25, -128, 0.1, -128, version=2,
                              alpha=0.0))
    x = [np.array([[-127]], np.int8)]
    ref = make_runner("reference", model).run(x).outputs[0]
    tflm = make_runner("tflm", model).run(x).outputs[0]
    tfl = make_runner("tflite", model).run(x).outputs[0]
    assert np.array_equal(ref, tflm) and ref.item() == -126
    assert tfl.item() == -125
    assert not make_runner("tflite", model).exact
