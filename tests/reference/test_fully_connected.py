"""FULLY_CONNECTED: shapes, edge quantization (zero points, multipliers at every shift edge,
dead channels), wrapping accumulators and activations (mcuq.testing.strategies); reference ==
TFLM == TFLite."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mcuq.reference import Interpreter
from mcuq.testing import strategies as S
from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES, assert_exact

fc_models = lambda: st.one_of([S.fully_connected_models(t) for t in S.FC_TARGETS])  # noqa: E731


@settings(max_examples=EXAMPLES, deadline=None)
@given(S.cases(fc_models()))
def test_fully_connected_matches_tflm_and_tflite(case):
    model, inputs = case
    assert_exact(model, inputs=inputs)


def _fc(s_in, s_w, s_out, bias, zp_out):
    b = ModelBuilder()
    x = b.input("x", (1, 4), scale=s_in, zero_point=0)
    w = b.const("w", np.array([[1, 2, 3, 4]], np.int8), scale=np.float32(s_w), zero_point=0)
    bt = b.const("b", np.array([bias], np.int32), scale=np.float32(np.float32(s_in) * s_w))
    y = b.tensor("y", (1, 1), scale=s_out, zero_point=zp_out)
    b.op("FULLY_CONNECTED", [x, w, bt], [y])
    b.output(y)
    return b.build()


def test_per_tensor_multiplier_uses_the_double_product_of_the_scales():
    """Found by the edge strategies: TFLite Micro (and LiteRT) take input_scale * filter_scale
    in double. With 1 + 2^-13 and 1 - 2^-13 (float product 1.0, double 1 - 2^-26) and an
    accumulator of 5.5 * 2^24 (output scale 2^24), the double product rounds below the tie: 5."""
    model = _fc(1 + 2.0**-13, 1 - 2.0**-13, 2.0**24, 5 * 2**24 + 2**23, 0)
    p = Interpreter(model).params(0)
    assert (int(p.multiplier[0]), int(p.shift[0])) == (2**31 - 32, -24)
    out = assert_exact(model, inputs=[np.zeros((1, 1, 4), np.int8)], runners=("tflm",))
    assert out[0].item() == 5


@pytest.mark.parametrize("bias, zp_out, expect", [(-(2**31), -128, 127), (2**31 - 1, 127, -128),
                                                  (-(2**31) + 40, -100, 127)])
def test_output_offset_addition_wraps_in_int32_as_tflm(bias, zp_out, expect):
    """Found by the edge strategies: a requantized accumulator within 128 of the int32 limits
    plus the output zero point wraps in TFLite Micro's int32 arithmetic."""
    model = _fc(1 + 2.0**-13, 1 - 2.0**-13, 1.0, bias, zp_out)
    out = assert_exact(model, inputs=[np.zeros((1, 1, 4), np.int8)], runners=("tflm",))
    assert out[0].item() == expect
