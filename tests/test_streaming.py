"""Streaming/stateful models: subgraphs, CALL_ONCE and resource variables in the reference,
exact against TFLite Micro over sequences; verify on sequences (first diverging step)."""
import numpy as np
import pytest

from mcuq.errors import UnsupportedModelError
from mcuq.model import load_model
from mcuq.reference import Interpreter
from mcuq.runners.base import Runner, RunResult
from mcuq.runners.tflm import TflmRunner
from mcuq.testing.streaming import quantized_frames
from mcuq.verification import verify_model

STEPS = 24


def delay_model(call_once: bool = True) -> bytes:
    """A delay line written with the builder: outputs are the previous step's inputs, kept in
    an int32 variable (initialised by a CALL_ONCE subgraph, or not at all) and an int8 one
    (never initialised: TFLite Micro fills it with its zero point, -5)."""
    from mcuq.testing.builder import ModelBuilder

    b = ModelBuilder("delay line")
    x32 = b.input("x32", (4,), "INT32")
    x8 = b.input("x8", (1, 6), scale=0.1, zero_point=-5)
    r32 = b.tensor("r32", (4,), "INT32")
    r8 = b.tensor("r8", (1, 6), scale=0.1, zero_point=-5)
    h32, h8 = b.tensor("h32", (), "RESOURCE"), b.tensor("h8", (), "RESOURCE")
    if call_once:
        b.op("CALL_ONCE", [], [], init_subgraph_index=1)
    b.op("VAR_HANDLE", [], [h32], container="", shared_name="c32")
    b.op("VAR_HANDLE", [], [h8], container="", shared_name="c8")
    b.op("READ_VARIABLE", [h32], [r32])
    b.op("READ_VARIABLE", [h8], [r8])
    b.op("ASSIGN_VARIABLE", [h32, x32], [])
    b.op("ASSIGN_VARIABLE", [h8, x8], [])
    b.output(r32)
    b.output(r8)
    if call_once:
        b.subgraph("init")
        h = b.tensor("h", (), "RESOURCE")
        c = b.const("c", np.array([1, -2, 300000, -(1 << 31)], np.int32))
        b.op("VAR_HANDLE", [], [h], container="", shared_name="c32")
        b.op("ASSIGN_VARIABLE", [h, c], [])
    return b.build()


def variable_tensor_model() -> bytes:
    """ADD of the input and a variable tensor (is_variable: state such as SVDF's): TFLite
    Micro fills it with its int8 zero point and keeps it between invocations."""
    from mcuq.testing.builder import ModelBuilder

    b = ModelBuilder("variable tensor")
    x = b.input("x", (1, 8), scale=0.05, zero_point=3)
    state = b.tensor("state", (1, 8), scale=0.04, zero_point=-7)
    b.tensors[state].isVariable = True
    y = b.tensor("y", (1, 8), scale=0.08, zero_point=1)
    b.op("ADD", [x, state], [y], fused_activation_function="NONE")
    b.output(y)
    return b.build()


def test_variable_tensors_are_persistent_state_everywhere(host_cc):
    """A model with a variable tensor runs as a sequence; the reference and the C target
    (a static buffer outside the arena, filled by reset()) agree with TFLite Micro."""
    from mcuq.codegen.cmodel import build_cmodel

    data = variable_tensor_model()
    m = load_model(data)
    assert m.stateful
    it = Interpreter(m)
    assert np.all(it.variable_tensors[1] == -7)
    cm = build_cmodel(m, "vt", it)
    assert cm.tensor_storage[1].kind == "state" and cm.variables[0]["default"] == (-7 & 0xFF)
    report = verify_model(data, runners=["reference", "tflm", "host"], samples=STEPS)
    assert report.sequence and report.exit_code == 0


