"""AVERAGE_POOL_2D / MAX_POOL_2D C kernels == reference on the property-test cases (host
ASan+UBSan build, and a smaller batch on Cortex-M4 under QEMU)."""
from hypothesis import strategies as st

from tests.firmware.cases import assert_c_matches_reference
from tests.reference.test_pooling import pool_models


def test_average_pool_c_host(host_cc):
    assert assert_c_matches_reference(pool_models("AVERAGE_POOL_2D")) > 0


def test_max_pool_c_host(host_cc):
    assert assert_c_matches_reference(pool_models("MAX_POOL_2D")) > 0


def test_pooling_c_cortex_m4(cortex_m4):
    models = st.one_of(pool_models("AVERAGE_POOL_2D"), pool_models("MAX_POOL_2D"))
    assert assert_c_matches_reference(models, target="cortex-m4", examples=6) > 0
