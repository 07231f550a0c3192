"""Issue 9: never crash. One test (at least) per numbered cause of the issue; each failed before
the fix (a traceback, a signal, a wrong exit code or a wrong verdict). Models are written with
mcuq.testing.builder (no TensorFlow)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mcuq.cli import main
from mcuq.errors import EXIT_RUNNER_FAILED, InputError, UnsupportedModelError
from mcuq.model import load_model, schema
from mcuq.testing.builder import ModelBuilder
from mcuq.text import safe_text

ROOT = Path(__file__).resolve().parents[1]
SHARED_TFLM = ROOT.parent / "shared" / "third_party" / "tflm"


# -- helpers ---------------------------------------------------------------------------------

def fc_model(names=("x", "w", "b", "y"), w_shape=(6, 16), x_shape=(1, 16), y_shape=(1, 6),
             s_in=0.05, zp_in=-3, s_w=0.02, zp_w=0, s_out=0.1, zp_out=2, w_axis=0,
             bias=True, reorder=False, extra=None) -> bytes:
    rng = np.random.default_rng(0)
    b = ModelBuilder()
    x = b.input(names[0], x_shape, scale=s_in, zero_point=zp_in)
    w = b.const(names[1], rng.integers(-127, 128, w_shape, dtype=np.int8), scale=s_w,
                zero_point=zp_w, axis=w_axis)
    ins = [x, w]
    if bias:
        ins.append(b.const(names[2], rng.integers(-100, 100, w_shape[0], dtype=np.int32),
                           scale=0.001))
    y = b.tensor(names[3], y_shape, scale=s_out, zero_point=zp_out)
    b.op("FULLY_CONNECTED", ins, [y], version=4)
    out = y
    if extra is not None:
        out = extra(b, y)
    b.output(out)
    if reorder:
        b.operators.reverse()
    return b.build()


def two_op_model(reorder=False) -> bytes:
    def relu(b, y):
        z = b.tensor("z", (1, 6), scale=0.1, zero_point=2)
        b.op("RELU", [y], [z])
        return z
    return fc_model(extra=relu, reorder=reorder)


def run_cli(args, tmp_path=None):
    res = CliRunner().invoke(main, [str(a) for a in args])
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise AssertionError(f"traceback from {args}: {res.exception!r}\n{res.output}")
    return res


def write(tmp_path, data: bytes, name="m.tflite") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def assert_clean_error(res, code: int, *fragments):
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output
    for f in fragments:
        assert f in res.output, (f, res.output)
    assert "hint:" in res.output


# -- cause 1: TFLite Micro's first allocation runs in a child ------------------------------

def _dw_omitted_bias() -> bytes:
    """Valid flatbuffer, but TFLite Micro segfaults allocating it (DEPTHWISE_CONV_2D with an
    omitted -1 bias slot)."""
    b = ModelBuilder()
    x = b.input("x", (1, 8, 8, 4), scale=0.02, zero_point=-1)
    w = b.const("w", np.ones((1, 3, 3, 4), np.int8), scale=np.full(4, 0.01, np.float32), axis=3)
    y = b.tensor("y", (1, 3, 3, 4), scale=0.05, zero_point=-128)
    b.op("DEPTHWISE_CONV_2D", [x, w, -1], [y], version=3, padding="VALID", stride_w=2,
         stride_h=2, depth_multiplier=1)
    b.output(y)
    return b.build()


def test_tflm_crash_while_measuring_is_reported_not_fatal(tmp_path):
    """Before: `mcuq inspect` died with SIGSEGV (TFLite Micro allocated in the mcuq process)."""
    p = write(tmp_path, _dw_omitted_bias())
    proc = subprocess.run([sys.executable, "-m", "mcuq.cli", "inspect", str(p)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "TensorFlow Lite Micro crashed on this model (SIGSEGV)" in proc.stdout
    gen = subprocess.run([sys.executable, "-m", "mcuq.cli", "generate", str(p), "-o",
                          str(tmp_path / "out"), "--target", "tflm"],
                         capture_output=True, text=True, timeout=300)
    assert gen.returncode == 3 and "Traceback" not in gen.stderr, gen.stderr
    assert not (tmp_path / "out").exists()


def test_huge_tensor_is_refused_before_allocation(tmp_path):
    """Before: a huge dimension reached TFLite Micro (std::bad_alloc traceback or a crash)."""
    res = run_cli(["inspect", write(tmp_path, fc_model(x_shape=(1 << 20, 16 << 10),
                                                       y_shape=(1 << 20, 6)))])
    assert_clean_error(res, 2, "tensor 0 'x'", "over mcuq's limit")


# -- cause 2: the graph ----------------------------------------------------------------------

@pytest.mark.parametrize("data, fragments", [
    (lambda: fc_model(w_shape=(6, 16, 1)), ["op #0 FULLY_CONNECTED", "needs 2 dimensions"]),
    (lambda: two_op_model(reorder=True), ["op #0 RELU", "before it has a value",
                                          "written later by op #1"]),
    (lambda: fc_model(y_shape=(1, 7)), ["op #0 FULLY_CONNECTED", "last dimension"]),
    (lambda: fc_model(y_shape=(2, 6)), ["op #0 FULLY_CONNECTED", "has 12 elements"]),
], ids=["weight-rank", "op-order", "units", "rows"])
def test_graph_errors_are_one_line_input_errors(tmp_path, data, fragments):
    """Before: ValueError / KeyError tracebacks from the reference's prepare and run."""
    res = run_cli(["verify", write(tmp_path, data()), "--runners", "reference"])
    assert_clean_error(res, 2, "malformed model", *fragments)


