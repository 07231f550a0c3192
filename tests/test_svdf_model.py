"""A whole SVDF model (mcuq.testing.svdf.keyword_model: int16 features -> QUANTIZE -> 5 SVDF
layers with int16 state -> FULLY_CONNECTED -> SOFTMAX, like TFLite Micro's
keyword_scrambled_8bit), built in the test session with the one-op model builder. Stateful:
`mcuq verify` over a sequence is exact on tflm, tflite, host (sanitized) and cortex-m4; `mcuq
generate` for both targets passes its sequence self-test; inspect shows SVDF supported."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from mcuq.cli import main
from mcuq.model import load_model
from mcuq.reference import Interpreter
from mcuq.testing.svdf import KWS_LAYERS, keyword_frames, keyword_model

STEPS = 24


@pytest.fixture(scope="session")
def svdf_model() -> bytes:
    return keyword_model()


@pytest.fixture(scope="session")
def svdf_files(svdf_model, tmp_path_factory):
    d = tmp_path_factory.mktemp("svdf")
    (d / "kws.tflite").write_bytes(svdf_model)
    np.save(d / "frames.npy", keyword_frames(STEPS))
    return d / "kws.tflite", d / "frames.npy"


def _tflm_sequence(data: bytes, xs: np.ndarray) -> np.ndarray:
    from tflite_micro.python.tflite_micro import runtime

    it = runtime.Interpreter.from_bytes(data, arena_size=1 << 20)
    outs = []
    for step in xs:
        it.set_input(step, 0)
        it.invoke()
        outs.append(it.get_output(0).copy())
    return np.stack(outs)


def test_model_is_stateful_and_its_state_matters(svdf_model):
    m = load_model(svdf_model)
    ops = [op.opcode for op in m.operators]
    assert ops == ["QUANTIZE"] + ["SVDF"] * len(KWS_LAYERS) + ["FULLY_CONNECTED", "SOFTMAX"]
    assert m.stateful and sum(t.is_variable for t in m.tensors) == len(KWS_LAYERS)
    xs = keyword_frames(STEPS)
    ref = Interpreter(m).run([xs]).outputs[0]
    assert np.array_equal(ref, _tflm_sequence(svdf_model, xs))
    fresh = np.concatenate([Interpreter(m).run([xs[i:i + 1]]).outputs[0] for i in range(STEPS)])
    assert np.array_equal(fresh[0], ref[0]) and not np.array_equal(fresh, ref)
    assert len(np.unique(ref)) > 8  # not a saturated constant


def test_explain_finds_no_profile_gap_at_the_stateful_ops(svdf_model):
    """--explain re-runs each op alone on the baseline's intermediates: an SVDF gets its state
    as it was before each step (before: the state after the step, so every SVDF looked like
    a litert-vs-tflm difference of up to 255 LSB)."""
    from mcuq.explain import profile_gap

    gap = profile_gap(load_model(svdf_model), [keyword_frames(STEPS)], "litert", "tflm")
    assert gap.origins == [] and all(o.mismatched_elements == 0 for o in gap.outputs)


def test_cli_verify_is_exact_on_every_step(svdf_files, host_cc):
    """The real CLI on a recorded sequence: tflm, LiteRT (fused RELU: it runs the op), and the
    generated C under ASan/UBSan, each in one call from a fresh state."""
    path, frames = svdf_files
    r = CliRunner().invoke(main, ["verify", str(path), "--data", str(frames), "--runners",
                                  "reference,tflm,tflite,host-sanitize", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output[r.output.index("{"):])
    assert d["sequence"] is True and d["samples"] == STEPS and d["status"] == "PASS"
    assert {x["runner"] for x in d["runners"]} >= {"tflm", "tflite", "host-sanitize"}
    assert all(x["status"] == "exact" for x in d["runners"]), d["runners"]


def test_cli_verify_exact_on_cortex_m4(svdf_files, cortex_m4):
    path, frames = svdf_files
    r = CliRunner().invoke(main, ["verify", str(path), "--data", str(frames), "--runners",
                                  "reference,cortex-m4"])
    assert r.exit_code == 0, r.output
    assert "PASS" in r.output and f"{STEPS}-step sequence" in r.output


def test_cli_inspect_shows_svdf_supported_and_its_state(svdf_files):
    from mcuq.costs import inspect_model

    path, _ = svdf_files
    info = inspect_model(path, measure_tflm=False)
    svdf = [o for o in info.ops if o.op == "SVDF"]
    assert len(svdf) == len(KWS_LAYERS)
    units, rank, memory = KWS_LAYERS[0]
    assert svdf[0].macs == units * rank * (40 + memory)  # feature + time steps
    assert all(o.support.reference and o.support.c and o.support.tflm for o in info.ops)
    r = CliRunner().invoke(main, ["inspect", str(path), "--no-tflm"])
    assert r.exit_code == 0, r.output
    assert "SVDF" in r.output and "!mcuq" not in r.output
    state = sum(t.nbytes for t in load_model(path).tensors if t.is_variable)
    assert info.arena.variable_tensors == len(KWS_LAYERS) and info.arena.state_bytes == state
    assert f"state: {len(KWS_LAYERS)} variable tensors" in r.output and f"{state:,} B" in r.output


def test_generate_c_passes_its_sequence_self_test(svdf_files, tmp_path, host_cc):
    import shutil

    path, _ = svdf_files
    out = tmp_path / "c"
    r = CliRunner().invoke(main, ["generate", str(path), "-o", str(out), "--target", "c",
                                  "--vectors", "12"])
    assert r.exit_code == 0, r.output
    assert (out / "mcuq" / "svdf.c").exists()
    goals = ["run-sanitize"]
    if shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm"):
        goals.append("run-qemu")
    for goal in goals:
        p = subprocess.run(["make", "-s", goal], cwd=out, capture_output=True, text=True,
                           timeout=300)
        assert p.returncode == 0 and "PASS 12 vectors" in p.stdout, p.stdout + p.stderr


def test_generate_tflm_passes_its_sequence_self_test(svdf_model):
    """The TFLite Micro project (AddSvdf; the arena measured with the variable tensors and
    SVDF's scratch), on the host (reference kernels) and under QEMU (CMSIS-NN's SVDF)."""
    import shutil

    from mcuq.testing import tflm_build, tflm_prebuilt

    tflm = tflm_prebuilt.locate()
    if tflm is None:
        pytest.skip(tflm_prebuilt.missing_reason())
    if shutil.which("g++") is None:
        pytest.skip("g++ not found; apt-get install g++")
    project = tflm_build.cached_project(svdf_model, "kws_svdf", tflm, vectors=12)
    assert "AddSvdf" in (project / "main.cc").read_text()
    targets = ["host"]
    if all(shutil.which(t) for t in ("arm-none-eabi-g++", "qemu-system-arm")):
        targets.append("cortex-m4")
    for target in targets:
        st = tflm_build.self_test(project, target, tflm)
        assert st.passed and "PASS 12 vectors" in st.output, st.describe()


def test_malformed_svdf_is_refused_at_load_with_exit_2(tmp_path):
    from mcuq.testing.builder import ModelBuilder
    from mcuq.testing.svdf import SvdfShape, add_svdf

    b = ModelBuilder()
    x = b.input("x", (1, 6), scale=0.05, zero_point=0)
    y = add_svdf(b, x, SvdfShape(1, 6, 3, 2, 4), np.random.default_rng(0), "svdf", 0.05,
                 2.0 ** -6, 2.0 ** -10)
    b.output(y)
    b.tensors[b.operators[0].inputs[4]].shape = [1, 20]  # 4 x 6 filters = 24
    (tmp_path / "bad.tflite").write_bytes(b.build())
    r = CliRunner().invoke(main, ["inspect", str(tmp_path / "bad.tflite"), "--no-tflm"])
    assert r.exit_code == 2, r.output
    assert "SVDF" in r.output and "[1, 24]" in r.output and "hint:" in r.output
    assert "Traceback" not in r.output


def test_tflm_cmsis_nn_int8_state_svdf_is_a_reported_problem():
    """An int8 activation state: TFLite Micro's reference kernels (host) compute the
    reference's bytes, its CMSIS-NN build (Cortex-M4) does not; `generate --target tflm` names
    the problem (mcuq.codegen.cmsis_nn.limitation) and the int16-state SVDF maps to
    arm_svdf_state_s16_s8."""
    import shutil

    from mcuq.codegen import cmsis_nn
    from mcuq.testing import tflm_build, tflm_prebuilt
    from mcuq.testing.builder import ModelBuilder
    from mcuq.testing.svdf import SvdfShape, add_svdf

    b = ModelBuilder()
    x = b.input("x", (1, 6), scale=0.05, zero_point=0)
    y = add_svdf(b, x, SvdfShape(1, 6, 3, 2, 4, "INT8", 0, "RELU"), np.random.default_rng(0),
                 "svdf", 0.05, 2.0 ** -5, 2.0 ** -6)
    b.output(y)
    data = b.build()
    assert "int8 activation state" in cmsis_nn.problems(load_model(data))[0]
    kws = [c for c in cmsis_nn.kernel_choices(load_model(keyword_model())) if c.op == "SVDF"]
    assert [(c.function, c.problem) for c in kws] == [("arm_svdf_state_s16_s8", "")]
    tflm = tflm_prebuilt.locate()
    if tflm is None:
        pytest.skip(tflm_prebuilt.missing_reason())
    if not all(shutil.which(t) for t in ("g++", "arm-none-eabi-g++", "qemu-system-arm")):
        pytest.skip("needs g++, arm-none-eabi-g++ and qemu-system-arm")
    project = tflm_build.cached_project(data, "svdf_s8", tflm, vectors=8)
    assert tflm_build.self_test(project, "host", tflm).passed
    st = tflm_build.self_test(project, "cortex-m4", tflm)
    assert not st.passed and "FAIL vector" in st.output, st.describe()
