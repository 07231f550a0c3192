"""Generated TensorFlow Lite Micro projects, BUILT and RUN against real TensorFlow Lite Micro
(the prebuilt in ../shared/third_party/tflm, mcuq.testing.tflm_prebuilt): every zoo model's
project passes its self-test on the host (reference kernels) and on Cortex-M4 with CMSIS-NN
under QEMU; the op test batches give the reference's bytes on both, except exactly where
mcuq.codegen.cmsis_nn says TFLite Micro's CMSIS-NN build is wrong; the CMSIS-NN kernel table
matches the library's symbols; the Makefile's fixes (jobserver, TARGET_TOOLCHAIN_ROOT, -O2).
Skips with a message when the prebuilt, g++ or the Cortex-M toolchain is missing."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import strategies as st

from mcuq.codegen import cmsis_nn
from mcuq.codegen.layouts import ARM_CPUS
from mcuq.model import load_model
from mcuq.reference.fixedpoint import quantize_multipliers
from mcuq.toolchain import APT_LINE, APT_PACKAGES
from mcuq.testing import tflm_prebuilt
from mcuq.testing.tflm_batch import run_batch
from mcuq.testing.tflm_build import cached_project, self_tests
from tests.firmware.cases import collect_cases
from tests.firmware.test_c_activations import ACTIVATION_MODELS
from tests.firmware.test_c_activations import collect as collect_with
from tests.firmware.test_c_quantize import QUANTIZE_MODELS, inputs_for
from tests.reference.test_conv import conv_models, depthwise_models
from tests.reference.test_elementwise import elementwise_models
from tests.reference.test_fully_connected import fc_models
from tests.reference.test_pooling import pool_models
from tests.reference.test_reduce import mean_models
from tests.reference.test_shape import (concat_models, pad_models, reshape_models,
                                        strided_slice_models, transpose_models)
from tests.reference.test_sigmoid_tanh import sigmoid_tanh_models
from tests.reference.test_softmax import softmax_models

#: Property-test examples per op family in the TFLite Micro batches (one build per target).
TFLM_EXAMPLES = 5


@pytest.fixture(scope="module")
def tflm():
    found = tflm_prebuilt.locate()
    if found is None:
        pytest.skip(tflm_prebuilt.missing_reason())
    if shutil.which("g++") is None:
        pytest.skip("g++ not found; apt-get install g++")
    return found


def need_arm():
    missing = [t for t in ("arm-none-eabi-g++", "qemu-system-arm") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} missing; install with: {APT_LINE}")


# ---- every zoo model: the generated project's own Makefile, host and Cortex-M4 + CMSIS-NN --------

@pytest.fixture(scope="module")
def zoo_selftests(tflm, zoo):
    need_arm()
    projects = {name: cached_project(data, name, tflm, vectors=3) for name, data in zoo.items()}
    results = self_tests([(p, t) for p in projects.values() for t in ("host", "cortex-m4")],
                         tflm)
    return projects, {(r.name, r.target): r for r in results}


def test_zoo_projects_pass_their_self_tests_on_host_and_cortex_m4_cmsis_nn(zoo_selftests, zoo):
    projects, results = zoo_selftests
    assert len(results) == 2 * len(zoo) >= 14
    failed = [r.describe() for r in results.values() if not r.passed]
    assert not failed, "\n\n".join(failed)
    print("\nmodel            host arena  M4+CMSIS-NN arena  pip-measured  (bytes used)")
    for name in zoo:
        h, m = results[(name, "host")], results[(name, "cortex-m4")]
        measured = int(re.search(r"TensorFlow Lite Micro measured (\d+) bytes",
                                 (projects[name] / "main.cc").read_text()).group(1))
        print(f"{name:16s} {h.arena_used:10d}  {m.arena_used:17d}  {measured:12d}")
        assert m.arena_used <= m.arena_size and h.arena_used <= h.arena_size


def test_cortex_m4_uses_less_arena_than_the_64_bit_measurement(zoo_selftests, zoo):
    """What main.cc's arena comment says: the 32-bit device build needs less than the pip
    package's (64-bit) figure, so kTensorArenaSize is safe and the boot figure trims it."""
    projects, results = zoo_selftests
    for name in zoo:
        text = (projects[name] / "main.cc").read_text()
        measured = int(re.search(r"TensorFlow Lite Micro measured (\d+) bytes", text).group(1))
        used = results[(name, "cortex-m4")].arena_used
        assert used < measured, (name, used, measured)
        assert "64-bit" in text and "2-50 %" in text and "arena N of M bytes used" in text


# ---- op test batches ------------------------------------------------------------------------