def _omitted_add_input() -> bytes:
    b = ModelBuilder()
    x = b.input("x", (1, 4), scale=0.1, zero_point=0)
    y = b.tensor("y", (1, 4), scale=0.1, zero_point=0)
    b.op("ADD", [x, -1], [y])
    b.output(y)
    return b.build()


def _empty(kind: str) -> bytes:
    b = ModelBuilder()
    x = b.input("x", (1, 4), scale=0.1, zero_point=0)
    y = b.tensor("y", (1, 4), scale=0.1, zero_point=0)
    if kind != "ops":
        b.op("RELU", [x], [y])
    if kind != "outputs":
        b.output(y if kind != "ops" else x)
    if kind == "inputs":
        b.inputs.clear()
    return b.build()


@pytest.mark.parametrize("data, fragment", [
    (_omitted_add_input, "input 1 (input2) is omitted (-1) but ADD requires it"),
    (lambda: _empty("inputs"), "no input tensor"),
    (lambda: _empty("outputs"), "no output tensor"),
    (lambda: _empty("ops"), "no operator"),
], ids=["omitted-input", "no-inputs", "no-outputs", "no-ops"])
def test_missing_parts_are_refused_by_every_verb(tmp_path, data, fragment):
    """Before: AttributeError on None; an empty model gave `generate --target c` exit 0 and a
    project that does not compile."""
    p = write(tmp_path, data())
    for args in (["inspect", p], ["verify", p, "--runners", "reference"],
                 ["generate", p, "-o", tmp_path / "out", "--target", "c"]):
        assert_clean_error(run_cli(args), 2, fragment)
    assert not (tmp_path / "out").exists()


def test_conv_output_shape_must_follow_from_its_input():
    b = ModelBuilder()
    x = b.input("x", (1, 8, 8, 2), scale=0.1, zero_point=0)
    w = b.const("w", np.ones((3, 3, 3, 2), np.int8), scale=0.01)
    y = b.tensor("y", (1, 8, 5, 3), scale=0.1, zero_point=0)
    b.op("CONV_2D", [x, w], [y], version=3, padding="SAME", stride_h=1, stride_w=1)
    b.output(y)
    with pytest.raises(InputError, match=r"op #0 CONV_2D: output tensor 2 'y' has shape "
                                         r"\[1, 8, 5, 3\]; its inputs give \[1, 8, 8, 3\]"):
        load_model(b.build())