@pytest.mark.parametrize("call_once", [True, False])
def test_int32_and_int8_variables_follow_tflm(call_once, host_cc):
    """int32 state initialised by CALL_ONCE (or left at 0), int8 state never assigned before
    its first read (TFLite Micro's zero-point fill): reference, tflm and the C target agree
    on every step."""
    data = delay_model(call_once)
    m = load_model(data)
    rng = np.random.default_rng(1)
    x32 = rng.integers(-2**31, 2**31, (STEPS, 4), dtype=np.int32)
    x8 = rng.integers(-128, 128, (STEPS, 1, 6), dtype=np.int8)
    out32, out8 = Interpreter(m).run([x32, x8]).outputs
    first = [1, -2, 300000, -(1 << 31)] if call_once else [0, 0, 0, 0]
    assert out32[0].tolist() == first and np.all(out8[0] == -5)
    assert np.array_equal(out32[1:], x32[:-1]) and np.array_equal(out8[1:], x8[:-1])
    report = verify_model(data, data=[x32, x8], runners=["reference", "tflm", "host"])
    assert report.exit_code == 0
    assert [r.status for r in report.runners] == ["exact", "exact"]


def _tflm_outputs(data: bytes, x: np.ndarray) -> np.ndarray:
    from tflite_micro.python.tflite_micro import runtime

    it = runtime.Interpreter.from_bytes(data, arena_size=1 << 20)
    outs = []
    for step in x:
        it.set_input(step, 0)
        it.invoke()
        outs.append(it.get_output(0).copy())
    return np.stack(outs)


def test_model_parses_every_subgraph_and_is_stateful(streaming_model):
    m = load_model(streaming_model)
    assert m.subgraph_count == 2 and len(m.subgraphs) == 2 and m.stateful
    init = m.subgraph_view(1)
    assert [op.opcode for op in init.operators] == ["VAR_HANDLE", "ASSIGN_VARIABLE"] * 2
    assert {"CALL_ONCE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE"} <= set(m.op_types())


def test_variables_resolved_by_shared_name_like_tflm(streaming_model):
    it = Interpreter(streaming_model)
    prog = it.program
    assert prog.init_subgraphs == [1]
    # ids in TFLite Micro's prepare order (main subgraph first); the init subgraph names the
    # same variables in the other order and must reach the same buffers
    names = [v.shared_name for v in prog.variables]
    assert len(names) == 2 and len(set(names)) == 2
    for (k, t), vid in prog.handles.items():
        op = next(o for o in it.model.subgraph_view(k).operators if t in o.outputs)
        assert op.options["shared_name"] == prog.variables[vid].shared_name
    assert prog.state_bytes == sum(v.nbytes for v in prog.variables) > 0


def test_reference_is_exact_vs_tflm_over_a_sequence(streaming_model):
    m = load_model(streaming_model)
    x = quantized_frames(m, STEPS)
    ref = Interpreter(m).run([x]).outputs[0]
    assert np.array_equal(ref, _tflm_outputs(streaming_model, x))
    # the state matters: steps after the first differ from running each step from scratch
    fresh = np.concatenate([Interpreter(m).run([x[i:i + 1]]).outputs[0] for i in range(STEPS)])
    assert np.array_equal(fresh[0], ref[0]) and not np.array_equal(fresh, ref)


def test_state_lives_across_runs_until_reset(streaming_model):
    m = load_model(streaming_model)
    x = quantized_frames(m, STEPS)
    it = Interpreter(m)
    whole = it.run([x]).outputs[0]
    it.reset()
    parts = [it.run([x[:7]]).outputs[0], it.run([x[7:]]).outputs[0]]
    assert np.array_equal(np.concatenate(parts), whole)
    it.reset()
    assert np.array_equal(it.run([x[:3]]).outputs[0], whole[:3])
    # after reset every buffer holds the int8 zero point TFLite Micro fills it with
    it.reset()
    for v, b in zip(it.program.variables, it.state()):
        assert np.all(b == v.default_byte)


def test_random_sequences_exact_vs_tflm(streaming_model):
    m = load_model(streaming_model)
    rng = np.random.default_rng(3)
    for _ in range(3):
        x = rng.integers(-128, 128, (STEPS, *m.input_tensors()[0].shape)).astype(np.int8)
        assert np.array_equal(Interpreter(m).run([x]).outputs[0], _tflm_outputs(streaming_model, x))


