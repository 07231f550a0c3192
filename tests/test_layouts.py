"""`mcuq generate --layout make|cmake|arduino|platformio|esp-idf|zephyr`: every layout renders
(atomically), the files each tool reads parse and agree with each other, and exactly the
file list and flags a layout declares compile with host gcc and arm-none-eabi-gcc (-Werror)
and pass the self-test on the host. The cmake layout runs its self-test under QEMU; ESP-IDF
and Zephyr's CMake files are read by a real cmake through the stand-ins in tests/standins/.
"""
from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from mcuq.cli import main
from mcuq.codegen import generate_project
from mcuq.codegen.layouts import ARM_CPUS, LAYOUTS, TARGET_LAYOUTS
from mcuq.toolchain import APT_LINE
from mcuq.testing import tflm_prebuilt

STANDINS = Path(__file__).parent / "standins"
WERROR = ["-Wall", "-Wextra", "-Werror"]
M4 = ARM_CPUS[0].flags.split()
NAME = "gesture"


def need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        hint = APT_LINE if any("arm" in t for t in missing) else "apt-get install gcc g++ cmake"
        pytest.skip(f"{', '.join(missing)} missing; install with: {hint}")


def run(cmd, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def compile_all(compiler: str, flags: list[str], sources: list[Path], out: Path) -> list[Path]:
    """Compile each source to an object (-c), all at once; fail on the first error."""
    out.mkdir(parents=True, exist_ok=True)
    objs, procs = [], []
    for k, src in enumerate(sources):
        obj = out / f"{k}_{src.stem}.o"
        cmd = [compiler, *flags, "-c", str(src), "-o", str(obj)]
        procs.append((cmd, subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                            stderr=subprocess.STDOUT, text=True)))
        objs.append(obj)
    for cmd, p in procs:
        log = p.communicate(timeout=600)[0]
        assert p.returncode == 0, f"{' '.join(cmd)}\n{log}"
    return objs


@pytest.fixture(scope="module")
def model_path(zoo, tmp_path_factory):
    path = tmp_path_factory.mktemp("layout_model") / "two_in_two_out.tflite"
    path.write_bytes(zoo["two_in_two_out"])  # two inputs, two outputs: the general I/O path
    return path


@pytest.fixture(scope="module")
def c_projects(model_path, tmp_path_factory):
    root = tmp_path_factory.mktemp("layouts")
    out = {}
    for layout in LAYOUTS:
        res = generate_project(model_path, root / layout, target="c", name=NAME, vectors=3,
                               layout=layout)
        out[layout] = (root / layout, res)
    return out


def tree(path: Path) -> list[str]:
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())


# ---- every layout -----------------------------------------------------------------------------

@pytest.mark.parametrize("layout", LAYOUTS)
def test_layout_renders_the_files_it_reports(c_projects, layout):
    out, res = c_projects[layout]
    assert tree(out) == res.files and res.details["layout"] == layout
    assert any(f.endswith("mcuq/conv.c") for f in res.files)
    readme = (out / "README.md").read_text()
    if layout != "make":
        steps = re.search(r"## Add it[^\n]*\n((?:\d\. [^\n]+\n)+)", readme)
        assert steps and len(steps.group(1).splitlines()) == 5, readme


def test_cli_layout_option_and_refusals(model_path, tmp_path):
    cli = CliRunner()
    r = cli.invoke(main, ["generate", str(model_path), "-o", str(tmp_path / "z"), "--target",
                          "c", "--layout", "zephyr", "--name", NAME, "--vectors", "1"])
    assert r.exit_code == 0, r.output
    assert "(zephyr layout)" in r.output and "west build" in r.output
    assert (tmp_path / "z" / "zephyr" / "module.yml").is_file()
    # an existing project is replaced only with --force, and nothing of the old one remains
    r = cli.invoke(main, ["generate", str(model_path), "-o", str(tmp_path / "z"), "--target",
                          "c", "--layout", "arduino", "--name", NAME])
    assert r.exit_code == 2 and "not empty" in r.output
    assert (tmp_path / "z" / "zephyr" / "module.yml").is_file()
    r = cli.invoke(main, ["generate", str(model_path), "-o", str(tmp_path / "z"), "--target",
                          "c", "--layout", "arduino", "--name", NAME, "--force", "--json"])
    assert r.exit_code == 0, r.output
    assert tree(tmp_path / "z") == json.loads(r.output)["files"]
    assert not (tmp_path / "z" / "zephyr").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["z"]  # no temporary leftovers
    # TFLite Micro has make and cmake only: the others fail before anything is written
    for layout in set(LAYOUTS) - set(TARGET_LAYOUTS["tflm"]):
        r = cli.invoke(main, ["generate", str(model_path), "-o", str(tmp_path / "t"),
                              "--target", "tflm", "--layout", layout])
        assert r.exit_code == 2, r.output
        assert f"--layout {layout} is not available for --target tflm" in r.output
        assert "hint:" in r.output and "Traceback" not in r.output
        assert not (tmp_path / "t").exists()
    r = cli.invoke(main, ["generate", str(model_path), "-o", str(tmp_path / "t"), "--layout",
                          "bazel"])
    assert r.exit_code == 2 and "bazel" in r.output


