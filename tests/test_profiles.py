"""Semantics profiles (mcuq.reference.profiles): the single-rounding arithmetic against its
definition, profile selection, the per-op hook, and verify comparing each runner with the
reference in its own profile -- including the proof that the check can fail (swapped profiles
fail verify) and `verify --explain` measuring how far two profiles are apart."""
import json

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from mcuq.cli import main
from mcuq.errors import InputError, UnsupportedModelError
from mcuq.model import load_model
from mcuq.reference import Interpreter
from mcuq.reference import fixedpoint as fp
from mcuq.reference.profiles import PROFILES, get_profile, profile_for_rounding
from mcuq.reference.registry import register
from mcuq.runners import make_runner
from mcuq.runners.tflite import tflite_profile
from mcuq.testing.builder import ModelBuilder
from mcuq.verification import verify_model
from tests.exactness import EXAMPLES


def tie_chain_model() -> bytes:
    """x -> FC (real multiplier exactly 0.25: x = 1 is 0.25, which TFLite Micro's double
    rounding takes to 1 and LiteRT's one rounding to 0) -> FC (identity, 1.0) -> y. The
    difference originates at op 0 only; op 1 passes it on."""
    b = ModelBuilder()
    x = b.input("x", (1, 1), scale=1.0, zero_point=0)
    w0 = b.const("w0", np.array([[1]], np.int8), scale=0.25)
    h = b.tensor("h", (1, 1), scale=1.0, zero_point=0)
    b.op("FULLY_CONNECTED", [x, w0, -1], [h], version=4)
    w1 = b.const("w1", np.array([[1]], np.int8), scale=1.0)
    y = b.tensor("y", (1, 1), scale=1.0, zero_point=0)
    b.op("FULLY_CONNECTED", [h, w1, -1], [y], version=4)
    b.output(y)
    return b.build()