def test_verify_runs_a_sequence_on_every_python_runner(streaming_model):
    report = verify_model(streaming_model, runners=["reference", "tflm", "tflite"],
                          samples=STEPS, explain=True)
    assert report.sequence and report.samples == STEPS
    assert report.exit_code == 0
    # LiteRT too, compared with the reference in its own profile (litert), step by step
    assert {r.runner: r.status for r in report.runners} == {"tflm": "exact", "tflite": "exact"}


class _ForgetfulTflm(TflmRunner):
    """TFLite Micro with a new interpreter for every step: the state is lost."""

    name = "forgetful"

    def run(self, inputs, keep_intermediates=False):
        parts = [TflmRunner.run(self, [x[i:i + 1] for x in inputs], keep_intermediates)
                 for i in range(inputs[0].shape[0])]
        outs = [np.concatenate([p.outputs[k] for p in parts]) for k in range(len(parts[0].outputs))]
        inter = {i: np.concatenate([p.intermediates[i] for p in parts])
                 for i in parts[0].intermediates}
        return RunResult(outs, inter)


def test_verify_names_the_first_diverging_step_and_tensor(streaming_model):
    m = load_model(streaming_model)
    report = verify_model(m, runners=["reference", _ForgetfulTflm(m)], samples=STEPS)
    assert report.exit_code == 1
    (r,) = report.runners
    assert r.status == "mismatch" and r.first_diverging_step is not None
    assert r.first_diverging_step >= 1  # step 0 starts from the initial state in both
    d = r.first_diverging_tensor
    assert d is not None and d.step <= r.first_diverging_step
    assert d.op == "READ_VARIABLE"  # the state read back is the first tensor that differs
    from mcuq.report.verify import verify_text

    text = verify_text(report)
    assert f"first diverging step {r.first_diverging_step}" in text and "READ_VARIABLE" in text


def test_verify_reads_a_sequence_from_data(tmp_path, streaming_model):
    m = load_model(streaming_model)
    from mcuq.testing.streaming import frames

    np.save(tmp_path / "seq.npy", frames(STEPS).reshape(STEPS, *m.input_tensors()[0].shape[1:]))
    report = verify_model(streaming_model, data=str(tmp_path / "seq.npy"),
                          runners=["reference", "tflm"])
    assert report.exit_code == 0 and report.samples == STEPS
    assert "steps of one sequence" in report.inputs


def test_read_of_a_never_assigned_variable_is_refused(streaming_model):
    """TFLite Micro has no buffer for a variable no ASSIGN_VARIABLE allocates (its Read would
    copy from a null pointer); mcuq refuses the model before running, naming the op."""
    m = load_model(streaming_model)
    m.subgraphs[0].operators[:] = [op for op in m.operators if op.opcode != "ASSIGN_VARIABLE"]
    m.subgraphs[1].operators[:] = [op for op in m.subgraphs[1].operators
                                   if op.opcode != "ASSIGN_VARIABLE"]
    with pytest.raises(UnsupportedModelError, match="READ_VARIABLE.*never assigned"):
        Interpreter(m)


# ---- the C target: variables in static storage, reset(), sequences on host and Cortex-M4 ------


def test_c_runners_are_exact_over_a_sequence_on_host(streaming_model, host_cc):
    report = verify_model(streaming_model, runners=["reference", "tflm", "host", "host-sanitize"],
                          samples=STEPS)
    assert report.exit_code == 0
    assert {r.runner: r.status for r in report.runners} == {
        "tflm": "exact", "host": "exact", "host-sanitize": "exact"}


def test_c_runner_is_exact_over_a_sequence_on_cortex_m4(streaming_model, cortex_m4):
    report = verify_model(streaming_model, runners=["reference", "cortex-m4"], samples=STEPS)
    assert report.exit_code == 0 and report.runners[0].status == "exact"


