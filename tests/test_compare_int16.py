"""verify --compare-int16: the float model converted to int8 and to 16x8 in memory, both measured
against the float model on the same data (mcuq.int16_comparison), through the real CLI."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from mcuq.cli import main


def _on_grid(model) -> None:
    """Snap every Dense kernel onto one int8 grid per layer: k * s with |k| <= 127 and a
    weight of magnitude 127 * s in every output channel. Per-channel (int8) and per-tensor
    (16x8 Dense) scales are then both s and represent every weight exactly: weight
    quantization adds no error to either conversion."""
    for layer in model.layers:
        w = layer.get_weights()
        if not w:
            continue
        s = np.abs(w[0]).max() / 127.0
        q = np.round(w[0] / s)
        q[0, :] = np.where(q[0, :] >= 0, 127.0, -127.0)
        layer.set_weights([(q * s).astype(np.float32), *w[1:]])


@pytest.fixture(scope="session")
def int16_files(tmp_path_factory):
    """grid.keras (the zoo MLP with on-grid weights) + its int8 .tflite, data and class
    labels; hs.keras (Dense -> hard_swish: int8 converts, 16x8 is refused) + its .tflite."""
    import mcuq
    from mcuq.native import quiet_native_output
    from mcuq.sources import import_keras
    from mcuq.testing.zoo import build_keras, calibration

    d = tmp_path_factory.mktemp("int16_compare")
    keras = import_keras()
    mlp = build_keras("mlp")
    _on_grid(mlp)
    inp = keras.Input((8,), name="v")
    hs = keras.Model(inp, keras.layers.Activation("hard_swish")(keras.layers.Dense(4)(inp)))
    with quiet_native_output():
        mlp.save(d / "grid.keras")
        hs.save(d / "hs.keras")
    x = calibration("mlp", n=100)[0]
    np.save(d / "x.npy", x)
    scores = mlp.predict(x, verbose=0)
    np.save(d / "y.npy", np.argmax(scores, axis=1)[::-1].copy())
    rng = np.random.default_rng(1)
    np.save(d / "targets.npy", scores + rng.normal(0, 0.01, scores.shape))
    np.save(d / "x2.npy", calibration("mlp", n=60, seed=2)[0])
    np.save(d / "v.npy", np.random.default_rng(0).random((64, 8), np.float32))
    (d / "grid.tflite").write_bytes(mcuq.convert(d / "grid.keras", d / "x.npy"))
    (d / "hs.tflite").write_bytes(mcuq.convert(d / "hs.keras", d / "v.npy"))
    return d


def test_compare_int16_reports_both_sqnrs_and_16x8_wins_where_it_must(int16_files):
    """On-grid weights (see _on_grid) leave only activation, input and bias rounding, whose
    steps are 2^8 finer with int16 activations (and the int16 softmax output 1/32768 vs
    1/256): 16x8's SQNR must exceed int8's by far (ideally 48 dB; measured 41.8 dB)."""
    d = int16_files
    r = CliRunner().invoke(main, ["verify", str(d / "grid.tflite"), "--float",
                                  str(d / "grid.keras"), "--data", str(d / "x.npy"), "--labels",
                                  str(d / "y.npy"), "--runners", "reference", "--no-diagnose",
                                  "--compare-int16", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output[r.output.index("{"):])
    cmp = out["int16_comparison"]
    by = {c["activations"]: c for c in cmp["conversions"]}
    assert set(by) == {"int8", "int16"} and all(c["status"] == "ok" for c in by.values())
    s8, s16 = by["int8"]["outputs"][0]["sqnr_db"], by["int16"]["outputs"][0]["sqnr_db"]
    assert isinstance(s8, float) and isinstance(s16, float)
    assert math.isfinite(s8) and math.isfinite(s16)
    assert s16 >= s8 + 20.0, (s8, s16)
    assert cmp["sqnr_gain_db"][0] == pytest.approx(s16 - s8)
    # the in-memory int8 conversion is the verified model itself (same float model, same
    # calibration data, same seed): its SQNR is verify's own
    assert s8 == pytest.approx(out["metrics"][0]["sqnr_db"], abs=1e-9)
    assert by["int16"]["io_type"] == "int16" and by["int8"]["io_type"] == "int8"
    # labels: accuracy for both conversions and the float model (a fraction in [0, 1])
    for c in by.values():
        assert 0.0 <= c["outputs"][0]["accuracy"] <= 1.0
    assert 0.0 <= cmp["float_accuracy"] <= 1.0
    # the cost: int16 activations take twice the bytes of the same tensors
    assert by["int16"]["c_arena_bytes"] == 2 * by["int8"]["c_arena_bytes"]
    assert by["int16"]["tflm_total_bytes"] > by["int8"]["tflm_total_bytes"] > 0


def test_compare_int16_names_the_ops_16x8_refuses_and_still_verifies(int16_files, tmp_path):
    """TFLiteConverter has no 16x8 HARD_SWISH: the 16x8 row says REFUSED naming the op, the
    int8 row and the verification itself still run (exit 0); the HTML report shows both."""
    d = int16_files
    html = tmp_path / "r.html"
    r = CliRunner().invoke(main, ["verify", str(d / "hs.tflite"), "--float", str(d / "hs.keras"),
                                  "--data", str(d / "v.npy"), "--runners", "reference",
                                  "--no-diagnose", "--compare-int16", "--html", str(html)])
    assert r.exit_code == 0, r.output
    assert "int8 vs 16x8 (--compare-int16)" in r.output
    rows = {ln.split()[0]: ln.split() for ln in r.output.splitlines()
            if ln.split()[:1] in (["int8"], ["16x8"]) and ln.split()[1] != "vs"}
    assert rows["16x8"][-1] == "REFUSED" and rows["int8"][-1] == "ok"
    assert "16x8: refused:" in r.output and "'HARD_SWISH'" in r.output
    assert "Traceback" not in r.output
    page = html.read_text()
    table = page[page.index('id="int16-table"'):]
    assert 'data-activations="int8"' in table and 'class="s fail">refused' in table
    assert "HARD_SWISH" in table[:table.index("</table>")]


def test_compare_int16_regression_targets_and_calibration(int16_files):
    """Non-integer --labels are regression targets: RMSE against them for the float model and
    both conversions (verify's own class-label metrics are left out); --calibration picks the
    calibration data (here not --data: the int8 column differs from the verified model)."""
    d = int16_files
    r = CliRunner().invoke(main, ["verify", str(d / "grid.tflite"), "--float",
                                  str(d / "grid.keras"), "--data", str(d / "x.npy"), "--labels",
                                  str(d / "targets.npy"), "--calibration", str(d / "x2.npy"),
                                  "--runners", "reference", "--no-diagnose", "--compare-int16",
                                  "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output[r.output.index("{"):])
    cmp = out["int16_comparison"]
    assert cmp["calibration"] == str(d / "x2.npy")
    assert cmp["float_rmse_targets"] == pytest.approx(0.01, rel=0.1)  # the noise added
    for c in cmp["conversions"]:
        o = c["outputs"][0]
        assert o["accuracy"] is None and math.isfinite(o["rmse_targets"])
        assert o["rmse_targets"] > 0
    assert out["metrics"][0]["accuracy"] is None  # not class labels


def test_compare_int16_usage_errors(int16_files, streaming_model, tmp_path):
    import mcuq
    from mcuq.errors import InputError

    d = int16_files
    r = CliRunner().invoke(main, ["verify", str(d / "grid.tflite"), "--data", str(d / "x.npy"),
                                  "--compare-int16"])
    assert r.exit_code == 2, r.output
    assert "--compare-int16 given without --float" in r.output and "hint:" in r.output
    r = CliRunner().invoke(main, ["verify", str(d / "grid.tflite"), "--float",
                                  str(d / "grid.keras"), "--compare-int16"])
    assert r.exit_code == 2, r.output
    assert "without --data" in r.output and "hint:" in r.output
    r = CliRunner().invoke(main, ["verify", str(d / "grid.tflite"), "--calibration",
                                  str(d / "x.npy")])
    assert r.exit_code == 2, r.output
    assert "--calibration given without --compare-int16" in r.output
    (tmp_path / "s.tflite").write_bytes(streaming_model)
    r = CliRunner().invoke(main, ["verify", str(tmp_path / "s.tflite"), "--float",
                                  str(d / "grid.keras"), "--data", str(d / "x.npy"),
                                  "--compare-int16"])
    assert r.exit_code == 3, r.output
    assert "keeps state between invocations" in r.output and "Traceback" not in r.output
    with pytest.raises(InputError, match="without --float"):  # the Python API, the same check
        mcuq.verify(str(d / "grid.tflite"), data=str(d / "x.npy"), compare_int16=True)


def test_regression_targets_are_told_from_class_labels(tmp_path):
    """Non-integer labels are targets; integer-valued ones are class labels unless the first
    output has one value per sample (nothing to take the argmax of)."""
    from mcuq.errors import InputError
    from mcuq.int16_comparison import regression_targets
    from mcuq.model import load_model
    from mcuq.testing.builder import ModelBuilder

    def one_output(size: int):
        b = ModelBuilder()
        x = b.input("x", (1, size), "INT8", scale=0.1, zero_point=0)
        y = b.tensor("y", (1, size), "INT8", scale=0.1, zero_point=0)
        b.op("RELU", [x], [y])
        b.output(y)
        return load_model(b.build())

    np.save(tmp_path / "frac.npy", np.array([0.5, 1.25, 3.0]))
    np.save(tmp_path / "ints.npy", np.array([1.0, 0.0, 3.0]))
    assert regression_targets(tmp_path / "frac.npy", one_output(4)).tolist() == [0.5, 1.25, 3.0]
    assert regression_targets(tmp_path / "ints.npy", one_output(4)) is None
    assert regression_targets(tmp_path / "ints.npy", one_output(1)).dtype == np.float64
    np.save(tmp_path / "nan.npy", np.array([0.5, np.nan]))
    with pytest.raises(InputError, match="NaN or infinite"):
        regression_targets(tmp_path / "nan.npy")