# ---- cmake: a real configure, build and ctest, on the host and on QEMU --------------------------

def cmake_selftest(src: Path, build: Path, *args: str) -> str:
    run(["cmake", "-S", src, "-B", build, *args])
    run(["cmake", "--build", build, "-j2"])
    return run(["ctest", "--test-dir", build, "--output-on-failure", "-V"]).stdout


def test_cmake_layout_self_test_on_host_and_qemu(c_projects, tmp_path):
    need("cmake", "cc")
    out, _ = c_projects["cmake"]
    log = cmake_selftest(out, tmp_path / "host")
    assert "PASS 3 vectors, 2 outputs identical to the reference" in log
    need("arm-none-eabi-gcc", "qemu-system-arm")
    log = cmake_selftest(out, tmp_path / "m4", "-DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake")
    assert "PASS 3 vectors, 2 outputs identical to the reference" in log
    assert "mps2-an386" in log  # really run by QEMU
    assert "Machine:                           ARM" in run(
        ["arm-none-eabi-readelf", "-h", tmp_path / "m4" / f"{NAME}_selftest.elf"]).stdout


def test_cmake_toolchain_file_builds_every_core(c_projects, tmp_path):
    need("cmake", "arm-none-eabi-gcc")
    out, _ = c_projects["cmake"]
    for c in ARM_CPUS[1:]:
        build = tmp_path / c.name
        run(["cmake", "-S", out, "-B", build, "-DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake",
             f"-DMCUQ_CPU={c.name}"])
        flags = (build / "CMakeCache.txt").read_text()
        assert f"MCUQ_CPU:STRING={c.name}" in flags
        run(["cmake", "--build", build, "-j2", "--target", f"{NAME}_model"])
    bad = subprocess.run(["cmake", "-S", out, "-B", tmp_path / "bad",
                          "-DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake",
                          "-DMCUQ_CPU=cortex-m0"], capture_output=True, text=True)
    assert bad.returncode != 0 and "is not one of" in bad.stderr


# ---- arduino: library.properties, src/ (recursive), the example sketch ---------------------------

def arduino_sources(folder: Path, recursive: bool) -> list[Path]:
    """What the Arduino builder compiles: .c/.cpp/.S (library src/: recursively)."""
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if p.suffix in (".c", ".cpp", ".S"))


def test_arduino_library_structure_compiles_and_runs(c_projects, tmp_path):
    need("cc", "c++")
    out, _ = c_projects["arduino"]
    props = dict(line.split("=", 1) for line in (out / "library.properties").read_text()
                 .splitlines() if line and not line.startswith("#"))
    for key in ("name", "version", "author", "maintainer", "sentence", "paragraph",
                "category", "url", "architectures", "includes"):
        assert key in props, key
    assert props["name"] == NAME and re.fullmatch(r"\d+\.\d+\.\d+", props["version"])
    assert (out / "src" / props["includes"]).is_file()
    sketch_dir = out / "examples" / f"{NAME}_selftest"
    ino = sketch_dir / f"{NAME}_selftest.ino"  # the sketch folder and .ino share the name
    assert ino.is_file()
    assert f"#include <{props['includes']}>" in ino.read_text()
    lib = arduino_sources(out / "src", recursive=True)
    sketch = arduino_sources(sketch_dir, recursive=False)
    assert {p.name for p in lib} >= {f"{NAME}_model.c", "conv.c"}
    include = [f"-I{out / 'src'}", f"-I{STANDINS / 'arduino'}"]
    c_flags = ["-std=gnu11", *WERROR, *include]  # Arduino cores' C dialect
    cxx_flags = ["-std=gnu++17", *WERROR, *include]
    objs = compile_all("cc", c_flags, lib + sketch, tmp_path / "host")
    objs += compile_all("c++", [*cxx_flags, "-x", "c++", "-include", "Arduino.h"], [ino],
                        tmp_path / "host-ino")
    exe = tmp_path / "sketch"
    run(["c++", *objs, STANDINS / "arduino" / "arduino_main.cpp", f"-I{STANDINS / 'arduino'}",
         "-o", exe])
    assert run([exe]).stdout.startswith("PASS 3 vectors, 2 outputs")
    need("arm-none-eabi-gcc", "arm-none-eabi-g++")
    compile_all("arm-none-eabi-gcc", [*M4, "-O2", *c_flags], lib + sketch, tmp_path / "m4")
    compile_all("arm-none-eabi-g++", [*M4, "-O2", *cxx_flags, "-x", "c++", "-include",
                                      "Arduino.h"], [ino], tmp_path / "m4-ino")