def test_c_model_keeps_variables_outside_the_arena(streaming_model):
    from mcuq.codegen.cmodel import build_cmodel
    from mcuq.memory import plan_arena

    m = load_model(streaming_model)
    it = Interpreter(m)
    cm = build_cmodel(m, "kws", it)
    assert cm.stateful and cm.reset_calls == [1]
    assert [(v["bytes"], v["default"]) for v in cm.variables] == [
        (v.nbytes, v.default_byte) for v in it.program.variables]
    # the handles take no storage; the variables are not arena tensors
    handles = [t.index for t in m.tensors if t.type_name == "RESOURCE"]
    assert handles and all(cm.tensor_storage[i].kind == "none" for i in handles)
    assert all(i not in plan_arena(m).offsets for i in handles)
    # every read/assign copies between a variable's own buffer and the arena
    code = [line for c in cm.calls for line in c.lines]
    assert sum("memcpy(s_var" in line for line in code) == 2  # the two ASSIGN_VARIABLEs
    assert sum(", s_var" in line for line in code) == 2  # the two READ_VARIABLEs


def _make(project, goal):
    import subprocess

    return subprocess.run(["make", "-C", str(project), goal], capture_output=True, text=True,
                          timeout=300)


def test_generated_c_project_runs_its_sequence_self_test(tmp_path, streaming_model, host_cc):
    import shutil

    from mcuq.codegen.target_c import generate_c

    m = load_model(streaming_model)
    res = generate_c(m, tmp_path / "c", "kws", vectors=STEPS, figures=False)
    header = (res.out_dir / "model.h").read_text()
    state = Interpreter(m).program.state_bytes
    assert f"#define MCUQ_KWS_STATE_BYTES {state}" in header
    assert "int mcuq_kws_reset(void);" in header
    r = _make(res.out_dir, "run-host")
    assert r.returncode == 0 and f"PASS {STEPS} vectors" in r.stdout, r.stdout + r.stderr
    if shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm"):
        r = _make(res.out_dir, "run-qemu")
        assert r.returncode == 0 and f"PASS {STEPS} vectors" in r.stdout, r.stdout + r.stderr
    # the vectors are a sequence: a self-test that reset the state before every vector fails
    selftest = res.out_dir / "selftest.c"
    src = selftest.read_text()
    edited = src.replace("    const int status = mcuq_kws_invoke",
                         "    mcuq_kws_reset();\n    const int status = mcuq_kws_invoke")
    assert edited != src
    selftest.write_text(edited)
    r = _make(res.out_dir, "run-host")
    assert r.returncode != 0 and "FAIL vector" in r.stdout


# ---- the TFLite Micro target ------------------------------------------------------------------


def test_tflm_project_runs_its_sequence_self_test(streaming_model):
    import shutil

    from mcuq.testing import tflm_build, tflm_prebuilt
    from mcuq.tflm_arena import measure_tflm_arena

    tflm = tflm_prebuilt.locate()
    if tflm is None:
        pytest.skip(tflm_prebuilt.missing_reason())
    if shutil.which("g++") is None:
        pytest.skip("g++ not found; apt-get install g++")
    m = load_model(streaming_model)
    project = tflm_build.cached_project(streaming_model, "kws", tflm, vectors=STEPS)
    main_cc = (project / "main.cc").read_text()
    assert "MicroResourceVariables::Create(allocator, kNumResourceVariables)" in main_cc
    for op in ("AddCallOnce", "AddVarHandle", "AddReadVariable", "AddAssignVariable"):
        assert op in main_cc
    # the measured arena (tflite-micro creates the variables in it) holds the state
    state = Interpreter(m).program.state_bytes
    assert measure_tflm_arena(m).tail_bytes >= state
    targets = ["host"]
    if all(shutil.which(t) for t in ("arm-none-eabi-g++", "qemu-system-arm")):
        targets.append("cortex-m4")
    for target in targets:
        st = tflm_build.self_test(project, target, tflm)
        assert st.passed and f"PASS {STEPS} vectors" in st.output, st.describe()


# ---- the CLI ----------------------------------------------------------------------------------


