"""`mcuq verify`: runners compared with the reference, failures that must fail, inputs, CLI."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from mcuq.cli import main
from mcuq.errors import InputError, ToolchainError
from mcuq.model import load_model
from mcuq.reference.registry import Kernel
from mcuq.runners import Runner
from mcuq.runners.reference import ReferenceRunner
from mcuq.runners.tflm import TflmRunner
from mcuq.testing.builder import ModelBuilder
from mcuq.verification import prepare_inputs, verify_model

DIMS = (16, 12, 10, 6)


def fc3_model(seed: int = 0, weights=None) -> bytes:
    """x -> FC(fc0) -> FC(fc1) -> FC(fc2): three layers so a fault in the middle one has a
    clean layer before it and a layer after it that carries it to the output."""
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    prev = b.input("x", (1, DIMS[0]), scale=0.05, zero_point=-3)
    s_prev = 0.05
    for k in range(3):
        w = rng.integers(-127, 128, (DIMS[k + 1], DIMS[k]), dtype=np.int8)
        if weights is not None and k in weights:
            w = weights[k]
        wi = b.const(f"w{k}", w, scale=0.02)
        bias = b.const(f"b{k}", rng.integers(-300, 300, DIMS[k + 1], dtype=np.int32),
                       scale=np.float32(s_prev * 0.02))
        y = b.tensor(f"fc{k}", (1, DIMS[k + 1]), scale=0.08, zero_point=2)
        b.op("FULLY_CONNECTED", [prev, wi, bias], [y], version=4,
             fused_activation_function="RELU" if k < 2 else "NONE")
        prev, s_prev = y, 0.08
    b.output(prev)
    return b.build()


def identity_model(scale=0.5, zero_point=-3) -> bytes:
    """FC with weight 1 and out scale = in scale: the output equals the quantized input."""
    b = ModelBuilder()
    x = b.input("x", (1, 1), scale=scale, zero_point=zero_point)
    w = b.const("w", np.array([[1]], np.int8), scale=1.0)
    y = b.tensor("y", (1, 1), scale=scale, zero_point=zero_point)
    b.op("FULLY_CONNECTED", [x, w, -1], [y], version=4)
    b.output(y)
    return b.build()


def two_input_model() -> bytes:
    b = ModelBuilder()
    outs = []
    for name, depth in (("a", 4), ("b", 3)):
        x = b.input(name, (1, depth), scale=0.1, zero_point=0)
        w = b.const(f"w_{name}", np.ones((2, depth), np.int8), scale=0.05)
        y = b.tensor(f"y_{name}", (1, 2), scale=0.1, zero_point=0)
        b.op("FULLY_CONNECTED", [x, w, -1], [y], version=4)
        outs.append(y)
    for y in outs:
        b.output(y)
    return b.build()


def weight_offset(data: bytes, weights: np.ndarray) -> int:
    raw = weights.tobytes()
    off = data.find(raw)
    assert off > 0 and data.find(raw, off + 1) < 0, "weights not found exactly once"
    return off


class FaultyReference(ReferenceRunner):
    """The reference with a one-LSB fault injected into one op's output (element `position`
    of every sample), propagated to everything after it like a real kernel bug."""

    name = "faulty"

    def __init__(self, model, op_index: int, position: tuple):
        super().__init__(model)
        op, kernel, params = self.interpreter.plan[op_index]

        def run(p, inputs):
            outs = kernel.run(p, inputs)
            y = outs[0].copy()
            idx = (slice(None), *position)
            v = y[idx].astype(np.int16)
            y[idx] = np.where(v == 127, 126, v + 1).astype(y.dtype)
            return [y, *outs[1:]]

        self.interpreter.plan[op_index] = (op, Kernel(kernel.name, kernel.prepare, run), params)


# -- the library -----------------------------------------------------------------------------
def test_all_runners_agree_exit_0(tmp_path):
    report = verify_model(fc3_model(), runners=("reference", "tflm", "tflite", "host"),
                          samples=40, runner_options={"host": {"cache_dir": tmp_path}})
    assert report.exit_code == 0 and report.passed and report.samples == 40
    by = {r.runner: r for r in report.runners}
    assert set(by) == {"tflm", "tflite", "host"}  # the reference is the judge, not a row
    for name in ("tflm", "host"):
        assert by[name].must_be_exact and by[name].status == "exact"
        assert by[name].outputs[0].exact == 1.0 and by[name].outputs[0].max_abs_lsb == 0
        assert by[name].outputs[0].elements == 40 * DIMS[-1]
    assert any(tmp_path.iterdir())  # runner_options reached the host runner
    # TFLite is held to the byte against the reference in its own profile (litert).
    assert by["tflm"].profile == by["host"].profile == "tflm"
    t = by["tflite"]
    assert t.profile == "litert" and t.must_be_exact and t.status == "exact"
    assert report.profiles == ["tflm", "litert"]


def test_tampered_weights_fail_and_name_the_middle_layer():
    original = fc3_model()
    ref_model = load_model(original)
    w1 = ref_model.tensors[[t.name for t in ref_model.tensors].index("w1")].data
    tampered = bytearray(original)
    off = weight_offset(original, w1)
    for k in range(0, w1.size, 7):  # flip bytes of the middle layer's weights
        tampered[off + k] ^= 0x5A
    runner = TflmRunner(load_model(bytes(tampered)))
    runner.name = "tflm-tampered"
    report = verify_model(original, runners=["tflm", runner], samples=30)
    assert report.exit_code == 1 and not report.passed
    by = {r.runner: r for r in report.runners}
    assert by["tflm"].status == "exact"
    bad = by["tflm-tampered"]
    assert bad.status == "mismatch" and bad.outputs[0].mismatched_elements > 0
    assert bad.outputs[0].exact < 1.0 and bad.outputs[0].max_abs_lsb > 0
    d = bad.first_diverging_tensor
    assert d is not None and d.tensor == "fc1" and d.op_index == 1
    assert d.op == "FULLY_CONNECTED" and d.examples
    ex = d.examples[0]
    assert ex["reference"] != ex["runner"] and len(ex["position"]) == 2


@pytest.mark.parametrize("op_index,position", [(1, (0, 4)), (0, (0, 11))])
def test_one_lsb_fault_is_found_at_its_tensor(op_index, position):
    model = load_model(fc3_model())
    faulty = FaultyReference(model, op_index, position)
    report = verify_model(model, runners=[faulty], samples=20)
    assert report.exit_code == 1
    r = report.runners[0]
    assert r.status == "mismatch"
    d = r.first_diverging_tensor
    assert d.tensor == f"fc{op_index}" and d.op_index == op_index
    assert d.max_abs_lsb == 1
    assert d.mismatched_elements == d.samples_checked  # one element per re-run sample
    assert all(e["position"] == list(position) for e in d.examples)
    assert all(abs(e["runner"] - e["reference"]) == 1 for e in d.examples)


def test_runner_without_intermediates_reports_outputs_only():
    class OutputsOnly(Runner):
        name = "outputs-only"

        def __init__(self, model):
            super().__init__(model)
            self.inner = FaultyReference(model, 1, (0, 4))

        def run(self, inputs, keep_intermediates=False):
            r = self.inner.run(inputs)
            r.intermediates = {}
            return r

    model = load_model(fc3_model())
    report = verify_model(model, runners=[OutputsOnly(model)], samples=10)
    r = report.runners[0]
    assert report.exit_code == 1 and r.first_diverging_tensor is None
    assert "intermediate" in r.note


def test_tflite_default_difference_does_not_fail():
    # On this model LiteRT's optimized kernels differ from TFLite Micro by LSBs.
    report = verify_model(fc3_model(), runners=("tflm", "tflite-default"), samples=100)
    by = {r.runner: r for r in report.runners}
    d = by["tflite-default"]
    assert d.outputs[0].mismatched_elements > 0, "expected an LSB difference to exercise"
    assert d.status == "differs" and not d.must_be_exact  # reported, the run still passes:
    assert d.first_diverging_tensor is not None
    assert report.exit_code == 0


def test_toolchain_error_propagates():
    class Missing(Runner):
        name = "missing"

        def run(self, inputs, keep_intermediates=False):
            raise ToolchainError("missing: no compiler", "install it")

    model = load_model(fc3_model())
    with pytest.raises(ToolchainError):
        verify_model(model, runners=[Missing(model)], samples=2)


# -- inputs ----------------------------------------------------------------------------------
def test_float_data_is_quantized_like_tflite(tmp_path):
    model = load_model(identity_model(scale=0.1, zero_point=-3))
    # x / 0.1 in float32: 0.25 -> 2.5 (tie, away from zero) -> 3; float64 would give 2.
    # 0.05 -> 0.5 -> 1; -0.25 -> -3; 100 and -100 clamp; 1.23 -> 12.3 -> 12.
    x = np.array([0.25, -0.25, 0.05, -0.15, 100.0, -100.0, 0.0, 1.23], np.float32)
    want = np.array([0, -6, -2, -5, 127, -128, -3, 9], np.int8)
    path = tmp_path / "x.npy"
    np.save(path, x.reshape(-1, 1))
    got = prepare_inputs(model, str(path))
    assert got.arrays[0].dtype == np.int8 and got.arrays[0].shape == (8, 1, 1)
    np.testing.assert_array_equal(got.arrays[0].reshape(-1), want)
    np.testing.assert_array_equal(got.real[0].reshape(-1), x)
    # The identity model passes its input through: the reference sees exactly these values.
    out = ReferenceRunner(model).run(got.arrays).outputs[0]
    np.testing.assert_array_equal(out.reshape(-1), want)
    # int8 data is used as is, and dequantized for the float model.
    q = want.reshape(-1, 1, 1)
    np.save(path, q)
    got = prepare_inputs(model, str(path))
    np.testing.assert_array_equal(got.arrays[0], q)
    np.testing.assert_allclose(got.real[0].reshape(-1), (want.astype(float) + 3) * 0.1,
                               rtol=1e-6)


def test_npz_matches_inputs_by_name_then_order(tmp_path):
    model = load_model(two_input_model())
    a = np.arange(10 * 4, dtype=np.int8).reshape(10, 4)
    b = -np.arange(10 * 3, dtype=np.int8).reshape(10, 3)
    np.savez(tmp_path / "named.npz", b=b, a=a)  # stored out of order, matched by name
    got = prepare_inputs(model, str(tmp_path / "named.npz"))
    np.testing.assert_array_equal(got.arrays[0][:, 0], a)
    np.testing.assert_array_equal(got.arrays[1][:, 0], b)
    np.savez(tmp_path / "ordered.npz", a, b)
    got = prepare_inputs(model, str(tmp_path / "ordered.npz"))
    np.testing.assert_array_equal(got.arrays[1][:, 0], b)
    report = verify_model(model, data=str(tmp_path / "ordered.npz"), runners=("tflm",))
    assert report.exit_code == 0 and [o.output for o in report.runners[0].outputs] == [
        "y_a", "y_b"]
    np.savez(tmp_path / "bad.npz", a=a)
    with pytest.raises(InputError, match="bad.npz.*a, b"):
        prepare_inputs(model, str(tmp_path / "bad.npz"))
    np.save(tmp_path / "one.npy", a)
    with pytest.raises(InputError, match="2 inputs"):
        prepare_inputs(model, str(tmp_path / "one.npy"))


@pytest.mark.parametrize("array,match", [
    (np.zeros((5, 7), np.float32), r"x.npy: input 'x' expects samples shaped \(N, 16\).*\(5, 7\)"),
    (np.zeros((5, 16), np.int16), r"x.npy: input 'x' expects int8.*got int16"),
    (np.full((5, 16), np.nan, np.float32), r"x.npy: input 'x' holds NaN"),
])
def test_bad_data_is_an_input_error(tmp_path, array, match):
    np.save(tmp_path / "x.npy", array)
    with pytest.raises(InputError, match=match):
        verify_model(fc3_model(), data=str(tmp_path / "x.npy"))


def test_labels_give_int8_accuracy(tmp_path):
    model = load_model(fc3_model())
    x = np.random.default_rng(3).integers(-128, 128, (20, 16), dtype=np.int8)
    pred = np.argmax(ReferenceRunner(model).run([x[:, None]]).outputs[0][:, 0], axis=1)
    labels = pred.copy()
    labels[:5] = (labels[:5] + 1) % DIMS[-1]  # 5 of 20 wrong -> 75 %
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", labels)
    report = verify_model(model, data=str(tmp_path / "x.npy"), labels=str(tmp_path / "y.npy"),
                          runners=())
    assert report.metrics[0].accuracy == {"int8": 0.75, "float": None}
    np.save(tmp_path / "short.npy", labels[:3])
    with pytest.raises(InputError, match="3 labels for 20 samples"):
        verify_model(model, data=str(tmp_path / "x.npy"), labels=str(tmp_path / "short.npy"))


# -- the command -----------------------------------------------------------------------------
@pytest.fixture
def fc3_file(tmp_path):
    p = tmp_path / "fc3.tflite"
    p.write_bytes(fc3_model())
    return p


def test_cli_json_has_the_vocabulary(fc3_file):
    res = CliRunner().invoke(main, ["verify", str(fc3_file), "--runners", "reference,tflm",
                                    "--samples", "12", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["status"] == "PASS" and d["exit_code"] == 0 and d["samples"] == 12
    (r,) = d["runners"]
    assert r["runner"] == "tflm" and r["first_diverging_tensor"] is None
    o = r["outputs"][0]
    assert {"exact", "max_abs_lsb", "mismatched_elements"} <= set(o)
    assert o["exact"] == 1.0 and o["elements"] == 12 * DIMS[-1]


def test_cli_text_report_and_samples(fc3_file, tmp_path):
    x = np.random.default_rng(0).uniform(-3, 3, (30, 16)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    res = CliRunner().invoke(main, ["verify", str(fc3_file), "--data", str(tmp_path / "x.npy"),
                                    "--runners", "tflm,tflite", "--samples", "9"])
    assert res.exit_code == 0, res.output
    assert "9 samples (float, quantized" in res.stdout
    assert "max_abs_lsb" in res.stdout and "tflm" in res.stdout
    assert res.stdout.strip().splitlines()[-1].startswith("PASS")


def test_cli_wrong_shape_exits_2(fc3_file, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((4, 15), np.float32))
    res = CliRunner().invoke(main, ["verify", str(fc3_file), "--data", str(tmp_path / "x.npy")])
    assert res.exit_code == 2
    assert "x.npy: input 'x' expects samples shaped (N, 16)" in res.output
    assert "(4, 15)" in res.output and "hint:" in res.output


def test_host_mismatch_fails(tmp_path):
    # The C build of a tampered model: host must be exact, so the run fails with exit 1.
    from mcuq.runners.firmware import FirmwareRunner

    original = fc3_model()
    w1 = load_model(original).tensors[[t.name for t in load_model(original).tensors]
                                      .index("w1")].data
    tampered = bytearray(original)
    off = weight_offset(original, w1)
    tampered[off:off + 16] = bytes(b ^ 0xFF for b in tampered[off:off + 16])
    host = FirmwareRunner(load_model(bytes(tampered)), target="host",
                          cache_dir=tmp_path / "cache")
    report = verify_model(original, runners=[host], samples=10)
    assert report.exit_code == 1 and report.runners[0].status == "mismatch"
    assert report.runners[0].first_diverging_tensor is None  # host gives outputs only
    from mcuq.report.verify import verify_text

    assert verify_text(report).splitlines()[-1].startswith("FAIL: host")


def test_cli_missing_toolchain_exits_4(fc3_file, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no arm-none-eabi-gcc, no qemu
    res = CliRunner().invoke(main, ["verify", str(fc3_file), "--runners", "cortex-m4",
                                    "--samples", "2"])
    assert res.exit_code == 4, res.output
    assert "cortex-m4" in res.output and "hint:" in res.output


# -- the float model -------------------------------------------------------------------------
def _quantized_dense(W: np.ndarray, bias: np.ndarray, x: np.ndarray, y: np.ndarray) -> bytes:
    """A Dense layer quantized by hand (per-tensor, int8) into a one-op .tflite."""
    def affine(lo, hi):
        lo, hi = min(lo, 0.0), max(hi, 0.0)
        s = np.float32((hi - lo) / 255.0)
        return float(s), int(np.clip(np.round(-128 - lo / s), -128, 127))

    s_in, zp_in = affine(x.min(), x.max())
    s_out, zp_out = affine(y.min(), y.max())
    s_w = np.float32(np.abs(W).max() / 127.0)
    b = ModelBuilder()
    xi = b.input("x", (1, W.shape[0]), scale=s_in, zero_point=zp_in)
    wi = b.const("w", np.round(W.T / s_w).astype(np.int8), scale=s_w)
    s_b = np.float32(np.float64(s_in) * np.float64(s_w))
    bi = b.const("b", np.round(bias / s_b).astype(np.int32), scale=s_b)
    yi = b.tensor("y", (1, W.shape[1]), scale=s_out, zero_point=zp_out)
    b.op("FULLY_CONNECTED", [xi, wi, bi], [yi], version=4)
    b.output(yi)
    return b.build()


def test_float_model_metrics(tmp_path):
    import keras  # a dependency (TensorFlow's): an ImportError is a failure, not a skip

    rng = np.random.default_rng(0)
    inp = keras.Input((8,))
    dense = keras.layers.Dense(5)
    fmodel = keras.Model(inp, dense(inp))
    W = rng.standard_normal((8, 5)).astype(np.float32)
    bias = rng.standard_normal(5).astype(np.float32) * 0.1
    dense.set_weights([W, bias])
    fmodel.save(tmp_path / "m.keras")
    x = rng.uniform(-1, 1, (200, 8)).astype(np.float32)
    y = x @ W + bias
    (tmp_path / "m.tflite").write_bytes(_quantized_dense(W, bias, x, y))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.argmax(y, axis=1))  # the float model is right on every sample
    report = verify_model(str(tmp_path / "m.tflite"), data=str(tmp_path / "x.npy"),
                          labels=str(tmp_path / "y.npy"), float_model=str(tmp_path / "m.keras"),
                          runners=("tflm",))
    (m,) = report.metrics
    assert report.exit_code == 0
    assert m.accuracy["float"] == 1.0 and m.accuracy["int8"] == m.top1_agreement
    assert m.top1_agreement >= 0.9 and m.cosine > 0.99 and m.sqnr_db > 25
    assert 0 < m.mae <= m.rmse < 0.1 * np.abs(y).mean()

    # A float model that is not the one the .tflite came from scores far worse.
    dense.set_weights([-W, bias])
    fmodel.save(tmp_path / "other.keras")
    other = verify_model(str(tmp_path / "m.tflite"), data=str(tmp_path / "x.npy"),
                         float_model=str(tmp_path / "other.keras"), runners=())
    (o,) = other.metrics
    assert o.top1_agreement < 0.5 and o.sqnr_db < 0 and o.cosine < 0 and o.accuracy is None

    res = CliRunner().invoke(main, ["verify", str(tmp_path / "m.tflite"), "--data",
                                    str(tmp_path / "x.npy"), "--float", str(tmp_path / "m.keras"),
                                    "--labels", str(tmp_path / "y.npy"), "--runners", "tflm",
                                    "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)["metrics"][0]
    assert {"top1_agreement", "accuracy", "sqnr_db", "cosine", "rmse", "mae"} <= set(d)


def _regression_files(tmp_path, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A one-output Dense regression as r.keras and its hand-quantized r.tflite, with 100
    inputs x.npy: (x, float outputs (100,))."""
    import keras

    rng = np.random.default_rng(seed)
    inp = keras.Input((8,))
    dense = keras.layers.Dense(1)
    fmodel = keras.Model(inp, dense(inp))
    W = rng.standard_normal((8, 1)).astype(np.float32)
    bias = np.full(1, 0.05, np.float32)
    dense.set_weights([W, bias])
    fmodel.save(tmp_path / "r.keras")
    x = rng.uniform(-1, 1, (100, 8)).astype(np.float32)
    (tmp_path / "r.tflite").write_bytes(_quantized_dense(W, bias, x, x @ W + bias))
    np.save(tmp_path / "x.npy", x)
    return x, (x @ W + bias)[:, 0]


