"""A whole 16x8 model (mcuq.testing.zoo16: conv, depthwise, pooling, flatten, dense; int16 and
float32 I/O) converted in the test session: `mcuq verify` exact on tflm, host and cortex-m4;
`mcuq generate` for both targets builds and passes its self-test; `mcuq convert
--activations int16` from the CLI and its refusals."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from mcuq.cli import main
from mcuq.model import load_model


@pytest.fixture(scope="session")
def models16():
    from mcuq.testing.zoo16 import models16

    return models16()


@pytest.fixture(scope="session")
def model_files(models16, tmp_path_factory):
    d = tmp_path_factory.mktemp("int16")
    paths = {}
    for name, data in models16.items():
        (d / f"{name}.tflite").write_bytes(data)
        paths[name] = d / f"{name}.tflite"
    return paths


def test_conversion_is_16x8(models16):
    m = load_model(models16["conv_fc16"])
    ops = [op.opcode for op in m.operators]
    assert ops == ["CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D", "CONV_2D",
                   "ADD", "RESHAPE", "FULLY_CONNECTED", "TANH", "FULLY_CONNECTED", "SOFTMAX"]
    for op in m.operators:
        for t in m.op_outputs(op):
            assert t.type_name == "INT16" and t.zero_point == 0
    conv = m.operators[0]
    assert [t.type_name for t in m.op_inputs(conv)] == ["INT16", "INT8", "INT64"]
    f = load_model(models16["conv_fc16_f32"])
    assert [op.opcode for op in f.operators][0] == "QUANTIZE"
    assert [op.opcode for op in f.operators][-1] == "DEQUANTIZE"
    assert f.input_tensors()[0].type_name == "FLOAT32"


@pytest.mark.parametrize("name", ["conv_fc16", "conv_fc16_f32"])
def test_verify_exact_on_tflm_tflite_and_host_sanitized(model_files, name, host_cc):
    """tflite is judged in the litert profile: its int16 FULLY_CONNECTED rescales in double
    and its SOFTMAX tables are built in double (mcuq models both)."""
    r = CliRunner().invoke(main, ["verify", str(model_files[name]), "--runners",
                                  "reference,tflm,tflite,host-sanitize", "--samples", "24",
                                  "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output[r.output.index("{"):])
    text = json.dumps(out)
    assert '"exact": 1.0' in text or '"exact": 1' in text


def test_verify_exact_on_cortex_m4(model_files, cortex_m4):
    r = CliRunner().invoke(main, ["verify", str(model_files["conv_fc16"]), "--runners",
                                  "reference,tflm,cortex-m4", "--samples", "16"])
    assert r.exit_code == 0, r.output
    assert "PASS" in r.output and "cortex-m4" in r.output


def test_generate_c_passes_its_self_test_on_host_and_cortex_m4(model_files, tmp_path, host_cc,
                                                               cortex_m4):
    out = tmp_path / "c16"
    r = CliRunner().invoke(main, ["generate", str(model_files["conv_fc16_f32"]), "-o", str(out),
                                  "--target", "c", "--vectors", "3"])
    assert r.exit_code == 0, r.output
    assert "linear16" in (out / "model.c").read_text() or (out / "mcuq" / "linear16.c").exists()
    for goal in ("run-sanitize", "run-qemu"):
        p = subprocess.run(["make", "-s", goal], cwd=out, capture_output=True, text=True,
                           timeout=300)
        assert p.returncode == 0 and "PASS" in p.stdout, p.stdout + p.stderr


def test_generate_tflm_passes_its_self_test_on_host_and_cortex_m4(models16, cortex_m4):
    from mcuq.testing import tflm_prebuilt
    from mcuq.testing.tflm_build import cached_project, self_tests

    tflm = tflm_prebuilt.locate()
    if tflm is None:
        pytest.skip(tflm_prebuilt.missing_reason())
    project = cached_project(models16["conv_fc16"], "conv_fc16", tflm, vectors=3)
    results = self_tests([(project, "host"), (project, "cortex-m4")], tflm)
    failed = [r.describe() for r in results if not r.passed]
    assert len(results) == 2 and not failed, "\n\n".join(failed)


def test_convert_cli_16x8_summary_and_refusals(tmp_path):
    from mcuq.testing.zoo16 import build_keras, calibration

    build_keras().save(tmp_path / "m.keras")
    np.save(tmp_path / "calib.npy", calibration(16))
    r = CliRunner().invoke(main, ["convert", str(tmp_path / "m.keras"), "-c",
                                  str(tmp_path / "calib.npy"), "-o", str(tmp_path / "m.tflite"),
                                  "--activations", "int16"])
    assert r.exit_code == 0, r.output
    assert "16x8 (int16 activations" in r.output and "int16 I/O" in r.output
    assert load_model(str(tmp_path / "m.tflite")).input_tensors()[0].type_name == "INT16"
    # int16 inputs from float data: quantized over the whole int16 range (not clipped like
    # int8's), so the 16x8 model tracks the float one closely
    r = CliRunner().invoke(main, ["verify", str(tmp_path / "m.tflite"), "--float",
                                  str(tmp_path / "m.keras"), "--data", str(tmp_path / "calib.npy"),
                                  "--runners", "reference", "--no-diagnose", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output[r.output.index("{"):])
    assert out["metrics"][0]["sqnr_db"] > 30 and out["metrics"][0]["top1_agreement"] == 1.0
    r = CliRunner().invoke(main, ["convert", str(tmp_path / "m.keras"), "-c",
                                  str(tmp_path / "calib.npy"), "-o", str(tmp_path / "n.tflite"),
                                  "--activations", "int16", "--io", "int8"])
    assert r.exit_code == 2 and "does not go with --activations int16" in r.output
    assert not (tmp_path / "n.tflite").exists()


def test_inspect_counts_int16_bytes_and_names_missing_int16_kernels(models16, tmp_path):
    from mcuq.costs import inspect_model
    from mcuq.testing.builder import ModelBuilder

    ins = inspect_model(models16["conv_fc16"], measure_tflm=False)
    first = ins.ops[0]
    x = load_model(models16["conv_fc16"]).input_tensors()[0]
    assert x.nbytes == 2 * x.size and first.live_bytes >= x.nbytes
    assert all(op.support.reference and op.support.c for op in ins.ops)
    b = ModelBuilder()
    t = b.input("x", (1, 8), "INT16", scale=1e-3, zero_point=0)
    y = b.tensor("y", (1, 8), "INT16", scale=1e-3, zero_point=0)
    b.op("HARD_SWISH", [t], [y])
    b.output(y)
    r = CliRunner().invoke(main, ["inspect", str(_write(tmp_path, b.build())), "--no-tflm"])
    assert r.exit_code == 0, r.output
    assert "HARD_SWISH !mcuq" in r.output


def _write(tmp_path, data: bytes):
    p = tmp_path / "m.tflite"
    p.write_bytes(data)
    return p


def test_an_op_without_a_16x8_kernel_is_a_converter_error_naming_it(tmp_path):
    """LayerNormalization lowers to NEG (among others), which TFLiteConverter's 16x8 mode has no
    kernel for: exit 3 naming the op, no float fallback, no file written."""
    from mcuq.sources import import_keras

    keras = import_keras()
    inp = keras.Input((8,))
    x = keras.layers.LayerNormalization()(keras.layers.Dense(4)(inp))
    keras.Model(inp, x).save(tmp_path / "ln.keras")
    np.save(tmp_path / "c.npy", np.random.default_rng(0).random((16, 8), np.float32))
    r = CliRunner().invoke(main, ["convert", str(tmp_path / "ln.keras"), "-c",
                                  str(tmp_path / "c.npy"), "-o", str(tmp_path / "ln.tflite"),
                                  "--activations", "int16"])
    assert r.exit_code == 3, r.output
    assert "16x8" in r.output and "'NEG'" in r.output and "hint:" in r.output
    assert "Traceback" not in r.output and not (tmp_path / "ln.tflite").exists()


def test_int16_fc_bias_of_shape_units_by_1(models16, tmp_path):
    """A FULLY_CONNECTED bias stored as (units, 1): TFLite Micro reads its values in order, the
    reference added it unflattened (numpy broadcast error, a traceback; fuzz --models extra,
    mutator bias_shape)."""
    import flatbuffers

    from mcuq.model import schema

    sch = schema()
    m = sch.ModelT.InitFromObj(sch.Model.GetRootAs(models16["conv_fc16"], 0))
    g = m.subgraphs[0]
    fcs = [op for op in g.operators
           if m.operatorCodes[op.opcodeIndex].builtinCode == sch.BuiltinOperator.FULLY_CONNECTED]
    bias = g.tensors[fcs[0].inputs[2]]
    bias.shape = [int(bias.shape[0]), 1]
    fb = flatbuffers.Builder(1024)
    fb.Finish(m.Pack(fb), file_identifier=b"TFL3")
    path = _write(tmp_path, bytes(fb.Output()))
    r = CliRunner().invoke(main, ["verify", str(path), "--runners", "reference,tflm",
                                  "--samples", "4"])
    assert r.exit_code == 0, r.output
    assert "PASS" in r.output and "Traceback" not in r.output
