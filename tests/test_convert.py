"""`mcuq convert` and mcuq.convert: model formats, data formats, options, and every bad input
(exit code, message, and nothing written)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

import mcuq
from mcuq.cli import main
from mcuq.conversion import check_fully_integer, integer_problems
from mcuq.errors import UnsupportedModelError
from mcuq.model import load_model
from mcuq.testing.zoo import build_keras, calibration


def run(args):
    result = CliRunner().invoke(main, ["convert", *map(str, args)])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def assert_nothing_written(folder, before):
    assert sorted(os.listdir(folder)) == before, "a failed convert left files behind"


@pytest.fixture
def out(tmp_path):
    return tmp_path / "model.tflite"


def fails(args, folder, code, *texts):
    before = sorted(os.listdir(folder))
    r = run(args)
    assert r.exit_code == code, r.output
    for t in texts:
        assert t in r.output, r.output
    assert_nothing_written(folder, before)
    return r


def weight_scales(model):
    """{opcode: [scale count of the weight operand]} for CONV/DEPTHWISE/FC ops."""
    out = {}
    for op in model.operators:
        if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            w = model.tensors[op.inputs[1]]
            out.setdefault(op.opcode, []).append(w.quant.scale.size)
    return out


# ---- formats -------------------------------------------------------------------------------

def test_keras_npy_summary_and_fully_int8(zoo_keras_dir, out):
    r = run([zoo_keras_dir / "mlp.keras", "-c", zoo_keras_dir / "mlp_calib.npy", "-o", out])
    assert r.exit_code == 0, r.output
    assert "batch axis fixed to 1" in r.output and "FULLY_CONNECTED x3" in r.output
    assert "100 of 100 samples" in r.output
    model = load_model(out)
    assert integer_problems(model) == []
    assert [t.type_name for t in model.input_tensors()] == ["INT8"]
    assert [t.shape for t in model.input_tensors()] == [(1, 64)]
    assert [n for n in os.listdir(out.parent)] == ["model.tflite"]  # no temp file left


def test_h5_savedmodel_and_json(zoo_keras_dir, tmp_path):
    outs = {}
    for src in ("mlp.h5", "mlp_savedmodel"):
        o = tmp_path / f"{src}.tflite"
        r = run([zoo_keras_dir / src, "-c", zoo_keras_dir / "mlp_calib.npy", "-o", o, "--json"])
        assert r.exit_code == 0, r.output
        info = json.loads(r.stdout)
        assert info["model_kind"] == ("h5" if src == "mlp.h5" else "saved_model")
        assert info["tflite_bytes"] == o.stat().st_size and info["samples_used"] == 100
        assert info["inputs"][0]["dtype"] == "int8" and info["inputs"][0]["shape"] == [1, 64]
        assert info["float_bytes"] > info["weight_bytes"] > 0
        outs[src] = load_model(o)
    for m in outs.values():
        assert m.op_types() == ["FULLY_CONNECTED", "SOFTMAX"]
        assert integer_problems(m) == []


def test_npz_by_name_multi_io(zoo_keras_dir, out):
    r = run([zoo_keras_dir / "two_in_two_out.keras", "-c", zoo_keras_dir / "two_calib.npz",
             "-o", out, "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["matched_by"] == "name" and info["warnings"] == []
    assert [i["name"] for i in info["inputs"]] == ["vector", "image"]
    assert [(o["name"], o["shape"]) for o in info["outputs"]] == [("classes", [1, 5]),
                                                                  ("value", [1, 1])]
    m = load_model(out)
    assert [t.shape for t in m.input_tensors()] == [(1, 16), (1, 8, 8, 1)]


def test_npz_unknown_names_fall_back_to_order(zoo_keras_dir, tmp_path, out):
    vec, img = calibration("two_in_two_out", n=60)
    np.savez(tmp_path / "c.npz", a=vec, b=img)
    r = run([zoo_keras_dir / "two_in_two_out.keras", "-c", tmp_path / "c.npz", "-o", out])
    assert r.exit_code == 0, r.output
    assert "do not match the model's inputs ['vector', 'image']; matched by order" in r.stderr
    assert out.exists()


def test_folder_and_function_sources_give_the_same_model(zoo_keras_dir, tmp_path, monkeypatch):
    x = calibration("mlp", n=60, seed=5)[0]
    folder = tmp_path / "samples"
    folder.mkdir()
    for i, s in enumerate(x):
        np.save(folder / f"{i:03d}.npy", s if i % 2 else s[None])  # with and without batch
    (tmp_path / "mcuq_calib_src.py").write_text(textwrap.dedent("""
        import numpy as np
        def samples():
            x = np.load("x.npy")
            return (row for row in x)
    """))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "x_all.npy", x)
    monkeypatch.chdir(tmp_path)
    got = []
    for k, src in enumerate((folder, "mcuq_calib_src:samples", tmp_path / "x_all.npy")):
        o = tmp_path / f"o{k}.tflite"
        r = run([zoo_keras_dir / "mlp.keras", "-c", src, "-o", o])
        assert r.exit_code == 0, r.output
        assert "60 of 60 samples" in r.output
        got.append(o.read_bytes())
    assert got[0] == got[1] == got[2]


def test_io_types(zoo_keras_dir, tmp_path):
    for io, in_type in (("uint8", "UINT8"), ("float32", "FLOAT32")):
        o = tmp_path / f"{io}.tflite"
        r = run([zoo_keras_dir / "mlp.keras", "-c", zoo_keras_dir / "mlp_calib.npy", "-o", o,
                 "--io", io])
        assert r.exit_code == 0, r.output
        m = load_model(o)
        assert [t.type_name for t in m.input_tensors() + m.output_tensors()] == [in_type] * 2
        assert m.operators[0].opcode == "QUANTIZE"
        assert m.operators[-1].opcode == ("DEQUANTIZE" if io == "float32" else "QUANTIZE")
        assert integer_problems(m, io) == []
        # the interior stays int8: the same check without the edge exemption fails
        assert integer_problems(m, "int8")


def test_per_tensor_weights(zoo_keras_dir, tmp_path):
    scales = {}
    for flag in ([], ["--per-tensor"]):
        o = tmp_path / f"cnn{len(flag)}.tflite"
        r = run([zoo_keras_dir / "cnn.keras", "-c", zoo_keras_dir / "cnn_calib.npy", "-o", o,
                 *flag])
        assert r.exit_code == 0, r.output
        scales[bool(flag)] = weight_scales(load_model(o))
    assert scales[False]["CONV_2D"] == [8, 16]  # one scale per output channel
    assert all(n == 1 for counts in scales[True].values() for n in counts), scales[True]
    assert len(scales[True]["CONV_2D"]) == 2 and len(scales[True]["FULLY_CONNECTED"]) == 2
    assert "per-tensor weights" in r.output


def test_same_inputs_same_bytes_and_python_api(zoo_keras_dir):
    path = zoo_keras_dir / "cnn.keras"
    calib = zoo_keras_dir / "cnn_calib.npy"
    a = mcuq.convert(path, calib, samples=50, seed=3)
    b = mcuq.convert(str(path), str(calib), samples=50, seed=3)
    assert a == b
    c = mcuq.convert(path, calib, samples=50, seed=4)  # other samples: other ranges
    assert c != a
    # in-memory model + ndarray / list of arrays
    x = np.load(calib)
    keras_model = build_keras("cnn")
    d = mcuq.convert(keras_model, x[:60])
    e = mcuq.convert(keras_model, [x[:60]])
    assert d == e and integer_problems(load_model(d)) == []


# ---- bad inputs -----------------------------------------------------------------------------

def test_bad_calibration_data(zoo_keras_dir, tmp_path, out):
    model = zoo_keras_dir / "mlp.keras"
    good = calibration("mlp", n=60)[0]
    cases = {
        "shape.npy": (good[:, :63], ["input 'features' expects shape (N, 64)", "got (60, 63)"]),
        "dtype.npy": ((good * 100).astype(np.int16),
                      ["input 'features' expects float32 data; got int16", "astype"]),
        "nan.npy": (np.where(np.arange(60)[:, None] == 7, np.nan, good).astype(np.float32),
                    ["has NaN values in 1 sample(s) (first: sample 7)"]),
        "inf.npy": (np.where(np.arange(60)[:, None] >= 58, np.inf, good).astype(np.float32),
                    ["has Inf values in 2 sample(s) (first: sample 58)"]),
        "empty.npy": (good[:0], ["no calibration samples (empty data)"]),
    }
    for fname, (arr, texts) in cases.items():
        np.save(tmp_path / fname, arr)
        fails([model, "-c", tmp_path / fname, "-o", out], tmp_path, 2,
              f"error: {tmp_path / fname}", *texts)
    fails([model, "-c", tmp_path / "missing.npy", "-o", out], tmp_path, 2,
          "missing.npy: no such calibration file")
    fails([tmp_path / "nope.keras", "-c", tmp_path / "shape.npy", "-o", out], tmp_path, 2,
          "nope.keras: no such file or folder")
    (tmp_path / "empty_dir").mkdir()
    fails([model, "-c", tmp_path / "empty_dir", "-o", out], tmp_path, 2, "no .npy files")


def test_bad_module_function(zoo_keras_dir, tmp_path, out, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mcuq_calib_bad.py").write_text("def boom():\n    raise RuntimeError('no data')\n"
                                               "not_callable = 3\n")
    model = zoo_keras_dir / "mlp.keras"
    fails([model, "-c", "no_such_mod_xyz:samples", "-o", out], tmp_path, 2,
          "cannot import module 'no_such_mod_xyz'")
    fails([model, "-c", "mcuq_calib_bad:missing", "-o", out], tmp_path, 2,
          "module 'mcuq_calib_bad' has no 'missing'")
    fails([model, "-c", "mcuq_calib_bad:boom", "-o", out], tmp_path, 2,
          "mcuq_calib_bad:boom: failed (RuntimeError: no data)")
    fails([model, "-c", "mcuq_calib_bad:not_callable", "-o", out], tmp_path, 2,
          "'not_callable' is not a function")


def test_too_few_samples_warns_and_converts(zoo_keras_dir, tmp_path, out):
    r = run([zoo_keras_dir / "mlp.keras", "-c", zoo_keras_dir / "mlp_calib.npy", "-o", out,
             "--samples", "20"])
    assert r.exit_code == 0, r.output
    assert "only 20 calibration sample(s)" in r.stderr and "accuracy can drop" in r.stderr
    assert "20 of 100 samples" in r.stdout and out.exists()


def test_existing_output_needs_force(zoo_keras_dir, tmp_path, out):
    out.write_bytes(b"keep me")
    # the exit code through a real process (no TensorFlow is loaded on this path)
    p = subprocess.run([sys.executable, "-m", "mcuq.cli", "convert", str(zoo_keras_dir / "mlp.keras"),
                        "-c", str(zoo_keras_dir / "mlp_calib.npy"), "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    assert "already exists" in p.stderr and "--force" in p.stderr
    assert out.read_bytes() == b"keep me" and os.listdir(tmp_path) == ["model.tflite"]
    r = run([zoo_keras_dir / "mlp.keras", "-c", zoo_keras_dir / "mlp_calib.npy", "-o", out, "-f"])
    assert r.exit_code == 0 and load_model(out).operators


def test_layer_that_stays_float_is_an_error(tmp_path, out):
    """Keras LayerNormalization: TFLiteConverter keeps its NEG in float32 between a DEQUANTIZE
    and a QUANTIZE even with TFLITE_BUILTINS_INT8 only; TFLite Micro cannot run that."""
    from mcuq.sources import import_keras

    keras = import_keras()
    i = keras.Input((16,), name="x")
    h = keras.layers.Dense(16, name="proj")(i)
    h = keras.layers.LayerNormalization(name="my_norm")(h)
    keras.Model(i, keras.layers.Dense(4, name="head")(h)).save(tmp_path / "ln.keras")
    np.save(tmp_path / "c.npy", np.random.default_rng(0).normal(size=(60, 16)).astype(np.float32))
    r = fails([tmp_path / "ln.keras", "-c", tmp_path / "c.npy", "-o", out], tmp_path, 3,
              "not fully int8", "NEG (layer 'my_norm')", "is FLOAT32", "TensorFlow Lite Micro")
    assert "hint:" in r.output


def test_check_fully_integer_names_hybrid_ops():
    """A hand-built hybrid FULLY_CONNECTED (float activations, int8 weights)."""
    from mcuq.testing.builder import ModelBuilder

    b = ModelBuilder()
    x = b.input("model/dense_7/input", (1, 4), "FLOAT32")
    w = b.const("model/dense_7/MatMul", np.ones((2, 4), np.int8), scale=0.1, zero_point=0)
    y = b.tensor("model/dense_7/MatMul;model/dense_7/BiasAdd", (1, 2), "FLOAT32")
    b.op("FULLY_CONNECTED", [x, w, -1], [y])
    b.output(y)
    model = load_model(b.build())
    with pytest.raises(UnsupportedModelError) as e:
        check_fully_integer(model, "float32", frozenset({"dense_7"}))
    assert "FULLY_CONNECTED (layer 'dense_7')" in e.value.message
    assert "hybrid" in e.value.message


def test_help_does_not_import_tensorflow():
    code = ("import sys\nfrom click.testing import CliRunner\nfrom mcuq.cli import main\n"
            "r = CliRunner().invoke(main, ['--help'])\nassert r.exit_code == 0\n"
            "r = CliRunner().invoke(main, ['convert', '--help'])\nassert r.exit_code == 0\n"
            "import mcuq, mcuq.conversion, mcuq.sources, mcuq.report.convert\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["False", "False"]


def test_a_keras_file_with_a_lambda_layer_is_refused_in_safe_mode(tmp_path, zoo_keras_dir):
    """A .keras file can carry Python code (Lambda); mcuq loads with safe_mode on and refuses."""
    import keras

    inp = keras.Input((64,), name="features")
    y = keras.layers.Lambda(lambda t: t * 2.0, name="double")(inp)
    y = keras.layers.Dense(4, name="head")(y)
    path = tmp_path / "lambda.keras"
    keras.Model(inp, y).save(path)
    fails([path, "--calibration", zoo_keras_dir / "mlp_calib.npy", "-o",
           tmp_path / "out.tflite"], tmp_path, 2, "safe_mode", str(path))
