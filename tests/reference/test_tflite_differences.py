"""Proof for every entry of mcuq.runners.tflite.KNOWN_DIFFERENCES: a concrete case where
TFLite's reference kernels (LiteRT) and TFLite Micro give different bytes, and each equals
mcuq's reference run in its own profile (litert / tflm). If LiteRT ever changes to match
TFLite Micro, the "differs" assertion fails and the entry (and the profile's branch) must go;
if it changes otherwise, the profile assertion fails."""
import numpy as np
import pytest

from mcuq.model import load_model
from mcuq.runners import make_runner
from mcuq.runners.tflite import KNOWN_DIFFERENCES
from mcuq.testing.builder import ModelBuilder
from tests.reference.test_activations import one_op
from tests.reference.test_sigmoid_tanh import act_model


def _fc(s_in, zp_in, weights, s_w, s_out, zp_out, bias=None) -> bytes:
    b = ModelBuilder()
    w = np.asarray(weights, np.int8)
    x = b.input("x", (1, w.shape[1]), scale=s_in, zero_point=zp_in)
    wt = b.const("w", w, scale=s_w, zero_point=0)
    bt = -1 if bias is None else b.const("b", np.asarray(bias, np.int32),
                                         scale=np.float32(s_in) * np.float32(s_w))
    y = b.tensor("y", (1, w.shape[0]), scale=s_out, zero_point=zp_out)
    b.op("FULLY_CONNECTED", [x, wt, bt], [y], version=4)
    b.output(y)
    return b.build()


def _prelu() -> bytes:
    b = ModelBuilder()
    x = b.input("x", (1,), scale=0.05, zero_point=126)
    a = b.const("alpha", np.array([111], np.int8), scale=0.05, zero_point=126)
    y = b.tensor("y", (1,), scale=0.001, zero_point=0)
    b.op("PRELU", [x, a], [y])
    b.output(y)
    return b.build()


def _sum() -> bytes:
    b = ModelBuilder()
    x = b.input("x", (1, 2), scale=1.0, zero_point=0)
    y = b.tensor("y", (1,), scale=1.0, zero_point=0)
    b.op("SUM", [x, b.const("ax", np.array([1], np.int32))], [y])
    b.output(y)
    return b.build()


#: op -> (model, one input value, TFLite Micro's output, LiteRT's output)
CASES = {
    # acc (66 - 2) * -69 = -4416 scales to -39.495 LSB: TFLite Micro's first rounding
    # (SaturatingRoundingDoublingHighMul) lands on -39.5, the second rounds it away: -40.
    "FULLY_CONNECTED": (_fc(0.08144887, 2, [[-69]], 0.00120767, 0.01099814, -59), 66, -99, -98),
    # relu6 clamps [-3, 117] in the input's quantization vs requantized to (0.03, -100)
    "RELU6": (one_op("RELU6", (1,), 0.05, -3, 0.03, -100), 100, 100, 72),
    # 0.25 / 0.1: exactly 2.5 in float (LiteRT), just below in double (TFLite Micro)
    "RELU": (one_op("RELU", (1,), 0.25, 0, 0.1, 0), 1, 2, 3),
    "LEAKY_RELU": (one_op("LEAKY_RELU", (1,), 0.25, -128, 0.1, -128, version=2, alpha=0.0),
                   -127, -126, -125),
    "LOGISTIC": (act_model("LOGISTIC", (1,), 0.001467994530685246, -128), 27, 14, 15),
    "TANH": (act_model("TANH", (1,), 0.0032629917841404676, -128), -51, 32, 31),
    # (x - zp) * (alpha - zp) = 15 times 2.49999996 (double) or exactly 2.5 (float)
    "PRELU": (_prelu(), 125, 37, 38),
    # -100 + -100: TFLite Micro saturates -200 to -128; LiteRT's uint8 kernel reads 156 + 156
    # and clamps 312 to 255, stored as the byte -1
    "SUM": (_sum(), -100, -128, -1),
}


def test_every_known_difference_has_a_case():
    assert set(CASES) == set(KNOWN_DIFFERENCES)


@pytest.mark.parametrize("op", sorted(CASES))
def test_tflite_differs_from_tflm_and_each_equals_its_profile(op):
    model_bytes, value, tflm_out, litert_out = CASES[op]
    model = load_model(model_bytes)
    assert any(o.opcode == op for o in model.operators)
    x = [np.full((1, *model.input_tensors()[0].shape), value, np.int8)]

    def out(name, **options):
        return int(make_runner(name, model, **options).run(x).outputs[0].ravel()[0])

    tfl = make_runner("tflite", model)
    assert tfl.profile == "litert" and tfl.exact
    assert out("tflm") == out("reference") == tflm_out
    assert out("tflite") == out("reference", profile="litert") == litert_out
    assert tflm_out != litert_out


def test_fully_connected_overflow_takes_litert_float_path():
    """acc = 2^30 + x with a real multiplier of 2: TFLite Micro shifts left in int32 (2^32
    wraps to 0: output = zero point); LiteRT's double product 2^31 + 2x leaves int32 and
    converts to INT32_MIN (CVTTSD2SI), clamped to -128."""
    model = load_model(_fc(1.0, 0, [[1]], 1.0, 0.5, 0, bias=[1 << 30]))
    x = [np.zeros((1, 1, 1), np.int8)]
    ref = {p: int(make_runner("reference", model, profile=p).run(x).outputs[0].ravel()[0])
           for p in ("tflm", "litert")}
    assert ref == {"tflm": 0, "litert": -128}
    assert int(make_runner("tflm", model).run(x).outputs[0].ravel()[0]) == ref["tflm"]
    assert int(make_runner("tflite", model).run(x).outputs[0].ravel()[0]) == ref["litert"]