def test_one_value_output_has_no_top1_agreement(tmp_path):
    """A regression output (one value per sample): arg-max agreement would be 100 % whatever
    the values; it is left out (None, '-') and SQNR/RMSE stay."""
    _regression_files(tmp_path, 1)
    (m,) = verify_model(str(tmp_path / "r.tflite"), data=str(tmp_path / "x.npy"),
                        float_model=str(tmp_path / "r.keras"), runners=()).metrics
    assert m.top1_agreement is None and m.sqnr_db > 25 and m.rmse > 0


def test_regression_labels_give_rmse_against_targets(tmp_path):
    """--labels of a regression (non-integer targets, one output value per sample) are targets:
    verify reports the RMSE of the int8 and the float model against them (text, JSON, HTML)
    instead of refusing them as 'expected integer class indices'; bad targets fail before any
    runner runs."""
    _, y = _regression_files(tmp_path, 2)
    targets = y + np.random.default_rng(3).normal(0, 0.3, y.shape)  # noisy, as fitted to
    np.save(tmp_path / "t.npy", targets)
    (m,) = verify_model(str(tmp_path / "r.tflite"), data=str(tmp_path / "x.npy"),
                        labels=str(tmp_path / "t.npy"), float_model=str(tmp_path / "r.keras"),
                        runners=()).metrics
    expect_float = float(np.sqrt(np.mean((y - targets) ** 2)))
    assert m.accuracy is None and m.rmse_targets["float"] == pytest.approx(expect_float, 1e-5)
    assert abs(m.rmse_targets["int8"] - expect_float) < 0.05  # int8 adds a little error
    args = ["verify", str(tmp_path / "r.tflite"), "--data", str(tmp_path / "x.npy"),
            "--labels", str(tmp_path / "t.npy"), "--runners", "tflm"]
    text = CliRunner().invoke(main, args)
    assert text.exit_code == 0, text.output
    assert "rmse vs targets int8" in text.output and "accuracy" not in text.output
    js = CliRunner().invoke(main, args + ["--json"])
    d = json.loads(js.stdout)["metrics"][0]
    assert d["rmse_targets"]["int8"] == pytest.approx(m.rmse_targets["int8"]) \
        and d["rmse_targets"]["float"] is None  # labels without --float: the int8 model's only
    html = CliRunner().invoke(main, args + ["--float", str(tmp_path / "r.keras"), "--html",
                                            str(tmp_path / "r.html")])
    assert html.exit_code == 0, html.output
    page = (tmp_path / "r.html").read_text()
    assert "RMSE vs targets int8" in page and 'data-field="rmse_targets_float"' in page
    np.save(tmp_path / "short.npy", targets[:10])
    bad = CliRunner().invoke(main, ["verify", str(tmp_path / "r.tflite"), "--data",
                                    str(tmp_path / "x.npy"), "--labels",
                                    str(tmp_path / "short.npy")])
    assert bad.exit_code == 2 and "(10,) regression targets for 100 samples" in bad.output