def test_cli_inspect_and_verify_a_streaming_model(tmp_path, streaming_model):
    from click.testing import CliRunner

    from mcuq.cli import main
    from mcuq.costs import inspect_model

    path = tmp_path / "kws.tflite"
    path.write_bytes(streaming_model)
    info = inspect_model(path)
    state = Interpreter(streaming_model).program.state_bytes
    assert info.arena.resource_variables == 2 and info.arena.state_bytes == state
    # resource handles hold no bytes in TFLite Micro's head: the plan matches its measurement
    assert info.arena.plan_bytes == info.arena.tflm_head_bytes
    assert all(o.support.reference and o.support.c and o.support.tflm for o in info.ops)
    r = CliRunner().invoke(main, ["inspect", str(path)])
    assert r.exit_code == 0 and "state: 2 resource variables" in r.output, r.output
    assert "subgraph 1 'NoOp': VAR_HANDLE x2, ASSIGN_VARIABLE x2" in r.output
    r = CliRunner().invoke(main, ["verify", str(path), "--samples", "20", "--runners",
                                  "reference,tflm", "--json"])
    assert r.exit_code == 0, r.output
    import json

    d = json.loads(r.output[r.output.index("{"):])
    assert d["sequence"] is True and d["samples"] == 20 and d["status"] == "PASS"


def test_verify_float_runs_the_float_module_as_the_same_sequence(tmp_path, streaming_model):
    """--float with the tf.Module the model came from: the float model's variables carry the
    same sequence (one step per call), so int8 and float agree closely; the per-layer
    diagnosis (single invocations) says why it is left out."""
    import tensorflow as tf

    from mcuq.testing import streaming

    module = streaming._module(tf)
    tf.saved_model.save(module, str(tmp_path / "sm"),
                        signatures=module.__call__.get_concrete_function())
    m = load_model(streaming_model)
    x = streaming.frames(STEPS).reshape(STEPS, *m.input_tensors()[0].shape[1:])
    report = verify_model(m, data=[x], float_model=str(tmp_path / "sm"), runners=["reference"])
    (metrics,) = report.metrics
    assert metrics.sqnr_db > 25, metrics  # a float model reset at every step scores far lower
    assert "sequence" in report.diagnosis_error


# ---- malformed state: refused by the validator at load (exit 2), naming the op ------------------


def _edited(data: bytes, edit) -> bytes:
    import flatbuffers

    from mcuq.model import schema

    s = schema()
    m = s.ModelT.InitFromObj(s.Model.GetRootAs(data, 0))
    edit(m)
    fb = flatbuffers.Builder(1024)
    fb.Finish(m.Pack(fb), file_identifier=b"TFL3")
    return bytes(fb.Output())


@pytest.mark.parametrize("case", ["self_call", "cycle", "no_shared_name", "bad_handle"])
def test_malformed_state_is_refused_at_load(case):
    from mcuq.errors import InputError

    data = delay_model(call_once=True)

    def edit(m):
        main, init = m.subgraphs
        if case == "self_call":
            main.operators[0].builtinOptions.initSubgraphIndex = 0
        elif case == "cycle":  # the init subgraph calls itself through another CALL_ONCE
            call = type(main.operators[0])()
            call.opcodeIndex, call.inputs, call.outputs = main.operators[0].opcodeIndex, [], []
            call.builtinOptionsType = main.operators[0].builtinOptionsType
            call.builtinOptions = type(main.operators[0].builtinOptions)()
            call.builtinOptions.initSubgraphIndex = 1
            init.operators.insert(0, call)
        elif case == "no_shared_name":
            main.operators[1].builtinOptions.sharedName = None
        else:  # READ_VARIABLE reads a 4-element int32 tensor as its handle
            main.operators[3].inputs = [0]

    want = {"self_call": "calls subgraph 0", "cycle": "CALL_ONCE",
            "no_shared_name": "no shared_name", "bad_handle": "not a one-element resource"}
    with pytest.raises(InputError, match="malformed model") as e:
        load_model(_edited(data, edit))
    assert want[case] in e.value.message
