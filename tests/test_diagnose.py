"""`mcuq diagnose`: the float graph beside the int8 one, the ranking on models built to break,
remedies that work by the amount predicted once applied (re-converted and measured), the CLI."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from mcuq.cli import main
from mcuq.conversion import convert_float, convert_model
from mcuq.diagnosis import diagnose_model
from mcuq.diagnosis.edits import range_to_quant
from mcuq.diagnosis.graphs import FloatGraph, FloatOp, match_tensors
from mcuq.model import parse_model
from mcuq.testing import zoo as zoo_mod
from mcuq.testing.builder import ModelBuilder


@pytest.mark.parametrize("name", ["cnn", "resnet8", "two_in_two_out"])
def test_float_graph_matches_every_tensor_and_single_ops_reproduce_it(zoo, name):
    """convert_float keeps the int8 model's op structure: every int8 tensor pairs with a float
    one, and each float op cut out alone computes the float graph's own tensor."""
    q = parse_model(zoo[name])
    graph = FloatGraph(convert_float(zoo_mod.build_keras(name)))
    match = match_tensors(q, graph.model)
    assert match.unmatched == []
    assert len(match.ops) == len(q.operators) == len(graph.model.operators)
    xs = zoo_mod.calibration(name, n=4, seed=5)
    xs = [x.reshape(4, *t.shape) for x, t in zip(xs, graph.model.input_tensors())]
    f = graph.model
    vals = graph.run(xs, [t.index for t in f.tensors if t.data is None])
    for op in f.operators:
        ins = list(dict.fromkeys(i for i in op.inputs if i >= 0 and f.tensors[i].data is None))
        out = FloatOp(graph, op.index).run([vals[i] for i in ins])
        np.testing.assert_allclose(out[0].reshape(vals[op.outputs[0]].shape),
                                   vals[op.outputs[0]], rtol=1e-5, atol=1e-5)


def _float_int8_pair(fused_in_int8: bool):
    """int8: FC(+RELU fused) or FC then RELU; float: the other way round."""
    rng = np.random.default_rng(0)
    w = rng.normal(0, 0.3, (4, 6)).astype(np.float32)

    def build(dtype, fused):
        b = ModelBuilder()
        q = dtype == "INT8"
        x = b.input("x", (1, 6), dtype, scale=0.05 if q else None, zero_point=0)
        wt = b.const("w", (np.round(w / 0.01).astype(np.int8) if q else w),
                     scale=0.01 if q else None)
        y = b.tensor("fc", (1, 4), dtype, scale=0.02 if q else None, zero_point=-128 if q else 0)
        b.op("FULLY_CONNECTED", [x, wt, -1], [y], version=4,
             fused_activation_function="RELU" if fused else "NONE")
        if not fused:
            z = b.tensor("relu", (1, 4), dtype, scale=0.02 if q else None,
                         zero_point=-128 if q else 0)
            b.op("RELU", [y], [z])
            y = z
        b.output(y)
        return parse_model(b.build())

    return build("INT8", fused_in_int8), build("FLOAT32", not fused_in_int8)


def test_matching_follows_an_activation_fused_in_one_graph_only():
    q, f = _float_int8_pair(fused_in_int8=True)
    m = match_tensors(q, f)
    assert m.tensors[q.operators[0].outputs[0]] == f.operators[1].outputs[0]  # after the RELU
    assert m.unmatched == []
    q, f = _float_int8_pair(fused_in_int8=False)
    m = match_tensors(q, f)
    assert m.tensors[q.operators[1].outputs[0]] == f.operators[0].outputs[0]
    (u,) = m.unmatched  # the pre-activation value exists only in the int8 graph
    assert u["tensor"] == "fc" and "fused RELU" in u["reason"]


def test_range_to_quant_is_the_converters(zoo):
    """The activation parameters re-calibration predicts are the ones TFLiteConverter picks:
    the zoo model's tensors, re-derived from min/max of the float graph on the calibration
    data it was converted with."""
    name = "cnn"
    q = parse_model(zoo[name])
    graph = FloatGraph(convert_float(zoo_mod.build_keras(name)))
    match = match_tensors(q, graph.model)
    (x,) = zoo_mod.calibration(name)  # the zoo's conversion data
    vals = graph.run([x.reshape(-1, 1, 16, 16, 1)], set(match.tensors.values()))
    checked = 0
    for op in q.operators:
        if op.opcode not in ("CONV_2D", "FULLY_CONNECTED"):
            continue
        t = q.tensors[op.outputs[0]]
        v = vals[match.tensors[t.index]]
        scale, zp = range_to_quant(float(v.min()), float(v.max()))
        assert zp == t.zero_point and scale == pytest.approx(t.scale, rel=1e-5)
        checked += 1
    assert checked == 4


@pytest.fixture(scope="module")
def keras():
    from mcuq.sources import import_keras

    return import_keras()