def test_diagnose_takes_regression_targets_as_labels(tmp_path):
    """diagnose --labels with regression targets: the RMSE of the int8 and the float model
    against them per output (text, JSON) instead of exit 2 'expected integer class indices'."""
    _, y = _regression_files(tmp_path, 4)
    targets = y + np.random.default_rng(5).normal(0, 0.3, y.shape)
    np.save(tmp_path / "t.npy", targets)
    args = ["diagnose", str(tmp_path / "r.tflite"), "--float", str(tmp_path / "r.keras"),
            "--data", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "t.npy")]
    js = CliRunner().invoke(main, args + ["--json"])
    assert js.exit_code == 0, js.output
    (o,) = json.loads(js.stdout)["outputs"]
    expect_float = float(np.sqrt(np.mean((y - targets) ** 2)))
    assert o["accuracy"] is None and o["rmse_targets"]["float"] == pytest.approx(expect_float,
                                                                                1e-5)
    assert abs(o["rmse_targets"]["int8"] - expect_float) < 0.05
    text = CliRunner().invoke(main, args)
    assert text.exit_code == 0 and "rmse vs targets int8" in text.output, text.output
    np.save(tmp_path / "short.npy", targets[:10])
    bad = CliRunner().invoke(main, args[:-1] + [str(tmp_path / "short.npy")])
    assert bad.exit_code == 2 and "(10,) regression targets for 100 samples" in bad.output