def host_debug_build_limitation(model) -> str | None:
    """The prebuilt host library is TFLite Micro's default build type, DCHECKs on: these abort
    (release builds and the pip package compute them)."""
    for op in model.operators:
        ins = [t for t in model.op_inputs(op) if t is not None]
        if op.opcode == "DEPTHWISE_CONV_2D" and len(ins) == 2 and ins[1].shape[-1] > 1:
            return "depthwise_conv.h: DCHECK bias size == output channels (no bias given)"
        if max((len(t.shape) for t in ins + model.op_outputs(op)), default=0) > 6:
            return "rank > 6: RuntimeShape DCHECKs"
    return None


def source_build_difference(model) -> str | None:
    """TFLite Micro built from its sources (the prebuilt: host and Cortex-M4) takes a per-tensor
    FULLY_CONNECTED's input x filter scale product in float (kernel_util.cc, the 4-argument
    GetQuantizedConvolutionMultipler); the tflite-micro pip package, which mcuq's reference
    follows, behaves as if in double. Where the two multipliers differ the outputs may differ
    (e.g. scales 1.0001111 x 0.9998889: float product 1.0, multiplier 2^30 << 1 instead of
    2^31 - 32, and large accumulators overflow the shift)."""
    for op in model.operators:
        if op.opcode != "FULLY_CONNECTED":
            continue
        x, w = model.op_inputs(op)[:2]
        y = model.op_outputs(op)[0]
        if w.quant is None or w.quant.per_channel:
            continue
        s_in, s_w, s_out = (np.float32(v) for v in (x.scale, w.quant.scale[0], y.scale))
        in_float = float(np.float32(s_in * s_w)) / float(s_out)
        in_double = float(np.float64(s_in) * np.float64(s_w)) / float(s_out)
        a, b = quantize_multipliers([in_float]), quantize_multipliers([in_double])
        if (a[0][0], a[1][0]) != (b[0][0], b[1][0]):
            return "per-tensor FULLY_CONNECTED multiplier: float product (source) vs double (pip)"
    return None


@pytest.fixture(scope="module")
def op_cases():
    families = [conv_models(), depthwise_models(), fc_models(), pool_models("AVERAGE_POOL_2D"),
                pool_models("MAX_POOL_2D"), elementwise_models(), mean_models(),
                reshape_models(), concat_models(), pad_models(), strided_slice_models(),
                transpose_models(), softmax_models(), sigmoid_tanh_models()]
    cases = [c for s in families for c in collect_cases(s, TFLM_EXAMPLES)]
    cases += collect_with(st.one_of(ACTIVATION_MODELS, QUANTIZE_MODELS), inputs_for,
                          2 * TFLM_EXAMPLES)
    return cases


def _failed_cases(failures: list[str]) -> set[int]:
    return {int(re.match(r"case (\d+) ", f).group(1)) for f in failures}


def test_op_batches_on_tflite_micro_host(tflm, op_cases):
    skipped = {k for k, c in enumerate(op_cases)
               if host_debug_build_limitation(load_model(c.model))}
    run = [c for k, c in enumerate(op_cases) if k not in skipped]
    failures = run_batch(run, "host", tflm)
    may_differ = {k for k, c in enumerate(run) if source_build_difference(load_model(c.model))}
    unexpected = [f for f in failures
                  if int(re.match(r"case (\d+) ", f).group(1)) not in may_differ]
    assert not unexpected, f"{len(unexpected)} of {len(run)} differ:\n" + "\n".join(unexpected)
    assert len(run) > 60, (len(run), len(skipped))
    ops = {load_model(c.model).operators[0].opcode for c in run}
    assert len(ops) >= 20, sorted(ops)


def test_op_batches_on_cortex_m4_cmsis_nn_fail_only_where_the_table_says(tflm, op_cases):
    need_arm()
    predicted = {}
    run = []
    for c in op_cases:
        why = cmsis_nn.problems(load_model(c.model))
        if why and why[0].endswith(cmsis_nn.HANGS + ")"):
            continue  # undefined behaviour that loops: not worth a timeout per case in CI
        if why:
            predicted[len(run)] = why[0]
        run.append(c)
    failures = run_batch(run, "cortex-m4", tflm, timeout=60)
    may_differ = {k for k, c in enumerate(run) if source_build_difference(load_model(c.model))}
    failed = _failed_cases(failures)
    assert failed - may_differ == set(predicted), (
        "failures:\n" + "\n".join(failures) + "\npredicted:\n" +
        "\n".join(f"case {k}: {w}" for k, w in predicted.items()))
    assert len(run) - len(predicted) > 60


# ---- the CMSIS-NN table against the library ----------------------------------------------------

