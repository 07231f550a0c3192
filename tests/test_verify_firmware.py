"""verify with the generated C runners: exact when the kernels are right, exit 1 when a kernel
carries a deliberate one-LSB rounding fault (-DMCUQ_TEST_ROUNDING_FAULT: ties toward zero), and
exit 4 with the apt-get line when the cross toolchain is missing."""
import numpy as np
import pytest
from click.testing import CliRunner

from mcuq.cli import main
from mcuq.errors import VerificationError
from mcuq.runners.firmware import FirmwareRunner
from mcuq.verification import verify_model

FAULT = ("-DMCUQ_TEST_ROUNDING_FAULT",)


def test_correct_firmware_is_exact_on_host_and_host_sanitize(zoo, host_cc):
    report = verify_model(zoo["ds_cnn"], runners=["reference", "host", "host-sanitize"],
                          samples=20)
    assert report.exit_code == 0
    assert [(r.runner, r.status) for r in report.runners] == [("host", "exact"),
                                                              ("host-sanitize", "exact")]


def test_correct_firmware_is_exact_on_cortex_m4(zoo, cortex_m4):
    report = verify_model(zoo["ds_cnn"], runners=["reference", "cortex-m4"], samples=20)
    assert report.exit_code == 0
    assert [r.status for r in report.runners] == ["exact"]


def test_host_sanitize_runs_a_users_data_from_the_cli(tmp_path, host_cc):
    from tests.reference.test_conv import wide_wrap_conv_model

    model = tmp_path / "wrap.tflite"
    model.write_bytes(wide_wrap_conv_model())  # int32 accumulators wrap on these inputs
    data = np.random.default_rng(5).integers(-128, 128, (6, 5, 5, 128)).astype(np.int8)
    np.save(tmp_path / "x.npy", data)
    r = CliRunner().invoke(main, ["verify", str(model), "--data", str(tmp_path / "x.npy"),
                                  "--runners", "reference,host-sanitize"])
    assert r.exit_code == 0, r.output
    assert "host-sanitize" in r.output and "exact" in r.output


def test_a_sanitizer_report_fails_host_sanitize_with_its_text(host_cc):
    """The kernels built with the plain signed addition (-DMCUQ_TEST_SIGNED_OVERFLOW_FAULT,
    undefined on overflow) on a model whose accumulators wrap: UBSan stops the run and verify
    fails with the report's text."""
    from tests.reference.test_conv import wide_wrap_conv_model

    faulty = FirmwareRunner(wide_wrap_conv_model(), target="host", sanitize=True,
                            extra_cflags=("-DMCUQ_TEST_SIGNED_OVERFLOW_FAULT",))
    assert faulty.name == "host-sanitize"
    with pytest.raises(VerificationError, match="signed integer overflow") as e:
        verify_model(wide_wrap_conv_model(), runners=[faulty], samples=6, seed=5)
    assert "runtime error" in e.value.message and "sanitizers" in e.value.message


def _assert_fault_fails_verify(zoo, target):
    # Ties in RoundingDivideByPOT are rare (1 in 2^shift of the negative values) and a 1-LSB
    # change deep inside often vanishes by the output; the ResNet-8 shows it on 40 inputs.
    faulty = FirmwareRunner(zoo["resnet8"], target=target, extra_cflags=FAULT)
    report = verify_model(zoo["resnet8"], runners=["reference", faulty], samples=40)
    assert report.exit_code == 1
    (r,) = report.runners
    assert r.status == "mismatch" and not r.passed
    assert sum(o.mismatched_elements for o in r.outputs) > 0
    assert max(o.max_abs_lsb for o in r.outputs) >= 1


def test_a_one_lsb_rounding_fault_fails_verify_on_host(zoo, host_cc):
    """Needs only a host compiler: never skipped for want of the Cortex-M toolchain."""
    _assert_fault_fails_verify(zoo, "host")


def test_a_one_lsb_rounding_fault_fails_verify_on_cortex_m4(zoo, cortex_m4):
    _assert_fault_fails_verify(zoo, "cortex-m4")


def test_missing_cross_toolchain_exits_4_with_the_install_line(tmp_path, monkeypatch):
    from tests.test_inspect import conv_dw_fc_model

    model = tmp_path / "m.tflite"
    model.write_bytes(conv_dw_fc_model())
    monkeypatch.setenv("PATH", str(tmp_path))  # no arm-none-eabi-gcc, no qemu
    r = CliRunner().invoke(main, ["verify", str(model), "--runners", "reference,cortex-m4",
                                  "--samples", "2"])
    assert r.exit_code == 4
    assert "apt-get install" in r.output and "gcc-arm-none-eabi" in r.output