def tie_inputs(n: int = 21) -> np.ndarray:
    return np.arange(-(n // 2), n - n // 2, dtype=np.int8).reshape(n, 1, 1)


# -- the arithmetic ------------------------------------------------------------------------
@settings(max_examples=EXAMPLES * 8, deadline=None)
@given(st.integers(-(1 << 31), (1 << 31) - 1) | st.sampled_from([-(1 << 31), -1, 0, 1, 3]),
       st.integers(0, (1 << 31) - 1) | st.sampled_from([1 << 30, (1 << 31) - 1]),
       st.integers(-31, 30))
def test_single_rounding_is_one_rounding_of_the_exact_product(x, m, shift):
    """(x * m + 2^(30 - shift)) >> (31 - shift) in Python's unbounded integers, cast to int32:
    TFLite's TFLITE_SINGLE_ROUNDING MultiplyByQuantizedMultiplier. Also the fused requantize
    and the SmallerThanOne / GreaterThanOne variants (the single-rounding build defines them as
    the same function)."""
    total = 31 - shift
    exact = (x * m + (1 << (total - 1))) >> total
    want = ((exact + (1 << 31)) % (1 << 32)) - (1 << 31)
    assert int(fp.multiply_by_quantized_multiplier(x, m, shift, "single")) == want
    if shift <= 0:
        assert int(fp.multiply_by_quantized_multiplier_smaller_than_one_exp(
            x, m, shift, "single")) == want
    else:
        assert int(fp.multiply_by_quantized_multiplier_greater_than_one(
            x, m, shift, "single")) == want
    acc = np.array([[x, x]], np.int64)
    out = fp.requantize(acc, np.array([m, m]), np.array([shift, shift]), -5, -128, 127,
                        rounding="single")
    assert out.tolist() == [[int(np.clip(fp.wrap_int32(want - 5), -128, 127))] * 2]


def test_single_rounding_quantize_multiplier_and_softmax_cap_saturate_as_that_build():
    from mcuq.reference.ops.softmax import preprocess_softmax_scaling

    single, tflm = get_profile("single-rounding"), get_profile("tflm")
    with pytest.raises(UnsupportedModelError, match="left shift of 41"):
        tflm.quantize_multiplier(2.0 ** 40)  # TFLite Micro's C is undefined there: refused
    assert single.quantize_multiplier(2.0 ** 40) == ((1 << 31) - 1, 30)
    q, s = single.quantize_multipliers([2.0 ** 40, 0.5])
    assert q.tolist() == [(1 << 31) - 1, 1 << 30] and s.tolist() == [30, 0]
    # beta * scale * 2^26 above the cap: 2^31 - 1 (double build) vs 2^30 - 1 (single)
    assert preprocess_softmax_scaling(1.0, 1000.0, 5, tflm)[1] == 31
    assert preprocess_softmax_scaling(1.0, 1000.0, 5, single)[1] == 30


def test_profiles_differ_exactly_where_the_runtimes_do():
    x = [tie_inputs()]
    out = {p: Interpreter(tie_chain_model(), p).run(x).outputs[0].ravel().tolist()
           for p in PROFILES}
    # 0.25 * x for x = -10..10: TFLite Micro's two roundings take x.25 up (x > 0) ...
    assert out["tflm"][11:15] == [1, 1, 1, 1]  # x = 1..4: 0.25, 0.5, 0.75, 1.0
    assert out["litert"][11:15] == [0, 1, 1, 1]  # ... round(0.25) = 0, ties away: 0.5 -> 1
    assert out["single-rounding"][11:15] == [0, 1, 1, 1]  # ties toward +inf: 0.5 -> 1
    assert out["single-rounding"][8] == 0 and out["litert"][8] == -1  # x = -2: -0.5
    assert out["tflite-legacy"] == out["tflm"]  # per-channel-free, scales exact in float


def test_tflite_legacy_leaky_relu_multiplies_by_the_negative_multiplier():
    """Measured on tflite-runtime 2.14: alpha -0.25, x - zp = -17 is 4.25; TFLite Micro and
    LiteRT (-MBQM(x, +M)) give 4, TFLite < 2.20 (MBQM(x, -M): its high mul rounds 4.25 up to
    4.5 first) gives 5."""
    from tests.reference.test_activations import one_op

    model = one_op("LEAKY_RELU", (1,), 1.0, 0, 1.0, 0, version=2, alpha=-0.25)
    x = [np.array([[-17]], np.int8)]
    out = {p: int(Interpreter(model, p).run(x).outputs[0].ravel()[0]) for p in PROFILES}
    assert out == {"tflm": 4, "litert": 4, "tflite-legacy": 5, "single-rounding": 4}
    assert int(make_runner("tflite", load_model(model)).run(x).outputs[0].ravel()[0]) == 4


# -- the hook and selection ----------------------------------------------------------------
def test_kernels_declare_whether_they_take_the_profile():
    from mcuq.reference.registry import KERNELS, _load_all

    _load_all()
    assert KERNELS["FULLY_CONNECTED"].takes_profile and KERNELS["CONV_2D"].takes_profile
    assert not KERNELS["RESHAPE"].takes_profile and not KERNELS["MAX_POOL_2D"].takes_profile

    seen = []

    @register("MCUQ_TEST_OP_A")
    class WithoutProfile:  # a new op that does not requantize: no parameter, still prepared
        @staticmethod
        def prepare(op, model):
            seen.append("plain")

        run = staticmethod(lambda p, inputs: inputs)

    @register("MCUQ_TEST_OP_B")
    class WithProfile:
        @staticmethod
        def prepare(op, model, profile):
            seen.append(profile.rounding)

        run = staticmethod(lambda p, inputs: inputs)

    try:
        KERNELS["MCUQ_TEST_OP_A"].prepare_op(None, None, get_profile("single-rounding"))
        KERNELS["MCUQ_TEST_OP_B"].prepare_op(None, None, get_profile("single-rounding"))
        assert seen == ["plain", "single"]
    finally:
        del KERNELS["MCUQ_TEST_OP_A"], KERNELS["MCUQ_TEST_OP_B"]


def test_profile_names_and_roundings():
    assert Interpreter(tie_chain_model()).profile.name == "tflm"
    assert profile_for_rounding("double").name == "tflm"
    assert profile_for_rounding("single").name == "single-rounding"
    with pytest.raises(InputError, match="litert"):
        get_profile("tflite-micro")
    with pytest.raises(InputError):
        profile_for_rounding("triple")


@pytest.mark.parametrize("package, version, profile", [
    ("ai-edge-litert", "2.3.0", "litert"), ("ai-edge-litert", "2.1.2", "litert"),
    ("ai-edge-litert", "1.4.0", "tflite-legacy"),
    ("tensorflow", "2.21.0", "litert"), ("tensorflow", "2.20.0rc0", "litert"),
    ("tensorflow", "2.19.1", "tflite-legacy"), ("tensorflow", "2.15.0", "tflite-legacy"),
    ("tflite-runtime", "2.14.0", "tflite-legacy"), ("tflite-runtime", "2.5.0", "tflite-legacy"),
])
def test_tflite_runner_picks_its_profile_by_package_and_version(package, version, profile):
    """tflite-runtime (last release 2.14, numpy < 2 only; its kernels measured against the
    profiles on 1,000 cases: FULLY_CONNECTED rounds twice, with a float per-tensor product, the
    activations are TFLite's) is tflite-legacy, as TensorFlow before 2.20's float
    FULLY_CONNECTED rescale; the installed LiteRT is litert."""
    assert tflite_profile(package, version) == profile


def test_installed_tflite_runner_is_exact_against_litert():
    r = make_runner("tflite", load_model(tie_chain_model()))
    assert (r.package, r.profile, r.exact) == ("ai-edge-litert", "litert", True)
    d = make_runner("tflite-default", load_model(tie_chain_model()))
    assert d.profile == "litert" and not d.exact


# -- verify: each runner against its own profile; swapped profiles fail --------------------
def test_verify_compares_each_runner_with_its_profile(tmp_path, host_cc):
    data = [tie_inputs()]
    report = verify_model(tie_chain_model(), data=data,
                          runners=["tflite", "tflm", "host"],
                          runner_options={"host": {"rounding": "single",
                                                   "cache_dir": tmp_path}})
    by = {r.runner: r for r in report.runners}
    assert {k: (r.profile, r.status) for k, r in by.items()} == {
        "tflite": ("litert", "exact"), "tflm": ("tflm", "exact"),
        "host": ("single-rounding", "exact")}
    assert report.exit_code == 0 and report.profiles == ["tflm", "litert", "single-rounding"]


def test_swapped_profiles_fail_verify(tmp_path, host_cc):
    """The check can fail: the same runners judged in each other's profile do not pass."""
    model = load_model(tie_chain_model())
    data = [tie_inputs()]
    tflite = make_runner("tflite", model)
    tflite.profile = "tflm"
    tflm = make_runner("tflm", model)
    tflm.profile = "litert"
    host = make_runner("host", model, rounding="single", cache_dir=tmp_path)
    host.profile = "tflm"
    report = verify_model(model, data=data, runners=[tflite, tflm, host])
    assert report.exit_code == 1
    assert [(r.runner, r.status) for r in report.runners] == [
        ("tflite", "mismatch"), ("tflm", "mismatch"), ("host", "mismatch")]
    d = report.runners[0].first_diverging_tensor
    assert d is not None and (d.op_index, d.tensor) == (0, "h")


def test_single_rounding_fault_in_the_c_kernels_fails_verify(tmp_path, host_cc):
    """The single-rounding kernels built with a one-LSB tie fault (-DMCUQ_TEST_ROUNDING_FAULT:
    ties toward -inf) against the single-rounding profile: exit 1."""
    from mcuq.runners.firmware import FirmwareRunner

    faulty = FirmwareRunner(tie_chain_model(), "host", rounding="single",
                            extra_cflags=("-DMCUQ_TEST_ROUNDING_FAULT",), cache_dir=tmp_path)
    report = verify_model(tie_chain_model(), data=[tie_inputs()], runners=[faulty])
    assert report.exit_code == 1 and report.runners[0].profile == "single-rounding"


def test_explain_measures_the_distance_and_where_it_originates():
    report = verify_model(tie_chain_model(), data=[tie_inputs()], runners=["tflite", "tflm"],
                          explain=True)
    gaps = {r.runner: r.profile_gap for r in report.runners}
    assert gaps["tflm"] is None  # nothing to explain: its profile is tflm
    gap = gaps["tflite"]
    assert gap.profile == "litert" and gap.baseline == "tflm" and gap.samples == 21
    # 0.25 * x differs at x = 1, 5, 9 only (x.25: TFLite Micro's first rounding makes it
    # x.5, its second rounds that up); both round -x.5 away from zero
    assert gap.outputs[0].mismatched_elements == 3 and gap.max_abs_lsb == 1
    assert [(o.op_index, o.op) for o in gap.origins] == [(0, "FULLY_CONNECTED")]
    assert gap.explained_by == ["FULLY_CONNECTED"]
    assert "originates at FULLY_CONNECTED" in gap.summary()


def test_verify_explain_from_the_cli(tmp_path):
    model = tmp_path / "tie.tflite"
    model.write_bytes(tie_chain_model())
    np.save(tmp_path / "x.npy", tie_inputs())
    args = ["verify", str(model), "--data", str(tmp_path / "x.npy"), "--runners",
            "reference,tflm,tflite", "--explain"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "litert" in r.output and "profiles vs tflm" in r.output
    assert "litert (tflite): litert differs from tflm by up to 1 LSB on 3/21" in r.output
    j = json.loads(CliRunner().invoke(main, args + ["--json"]).output)
    t = [x for x in j["runners"] if x["runner"] == "tflite"][0]
    assert t["profile"] == "litert" and t["profile_gap"]["explained_by"] == ["FULLY_CONNECTED"]


# -- the C target's rounding ---------------------------------------------------------------
def test_generate_rounding_single_builds_single_rounding_kernels(tmp_path):
    model = tmp_path / "tie.tflite"
    model.write_bytes(tie_chain_model())
    r = CliRunner().invoke(main, ["generate", str(model), "-o", str(tmp_path / "c"),
                                  "--target", "c", "--rounding", "single", "--json"])
    assert r.exit_code == 0, r.output
    details = json.loads(r.output)["details"]
    assert (details["rounding"], details["profile"]) == ("single", "single-rounding")
    assert "#define MCUQ_SINGLE_ROUNDING 1" in (tmp_path / "c/mcuq/mcuq_config.h").read_text()
    assert "MCUQ_SINGLE_ROUNDING != 1" in (tmp_path / "c" / "model.c").read_text()
    r = CliRunner().invoke(main, ["generate", str(model), "-o", str(tmp_path / "t"),
                                  "--target", "tflm", "--rounding", "single"])
    assert r.exit_code == 2 and "--target c" in r.output
    r = CliRunner().invoke(main, ["generate", str(model), "-o", str(tmp_path / "ard"),
                                  "--target", "c", "--rounding", "single", "--layout", "arduino"])
    assert r.exit_code == 0, r.output  # no build flags there: the header carries the setting
    assert "MCUQ_SINGLE_ROUNDING 1" in (tmp_path / "ard/src/mcuq/mcuq_config.h").read_text()


def test_a_model_built_with_the_other_rounding_does_not_compile(tmp_path, host_cc):
    import subprocess

    from mcuq.codegen import generate_project

    generate_project(tie_chain_model(), tmp_path / "c", target="c", rounding="single")
    ok = subprocess.run(["make", "-C", str(tmp_path / "c"), "run-host"], capture_output=True,
                        text=True)
    assert ok.returncode == 0 and "PASS" in ok.stdout, ok.stdout + ok.stderr
    bad = subprocess.run(["make", "-C", str(tmp_path / "c"), "-B", "host",
                          "EXTRA_CFLAGS=-DMCUQ_SINGLE_ROUNDING=0"], capture_output=True,
                         text=True)
    assert bad.returncode != 0 and "generated with --rounding single" in bad.stderr


def test_firmware_build_cache_is_keyed_on_the_rounding(tmp_path):
    from mcuq.runners.firmware import project_dir

    m = load_model(tie_chain_model())
    a = project_dir(m, "host", tmp_path, "double")
    b = project_dir(m, "host", tmp_path, "single")
    assert a != b
    assert "MCUQ_SINGLE_ROUNDING 0" in (a / "mcuq" / "mcuq_config.h").read_text()
    assert "MCUQ_SINGLE_ROUNDING 1" in (b / "mcuq" / "mcuq_config.h").read_text()