def _outlier_sample_mlp(keras):
    """Dense(32, relu) -> Dense(32, relu) -> Dense(10) on 64 features, and calibration data
    with one sample aimed at one unit of the first layer (its range blows up ~6x). The second
    layer ignores that unit, so only the first layer's range is hurt."""
    keras.utils.set_random_seed(0)
    L = keras.layers
    i = keras.Input((64,), name="features")
    x = L.Dense(32, activation="relu", name="dense_a")(i)
    x = L.Dense(32, activation="relu", name="dense_b")(x)
    model = keras.Model(i, L.Dense(10, name="logits")(x))
    w = model.get_layer("dense_a").get_weights()[0]
    j = int(np.argmax(np.abs(w).sum(axis=0)))
    wb, bb = model.get_layer("dense_b").get_weights()
    wb[j, :] = 0.0
    model.get_layer("dense_b").set_weights([wb, bb])
    clean = np.random.default_rng(0).normal(0, 1, (200, 64)).astype(np.float32)
    outlier = (3.0 * np.sign(w[:, j]))[None].astype(np.float32)
    return model, clean, np.concatenate([clean, outlier])


def test_calibration_outlier_named_first_and_recalibration_works_as_predicted(keras):
    model, clean, calib = _outlier_sample_mlp(keras)
    broken = convert_model(model, calib).data
    d = diagnose_model(broken, model, data=clean)
    culprit = d.culprit
    assert culprit.layer == "dense_a" and culprit.rank == 1
    assert culprit.range_used < 0.25  # the data reaches a fraction of the int8 range
    fix = d.remedies[0]
    assert fix.kind == "calibration" and fix.layer == "dense_a" and fix.simulated
    before, after = fix.predicted["output_sqnr_db"]
    t_before, t_after = fix.predicted["tensors"][culprit.tensor]["score_db"]
    assert after - before > 3.0 and t_after - t_before > 10.0
    # Apply it: re-convert with data like the diagnosis data, and measure.
    fixed = diagnose_model(convert_model(model, clean).data, model, data=clean, simulate=False)
    print(f"output SQNR {before:.2f} -> predicted {after:.2f}, measured "
          f"{fixed.outputs[0].sqnr_db:.2f} dB; dense_a adds {t_before:.2f} -> predicted "
          f"{t_after:.2f}, measured {fixed.layer(culprit.tensor).score_db:.2f} dB")
    assert fixed.outputs[0].sqnr_db == pytest.approx(after, abs=0.1)
    assert fixed.layer(culprit.tensor).score_db == pytest.approx(t_after, abs=0.1)
    assert fixed.culprit.tensor != culprit.tensor


def test_outlier_channel_named_first_and_per_channel_weights_work_as_predicted(keras):
    """One output channel of a conv with weights x100, converted with one weight scale per
    tensor: the other channels' weights round to almost nothing."""
    keras.utils.set_random_seed(0)
    L = keras.layers
    i = keras.Input((12, 12, 1), name="image")
    x = L.Conv2D(8, 3, padding="same", activation="relu", name="conv_a")(i)
    x = L.Conv2D(16, 3, padding="same", activation="relu", name="conv_b")(x)
    x = L.Flatten(name="flatten")(L.MaxPooling2D(2, name="pool")(x))
    model = keras.Model(i, L.Dense(10, name="logits")(x))
    w, b = model.get_layer("conv_b").get_weights()
    w[..., 5] *= 100.0
    model.get_layer("conv_b").set_weights([w, b])
    data = np.random.default_rng(0).uniform(0, 1, (160, 12, 12, 1)).astype(np.float32)
    d = diagnose_model(convert_model(model, data, per_channel=False).data, model, data=data)
    culprit = d.culprit
    assert culprit.layer == "conv_b" and culprit.weights is not None
    assert not culprit.weights.per_channel
    peaks = np.maximum(np.abs(culprit.weights.float_min), np.abs(culprit.weights.float_max))
    assert int(np.argmax(peaks)) == 5
    fix = next(r for r in d.remedies if r.kind == "per_channel")
    assert fix.layer == "conv_b" and d.remedies.index(fix) == 0
    before, after = fix.predicted["output_sqnr_db"]
    t_before, t_after = fix.predicted["tensors"][culprit.tensor]["score_db"]
    assert after > before and t_after - t_before > 2.0
    # The channel that owns the activation range is named too (its own remedy).
    assert any(r.kind == "outlier_channel" and r.predicted["channel"] == 5 for r in d.remedies)
    fixed = diagnose_model(convert_model(model, data, per_channel=True).data, model, data=data,
                           simulate=False)
    print(f"output SQNR {before:.2f} -> predicted {after:.2f}, measured "
          f"{fixed.outputs[0].sqnr_db:.2f} dB; conv_b adds {t_before:.2f} -> predicted "
          f"{t_after:.2f}, measured {fixed.layer(culprit.tensor).score_db:.2f} dB")
    assert fixed.outputs[0].sqnr_db == pytest.approx(after, abs=0.1)
    assert fixed.layer(culprit.tensor).score_db == pytest.approx(t_after, abs=0.1)


