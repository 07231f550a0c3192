"""verify with the generated C runners: exact when the kernels are right, exit 1 when a kernel
carries a deliberate one-LSB rounding fault (-DMCUQ_TEST_ROUNDING_FAULT: ties toward zero), and
exit 4 with the apt-get line when the cross toolchain is missing."""
import pytest
from click.testing import CliRunner

from mcuq.cli import main
from mcuq.runners.firmware import FirmwareRunner
from mcuq.verification import verify_model

FAULT = ("-DMCUQ_TEST_ROUNDING_FAULT",)


def test_correct_firmware_is_exact_on_host_and_cortex_m4(zoo, host_cc, cortex_m4):
    report = verify_model(zoo["ds_cnn"], runners=["reference", "host", "cortex-m4"],
                          samples=20)
    assert report.exit_code == 0
    assert [r.status for r in report.runners] == ["exact", "exact"]


@pytest.mark.parametrize("target", ["host", "cortex-m4"])
def test_a_one_lsb_rounding_fault_fails_verify(zoo, host_cc, cortex_m4, target):
    # Ties in RoundingDivideByPOT are rare (1 in 2^shift of the negative values) and a 1-LSB
    # change deep inside often vanishes by the output; the ResNet-8 shows it on 40 inputs.
    faulty = FirmwareRunner(zoo["resnet8"], target=target, extra_cflags=FAULT)
    report = verify_model(zoo["resnet8"], runners=["reference", faulty], samples=40)
    assert report.exit_code == 1
    (r,) = report.runners
    assert r.status == "mismatch" and not r.passed
    assert sum(o.mismatched_elements for o in r.outputs) > 0
    assert max(o.max_abs_lsb for o in r.outputs) >= 1


def test_missing_cross_toolchain_exits_4_with_the_install_line(tmp_path, monkeypatch):
    from tests.test_inspect import conv_dw_fc_model

    model = tmp_path / "m.tflite"
    model.write_bytes(conv_dw_fc_model())
    monkeypatch.setenv("PATH", str(tmp_path))  # no arm-none-eabi-gcc, no qemu
    r = CliRunner().invoke(main, ["verify", str(model), "--runners", "reference,cortex-m4",
                                  "--samples", "2"])
    assert r.exit_code == 4
    assert "apt-get install" in r.output and "gcc-arm-none-eabi" in r.output