# ---- platformio: library.json (srcFilter), platformio.ini (native env) --------------------------

def platformio_sources(lib_root: Path, build: dict) -> list[Path]:
    """Apply library.json's srcFilter the way PlatformIO does: in order, +<glob> adds and
    -<glob> removes files under srcDir."""
    src = lib_root / build.get("srcDir", "src")
    chosen: set[Path] = set()
    for rule in build.get("srcFilter", ["+<*>"]):
        m = re.fullmatch(r"([+-])<(.+)>", rule)
        assert m, rule
        hits = {p for p in src.glob(m.group(2)) if p.is_file()}
        chosen = chosen | hits if m.group(1) == "+" else chosen - hits
    return sorted(chosen)


def test_platformio_library_structure_compiles_and_runs(c_projects, tmp_path):
    need("cc")
    out, _ = c_projects["platformio"]
    manifest = json.loads((out / "library.json").read_text())
    assert manifest["name"] == NAME and manifest["frameworks"] == "*"
    lib = platformio_sources(out, manifest["build"])
    assert {p.name for p in lib} == {f"{NAME}_model.c"} | {
        p.name for p in (out / "src" / "mcuq").glob("*.c")}
    example = out / manifest["examples"][0]["base"]
    assert all((example / f).is_file() for f in manifest["examples"][0]["files"])
    ini = configparser.ConfigParser()
    ini.read(example / "platformio.ini")
    env = ini["env:native"]
    assert env["platform"] == "native"
    dep = env["lib_deps"].strip()
    assert dep.startswith("symlink://")
    assert (example / dep[len("symlink://"):] / "library.json").resolve() == \
        (out / "library.json").resolve()
    include = [f"-I{out / manifest['build']['includeDir']}"]
    flags = [*WERROR, *env["build_flags"].split(), *include]
    example_src = sorted((example / ini["platformio"]["src_dir"]).glob("*.c"))
    objs = compile_all("cc", flags, lib + example_src, tmp_path / "host")
    exe = tmp_path / "program"
    run(["cc", *objs, "-o", exe])
    assert run([exe]).stdout.startswith("PASS 3 vectors, 2 outputs")
    need("arm-none-eabi-gcc")
    compile_all("arm-none-eabi-gcc", [*M4, "-O2", *flags], lib + example_src, tmp_path / "m4")


# ---- esp-idf: idf_component.yml, CMakeLists.txt through a real cmake (stand-in functions) -------

def idf_dependencies(main_dir: Path) -> list[str]:
    manifest = yaml.safe_load((main_dir / "idf_component.yml").read_text())
    return [f"{name}={spec['override_path']}" for name, spec in manifest["dependencies"].items()
            if isinstance(spec, dict) and "override_path" in spec]


def test_esp_idf_component_structure_compiles_and_runs(c_projects, tmp_path):
    need("cmake", "cc")
    out, _ = c_projects["esp-idf"]
    component = yaml.safe_load((out / "idf_component.yml").read_text())
    assert re.fullmatch(r"\d+\.\d+\.\d+", component["version"])
    assert "idf" in component["dependencies"] and component["description"]
    cmake_text = (out / "CMakeLists.txt").read_text()
    assert "idf_component_register(" in cmake_text
    example = out / "examples" / "selftest"
    deps = idf_dependencies(example / "main")
    assert deps == [f"{NAME}=../../.."]
    assert (example / "main" / "../../..").resolve() == out.resolve()
    env = dict(os.environ, IDF_PATH=str(STANDINS / "esp-idf"))
    args = [f"-DMCUQ_IDF_DEPENDENCIES={';'.join(deps)}"]
    run(["cmake", "-S", example, "-B", tmp_path / "host", *args,
         f"-DCMAKE_C_FLAGS={' '.join(WERROR)}"], env=env)
    run(["cmake", "--build", tmp_path / "host", "-j2"], env=env)
    srcs = compiled_sources(tmp_path / "host")
    assert srcs >= {f"{NAME}_model.c", "app_main.c", "selftest.c", "conv.c"}
    assert run([tmp_path / "host" / f"{NAME}_selftest"]).stdout.startswith("PASS 3 vectors")
    need("arm-none-eabi-gcc")
    run(["cmake", "-S", example, "-B", tmp_path / "m4", *args, *cross_args()], env=env)
    run(["cmake", "--build", tmp_path / "m4", "-j2"], env=env)


