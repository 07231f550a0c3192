"""verify --windows / --sequence for models that keep state: a Keras LSTM classifier converts to
an UNIDIRECTIONAL_SEQUENCE_LSTM whose state tensors TFLite keeps between invocations, while
Keras starts every window from zeros; verify runs such a model window by window by default (every
runner resets the state before each sample) and everything else as one sequence. The real
LSTM classifier's float comparison is in tests/test_lstm.py."""
from types import SimpleNamespace

import numpy as np
from click.testing import CliRunner

from mcuq.cli import main
from mcuq.model import load_model
from mcuq.testing.lstm import lstm_model, random_spec
from mcuq.testing.svdf import keyword_model
from mcuq.verification import default_windows, verify_model


def _lstm(seed: int) -> bytes:
    return lstm_model(random_spec(np.random.default_rng(seed)))


def test_windows_by_default_only_for_whole_window_sequence_ops(streaming_model):
    multi = [s for s in range(12) if load_model(_lstm(s)).windowed]
    single = [s for s in range(12) if not load_model(_lstm(s)).windowed]
    assert multi and single  # random specs: time steps 1 (streaming) and more
    for s in multi:
        x = load_model(_lstm(s))
        assert int(np.prod(x.tensors[x.operators[0].inputs[0]].shape[:-1])) > 1
    assert default_windows(load_model(_lstm(multi[0])))
    assert not default_windows(load_model(_lstm(single[0])))  # one step per invocation
    assert not default_windows(load_model(keyword_model(0)))  # SVDF: a stream of frames
    assert not default_windows(load_model(streaming_model))  # resource variables
    # a float model with a stateful layer carries its state: one sequence
    stateful = SimpleNamespace(keras_model=SimpleNamespace(layers=[
        SimpleNamespace(stateful=False, layers=[SimpleNamespace(stateful=True)])]))
    assert not default_windows(load_model(_lstm(multi[0])), stateful)


def test_forced_windows_reset_every_runner(streaming_model, host_cc):
    """--windows on models whose default is one sequence (resource variables, SVDF state):
    TFLite Micro (Reset()), LiteRT and the C build (mcuq_<name>_reset() per sample) each agree
    with the reference resetting before each sample -- and that differs from the sequence,
    so a runner that did not reset would be caught."""
    for model in (streaming_model, keyword_model(0)):
        runners = ("tflm", "tflite", "host-sanitize")
        win = verify_model(model, runners=runners, samples=10, windows=True)
        seq = verify_model(model, runners=(), samples=10, windows=False)
        assert win.windows and not win.sequence and seq.sequence
        assert [r.status for r in win.runners] == ["exact"] * 3, win.runners
        from mcuq.runners import make_runner
        from mcuq.verification import prepare_inputs

        m = load_model(model)
        arrays = prepare_inputs(m, samples=10).arrays
        ref = make_runner("reference", m)
        carried = ref.run(arrays).outputs
        ref.windows = True
        reset = ref.run(arrays).outputs
        assert any(not np.array_equal(a, b) for a, b in zip(carried, reset))


def test_cli_windows_flags(tmp_path):
    s = next(s for s in range(12) if load_model(_lstm(s)).windowed)
    path = tmp_path / "lstm.tflite"
    path.write_bytes(_lstm(s))
    r = CliRunner().invoke(main, ["verify", str(path), "--runners", "tflm", "--samples", "6"])
    assert r.exit_code == 0 and "6 windows" in r.output and "--sequence" in r.output, r.output
    r = CliRunner().invoke(main, ["verify", str(path), "--runners", "tflm", "--samples", "6",
                                  "--sequence"])
    assert r.exit_code == 0 and "6-step sequence" in r.output and "--windows" in r.output, \
        r.output