# -- cause 3: quantization ----------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, fragment", [
    ({"s_out": 0.0}, "tensor 3 'y': quantization scale 0.0"),
    ({"s_in": float("inf")}, "quantization scale inf"),
    ({"s_w": float("nan")}, "quantization scale nan"),
    ({"s_w": np.full(5, 0.02, np.float32)}, "5 per-channel scales on axis 0, which has 6"),
    ({"s_w": np.full(16, 0.02, np.float32), "w_axis": 2}, "axis 2 is outside"),
    ({"s_in": None}, "'x' (tensor 0) is INT8 without a scale"),
    ({"zp_out": 300}, "zero point 300 is outside INT8's range [-128, 127]"),
], ids=["scale-0", "scale-inf", "scale-nan", "channels", "axis", "missing", "zero-point"])
def test_quantization_is_checked_at_load(tmp_path, kwargs, fragment):
    """Before: division by zero, OverflowError in the rounding helpers, IndexError."""
    res = run_cli(["verify", write(tmp_path, fc_model(**kwargs)), "--runners", "reference"])
    assert_clean_error(res, 2, "malformed model", fragment.replace("'x' (tensor 0)",
                                                                   "tensor 0 'x'"))


def _without_zero_points(data: bytes, name: str) -> bytes:
    import flatbuffers

    sch = schema()
    m = sch.ModelT.InitFromObj(sch.Model.GetRootAs(data, 0))
    (t,) = [t for t in m.subgraphs[0].tensors if t.name == name.encode()]
    t.quantization.zeroPoint = []
    fb = flatbuffers.Builder(1024)
    fb.Finish(m.Pack(fb), file_identifier=b"TFL3")
    return bytes(fb.Output())


def test_scales_without_zero_points_are_malformed(tmp_path):
    """TFLite Micro (and LiteRT) read a tensor whose quantization has scales but no zero points
    as not quantized (scale 0); mcuq read the zero points as 0, and an LSTM weight mutated so
    made TFLite Micro compute other bytes (fuzz --models extra, mutators vtable/swap_words)."""
    res = run_cli(["verify", write(tmp_path, _without_zero_points(fc_model(), "w")),
                   "--runners", "reference"])
    assert_clean_error(res, 2, "malformed model", "tensor 1 'w'", "no zero point")


# -- cause 4: names in generated code ---------------------------------------------------------

EVIL = ["in*/ int evil; /*", "new\nline", 'quo"te\\', "tri??/\ngraph", "caf\u00e9 \u2603",
        "//x\\", "??=??(??'"]


def evil_model() -> bytes:
    """Every name hostile; the model's input and output names (the ones both targets print in
    comments) hold a newline followed by code, a comment end, a trigraph and a backslash."""
    def relu(b, y):
        z = b.tensor(EVIL[4], (1, 6), scale=0.1, zero_point=2)
        b.op("RELU", [y], [z])
        u = b.tensor(EVIL[6] + "\nint injected_out; //" + EVIL[5], (1, 6), scale=0.1,
                     zero_point=2)
        b.op("RELU", [z], [u])
        return u
    return fc_model(names=(EVIL[1] + " " + EVIL[0], EVIL[2], EVIL[3], EVIL[5]), extra=relu)


def test_safe_text_is_inert():
    for name in EVIL + ["*" * 5 + "/" * 5, "?" * 9 + "/", "\x00" * 9000]:
        s = safe_text(name)
        assert s.isascii() and s.isprintable() and len(s) <= 120
        for bad in ("*/", "/*", "??", '"', "\\", "\n"):
            assert bad not in s, (name, s)
    assert safe_text("conv2d/BiasAdd;model/Relu") == "conv2d/BiasAdd;model/Relu"


