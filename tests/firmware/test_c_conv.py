"""CONV_2D / DEPTHWISE_CONV_2D C kernels == reference on the property-test cases (SAME and
VALID padding, strides, dilations, groups of shapes; host ASan+UBSan build, and a smaller
batch on Cortex-M4 under QEMU)."""
from hypothesis import strategies as st

from tests.firmware.cases import assert_c_matches_reference
from tests.reference.test_conv import conv_models, depthwise_models


def test_conv_c_host(host_cc):
    assert assert_c_matches_reference(conv_models()) > 0


def test_depthwise_conv_c_host(host_cc):
    assert assert_c_matches_reference(depthwise_models()) > 0


def test_conv_family_c_cortex_m4(cortex_m4):
    assert assert_c_matches_reference(st.one_of(conv_models(), depthwise_models()),
                                      target="cortex-m4", examples=6) > 0