# -- CLI ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cnn_files(tmp_path_factory, zoo):
    """The zoo CNN: its .tflite, the float .keras it came from, data and labels."""
    from mcuq.conversion import quiet_native_output

    d = tmp_path_factory.mktemp("diag_cnn")
    model = zoo_mod.build_keras("cnn")
    with quiet_native_output():
        model.save(d / "cnn.keras")
    (d / "cnn.tflite").write_bytes(zoo["cnn"])
    x = zoo_mod.calibration("cnn", n=96, seed=3)[0]
    np.save(d / "x.npy", x)
    np.save(d / "y.npy", np.argmax(model.predict(x, verbose=0), axis=1))
    return d


def test_cli_diagnose_json_and_text(cnn_files):
    d = cnn_files
    args = ["diagnose", str(d / "cnn.tflite"), "--float", str(d / "cnn.keras"), "--data",
            str(d / "x.npy"), "--labels", str(d / "y.npy")]
    r = CliRunner().invoke(main, args + ["--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["samples"] == 96 and out["unmatched"] == [] and out["culprit"] == out["ranking"][0]
    assert len(out["layers"]) == 9  # the input and every op's output
    for lr in out["layers"]:
        assert {"sqnr_db", "rmse_over_scale", "flagged", "max_abs_error_lsb", "saturation",
                "sqnr_float_inputs_db", "added_sqnr_db", "score_db", "rank"} <= set(lr)
    assert out["outputs"][0]["accuracy"]["float"] == 1.0
    assert sum(map(sum, out["outputs"][0]["confusion"]["float"])) == 96
    r = CliRunner().invoke(main, args + ["--no-simulate"])
    assert r.exit_code == 0, r.output
    assert "ranking (most error added first):" in r.output and "1. " in r.output
    # every op of the CNN has a 16x8 kernel: int16 is offered as an upper bound, with the
    # command that measures it
    assert "--activations int16" in r.output and "at most +48.2 dB" in r.output
    assert "--compare-int16" in r.output


def test_int16_remedy_only_where_every_op_has_a_16x8_kernel(zoo):
    from mcuq.diagnosis.core import _ops_without_int16
    from mcuq.model import load_model
    from mcuq.testing.builder import ModelBuilder

    b = ModelBuilder()
    x = b.input("x", (1, 8), "INT8", scale=0.05, zero_point=0)
    y = b.tensor("y", (1, 8), "INT8", scale=0.05, zero_point=0)
    b.op("HARD_SWISH", [x], [y])
    b.output(y)
    assert _ops_without_int16(load_model(b.build())) == ["HARD_SWISH"]
    assert _ops_without_int16(load_model(zoo["cnn"])) == []


def test_cli_diagnose_errors(cnn_files, tmp_path):
    d = cnn_files
    r = CliRunner().invoke(main, ["diagnose", str(d / "cnn.tflite"), "--float",
                                  str(tmp_path / "none.keras"), "--data", str(d / "x.npy")])
    assert r.exit_code == 2 and "none.keras" in r.output and "hint:" in r.output
    assert "Traceback" not in r.output
    r = CliRunner().invoke(main, ["diagnose", str(d / "cnn.tflite"), "--float",
                                  str(d / "cnn.keras"), "--html", str(tmp_path / "no" / "r.html")])
    assert r.exit_code == 2 and "does not exist" in r.output
    # A float model the .tflite did not come from: different outputs, one clear error.
    keras = pytest.importorskip("keras")
    i = keras.Input((16, 16, 1))
    other = keras.Model(i, [keras.layers.Flatten()(i), keras.layers.Flatten()(i)])
    other.save(tmp_path / "other.keras")
    r = CliRunner().invoke(main, ["diagnose", str(d / "cnn.tflite"), "--float",
                                  str(tmp_path / "other.keras"), "--data", str(d / "x.npy")])
    assert r.exit_code == 2 and "pass the float model the .tflite was converted from" in r.output
    i = keras.Input((8, 8, 1))
    keras.Model(i, keras.layers.Dense(10)(keras.layers.Flatten()(i))).save(tmp_path / "small.keras")
    r = CliRunner().invoke(main, ["diagnose", str(d / "cnn.tflite"), "--float",
                                  str(tmp_path / "small.keras"), "--data", str(d / "x.npy")])
    assert r.exit_code == 2 and "has shape [1, 8, 8, 1]" in r.output, r.output
    assert "Traceback" not in r.output


def test_verify_float_has_a_per_layer_section(cnn_files):
    d = cnn_files
    r = CliRunner().invoke(main, ["verify", str(d / "cnn.tflite"), "--data", str(d / "x.npy"),
                                  "--float", str(d / "cnn.keras"), "--runners", "reference",
                                  "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["diagnosis"]["ranking"] and out["diagnosis"]["samples"] == 96
