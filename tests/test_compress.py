"""`mcuq compress` and mcuq.compress: structured pruning rebuilds, weight sharing that survives
conversion, distillation, the CLI end to end (convert + verify) and every bad input."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import mcuq
from mcuq.cli import main
from mcuq.compression import clustering, graph, pruning
from mcuq.errors import InputError
from mcuq.model import parse_model
from mcuq.packing import distinct_per_channel, pack_model
from mcuq.testing.zoo import ZOO_NAMES, build_keras, calibration


def keras():
    from mcuq.sources import import_keras

    return import_keras()


def run(args):
    result = CliRunner().invoke(main, [*map(str, args)])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def outputs(model, xs):
    out = model(xs if len(xs) > 1 else xs[0], training=False)
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


@pytest.fixture(scope="session")
def digits(tmp_path_factory):
    """A small CNN (Conv+BN, Conv, pool, Flatten, Dense) trained on scikit-learn's digits:
    model.keras, train_x/train_y (1,000), test_x/test_y (held out, 397), calib.npy (200)."""
    from sklearn.datasets import load_digits

    k = keras()
    d = tmp_path_factory.mktemp("digits")
    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)[..., None]
    y = data.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[:1000], order[1400:]
    L = k.layers
    k.utils.set_random_seed(0)
    i = k.Input((8, 8, 1), name="image")
    h = L.Conv2D(16, 3, padding="same", use_bias=False, name="conv1")(i)
    h = L.BatchNormalization(name="bn1")(h)
    h = L.ReLU(name="relu1")(h)
    h = L.Conv2D(24, 3, padding="same", activation="relu", name="conv2")(h)
    h = L.MaxPooling2D(2, name="pool")(h)
    h = L.Flatten(name="flatten")(h)
    h = L.Dense(32, activation="relu", name="fc")(h)
    o = L.Dense(10, activation="softmax", name="classes")(h)
    m = k.Model(i, o)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    m.fit(x[train], y[train], epochs=8, batch_size=32, verbose=0)
    m.save(d / "model.keras")
    for name, a in (("train_x", x[train]), ("train_y", y[train]), ("test_x", x[test]),
                    ("test_y", y[test]), ("calib", x[train[:200]])):
        np.save(d / f"{name}.npy", a)
    return d


# ---- structured pruning: the rebuild -------------------------------------------------------

def branchy_model():
    """Residual Add, depthwise, separable (multiplier 2), Concatenate, Flatten -> Dense."""
    k = keras()
    L = k.layers
    k.utils.set_random_seed(1)
    i = k.Input((8, 8, 3), name="image")
    x = L.Conv2D(16, 3, padding="same", name="c1")(i)
    x = L.BatchNormalization(name="bn1")(x)
    x = L.ReLU(name="r1")(x)
    y = L.Conv2D(16, 3, padding="same", activation="relu", name="c2")(x)
    z = L.Add(name="add")([x, y])
    d = L.DepthwiseConv2D(3, padding="same", name="dw")(z)
    s = L.SeparableConv2D(12, 3, padding="same", depth_multiplier=2, name="sep")(z)
    c = L.Concatenate(name="cat")([d, s])
    c = L.MaxPooling2D(name="pool")(c)
    f = L.Flatten(name="flat")(c)
    f = L.Dense(20, activation="relu", name="fc")(f)
    o = L.Dense(10, activation="softmax", name="out")(f)
    m = k.Model(i, o)
    bn = m.get_layer("bn1")
    rng = np.random.default_rng(2)
    bn.set_weights([rng.uniform(0.5, 1.5, 16), rng.normal(0, 0.1, 16), rng.normal(0, 0.1, 16),
                    rng.uniform(0.5, 2, 16)])
    return m


def silence_removed_channels(model, g, plan):
    """Zero every weight through which a channel that the plan removes reaches a kept one:
    the input rows of each producer (Conv/Dense/pointwise) that reads it."""
    for name in g.order:
        info = g.layers[name]
        if info.role != "producer":
            continue
        mask = g.mask(info.in_refs[0], plan.keep)
        layer = model.get_layer(name)
        values = []
        for w, v in zip(layer.weights, layer.get_weights()):
            if w.name == "kernel":
                v[..., ~mask, :] = 0
            elif w.name == "pointwise_kernel":
                v[..., ~np.repeat(mask, v.shape[-2] // mask.size), :] = 0
            values.append(v)
        layer.set_weights(values)


def sequential_model():
    k = keras()
    L = k.layers
    k.utils.set_random_seed(3)
    return k.Sequential([k.Input((8, 8, 1)), L.Conv2D(8, 3, activation="relu", name="c"),
                         L.BatchNormalization(name="bn"), L.Flatten(name="f"),
                         L.Dense(12, activation="relu", name="d"), L.Dense(3, name="o")])


@pytest.mark.parametrize("name", [*ZOO_NAMES, "branchy", "sequential"])
def test_removing_silent_channels_leaves_outputs_identical(name):
    """Channels that no kept output can see are removed physically: the smaller model gives
    the same outputs up to float rounding (BatchNorm, residual Add groups, depthwise,
    separable, Concatenate, Flatten->Dense, GlobalAveragePooling, two inputs/outputs)."""
    own = {"branchy": (branchy_model, (8, 8, 3)), "sequential": (sequential_model, (8, 8, 1))}
    if name in own:
        m = own[name][0]()
        xs = [np.random.default_rng(0).uniform(0, 1, (16, *own[name][1])).astype(np.float32)]
    else:
        m, xs = build_keras(name), calibration(name, n=16)
    g = graph.analyse(m)
    plan = pruning.plan_pruning(m, g, 0.5)
    assert plan.groups, "nothing was prunable"
    silence_removed_channels(m, g, plan)
    small = pruning.apply_pruning(m, plan)
    assert small.count_params() < 0.7 * m.count_params()
    for a, b in zip(outputs(m, xs), outputs(small, xs)):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5 * float(np.abs(a).max()))


def test_zero_filters_are_the_ones_removed():
    """L1 importance removes the filters that are all zero (with their bias): the outputs
    stay identical."""
    m = build_keras("cnn")
    conv = m.get_layer("conv_0")
    kernel, bias = conv.get_weights()
    dead = np.array([1, 2, 5, 6])
    kernel[..., dead] = 0
    bias[dead] = 0
    conv.set_weights([kernel, bias])
    g = graph.analyse(m)
    plan = pruning.plan_pruning(m, g, 0.0, {"conv_0": 0.5}, importance="l1")
    (gp,) = plan.groups
    assert gp.indices == [0, 3, 4, 7]
    small = pruning.apply_pruning(m, plan)
    assert small.get_layer("conv_0").filters == 4
    assert small.get_layer("conv_1").get_weights()[0].shape[2] == 4
    xs = calibration("cnn", n=16)
    np.testing.assert_allclose(outputs(small, xs)[0], outputs(m, xs)[0], rtol=1e-5, atol=1e-7)


def test_residual_groups_share_channel_indices():
    m = build_keras("resnet8")
    g = graph.analyse(m)
    groups = sorted(sorted(gr.producers) for gr in g.groups.values() if gr.prunable)
    assert ["conv_0", "conv_2"] in groups  # stem + first block's second conv (identity Add)
    assert ["conv_4", "shortcut_0"] in groups
    assert ["conv_6", "shortcut_1"] in groups
    plan = pruning.plan_pruning(m, g, 0.5, importance="l2")
    small = pruning.apply_pruning(m, plan)
    for gp in plan.groups:
        kept = {small.get_layer(p).filters for p in gp.producers}
        assert kept == {gp.kept}
    # a residual group must get one ratio
    with pytest.raises(InputError, match="share their output channels"):
        pruning.plan_pruning(m, g, 0.0, {"conv_4": 0.5, "shortcut_0": 0.25})


def test_layers_it_cannot_follow_are_kept_whole_and_named():
    k = keras()
    L = k.layers
    i = k.Input((8, 8, 1), name="image")
    x = L.Conv2D(8, 3, padding="same", activation="relu", name="a")(i)
    x = L.LayerNormalization(name="ln")(x)  # normalizes over the channels: not followed
    x = L.Conv2D(8, 3, padding="same", activation="relu", name="b")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    o = L.Dense(3, name="out")(x)
    m = k.Model(i, o)
    g = graph.analyse(m)
    plan = pruning.plan_pruning(m, g, 0.5)
    whole = dict(plan.kept_whole)
    assert "ln" in whole and "LayerNormalization" in whole["ln"]
    assert "a" in whole and "'ln'" in whole["a"]
    assert [gp.producers for gp in plan.groups] == [["b"]]
    small = pruning.apply_pruning(m, plan)
    assert small.get_layer("a").filters == 8 and small.get_layer("b").filters == 4
    with pytest.raises(InputError, match="cannot be pruned"):
        pruning.plan_pruning(m, g, 0.0, {"a": 0.5})
    with pytest.raises(InputError, match="no output channels"):
        pruning.plan_pruning(m, g, 0.0, {"gap": 0.5})


@pytest.mark.parametrize("criterion", pruning.IMPORTANCE)
def test_every_importance_criterion_plans(criterion):
    m = build_keras("ds_cnn")
    g = graph.analyse(m)
    plan = pruning.plan_pruning(m, g, 0.25, importance=criterion,
                                data=calibration("ds_cnn", n=32))
    assert all(gp.kept == 24 for gp in plan.groups)
    assert {gp.importance for gp in plan.groups} == {criterion}


def test_parse_layer_ratios():
    assert pruning.parse_layer_ratios("a=0.5, b=0.25") == {"a": 0.5, "b": 0.25}
    for bad in ("a", "a=x", "=0.5", "a=1", "a=-0.1"):
        with pytest.raises(InputError):
            pruning.parse_layer_ratios(bad)


# ---- weight sharing ------------------------------------------------------------------------

def test_kmeans_linear_init_finds_separated_clusters():
    rng = np.random.default_rng(0)
    centers = np.array([-1.0, 0.1, 2.0])
    v = (centers[rng.integers(0, 3, 300)] + rng.normal(0, 0.01, 300))[None]
    c, labels = clustering.kmeans_rows(v, 3)
    np.testing.assert_allclose(c[0], centers, atol=0.01)
    nearest = np.argmin(np.abs(v[0][:, None] - centers[None]), axis=1)
    np.testing.assert_array_equal(labels[0], nearest)


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("sparsity", [0.0, 0.6])
def test_cluster_array_limits_values_per_channel(per_channel, sparsity):
    rng = np.random.default_rng(1)
    w = rng.normal(size=(3, 3, 8, 12)).astype(np.float32)
    labels, centroids, trainable = clustering.cluster_array(w, "Conv2D", "kernel", 5,
                                                            per_channel, sparsity)
    v = centroids.reshape(-1)[labels]
    assert v.shape == w.shape
    assert distinct_per_channel(v, 3).max() <= 5
    if not per_channel:
        assert len(np.unique(v)) <= 5
    if sparsity:
        zeros = (v == 0).reshape(-1, 12).sum(0) if per_channel else (v == 0).sum()
        n = 72 if per_channel else w.size
        assert np.all(zeros >= int(np.floor(0.6 * n)))
        assert np.all(trainable[:, 0] == 0) and np.all(centroids[:, 0] == 0)


def test_channels_with_few_values_are_kept_exactly():
    rng = np.random.default_rng(2)
    w = rng.normal(size=(3, 3, 6, 1)).astype(np.float32)  # depthwise: 9 values per channel
    labels, centroids, _ = clustering.cluster_array(w, "DepthwiseConv2D", "kernel", 16, True)
    np.testing.assert_array_equal(centroids.reshape(-1)[labels], w)


@pytest.mark.parametrize("name", ["ds_cnn", "resnet8"])
def test_clustered_model_keeps_k_values_per_channel_after_conversion(name):
    """BatchNorm folding multiplies each output channel by one constant and int8
    quantization is monotonic per channel, so K values stay <= K: per layer and per channel
    clustering, per-channel and per-tensor weight scales."""
    from mcuq.conversion import convert_model

    for per_channel_k in (False, True):
        m = build_keras(name)
        clustering.cluster_model(m, 4, per_channel=per_channel_k)
        for per_channel_q in (True, False):
            data = convert_model(m, calibration(name, n=50), per_channel=per_channel_q).data
            pk = pack_model(data)
            assert pk.tensors and pk.max_distinct <= 4, (per_channel_k, per_channel_q)


# ---- distillation and the whole command ----------------------------------------------------

def test_distillation_without_labels_improves_heldout_agreement(digits):
    """Prune 75% of the channels; fine-tuning on unlabeled data beats no fine-tuning on
    samples neither step saw."""
    from mcuq.compression.distill import predict
    from mcuq import metrics

    model = str(digits / "model.keras")
    x, xt = np.load(digits / "train_x.npy"), np.load(digits / "test_x.npy")
    teacher = keras().models.load_model(model, compile=False)
    ref = predict(teacher, [xt])[0]
    agree = {}
    for epochs in (0, 3):
        r = mcuq.compress(model, x, prune=0.75, epochs=epochs, seed=0)
        agree[epochs] = metrics.top1_agreement(ref, predict(r.student, [xt])[0])
        assert r.fine_tuning[0].epochs_run == epochs
    assert agree[3] > agree[0] + 0.05, agree


def test_same_seed_same_student(digits):
    x = np.load(digits / "train_x.npy")[:400]
    runs = [mcuq.compress(str(digits / "model.keras"), x, prune=0.5, cluster=8, epochs=1,
                          seed=3).student.get_weights() for _ in range(2)]
    assert all(np.array_equal(a, b) for a, b in zip(*runs))


def test_cli_compress_convert_verify(digits, tmp_path, host_cc):
    """prune + cluster with a calibration set: the .keras and .tflite are written, every
    channel holds <= K int8 values, and the .tflite verifies exact on TFLite Micro and the
    generated C on the host."""
    out = tmp_path / "small.keras"
    r = run(["compress", digits / "model.keras", "--data", digits / "train_x.npy",
             "--labels", digits / "train_y.npy", "--prune", "0.5", "--cluster", "8",
             "--epochs", "1", "--calibration", digits / "calib.npy", "-o", out, "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output)
    tflite = tmp_path / "small.tflite"
    assert summary["output"] == str(out) and summary["tflite_output"] == str(tflite)
    assert summary["k_holds"] is True
    assert summary["totals"]["ratio"]["macs"] > 2.0
    rows = {row["name"]: row for row in summary["layers"]}
    assert rows["conv1"]["channels_after"] == 8 and rows["conv2"]["channels_after"] == 12
    assert rows["classes"]["channels_after"] == 10
    clustered = {n: row["distinct_int8"] for n, row in rows.items() if "clustered" in row["note"]}
    assert set(clustered) == {"conv1", "conv2", "fc", "classes"}
    assert all(d is not None and d <= 8 for d in clustered.values()), clustered
    models = {e["model"]: e for e in summary["evaluation"]}
    assert set(models) == {"teacher float", "student float", "teacher int8", "student int8"}
    assert models["student int8"]["accuracy"] > 0.8
    m = parse_model(tflite.read_bytes())
    for op in m.operators:
        if op.opcode in ("CONV_2D", "FULLY_CONNECTED"):
            assert distinct_per_channel(m.tensors[op.inputs[1]].data, 0).max() <= 8
    # an ordinary .keras that convert takes
    assert run(["convert", out, "--calibration", digits / "calib.npy", "-o",
                tmp_path / "again.tflite"]).exit_code == 0
    v = run(["verify", tflite, "--data", digits / "test_x.npy", "--runners",
             "reference,tflm,host", "--samples", "60"])
    assert v.exit_code == 0, v.output
    text = run(["compress", digits / "model.keras", "--data", digits / "train_x.npy",
                "--prune-layers", "conv2=0.5", "--epochs", "0", "-o", tmp_path / "t.keras"])
    assert text.exit_code == 0, text.output
    assert "pruned 24->12" in text.output and "wrote" in text.output


def test_per_channel_sparse_clusters_survive_per_tensor_conversion(digits):
    from mcuq.conversion import convert_model

    r = mcuq.compress(str(digits / "model.keras"), np.load(digits / "train_x.npy"),
                      cluster=4, cluster_per_channel=True, sparsity=0.5, epochs=1)
    calib = np.load(digits / "calib.npy")
    for per_channel in (True, False):
        m = parse_model(convert_model(r.student, calib, per_channel=per_channel).data)
        for op in m.operators:
            if op.opcode in ("CONV_2D", "FULLY_CONNECTED"):
                w = m.tensors[op.inputs[1]].data
                assert distinct_per_channel(w, 0).max() <= 4
                rows = w.reshape(w.shape[0], -1)
                zeros = (rows == 0).sum(axis=1)  # the pinned 0 stays exactly 0 in int8
                assert zeros.min() >= rows.shape[1] // 2


# ---- bad input: one error, exit 2, nothing written ----------------------------------------

@pytest.mark.parametrize("args,text", [
    ([], "Missing option '--data'"),
    (["--data", "{empty}", "--prune", "0.5"], "empty data"),
    (["--data", "{x}", "--cluster", "1"], "K must be an integer from 2"),
    (["--data", "{x}", "--prune", "1"], "outside [0, 1)"),
    (["--data", "{x}", "--prune-layers", "nope=0.5"], "no layer 'nope'"),
    (["--data", "{x}"], "nothing to compress"),
    (["--data", "{x}", "--sparsity", "0.5"], "--sparsity needs --cluster"),
    (["--data", "{x}", "--prune", "0.5", "--labels", "{short}"], "labels for"),
    (["--data", "{x}", "--prune", "0.5", "-o", "{exists}"], "already exists"),
])
def test_bad_input_one_error_nothing_written(digits, tmp_path, args, text):
    empty = tmp_path / "empty.npy"
    np.save(empty, np.zeros((0, 8, 8, 1), np.float32))
    short = tmp_path / "short.npy"
    np.save(short, np.zeros(3, np.int64))
    exists = tmp_path / "exists.keras"
    exists.write_bytes(b"keep")
    subs = {"{x}": str(digits / "train_x.npy"), "{empty}": str(empty), "{short}": str(short),
            "{exists}": str(exists)}
    args = [subs.get(a, a) for a in args]
    if "-o" not in args:
        args += ["-o", str(tmp_path / "small.keras")]
    before = sorted(os.listdir(tmp_path))
    r = run(["compress", digits / "model.keras", *args, "--epochs", "0"])
    assert r.exit_code == 2, r.output
    assert text in r.output, r.output
    assert "Traceback" not in r.output
    assert sorted(os.listdir(tmp_path)) == before
    assert exists.read_bytes() == b"keep"


def test_models_compress_refuses(tmp_path, zoo_keras_dir):
    x = tmp_path / "x.npy"
    np.save(x, calibration("mlp", n=30)[0])
    r = run(["compress", zoo_keras_dir / "mlp_savedmodel", "--data", x, "--prune", "0.5",
             "-o", tmp_path / "s.keras"])
    assert r.exit_code == 2 and "SavedModel folder holds a traced graph" in r.output
    r = run(["compress", zoo_keras_dir / "mlp.keras", "--data", x, "--prune", "0.5",
             "-o", tmp_path / "s.tflite"])
    assert r.exit_code == 2 and "written as a .keras file" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]


def test_compression_does_not_import_reference_or_codegen():
    code = ("import sys, mcuq.compression.pipeline, mcuq.compression.pruning, "
            "mcuq.compression.clustering, mcuq.compression.distill, mcuq.compression.stats; "
            "bad = [m for m in sys.modules if m.startswith(('mcuq.reference', 'mcuq.codegen'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_loading_refuses_what_is_not_a_keras3_model(tmp_path):
    from mcuq.compression.loading import load_keras_model

    with pytest.raises(InputError, match="cannot compress a object"):
        load_keras_model(object())
    (tmp_path / "m.tflite").write_bytes(b"x")
    with pytest.raises(InputError, match="already a .tflite"):
        load_keras_model(tmp_path / "m.tflite")


def test_keras2_models_are_converted_when_exact_else_refused(tmp_path):
    """A tf_keras model Keras 3 rebuilds with the same outputs is compressed (and says so);
    one it cannot read (DepthwiseConv2D's Keras 2 `groups`) is one error, exit 2."""
    import warnings

    from mcuq.sources import import_tf_keras

    k2 = import_tf_keras()
    L = k2.layers
    k2.utils.set_random_seed(0)
    i = k2.Input((8, 8, 1), name="image")
    h = L.Conv2D(8, 3, padding="same", activation="relu")(i)
    h = L.Add()([h, L.Conv2D(8, 1)(h)])
    ok = k2.Model(i, L.Dense(3, activation="softmax")(L.Flatten()(h)))
    bad = k2.Sequential([L.DepthwiseConv2D(3, padding="same", input_shape=(8, 8, 1)),
                         L.Flatten(), L.Dense(3)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ok.save(tmp_path / "ok.h5")
        bad.save(tmp_path / "bad.h5")
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(0).uniform(0, 1, (40, 8, 8, 1)).astype(np.float32))
    r = run(["compress", tmp_path / "ok.h5", "--data", x, "--prune", "0.5", "--epochs", "0",
             "-o", tmp_path / "ok_small.keras"])
    assert r.exit_code == 0, r.output
    assert "converted to Keras 3 through HDF5" in r.output
    r = run(["compress", tmp_path / "bad.h5", "--data", x, "--prune", "0.5", "--epochs", "0",
             "-o", tmp_path / "bad_small.keras"])
    assert r.exit_code == 2, r.output
    assert "Keras 3 cannot rebuild" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "bad_small.keras").exists()
