"""FULLY_CONNECTED C kernel == reference on the property-test cases (host ASan+UBSan build,
and a smaller batch on Cortex-M4 under QEMU)."""
from tests.firmware.cases import assert_c_matches_reference
from tests.reference.test_fully_connected import fc_models


def test_fully_connected_c_host(host_cc):
    assert assert_c_matches_reference(fc_models()) > 0


def test_fully_connected_c_cortex_m4(cortex_m4):
    assert assert_c_matches_reference(fc_models(), target="cortex-m4", examples=8) > 0


def test_fully_connected_weight_zero_point_c_host(host_cc):
    from tests.reference.test_fully_connected import fc_models_weight_zero_point

    assert assert_c_matches_reference(fc_models_weight_zero_point()) > 0


def test_fully_connected_weight_zero_point_c_cortex_m4(cortex_m4):
    from tests.reference.test_fully_connected import fc_models_weight_zero_point

    assert assert_c_matches_reference(fc_models_weight_zero_point(), target="cortex-m4",
                                      examples=6) > 0