def test_evil_names_compile_for_the_c_target_with_werror(tmp_path, host_cc):
    """Before: a name holding */ ended the comment (exit 0, a project that did not compile,
    or compiled injected code)."""
    p = write(tmp_path, evil_model(), "evil.tflite")
    res = run_cli(["generate", p, "-o", tmp_path / "c", "--target", "c"])
    assert res.exit_code == 0, res.output
    proc = subprocess.run(["make", "-C", str(tmp_path / "c"), "run-host"], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (tmp_path / "c" / "model.h").read_text()
    assert "in*<2f> int evil; <2f>*" not in text and "in*<2f> int evil; /<2a>" in text


def test_evil_names_compile_for_the_tflm_target_with_werror(tmp_path):
    """Before: a name holding a newline broke the `//` comment of model_settings.h."""
    if not (SHARED_TFLM / "lib" / "host" / "libtensorflow-microlite.a").exists():
        pytest.skip(f"{SHARED_TFLM} (prebuilt TFLite Micro) is absent")
    if shutil.which("g++") is None:
        pytest.skip("g++ missing; install with: apt-get install g++")
    p = write(tmp_path, evil_model(), "evil.tflite")
    res = run_cli(["generate", p, "-o", tmp_path / "t", "--target", "tflm"])
    assert res.exit_code == 0, res.output
    proc = subprocess.run(["make", "-C", str(tmp_path / "t"), f"TFLM_DIR={SHARED_TFLM}",
                           f"HOST_TFLM_LIB={SHARED_TFLM}/lib/host/libtensorflow-microlite.a",
                           "run-host"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


# -- cause 5: error messages show names through the sanitizer ---------------------------------

def test_corrupt_names_in_messages_are_printable_and_short(tmp_path):
    """Before: one error message was 21 KB with ~8,000 control bytes."""
    garbage = "\x01\x1b[2J" * 5000
    res = run_cli(["inspect", write(tmp_path, fc_model(names=("x", "w", "b", garbage),
                                                       s_out=0.0))])
    assert res.exit_code == 2
    err = res.output
    assert len(err) < 600, len(err)
    assert "\x1b" not in err and "\x01" not in err
    assert "<01><1b>[2J" in err and "..." in err


# -- cause 6: runners that refuse or crash ------------------------------------------------------

def person_detect_like(seed: int = 0) -> bytes:
    """The shape of TFLite Micro's person_detect.tflite that LiteRT refuses: per-channel int32
    biases whose quantized_dimension is 3 (the weights' channel axis) on a 1-D tensor."""
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    x = b.input("input", (1, 8, 8, 1), scale=0.0078, zero_point=-1)
    s_w = rng.uniform(0.005, 0.02, 8).astype(np.float32)
    w = b.const("conv/weights", rng.integers(-127, 128, (8, 3, 3, 1), dtype=np.int8),
                scale=s_w, axis=0)
    bias = b.const("conv/bias", rng.integers(-500, 500, 8, dtype=np.int32),
                   scale=(np.float64(0.0078) * s_w).astype(np.float32), axis=3)
    h = b.tensor("conv/out", (1, 4, 4, 8), scale=0.05, zero_point=-128)
    b.op("CONV_2D", [x, w, bias], [h], version=3, padding="SAME", stride_h=2, stride_w=2,
         fused_activation_function="RELU6")
    s_d = rng.uniform(0.005, 0.02, 8).astype(np.float32)
    dw = b.const("dw/weights", rng.integers(-127, 128, (1, 3, 3, 8), dtype=np.int8),
                 scale=s_d, axis=3)
    dbias = b.const("dw/bias", rng.integers(-500, 500, 8, dtype=np.int32),
                    scale=(np.float64(0.05) * s_d).astype(np.float32), axis=3)
    y = b.tensor("dw/out", (1, 4, 4, 8), scale=0.05, zero_point=-128)
    b.op("DEPTHWISE_CONV_2D", [h, dw, dbias], [y], version=3, padding="SAME", stride_h=1,
         stride_w=1, depth_multiplier=1)
    b.output(y)
    return b.build()


def test_person_detect_like_model_reports_every_runner(tmp_path):
    """Before: the default runners ended in a LiteRT traceback with exit 1 (the mismatch code)
    and no report for the runners that finished."""
    res = run_cli(["verify", write(tmp_path, person_detect_like()), "--samples", "20"])
    assert res.exit_code == EXIT_RUNNER_FAILED, res.output
    rows = {line.split()[0]: line for line in res.output.splitlines()
            if line.startswith(("tflm ", "tflite "))}
    assert rows["tflm"].rstrip().endswith("exact")
    assert rows["tflite"].rstrip().endswith("REFUSED")
    assert "LiteRT refused the model: quantized_dimension must be in range [0, 1)" in res.output
    assert res.output.rstrip().splitlines()[-1].startswith("INCOMPLETE: tflite refused")


def test_tflm_refusal_and_crash_are_runner_statuses(tmp_path):
    """TFLite Micro refusing what the reference accepts (an arena too small) and crashing (an
    arena smaller than its own bookkeeping) are statuses; the other runners still report.
    Before: a traceback (refusal) or a dead process (crash)."""
    from mcuq.runners.tflm import TflmRunner
    from mcuq.verification import verify_model

    m = load_model(fc_model())
    report = verify_model(m, runners=["reference", TflmRunner(m, arena_size=1200), "tflite"],
                          samples=8)
    status = {r.runner: r for r in report.runners}
    assert status["tflm"].status == "refused" and "TFLite Micro refused" in status["tflm"].note
    assert status["tflite"].status == "exact"
    assert report.exit_code == EXIT_RUNNER_FAILED
    crashed = verify_model(m, runners=[TflmRunner(m, arena_size=64)], samples=4)
    assert crashed.runners[0].status == "crashed"
    assert "SIG" in crashed.runners[0].note and crashed.exit_code == EXIT_RUNNER_FAILED


# -- cause 7: weight zero points (see also tests/reference/test_fully_connected.py) ----------

def test_fc_weight_zero_point_model_verifies_exactly(tmp_path):
    """Before: the reference ignored the zero point TFLite Micro applies: up to 5 LSB off."""
    res = run_cli(["verify", write(tmp_path, fc_model(zp_w=3, s_out=0.05)), "--runners",
                   "reference,tflm,tflite", "--samples", "50"])
    assert res.exit_code == 0, res.output
    assert "PASS: tflm" in res.output


# -- cause 8: output locations are checked before the work ------------------------------------

@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux /proc")
def test_unwritable_outputs_fail_before_any_work(tmp_path, monkeypatch):
    """Before: PermissionError tracebacks after the whole conversion / rendering. /proc
    refuses new files even to root."""
    import mcuq.conversion as conversion

    def no_work(*a, **k):
        raise AssertionError("converted before checking the output")

    monkeypatch.setattr(conversion, "convert_model", no_work)
    calib = tmp_path / "c.npy"
    np.save(calib, np.zeros((4, 4), np.float32))
    res = run_cli(["convert", tmp_path / "m.keras", "-c", calib, "-o", "/proc/mcuq-out.tflite"])
    assert_clean_error(res, 2, "/proc/mcuq-out.tflite: cannot write in /proc")
    p = write(tmp_path, fc_model())
    for target in ("c", "tflm"):
        res = run_cli(["generate", p, "-o", "/proc/mcuq-out", "--target", target])
        assert_clean_error(res, 2, "/proc/mcuq-out: cannot write in /proc")


# -- cause 9: the C target's arena when a RESHAPE aliases a model input ------------------------

def micro_speech_like() -> bytes:
    """micro_speech's layout: the input is RESHAPEd before a DEPTHWISE_CONV_2D."""
    rng = np.random.default_rng(0)
    b = ModelBuilder()
    x = b.input("input", (1, 160), scale=0.1, zero_point=-128)
    shape = b.const("shape", np.array([1, 16, 10, 1], np.int32))
    r = b.tensor("reshaped", (1, 16, 10, 1), scale=0.1, zero_point=-128)
    b.op("RESHAPE", [x, shape], [r], new_shape=[1, 16, 10, 1])
    w = b.const("dw", rng.integers(-127, 128, (1, 3, 3, 4), dtype=np.int8),
                scale=np.full(4, 0.01, np.float32), axis=3)
    bias = b.const("dwb", rng.integers(-100, 100, 4, dtype=np.int32),
                   scale=np.full(4, 0.001, np.float32))
    h = b.tensor("h", (1, 8, 5, 4), scale=0.05, zero_point=-128)
    b.op("DEPTHWISE_CONV_2D", [r, w, bias], [h], padding="SAME", stride_h=2, stride_w=2,
         depth_multiplier=4, fused_activation_function="RELU")
    fw = b.const("fw", rng.integers(-127, 128, (3, 160), dtype=np.int8), scale=0.01)
    logits = b.tensor("logits", (1, 3), scale=0.2, zero_point=0)
    b.op("FULLY_CONNECTED", [h, fw, -1], [logits])
    y = b.tensor("probs", (1, 3), scale=1 / 256, zero_point=-128)
    b.op("SOFTMAX", [logits], [y], beta=1.0)
    b.output(y)
    return b.build()


def test_inspect_reports_the_c_arena_when_a_reshape_aliases_the_input(tmp_path):
    """Before: a bare except swallowed a KeyError: c_arena_bytes null, the line missing."""
    import json

    from mcuq.codegen.cmodel import build_cmodel

    p = write(tmp_path, micro_speech_like())
    res = run_cli(["inspect", p, "--json", "--no-tflm"])
    assert res.exit_code == 0, res.output
    arena = json.loads(res.output)["arena"]
    # the input (and its reshape alias) inside the arena, overwritten by the depthwise
    # convolution (one input channel: the taps kernel, in place in one call, no row copy);
    # with --external-io: 160 + 4 too
    assert arena["c_arena_bytes"] == build_cmodel(load_model(p), "m").arena_size == 160 + 4
    assert arena["c_external_io_arena_bytes"] == 160 + 4
    assert "mcuq C target arena" in run_cli(["inspect", p, "--no-tflm"]).output


# -- cause 10: refusals name everything ----------------------------------------------------

def _elu_and_int16() -> bytes:
    # (SVDF x7 before issue 11's SVDF kernel; ELU has no mcuq kernel)
    b = ModelBuilder()
    prev = b.input("x", (1, 8), scale=0.1, zero_point=0)
    for k in range(7):
        y = b.tensor(f"elu{k}", (1, 8), scale=0.1, zero_point=0)
        b.op("ELU", [prev], [y])
        prev = y
    for k in range(2):  # (int16 QUANTIZE runs since issue 11; int16 HARD_SWISH does not)
        a = b.tensor(f"a{k}", (1, 8), "INT16", scale=0.1, zero_point=0)
        b.op("QUANTIZE", [prev], [a])
        h = b.tensor(f"h{k}", (1, 8), "INT16", scale=0.1, zero_point=0)
        b.op("HARD_SWISH", [a], [h])
        q = b.tensor(f"q{k}", (1, 8), scale=0.1, zero_point=0)
        b.op("QUANTIZE", [h], [q])
        prev = q
    b.output(prev)
    return b.build()


def test_every_unsupported_op_kind_is_listed_at_once(tmp_path):
    """Before: refused for the first op only (here the int16 QUANTIZE was named, not ELU)."""
    p = write(tmp_path, _elu_and_int16())
    res = run_cli(["verify", p, "--runners", "reference"])
    assert_clean_error(res, 3, "ELU x7", "HARD_SWISH int16->int16 x2", "9 of 13 ops")
    assert "QUANTIZE" not in res.output.split("(first:")[0]
    shown = run_cli(["inspect", p, "--no-tflm"])
    assert shown.exit_code == 0 and "ELU x7" in shown.output
    assert "HARD_SWISH int16->int16 x2" in shown.output


def _two_subgraphs() -> bytes:
    """A streaming-style model: CALL_ONCE runs an init subgraph that sets a variable."""
    s = schema()
    base = fc_model()
    m = s.ModelT.InitFromObj(s.Model.GetRootAs(base, 0))
    codes = {}
    for name in ("CALL_ONCE", "VAR_HANDLE", "ASSIGN_VARIABLE", "READ_VARIABLE"):
        c = s.OperatorCodeT()
        c.builtinCode = getattr(s.BuiltinOperator, name)
        c.deprecatedBuiltinCode = min(c.builtinCode, 127)
        c.version = 1
        m.operatorCodes.append(c)
        codes[name] = len(m.operatorCodes) - 1
    call = s.OperatorT()
    call.opcodeIndex, call.inputs, call.outputs = codes["CALL_ONCE"], [], []
    m.subgraphs[0].operators.insert(0, call)
    init = s.SubGraphT()
    init.tensors, init.inputs, init.outputs, init.operators = [], [], [], []
    for name in ("handle", "value"):
        t = s.TensorT()
        t.name, t.shape, t.type, t.buffer = name, [1], 13 if name == "handle" else 2, 0
        init.tensors.append(t)
    for name, ins, outs in (("VAR_HANDLE", [], [0]), ("READ_VARIABLE", [0], [1]),
                            ("ASSIGN_VARIABLE", [0, 1], [])):
        o = s.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = codes[name], ins, outs
        init.operators.append(o)
    m.subgraphs.append(init)
    import flatbuffers

    fb = flatbuffers.Builder(1024)
    fb.Finish(m.Pack(fb), file_identifier=b"TFL3")
    return bytes(fb.Output())


def test_call_once_of_the_main_subgraph_is_malformed(tmp_path):
    """Subgraphs run since issue 10 (tests/test_streaming.py); this file's CALL_ONCE has no
    options, so it calls subgraph 0 (the one it is in: TFLite Micro would recurse until the
    stack overflows) and its VAR_HANDLE has no shared_name (TFLite Micro strcmp's a null
    pointer). Before issue 10: refused as "2 subgraphs"."""
    res = run_cli(["verify", write(tmp_path, _two_subgraphs()), "--runners", "reference"])
    assert_clean_error(res, 2, "op #0 CALL_ONCE", "calls subgraph 0")


def test_inspect_of_a_float_model_lists_its_unsupported_ops(tmp_path):
    """Before: inspect listed no unsupported op although verify refused the model."""
    b = ModelBuilder()
    x = b.input("x", (1, 4), "FLOAT32")
    w = b.const("w", np.ones((3, 4), np.float32))
    y = b.tensor("y", (1, 3), "FLOAT32")
    b.op("FULLY_CONNECTED", [x, w, -1], [y], version=1)
    b.output(y)
    p = write(tmp_path, b.build())
    res = run_cli(["inspect", p, "--json", "--no-tflm"])
    assert res.exit_code == 0
    import json

    info = json.loads(res.output)
    assert info["mcuq_unsupported"] == ["FULLY_CONNECTED"]
    assert "FULLY_CONNECTED float32->float32 x1" in info["mcuq_verdict"]
    verify = run_cli(["verify", p, "--runners", "reference"])
    assert verify.exit_code == 3 and "FULLY_CONNECTED float32->float32 x1" in verify.output


def test_reference_alone_does_not_claim_a_pass(tmp_path):
    """Before: 'PASS: no runner identical to the reference'."""
    res = run_cli(["verify", write(tmp_path, fc_model()), "--runners", "reference",
                   "--samples", "4"])
    assert res.exit_code == 0
    last = res.output.rstrip().splitlines()[-1]
    assert "no runner" not in last and last.startswith("OK: the reference ran alone")


# -- the validator itself --------------------------------------------------------------------

def test_every_zoo_model_is_valid(zoo):
    for name, data in zoo.items():
        load_model(data)  # raises on any finding


def test_flatbuffer_offsets_outside_the_file_are_refused():
    data = bytearray(fc_model())
    for pos in range(8, len(data) - 4, 4):  # every 4-byte word set to a far offset
        bad = bytearray(data)
        bad[pos:pos + 4] = (0x7FFFFFF0).to_bytes(4, "little")
        try:
            load_model(bytes(bad))
        except (InputError, UnsupportedModelError):
            pass


def test_exit_codes_are_documented():
    readme = (ROOT / "README.md").read_text()
    for code, words in ((1, "mismatch"), (2, "malformed"), (3, "unsupported"), (5, "refused")):
        assert re.search(rf"\|\s*{code}\s*\|[^\n]*{words}", readme, re.I), (code, words)


# -- found by the adversary fuzz (benchmarks/fuzz.py --adversary): wrong verdicts ---------------

def _dw(depth_multiplier: int) -> bytes:
    rng = np.random.default_rng(0)
    b = ModelBuilder()
    x = b.input("x", (1, 5, 5, 4), scale=0.05, zero_point=-3)
    w = b.const("w", rng.integers(-127, 128, (1, 3, 3, 4), dtype=np.int8), scale=0.02)
    y = b.tensor("y", (1, 5, 5, 4), scale=0.1, zero_point=2)
    b.op("DEPTHWISE_CONV_2D", [x, w], [y], version=3, padding="SAME", stride_h=1, stride_w=1,
         depth_multiplier=depth_multiplier)
    b.output(y)
    return b.build()


def _dilated(d: int) -> bytes:
    rng = np.random.default_rng(0)
    b = ModelBuilder()
    x = b.input("x", (1, 8, 8, 1), scale=0.05, zero_point=-3)
    w = b.const("w", rng.integers(-127, 128, (4, 3, 3, 1), dtype=np.int8), scale=0.02)
    y = b.tensor("y", (1, 8, 8, 4), scale=0.1, zero_point=2)
    b.op("CONV_2D", [x, w], [y], version=3, padding="SAME", stride_h=1, stride_w=1,
         dilation_h_factor=d)
    b.output(y)
    return b.build()


@pytest.mark.parametrize("data, fragment", [
    (lambda: _dw(0), "depth_multiplier 0"),
    (lambda: _dilated(1 << 20), "dilation (1048576, 1)"),
], ids=["depth-multiplier-0", "dilation-2^20"])
def test_what_tflm_computes_differently_is_refused(tmp_path, data, fragment):
    """TFLite Micro writes no channel with depth_multiplier 0 and truncates strides, dilations
    and padding to int16; the reference computed something else and verify failed (exit 1)."""
    from mcuq.runners import make_runner
    from mcuq.vectors import random_inputs

    m = load_model(data())
    xs = random_inputs(m, 2, 0)
    with pytest.raises(UnsupportedModelError, match=re.escape(fragment)):
        make_runner("reference", m)
    tflm = make_runner("tflm", m).run(xs).outputs[0]  # runs, computing something else
    assert tflm.shape == (2, *m.output_tensors()[0].shape)
    res = run_cli(["verify", write(tmp_path, data()), "--samples", "4"])
    assert_clean_error(res, 3, fragment)


def test_an_output_listed_twice_is_valid(tmp_path, host_cc):
    """TFLiteConverter lists one tensor twice for two equal Keras outputs: valid, and the C
    target copies it to both output buffers."""
    b = ModelBuilder()
    x = b.input("x", (1, 4), scale=0.1, zero_point=0)
    y = b.tensor("y", (1, 4), scale=0.1, zero_point=0)
    b.op("RELU", [x], [y])
    b.output(y)
    b.output(y)
    p = write(tmp_path, b.build())
    assert run_cli(["verify", p, "--runners", "reference,tflm,tflite", "--samples", "4"]
                   ).exit_code == 0
    res = run_cli(["generate", p, "-o", tmp_path / "c", "--target", "c"])
    assert res.exit_code == 0, res.output
    proc = subprocess.run(["make", "-C", str(tmp_path / "c"), "run-host"], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- found by benchmarks/fuzz.py --models extra (SVDF, LSTM) -----------------------------------

def _edited(data: bytes, edit) -> bytes:
    import flatbuffers

    sch = schema()
    m = sch.ModelT.InitFromObj(sch.Model.GetRootAs(data, 0))
    edit(m.subgraphs[0])
    fb = flatbuffers.Builder(1024)
    fb.Finish(m.Pack(fb), file_identifier=b"TFL3")
    return bytes(fb.Output())


def _lstm() -> bytes:
    from mcuq.testing.lstm import lstm_model, random_spec

    return lstm_model(random_spec(np.random.default_rng(1)))


def _tensor_index(g, name: str) -> int:
    return next(k for k, t in enumerate(g.tensors) if t.name == name.encode())


@pytest.mark.parametrize("case, fragment", [
    # an IndexError in the LSTM's prepare (mutator op_arity)
    ("lstm_arity", "has 23 inputs; the op has 24"),
    # generate wrote a C project that did not compile (mutator io)
    ("lstm_intermediate_input", "is a model input with no elements"),
    # TFLite Micro returned other bytes than the reference (mutator io)
    ("svdf_state_output", "is a model output but is marked variable"),
])
def test_stateful_op_graph_errors(tmp_path, case, fragment):
    from mcuq.testing.svdf import keyword_model

    if case == "lstm_arity":
        data = _edited(_lstm(), lambda g: setattr(g.operators[0], "inputs",
                                                   list(g.operators[0].inputs)[:23]))
    elif case == "lstm_intermediate_input":
        data = _edited(_lstm(), lambda g: setattr(
            g, "inputs", list(g.inputs) + [_tensor_index(g, "f_intermediate")]))
    else:
        def add_state(g):
            state = next(k for k, t in enumerate(g.tensors) if t.isVariable)
            g.outputs = list(g.outputs) + [state]
        data = _edited(keyword_model(0), add_state)
    for verb in (["inspect", "--no-tflm"], ["verify", "--runners", "reference,tflm"],
                 ["generate", "--target", "c", "-o", str(tmp_path / "out")]):
        res = run_cli([verb[0], write(tmp_path, data), *verb[1:]])
        assert_clean_error(res, 2, "malformed model", fragment)
        assert not (tmp_path / "out").exists()
