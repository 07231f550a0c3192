"""Keras 2-era models as people have them: tf_keras `.h5` files (DepthwiseConv2D configs with
`groups`, which Keras 3 cannot read), a Keras 2 SavedModel with optimizer slots, a Functional model
nesting two Sequentials, a custom layer given with --custom-objects; calibration files with
labels in them, uint8 images. Each model converts from the CLI, verifies exact on
reference/tflm/host and agrees with its float model; each bad input is one line, exit 2, nothing
written. The fixtures are built here with tf_keras, once per session (no model files committed).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import mcuq
from mcuq.cli import main
from mcuq.model import load_model

HERE = Path(__file__).resolve().parent
LAYERS = HERE / "keras2_layers.py"
SHAPE = (16, 16, 1)


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def fails(args, folder, *texts):
    before = sorted(os.listdir(folder))
    r = run(*args)
    assert r.exit_code == 2, r.output
    err = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(err) == 2 and err[0].startswith("error: ") and err[1].startswith("  hint: "), \
        r.stderr
    for t in texts:
        assert t in r.stderr, r.stderr
    assert sorted(os.listdir(folder)) == before, "a failed command left files behind"
    return r


def _randomize_bn(model, rng):
    """Non-trivial BatchNormalization statistics (the converter folds them), nested too."""
    for layer in model.layers:
        if hasattr(layer, "layers"):
            _randomize_bn(layer, rng)
        elif type(layer).__name__ == "BatchNormalization":
            c = layer.get_weights()[0].shape
            layer.set_weights([rng.uniform(0.5, 1.5, c), rng.normal(0, 0.1, c),
                               rng.normal(0, 0.1, c), rng.uniform(0.5, 2.0, c)])


def _sequential(k2, L):
    return k2.Sequential([  # Keras 2 style: input_shape on the first layer
        L.Conv2D(8, 3, strides=2, padding="same", input_shape=SHAPE),
        L.BatchNormalization(), L.ReLU(),
        L.DepthwiseConv2D(3, padding="same"), L.BatchNormalization(), L.ReLU(max_value=6.0),
        L.Conv2D(16, 1), L.BatchNormalization(), L.ReLU(),
        L.GlobalAveragePooling2D(), L.Dense(4, activation="softmax"),
    ])


@pytest.fixture(scope="session")
def keras2_dir(tmp_path_factory):
    """Files saved by tf_keras (Keras 2.21, as TF 2.x users saved them) + calibration data."""
    from mcuq.custom_objects import load_custom_objects
    from mcuq.sources import import_tf_keras

    k2 = import_tf_keras()
    L = k2.layers
    d = tmp_path_factory.mktemp("keras2")
    rng = np.random.default_rng(0)
    k2.utils.set_random_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf_keras: "HDF5 ... legacy"
        seq = _sequential(k2, L)
        _randomize_bn(seq, rng)
        seq.save(d / "seq.h5")
        seq.save(d / "seq.keras")  # tf_keras 2.13+ writes the .keras zip too

        i = k2.Input(SHAPE, name="image")
        h = L.ReLU()(L.BatchNormalization()(L.Conv2D(8, 3, padding="same")(i)))
        r = L.ReLU(6.0)(L.BatchNormalization()(L.DepthwiseConv2D(3, padding="same")(h)))
        r = L.BatchNormalization()(L.Conv2D(8, 1)(r))
        h = L.ReLU()(L.Add()([h, r]))
        h = L.Flatten()(L.AveragePooling2D(4)(h))
        func = k2.Model(i, L.Dense(5, activation="softmax", name="scores")(h), name="func")
        _randomize_bn(func, rng)
        func.save(d / "func.h5")

        features = k2.Sequential([
            L.Conv2D(8, 3, padding="same", input_shape=SHAPE), L.BatchNormalization(), L.ReLU(),
            L.MaxPooling2D(2), L.Conv2D(8, 3, padding="same"), L.ReLU()],
            name="features")
        head = k2.Sequential([L.GlobalAveragePooling2D(input_shape=(8, 8, 8)),
                              L.Dense(3, activation="softmax")], name="head")
        i = k2.Input(SHAPE, name="image")
        nested = k2.Model(i, head(features(i)), name="nested")
        _randomize_bn(nested, rng)
        nested.save(d / "nested.h5")

        # A Keras 2 SavedModel as TF 2.4-2.10 wrote them: OptimizerV2 with slot variables.
        sm = _sequential(k2, L)
        _randomize_bn(sm, rng)
        sm.compile(k2.optimizers.legacy.Adam(1e-3), "sparse_categorical_crossentropy")
        sm.fit(rng.random((8, *SHAPE), np.float32), np.arange(8) % 4, epochs=1, verbose=0)
        sm.save(d / "savedmodel")

        scale_cls = load_custom_objects([LAYERS]).find("ChannelScale").obj
        i = k2.Input(SHAPE, name="image")
        h = L.Conv2D(8, 3, padding="same")(i)
        h = scale_cls(0.7, name="gain")(h)
        h = L.GlobalAveragePooling2D()(L.ReLU()(h))
        custom = k2.Model(i, L.Dense(4, activation="softmax")(h), name="custom")
        custom.get_layer("gain").set_weights([rng.uniform(0.5, 1.5, 8)])
        custom.save(d / "custom.h5")

        i = k2.Input(SHAPE, name="image")
        h = L.Lambda(lambda t: t * 2.0, name="double")(i)
        lam = k2.Model(i, L.Dense(2)(L.Flatten()(h)))
        lam.save(d / "lambda.h5")
        lam.save(d / "lambda_savedmodel")
        seq.save_weights(d / "weights_only.h5")
    x = rng.random((120, *SHAPE), dtype=np.float32)
    np.save(d / "calib.npy", x)
    np.savez(d / "specs_labels.npz", specs=x, labels=np.arange(120) % 4)
    np.savez(d / "two_sets.npz", x_train=x[:60], x_test=x[60:])
    return d


MODELS = {  # file -> (custom objects, what the summary's loader says)
    "seq.h5": ([], "a Keras 2 HDF5 file (saved by Keras 2.21.0"),
    "func.h5": ([], "a Keras 2 HDF5 file"),
    "nested.h5": ([], "a Keras 2 HDF5 file"),
    "savedmodel": ([], "Keras 2 SavedModel (keras_metadata.pb"),
    "seq.keras": ([], "a Keras 2 .keras file (saved by Keras 2.21.0"),
    "custom.h5": (["--custom-objects", LAYERS], "a Keras 2 HDF5 file"),
}


def test_the_h5_files_are_keras2_files_keras3_cannot_read(keras2_dir):
    """The fixtures are what the issue is about: `groups` in DepthwiseConv2D, Keras 3 fails."""
    import h5py

    from mcuq.sources import import_keras, key_sentence

    with h5py.File(keras2_dir / "seq.h5") as f:
        assert f.attrs["keras_version"].startswith("2.") and f.attrs["backend"] == "tensorflow"
        config = json.loads(f.attrs["model_config"])
    dw = [layer for layer in config["config"]["layers"] if layer["class_name"] == "DepthwiseConv2D"]
    assert dw and dw[0]["config"]["groups"] == 1
    keras = import_keras()
    with pytest.raises(Exception) as e, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras.models.load_model(keras2_dir / "seq.h5", compile=False)
    assert "config={" in str(e.value)  # Keras' message starts with the whole config...
    # ...and mcuq keeps the sentence that says what is wrong.
    assert key_sentence(e.value) == \
        "Unrecognized keyword arguments passed to DepthwiseConv2D: {'groups': 1}"
    with pytest.raises(Exception) as e, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras.models.load_model(keras2_dir / "nested.h5", compile=False)
    assert "nodes failed to be resolved" in key_sentence(e.value)
    # the SavedModel carries optimizer slot variables
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((keras2_dir / "savedmodel" / "saved_model.pb").read_bytes())
    nodes = proto.meta_graphs[0].object_graph_def.nodes
    assert sum(len(n.slot_variables) for n in nodes) > 0
    assert (keras2_dir / "savedmodel" / "keras_metadata.pb").is_file()


@pytest.mark.parametrize("name", list(MODELS))
def test_keras2_model_converts_verifies_exact_and_agrees(name, keras2_dir, tmp_path, host_cc):
    extra, reason = MODELS[name]
    out = tmp_path / "m.tflite"
    r = run("convert", keras2_dir / name, "-c", keras2_dir / "calib.npy", "-o", out, *extra,
            "--json")
    assert r.exit_code == 0, r.output
    assert r.stderr.strip() == "", r.stderr  # no Keras warning noise
    info = json.loads(r.stdout)
    loader = info["loader"]
    assert loader["loader"] == "tf_keras" and loader["loader_version"] == "2.21.0"
    assert loader["saved_by"].startswith("Keras 2.21.0") and reason in loader["reason"]
    assert loader["description"] == "tf_keras 2.21.0 (Keras 2)"
    assert loader["fallback"] is None
    assert loader["custom_objects"] == (["ChannelScale (" + str(LAYERS) + ")"] if extra else [])
    model = load_model(out)
    assert model.input_tensors()[0].type_name == "INT8"
    ops = set(info["op_counts"])
    assert "CONV_2D" in ops and not ops & {"DEQUANTIZE", "QUANTIZE"}
    if name not in ("custom.h5", "nested.h5", "seq.keras"):
        assert "DEPTHWISE_CONV_2D" in ops
    r = run("verify", out, "--runners", "reference,tflm,host", "--data", keras2_dir / "calib.npy",
            "--samples", "24", "--float", keras2_dir / name, *extra, "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert [(x["runner"], x["status"]) for x in rep["runners"]] == [("tflm", "exact"),
                                                                    ("host", "exact")]
    m = rep["metrics"][0]
    assert m["top1_agreement"] is not None and m["top1_agreement"] >= 0.7, m
    assert m["sqnr_db"] > 20, m
    assert rep["diagnosis_error"] is None and rep["diagnosis"], rep["diagnosis_error"]


def test_text_summary_names_loader_and_custom_objects(keras2_dir, tmp_path):
    r = run("convert", keras2_dir / "custom.h5", "-c", keras2_dir / "calib.npy", "-o",
            tmp_path / "c.tflite", "--custom-objects", LAYERS)
    assert r.exit_code == 0, r.output
    assert ("loader        tf_keras 2.21.0 (Keras 2): a Keras 2 HDF5 file (saved by Keras 2.21.0 "
            "(tensorflow backend))") in r.stdout
    assert f"custom        ChannelScale ({LAYERS})" in r.stdout


def test_keras3_config_error_falls_back_to_tf_keras_and_says_why(keras2_dir, tmp_path):
    """An .h5 that does not say which Keras saved it: Keras 3 first; its Keras 2 config fails
    there, so tf_keras loads it, and the summary says so (and no UserWarning leaks)."""
    import h5py

    path = tmp_path / "anonymous.h5"
    shutil.copy(keras2_dir / "seq.h5", path)
    with h5py.File(path, "a") as f:
        del f.attrs["keras_version"]
    r = run("convert", path, "-c", keras2_dir / "calib.npy", "-o", tmp_path / "a.tflite")
    assert r.exit_code == 0, r.output
    assert r.stderr.strip() == "", r.stderr
    assert "loader        tf_keras 2.21.0 (Keras 2): HDF5 file no Keras version recorded, but " \
           "its model config is Keras 2" in r.stdout
    assert ("fallback      Keras 3.") in r.stdout and \
        "failed first: Unrecognized keyword arguments passed to DepthwiseConv2D: {'groups': 1}" \
        in r.stdout


def test_bad_models_one_line_exit_2_nothing_written(keras2_dir, tmp_path, monkeypatch):
    import tf_keras

    out = tmp_path / "o.tflite"
    calib = keras2_dir / "calib.npy"
    # As in a fresh process: the fixture registered the layer class when it built the model.
    monkeypatch.delitem(tf_keras.saving.get_custom_objects(), "mcuq_test>ChannelScale")
    fails(["convert", keras2_dir / "custom.h5", "-c", calib, "-o", out], tmp_path,
          "unknown layer class 'mcuq_test>ChannelScale'", "--custom-objects")
    fails(["convert", keras2_dir / "lambda.h5", "-c", calib, "-o", out], tmp_path,
          "safe_mode", "Lambda layer 'double'")
    fails(["convert", keras2_dir / "weights_only.h5", "-c", calib, "-o", out], tmp_path,
          "holds weights only", "model.load_weights")
    # a module that defines the layer but does not register it
    (tmp_path / "unregistered.py").write_text(
        "import tf_keras\nclass ChannelScale(tf_keras.layers.Layer):\n    pass\n")
    fails(["convert", keras2_dir / "custom.h5", "-c", calib, "-o", out, "--custom-objects",
           tmp_path / "unregistered.py"], tmp_path,
          "defines ChannelScale but registers none of them", "register_keras_serializable")
    fails(["convert", keras2_dir / "custom.h5", "-c", calib, "-o", out, "--custom-objects",
           tmp_path / "nope.py"], tmp_path, "nope.py: no such file")


def test_calibration_files_as_people_have_them(keras2_dir, zoo_keras_dir, tmp_path,
                                               monkeypatch):
    """.npz with labels: picked with FILE.npz:KEY, else an error listing the keys and the
    syntax; (N, 1, ...) samples; a missing channel axis; uint8 images only with --scale."""
    model = zoo_keras_dir / "cnn.keras"  # input (16, 16, 1)
    out = tmp_path / "o.tflite"
    r = fails(["convert", model, "-c", keras2_dir / "specs_labels.npz", "-o", out], tmp_path,
              "'specs' (120, 16, 16, 1) float32, 'labels' (120,) int64",
              f"--calibration {keras2_dir / 'specs_labels.npz'}:specs", "FILE.npz:KEY")
    fails(["convert", model, "-c", keras2_dir / "two_sets.npz", "-o", out], tmp_path,
          "'x_train' (60, 16, 16, 1)", "'x_test' (60, 16, 16, 1)", "FILE.npz:KEY")
    fails(["convert", model, "-c", f"{keras2_dir / 'two_sets.npz'}:x_val", "-o", out], tmp_path,
          "no array named 'x_val'")
    monkeypatch.chdir(keras2_dir)  # a relative FILE.npz:KEY is not a module:function
    r = run("convert", model, "-c", "specs_labels.npz:specs", "-o", out)
    assert r.exit_code == 0, r.output
    assert "120 of 120 samples from specs_labels.npz:specs" in r.stdout
    picked = out.read_bytes()
    x = np.load(keras2_dir / "calib.npy")
    np.save(tmp_path / "batch1.npy", x[:, None])  # every sample saved with its batch axis
    np.save(tmp_path / "nochannel.npy", x[..., 0])
    for f in ("batch1.npy", "nochannel.npy"):
        o = tmp_path / f"{f}.tflite"
        r = run("convert", model, "-c", tmp_path / f, "-o", o)
        assert r.exit_code == 0, r.output
        assert o.read_bytes() == picked  # the same samples, the same model
    assert "samples shaped (16, 16) reshaped to (16, 16, 1)" in r.stdout
    u8 = np.round(x * 255).astype(np.uint8)
    np.save(tmp_path / "images.npy", u8)
    bad = tmp_path / "bad.tflite"
    fails(["convert", model, "-c", tmp_path / "images.npy", "-o", bad], tmp_path,
          "expects float32 data; got uint8", "--scale 1/255")
    fails(["convert", model, "-c", tmp_path / "images.npy", "-o", bad, "--scale", "0"], tmp_path,
          "must be a positive number")
    o = tmp_path / "u8.tflite"
    r = run("convert", model, "-c", tmp_path / "images.npy", "-o", o, "--scale", "1/255",
            "--json")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["calibration_notes"] == ["uint8 data multiplied by 1/255 (--scale) to float32"]
    scale = info["inputs"][0]["scale"]
    assert abs(scale - 1 / 255) < 1e-4  # the [0, 1] range, not [0, 255]


def test_verify_data_intake_matches_calibration(keras2_dir, zoo_keras_dir, tmp_path):
    """verify --data/--labels take FILE.npz:KEY and --scale like convert's calibration."""
    model = tmp_path / "cnn.tflite"
    r = run("convert", zoo_keras_dir / "cnn.keras", "-c", keras2_dir / "calib.npy", "-o", model)
    assert r.exit_code == 0, r.output
    npz = keras2_dir / "specs_labels.npz"
    fails(["verify", model, "--data", npz, "--runners", "reference"], tmp_path,
          "'specs'", "'labels'", "FILE.npz:KEY")
    r = run("verify", model, "--data", f"{npz}:specs", "--labels", f"{npz}:labels",
            "--runners", "reference", "--samples", "16", "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["samples"] == 16 and rep["metrics"][0]["accuracy"]["int8"] is not None
    x = np.load(keras2_dir / "calib.npy")[:16]
    np.save(tmp_path / "u8.npy", np.round(x * 255).astype(np.uint8))
    fails(["verify", model, "--data", tmp_path / "u8.npy", "--runners", "reference"], tmp_path,
          "got uint8", "--scale 1/255")
    r = run("verify", model, "--data", tmp_path / "u8.npy", "--scale", "1/255",
            "--runners", "reference", "--float", zoo_keras_dir / "cnn.keras", "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["metrics"][0]["sqnr_db"] > 20
    assert rep["diagnosis_error"] is None and rep["diagnosis"]  # the per-layer section scaled too


def test_python_api_custom_objects_and_loader(keras2_dir):
    from mcuq.custom_objects import load_custom_objects
    from mcuq.sources import load_keras_model

    calib = np.load(keras2_dir / "calib.npy")[:60]
    a = mcuq.convert(keras2_dir / "custom.h5", calib, custom_objects=[str(LAYERS)])
    cls = load_custom_objects(LAYERS).find("ChannelScale").obj
    b = mcuq.convert(keras2_dir / "custom.h5", calib, custom_objects={"ChannelScale": cls})
    assert a == b
    loaded = load_keras_model(keras2_dir / "nested.h5")
    p = loaded.provenance
    assert (p.loader, p.format, p.is_keras3) == ("tf_keras", "h5", False)
    assert [layer.name for layer in loaded.model.layers][-2:] == ["features", "head"]
    assert load_keras_model(keras2_dir / "seq.h5").model.count_params() > 0


def test_loader_chain_decisions(keras2_dir, zoo_keras_dir):
    """Keras 3 artifacts stay with Keras 3 / their signature; a Keras 2 SavedModel whose Lambda
    stores code is read through its signature (no stored code runs); a revived layer is noted."""
    from mcuq.sources import load_model_source

    def prov(path):
        return load_model_source(path).provenance

    for f in ("mlp.keras", "mlp.h5"):
        p = prov(zoo_keras_dir / f)
        assert p.loader == "keras3" and p.saved_by.startswith("Keras 3."), p
        assert p.loader_text.endswith("(safe mode)")
    p = prov(zoo_keras_dir / "mlp_savedmodel")
    assert (p.loader, p.loader_version) == ("saved_model_signature", "serving_default")
    assert "no keras_metadata.pb" in p.reason
    p = prov(keras2_dir / "lambda_savedmodel")
    assert p.loader == "saved_model_signature" and "Lambda layer(s) double" in p.reason
    src = load_model_source(keras2_dir / "lambda_savedmodel")
    assert src.inputs[0].shape == SHAPE


def test_printed_output_is_kept_not_discarded(capfd):
    """What Python code prints while TensorFlow's output is captured reaches the caller (convert
    shows it in its summary or error), or stderr: never dropped (issue 19)."""
    from mcuq.conversion import quiet_native_output

    kept: list[str] = []
    with quiet_native_output(keep=kept):
        print("custom layer: traced with (1, 16)")
        os.write(2, b"I0000 00:00:1 cpu_feature_guard.cc:1] noise\nreal native error\n")
    assert kept == ["real native error", "custom layer: traced with (1, 16)"]
    with quiet_native_output():
        print("shown on stderr")
    assert "shown on stderr" in capfd.readouterr().err


def test_tf_keras_leaves_keras3_alone(keras2_dir):
    """After Keras 2 files were loaded in this process, Keras 3 is still Keras 3."""
    import keras
    import tensorflow as tf

    assert "tf_keras" in sys.modules
    assert os.environ.get("TF_USE_LEGACY_KERAS") is None
    assert keras.__version__.startswith("3.")
    assert tf.keras.layers.Dense.__module__.startswith("keras.")


def test_keras3_files_do_not_import_tf_keras(zoo_keras_dir, tmp_path):
    """tf_keras is imported only for Keras 2 artifacts (a fresh process: this one has it)."""
    code = ("import sys\nfrom mcuq.sources import load_model_source\n"
            + "".join(f"load_model_source({str(zoo_keras_dir / f)!r})\n"
                      for f in ("mlp.keras", "mlp.h5", "mlp_savedmodel"))
            + "print('tf_keras' in sys.modules)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert p.returncode == 0, p.stderr
    assert p.stdout.split()[-1] == "False"


def test_custom_objects_portable_specs_load_the_same_objects_elsewhere(tmp_path, monkeypatch):
    """CustomObjects.portable(): what a child process gets to load the same custom objects (the
    recurrent conversion's child): a file given relative to the current folder becomes absolute,
    a module object loaded from a file under an unimportable name becomes its file, a {name:
    class} dict stays a dict."""
    import pickle
    import shutil

    from mcuq.custom_objects import load_custom_objects

    shutil.copy(LAYERS, tmp_path / "my_layers.py")
    monkeypatch.chdir(tmp_path)
    by_file = load_custom_objects(["my_layers.py"])
    module = by_file.modules[0][1]
    cls = by_file.find("ChannelScale").obj
    specs = load_custom_objects([module, {"Gain": cls}]).portable()
    assert specs[0] == str(tmp_path / "my_layers.py") and specs[1] == {"Gain": cls}
    assert by_file.portable() == [str(tmp_path / "my_layers.py")]
    pickle.dumps(specs)
    monkeypatch.chdir(HERE)  # elsewhere: the specs still load
    again = load_custom_objects(pickle.loads(pickle.dumps(by_file.portable())))
    assert again.find("ChannelScale") is not None
