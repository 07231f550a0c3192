"""16x8 QUANTIZE (float32 -> int16, int16 <-> int8, int16 -> int16), DEQUANTIZE int16,
AVERAGE/MAX_POOL_2D int16 and RESHAPE int16: reference == TFLite Micro to the byte."""
from hypothesis import given, settings

from tests.exactness import EXAMPLES, assert_exact
from mcuq.testing import strategies16 as S16


@settings(max_examples=EXAMPLES, deadline=None)
@given(S16.cases16(S16.quantize16_models()))
def test_quantize_dequantize_int16_match_tflm(case):
    model, inputs = case
    assert_exact(model, inputs=inputs, runners=("tflm",))


@settings(max_examples=EXAMPLES, deadline=None)
@given(S16.cases16(S16.pool16_models()))
def test_pooling_int16_matches_tflm(case):
    model, inputs = case
    assert_exact(model, inputs=inputs, runners=("tflm",))


@settings(max_examples=max(EXAMPLES // 5, 3), deadline=None)
@given(S16.cases16(S16.reshape16_models()))
def test_reshape_int16_matches_tflm(case):
    model, inputs = case
    assert_exact(model, inputs=inputs, runners=("tflm",))


@settings(max_examples=EXAMPLES, deadline=None)
@given(S16.cases16(S16.elementwise16_models()))
def test_add_sub_mul_int16_match_tflm(case):
    model, inputs = case
    assert_exact(model, inputs=inputs, runners=("tflm",))


def _move_models():
    from hypothesis import strategies as st

    from tests.reference.test_shape import (concat_models, pad_models, reshape_models,
                                            strided_slice_models, transpose_models)

    return st.one_of(concat_models(), pad_models(), reshape_models(), strided_slice_models(),
                     transpose_models()).map(S16.as_int16)


@settings(max_examples=EXAMPLES, deadline=None)
@given(S16.cases16(_move_models()))
def test_data_movement_int16_matches_tflm(case):
    """CONCATENATION, PAD/PADV2, RESHAPE, STRIDED_SLICE, TRANSPOSE on int16."""
    model, inputs = case
    assert_exact(model, inputs=inputs, runners=("tflm",))


@settings(max_examples=EXAMPLES, deadline=None)
@given(S16.cases16(S16.activation16_models()))
def test_relu_relu6_leaky_relu_int16_match_tflm(case):
    model, inputs = case
    assert_exact(model, inputs=inputs, runners=("tflm",))
