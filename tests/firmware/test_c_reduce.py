"""MEAN C kernel == reference on the property-test cases (any axes, keep_dims, equal or
different quantization; host ASan+UBSan build, and a smaller batch on Cortex-M4 under QEMU)."""
from hypothesis import strategies as st

from tests.firmware.cases import assert_c_matches_reference
from tests.reference.test_reduce import global_average_pool_models, mean_models


def test_mean_c_host(host_cc):
    assert assert_c_matches_reference(mean_models()) > 0


def test_global_average_pool_mean_c_host(host_cc):
    assert assert_c_matches_reference(global_average_pool_models()) > 0


def test_mean_c_cortex_m4(cortex_m4):
    models = st.one_of(mean_models(), global_average_pool_models())
    assert assert_c_matches_reference(models, target="cortex-m4", examples=6) > 0