def cross_args() -> list[str]:
    return ["-DCMAKE_SYSTEM_NAME=Generic", "-DCMAKE_C_COMPILER=arm-none-eabi-gcc",
            "-DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY",
            f"-DCMAKE_C_FLAGS={' '.join(M4 + WERROR)}"]


def compiled_sources(build: Path) -> set[str]:
    """Names of the C files cmake compiled (its object files are <file>.c.o)."""
    return {p.name[:-2] for p in build.rglob("*.c.o")}


# ---- zephyr: module.yml, Kconfig, CMakeLists.txt through a real cmake (stand-in package) -------

def test_zephyr_module_structure_compiles_and_runs(c_projects, tmp_path):
    need("cmake", "cc")
    out, _ = c_projects["zephyr"]
    module = yaml.safe_load((out / "zephyr" / "module.yml").read_text())
    assert module["name"] == NAME
    assert (out / module["build"]["cmake"] / "CMakeLists.txt").is_file()
    kconfig = (out / module["build"]["kconfig"]).read_text()
    symbol = re.search(r"^config (\w+)$", kconfig, re.M).group(1)
    assert re.search(r"^\s+bool ", kconfig, re.M)
    cmake_text = (out / "CMakeLists.txt").read_text()
    assert f"if(CONFIG_{symbol})" in cmake_text and "zephyr_library_sources(" in cmake_text
    sample = out / "samples" / "selftest"
    assert f"CONFIG_{symbol}=y" in (sample / "prj.conf").read_text().splitlines()
    meta = yaml.safe_load((sample / "sample.yaml").read_text())
    test = next(iter(meta["tests"].values()))
    assert test["harness"] == "console" and test["harness_config"]["regex"] == ["PASS .*"]
    env = dict(os.environ, ZEPHYR_BASE=str(STANDINS / "zephyr"))
    run(["cmake", "-S", sample, "-B", tmp_path / "host", f"-DCMAKE_C_FLAGS={' '.join(WERROR)}"],
        env=env)
    run(["cmake", "--build", tmp_path / "host", "-j2"], env=env)
    assert compiled_sources(tmp_path / "host") >= {f"{NAME}_model.c", "main.c", "selftest.c"}
    r = subprocess.run([tmp_path / "host" / "zephyr_final"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("PASS 3 vectors"), r.stdout + r.stderr
    # without the Kconfig symbol the module builds nothing
    conf = tmp_path / "off"
    shutil.copytree(sample, conf)
    (conf / "prj.conf").write_text("")
    (conf / "CMakeLists.txt").write_text((sample / "CMakeLists.txt").read_text().replace(
        "${CMAKE_CURRENT_SOURCE_DIR}/../..", str(out)))
    run(["cmake", "-S", conf, "-B", tmp_path / "off-build"], env=env)
    assert f"modules__{out.name}" not in (tmp_path / "off-build" / "Makefile").read_text()
    need("arm-none-eabi-gcc")
    run(["cmake", "-S", sample, "-B", tmp_path / "m4", *cross_args()], env=env)
    run(["cmake", "--build", tmp_path / "m4", "-j2"], env=env)


# ---- the TFLite Micro target's cmake layout, against the prebuilt TFLite Micro -------------------

def test_tflm_cmake_layout_self_test_on_host_and_qemu(zoo, tmp_path):
    tflm = tflm_prebuilt.locate()
    if tflm is None:
        pytest.skip(tflm_prebuilt.missing_reason())
    need("cmake", "g++")
    model = tmp_path / "mlp.tflite"
    model.write_bytes(zoo["mlp"])
    res = generate_project(model, tmp_path / "p", target="tflm", vectors=2, layout="cmake")
    assert "Makefile" not in res.files and "cmake/arm-none-eabi.cmake" in res.files
    log = cmake_selftest(tmp_path / "p", tmp_path / "host", f"-DTFLM_DIR={tflm.root}",
                         f"-DTFLM_LIB={tflm.lib('host')}")
    assert "PASS 2 vectors" in log
    need("arm-none-eabi-g++", "qemu-system-arm")
    log = cmake_selftest(tmp_path / "p", tmp_path / "m4",
                         "-DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake",
                         f"-DTFLM_DIR={tflm.root}", f"-DTFLM_LIB={tflm.lib('m4-cmsis_nn')}")
    assert "PASS 2 vectors" in log and "mps2-an386" in log
