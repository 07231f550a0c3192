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


@settings(max_examples=EXAMPLES, deadline=None)
@given(S16.cases16(S16.softmax16_models()))
def test_softmax_int16_matches_tflm(case):
    """TFLite Micro's LUT path: exp and 1/(1+x) tables, 7-bit interpolation."""
    model, inputs = case
    assert_exact(model, inputs=inputs, runners=("tflm",))


def test_softmax_int16_luts_use_hosts_expf_values():
    """The exp LUT is built from float32 exp values; a correctly rounded exp and the C
    library's expf give the same table (they differ on one of the 1,026 arguments)."""
    import ctypes.util

    import numpy as np

    from mcuq.reference.ops import softmax16 as SM

    name = ctypes.util.find_library("m")
    if name is None:
        import pytest
        pytest.skip("no C math library to compare with")
    libm = ctypes.CDLL(name)
    libm.expf.restype, libm.expf.argtypes = ctypes.c_float, [ctypes.c_float]
    f = np.float32
    via_libm = SM.lut_populate16(lambda v: f(libm.expf(float(v))), f(f(10.0) / f(65535)), 32767,
                                 f(f(2.0) / f(65535)), 0)
    assert (via_libm == SM.softmax_luts()[0]).all()


@settings(max_examples=EXAMPLES, deadline=None)
@given(S16.cases16(S16.sigmoid_tanh16_models()))
def test_tanh_logistic_int16_match_tflm(case):
    model, inputs = case
    assert_exact(model, inputs=inputs, runners=("tflm",))


def test_sigmoid_table_is_what_tflm_computes_with():
    """The table in mcuq/reference/ops/sigmoid_tanh16.py, re-measured from TFLite Micro."""
    from mcuq.reference.ops.sigmoid_tanh16 import SIGMOID_TABLE_U16
    from mcuq.testing.tflm_probe import measure_sigmoid_table

    assert (measure_sigmoid_table() == SIGMOID_TABLE_U16).all()


def _mean_models():
    from hypothesis import strategies as st

    from tests.reference.test_reduce import global_average_pool_models, mean_models

    return st.one_of(mean_models(), global_average_pool_models()).map(S16.as_int16)


@settings(max_examples=EXAMPLES, deadline=None)
@given(S16.cases16(_mean_models()))
def test_mean_int16_matches_tflm(case):
    model, inputs = case
    assert_exact(model, inputs=inputs, runners=("tflm",))