def archive_references(lib: Path) -> dict[str, set[str]]:
    """member object -> undefined arm_* symbols it references (arm-none-eabi-nm)."""
    out = subprocess.run(["arm-none-eabi-nm", "-A", str(lib)], capture_output=True, text=True,
                         check=True).stdout
    refs: dict[str, set[str]] = {}
    for line in out.splitlines():
        m = re.match(r".*?:([\w.]+\.o):\s+U (arm_\w+)$", line)
        if m:
            refs.setdefault(m.group(1)[:-2], set()).add(m.group(2))
    return refs


#: CMSIS-NN helpers TFLite Micro's kernels call besides the kernel functions.
HELPERS = re.compile(r"_get_\w*buffer_size|^arm_vector_sum|^arm_nn_|^arm_memcpy|^arm_memset|"
                     r"^arm_convolve_1x1_s8_fast$")


def test_cmsis_nn_table_matches_the_library_symbols(tflm):
    if shutil.which("arm-none-eabi-nm") is None:
        pytest.skip(f"arm-none-eabi-nm missing; install with: {APT_LINE}")
    refs = archive_references(tflm.lib("m4-cmsis_nn"))
    listed: dict[str, set[str]] = {}
    for op, (obj, functions) in cmsis_nn.CMSIS_NN_KERNELS.items():
        assert obj in refs, f"{op}: no {obj}.o calling CMSIS-NN in the library"
        missing = set(functions.values()) - refs[obj]
        assert not missing, f"{op}: {obj}.o does not call {missing}"
        listed.setdefault(obj, set()).update(functions.values())
    kernel_objects = {o: {f for f in fs if not HELPERS.search(f)}
                      for o, fs in refs.items() if not o.startswith("arm_")}
    kernel_objects = {o: fs for o, fs in kernel_objects.items() if fs}
    assert set(kernel_objects) == set(listed), "TFLite Micro objects calling CMSIS-NN"
    for obj, functions in kernel_objects.items():
        assert functions == listed[obj], obj


def test_generate_reports_cmsis_nn_and_reference_ops(zoo, tmp_path):
    from click.testing import CliRunner

    from mcuq.cli import main

    path = tmp_path / "ds_cnn.tflite"
    path.write_bytes(zoo["ds_cnn"])
    r = CliRunner().invoke(main, ["generate", str(path), "-o", str(tmp_path / "p"),
                                  "--target", "tflm", "--vectors", "1"])
    assert r.exit_code == 0, r.output
    assert re.search(r"CMSIS-NN\s+7\s+CONV_2D int8 x3 \(arm_convolve_wrapper_s8\)", r.output)
    assert re.search(r"reference\s+1\s+MEAN int8 x1", r.output)
    readme = (tmp_path / "p" / "README.md").read_text()
    assert "DEPTHWISE_CONV_2D int8 x2" in readme and "| MEAN int8 x1 |" in readme


# ---- the Makefile: CMSIS-NN flags, cores, TFLite Micro's own make --------------------------------

@pytest.fixture(scope="module")
def small_project(tflm, zoo):
    return cached_project(zoo["mlp"], "mlp", tflm, vectors=1)


