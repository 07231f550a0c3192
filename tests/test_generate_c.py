"""`mcuq generate --target c`: the Cortex-M4 figures (flash, RAM, the measured stack) and the
kernel path of every op in the report; a Cortex-M4 build that fails is a clear error that
leaves nothing behind (it used to become a note while generate exited 0)."""
import json

from click.testing import CliRunner

from mcuq.cli import main
from tests.firmware.test_footprint import _conv_model


def test_generate_c_reports_measured_stack_and_kernel_paths(tmp_path, cortex_m4):
    model = tmp_path / "conv.tflite"
    model.write_bytes(_conv_model())
    r = CliRunner().invoke(main, ["generate", str(model), "-o", str(tmp_path / "out"),
                                  "--target", "c"])
    assert r.exit_code == 0, r.output
    assert "call graph" in r.output and "painted high-water" in r.output
    r = CliRunner().invoke(main, ["generate", str(model), "-o", str(tmp_path / "out2"),
                                  "--target", "c", "--json"])
    d = json.loads(r.stdout)["details"]
    m4 = d["cortex_m4"]
    assert m4["stack"]["painted_bytes"] <= m4["stack"]["callgraph_bytes"] == m4["stack_bytes"]
    assert d["kernel_paths"]["0"][0] == "conv/im2col"
    assert "[conv/im2col]" in (tmp_path / "out2" / "model.c").read_text()


def test_a_failing_cortex_m4_build_fails_generate_and_writes_nothing(tmp_path, monkeypatch,
                                                                     host_cc):
    fake = tmp_path / "bin"
    fake.mkdir()
    gcc = fake / "arm-none-eabi-gcc"
    gcc.write_text("#!/bin/sh\necho 'arm-none-eabi-gcc: internal compiler error (fake)' >&2\n"
                   "exit 1\n")
    gcc.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("MCUQ_CACHE", str(tmp_path / "cache"))
    model = tmp_path / "conv.tflite"
    model.write_bytes(_conv_model())
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["generate", str(model), "-o", str(out), "--target", "c"])
    assert r.exit_code != 0
    assert "building the generated C project failed" in r.output
    assert "internal compiler error (fake)" in r.output
    assert "Traceback" not in r.output
    assert not out.exists()