def test_float_metrics_of_a_converted_model(tmp_path):
    import keras

    from mcuq import conversion

    rng = np.random.default_rng(1)
    inp = keras.Input((12,))
    h = keras.layers.Dense(16, activation="relu")(inp)
    fmodel = keras.Model(inp, keras.layers.Dense(4)(h))
    fmodel.save(tmp_path / "f.keras")
    x = rng.uniform(-1, 1, (120, 12)).astype(np.float32)
    result = conversion.convert_model(str(tmp_path / "f.keras"), x[:100])
    (tmp_path / "q.tflite").write_bytes(result.data)
    np.save(tmp_path / "x.npy", x)
    y = np.argmax(fmodel.predict(x, verbose=0), axis=1)
    np.save(tmp_path / "y.npy", y)
    report = verify_model(str(tmp_path / "q.tflite"), data=str(tmp_path / "x.npy"),
                          labels=str(tmp_path / "y.npy"), float_model=str(tmp_path / "f.keras"),
                          runners=("tflm",))
    assert report.exit_code == 0 and report.runners[0].status == "exact"
    (m,) = report.metrics
    assert m.accuracy["float"] == 1.0 and m.accuracy["int8"] == m.top1_agreement >= 0.85
    assert m.sqnr_db > 20 and m.cosine > 0.99


def test_kernels_default_switches_the_tflite_runner_to_optimized_kernels(tmp_path):
    """--kernels default: the `tflite` runner uses LiteRT's optimized kernels and is reported
    (never failed on) under its own name."""
    import json as _json

    from click.testing import CliRunner as _Cli

    from mcuq.cli import main as _main
    from tests.test_inspect import conv_dw_fc_model

    p = tmp_path / "m.tflite"
    p.write_bytes(conv_dw_fc_model())
    r = _Cli().invoke(_main, ["verify", str(p), "--runners", "reference,tflite", "--kernels",
                              "default", "--samples", "8", "--json"])
    assert r.exit_code == 0, r.output
    (runner,) = _json.loads(r.output)["runners"]
    assert runner["runner"] == "tflite-default" and runner["must_be_exact"] is False
