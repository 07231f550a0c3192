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


# -- weight zero points: what TFLite Micro does, per-tensor and per-channel ------------------

@st.composite
def fc_models_weight_zero_point(draw):
    """FULLY_CONNECTED with a non-zero weight zero point. TFLite Micro applies it to
    per-tensor weights ((w - zp) * (x - x_zp)) and ignores it on per-channel weights."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    batches, depth, units = draw(st.integers(1, 3)), draw(st.integers(1, 48)), draw(st.integers(1, 16))
    per_channel = draw(st.booleans())
    zp_w = draw(st.integers(-128, 127).filter(lambda v: v != 0))
    s_in, zp_in = float(np.float32(10 ** rng.uniform(-3, 0))), int(rng.integers(-128, 128))
    s_w = (10 ** rng.uniform(-3, -1, size=units if per_channel else 1)).astype(np.float32)
    b = ModelBuilder()
    x = b.input("x", (batches, depth), scale=s_in, zero_point=zp_in)
    w = b.const("w", rng.integers(-128, 128, (units, depth), dtype=np.int8), scale=s_w,
                zero_point=zp_w, axis=0)
    bias = b.const("b", rng.integers(-5000, 5000, units, dtype=np.int32),
                   scale=(np.float64(s_in) * s_w.astype(np.float64)).astype(np.float32), axis=0)
    y = b.tensor("y", (batches, units), scale=float(np.float32(10 ** rng.uniform(-1, 1.5))),
                 zero_point=int(rng.integers(-128, 128)))
    b.op("FULLY_CONNECTED", [x, w, bias], [y], version=4,
         fused_activation_function=draw(st.sampled_from(
             ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"])))
    b.output(y)
    return b.build()


@settings(max_examples=EXAMPLES, deadline=None)
@given(fc_models_weight_zero_point(), st.integers(0, 1000))
def test_weight_zero_point_is_handled_as_tflm_does(model, seed):
    """Before issue 9 the reference ignored a per-tensor weight zero point that TFLite Micro
    applies (a valid model failed verify by up to 5 LSB)."""
    assert_exact(model, batch=3, seed=seed, runners=("tflm",))


def test_per_tensor_weight_zero_point_changes_the_result():
    """The zero point matters: zp 3 gives other bytes than zp 0 on the same data (so the
    property test above would catch a reference that ignored it)."""
    from mcuq.model import load_model
    from mcuq.runners import make_runner
    from mcuq.vectors import random_inputs

    def model(zp):
        b = ModelBuilder()
        x = b.input("x", (1, 16), scale=0.05, zero_point=-3)
        w = b.const("w", np.arange(-48, 48, dtype=np.int8).reshape(6, 16), scale=0.02,
                    zero_point=zp)
        y = b.tensor("y", (1, 6), scale=0.05, zero_point=2)
        b.op("FULLY_CONNECTED", [x, w, -1], [y], version=4)
        b.output(y)
        return load_model(b.build())

    xs = random_inputs(model(0), 8, 1)
    ref = [make_runner("reference", model(zp)).run(xs).outputs[0] for zp in (0, 3)]
    tflm = make_runner("tflm", model(3)).run(xs).outputs[0]
    assert not np.array_equal(ref[0], ref[1]) and np.array_equal(ref[1], tflm)