def test_arm_build_is_o2_without_fno_builtin_for_every_core(tflm, small_project, tmp_path):
    need_arm()
    project = tmp_path / "p"  # a copy: these objects are for other cores than the cached ones
    shutil.copytree(small_project, project, ignore=shutil.ignore_patterns("build"))
    for c in ARM_CPUS:
        cmd = subprocess.run(["make", "-n", "-C", str(project), f"ARM_CPU={c.name}",
                              f"TFLM_DIR={tflm.root}", "build/arm/main.o"],
                             capture_output=True, text=True, check=True).stdout
        assert c.flags in cmd and " -O2 " in cmd and "-fno-builtin" not in cmd, cmd
    # model_data.cc really compiles for every core; main.cc for the most different one (MVE)
    for c in ARM_CPUS:
        r = subprocess.run(["arm-none-eabi-g++", *c.flags.split(), "-std=c++17", "-Wall",
                            "-Werror", "-c", str(project / "model_data.cc"), "-o",
                            str(tmp_path / f"model_data-{c.name}.o")],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    m55 = subprocess.run(["make", "-C", str(project), "ARM_CPU=cortex-m55",
                          f"TFLM_DIR={tflm.root}", "build/arm/main.o"],
                         capture_output=True, text=True)
    assert m55.returncode == 0, m55.stderr[-3000:]


def stub_tflm(root: Path) -> Path:
    """A folder that looks like a tflite-micro checkout to the generated Makefile; its
    Makefile prints the variables and make flags it was called with."""
    mk = root / "tensorflow/lite/micro/tools/make"
    mk.mkdir(parents=True)
    (root / "tensorflow/lite/micro/micro_interpreter.h").write_text("")
    (mk / "Makefile").write_text(
        "microlite:\n"
        "\t@echo 'MAKEFLAGS=$(MAKEFLAGS)'\n"
        "\t@echo 'TARGET_TOOLCHAIN_ROOT=[$(TARGET_TOOLCHAIN_ROOT)] origin=$(origin "
        "TARGET_TOOLCHAIN_ROOT)'\n"
        "\t@echo 'TARGET=$(TARGET) TARGET_ARCH=$(TARGET_ARCH) "
        "OPTIMIZED_KERNEL_DIR=$(OPTIMIZED_KERNEL_DIR) KERNELS=$(KERNEL_OPTIMIZATION_LEVEL)'\n")
    return root


def test_tflm_make_gets_the_jobserver_and_no_gcc_download(small_project, tmp_path):
    stub = stub_tflm(tmp_path / "tflm")
    text = (small_project / "Makefile").read_text()
    recipes = [line for line in text.splitlines() if "$(TFLM_MAKE)" in line and
               line.startswith("\t")]
    assert len(recipes) == 2 and all(line.startswith("\t+") for line in recipes), recipes
    host = subprocess.run(["make", "-j2", "-C", str(small_project), f"TFLM_DIR={stub}",
                           "tflm-host"], capture_output=True, text=True)
    assert host.returncode == 0, host.stderr
    assert "jobserver" in host.stdout and "jobserver unavailable" not in host.stderr
    arm = subprocess.run(["make", "-C", str(small_project), f"TFLM_DIR={stub}", "tflm-arm"],
                         capture_output=True, text=True)
    assert arm.returncode == 0, arm.stderr
    assert "TARGET_TOOLCHAIN_ROOT=[] origin=command line" in arm.stdout
    assert ("TARGET=cortex_m_generic TARGET_ARCH=cortex-m4+fp OPTIMIZED_KERNEL_DIR=cmsis_nn "
            "KERNELS=-O2") in arm.stdout, arm.stdout
    m7 = subprocess.run(["make", "-C", str(small_project), f"TFLM_DIR={stub}", "tflm-arm",
                         "ARM_CPU=cortex-m7", "ARM_KERNELS="], capture_output=True, text=True)
    assert "TARGET_ARCH=cortex-m7+fp OPTIMIZED_KERNEL_DIR= " in m7.stdout, m7.stdout


# ---- install lines ----------------------------------------------------------------------------

def test_readme_names_the_cxx_library_and_tflm_make_requirements(small_project):
    readme = (small_project / "README.md").read_text()
    assert " ".join(APT_PACKAGES) in readme.replace("\n", " ")
    for needed in ("libstdc++-arm-none-eabi-newlib", "Pillow", "numpy",
                   "TARGET_TOOLCHAIN_ROOT=", "make run-qemu"):
        assert needed in readme, needed
    root = Path(__file__).resolve().parents[1]
    assert APT_LINE in (root / "README.md").read_text()
    script = (root / "scripts" / "ensure-toolchain.sh").read_text()
    for pkg in APT_PACKAGES:
        assert f"need+=({pkg})" in script, pkg


def test_cortex_m_build_needs_only_the_named_packages():
    """Every file the Cortex-M4 C++ build takes from the system (C++ headers, libstdc++ and
    newlib of the hard-float multilib) belongs to a package the README names or one of
    those packages' own dependencies."""
    if shutil.which("dpkg") is None or shutil.which("arm-none-eabi-g++") is None:
        pytest.skip("needs dpkg and arm-none-eabi-g++")
    flags = ARM_CPUS[0].flags.split()
    files = [os.path.realpath(subprocess.run(
        ["arm-none-eabi-g++", *flags, f"-print-file-name={f}"], capture_output=True, text=True,
        check=True).stdout.strip()) for f in ("libstdc++_nano.a", "libc_nano.a", "librdimon.a")]
    cxx = subprocess.run(["arm-none-eabi-g++", "-E", "-H", "-x", "c++", "-", "-o", "/dev/null"],
                         input="#include <cstddef>\n", capture_output=True, text=True)
    header = os.path.realpath(next(line.split()[-1] for line in cxx.stderr.splitlines()
                                   if line.startswith(".") and line.endswith("cstddef")))
    allowed = set(APT_PACKAGES)
    for pkg in list(APT_PACKAGES):
        dep = subprocess.run(["dpkg-query", "-W", "-f=${Depends}", pkg], capture_output=True,
                             text=True).stdout
        allowed |= {d.split()[0].split(":")[0] for d in dep.split(",") if d.strip()}
    for f in files + [header]:
        owner = subprocess.run(["dpkg", "-S", f], capture_output=True, text=True)
        assert owner.returncode == 0, f
        assert owner.stdout.split(":")[0] in allowed, (f, owner.stdout)
