"""The wheel carries everything `generate` needs (templates, firmware kernels, C emitters), and
the installed copy generates a project with no source checkout on the path."""
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mcuq.testing.builder import ModelBuilder

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "mcuq", "templates", "firmware")
MIN_SETUPTOOLS = (77,)  # pyproject.toml's build requirement (PEP 639 license string)


def setuptools_version() -> tuple:
    try:
        import setuptools
    except ImportError:
        return ()
    return tuple(int(p) for p in setuptools.__version__.split(".")[:2] if p.isdigit())


def small_model() -> bytes:
    rng = np.random.default_rng(0)
    b = ModelBuilder()
    x = b.input("x", (1, 12), scale=0.05, zero_point=-3)
    w = b.const("w", rng.integers(-127, 128, (6, 12), dtype=np.int8), scale=0.02)
    bias = b.const("b", rng.integers(-100, 100, (6,), dtype=np.int32), scale=0.05 * 0.02)
    y = b.tensor("y", (1, 6), scale=0.1, zero_point=5)
    b.op("FULLY_CONNECTED", [x, w, bias], [y])
    b.output(y)
    return b.build()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """Build the wheel from a copy of the sources (the checkout gets no build/ or egg-info)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in SOURCES:
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=ignore)
        elif p.exists():
            shutil.copy(p, src / name)
        else:
            (src / name).write_text("")  # README.md may not exist yet; metadata needs it
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"),
           str(src)]
    if setuptools_version() >= MIN_SETUPTOOLS:
        cmd.insert(4, "--no-build-isolation")  # the venv's own setuptools, no download
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"wheel build failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    wheels = list((tmp / "dist").glob("mcuq-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_wheel_holds_templates_firmware_and_emitters(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())

    def expect(src_dir: Path, pkg_prefix: str, pattern: str = "*"):
        files = [p for p in src_dir.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts]
        assert files, f"nothing under {src_dir}"
        want = {pkg_prefix + p.relative_to(src_dir).as_posix() for p in files}
        missing = sorted(want - names)
        assert not missing, f"not in the wheel: {missing}"
        return want

    tflm = expect(ROOT / "templates" / "tflm", "mcuq/templates/tflm/")
    assert {f"mcuq/templates/tflm/{f}.j2" for f in (
        "model_data.h", "model_data.cc", "model_settings.h", "main.cc", "test_vectors.h",
        "Makefile", "CMakeLists.txt", "README.md")} <= tflm
    expect(ROOT / "templates" / "c", "mcuq/templates/c/")
    expect(ROOT / "templates" / "common", "mcuq/templates/common/")
    kernels = expect(ROOT / "firmware" / "kernels", "mcuq/firmware/kernels/")
    assert "mcuq/firmware/kernels/fully_connected.c" in kernels
    expect(ROOT / "firmware" / "mps2-an386", "mcuq/firmware/mps2-an386/")
    emitters = expect(ROOT / "mcuq" / "codegen" / "c_ops", "mcuq/codegen/c_ops/", "*.py")
    assert "mcuq/codegen/c_ops/fully_connected.py" in emitters
    for module in ("mcuq/tflm_arena.py", "mcuq/codegen/target_tflm.py",
                   "mcuq/codegen/tflm_ops.py", "mcuq/report/generate.py", "mcuq/cli.py"):
        assert module in names
    assert not any(n.startswith(("tests/", "mcuq/tests/")) for n in names)


def test_installed_wheel_generates_tflm_project(wheel, tmp_path):
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                        "--target", str(target), str(wheel)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    env = dict(os.environ, PYTHONPATH=str(target))
    work = tmp_path / "work"  # not the checkout: only the installed copy is importable
    work.mkdir()
    where = subprocess.run([sys.executable, "-c", "import mcuq; print(mcuq.__file__)"],
                           cwd=work, env=env, capture_output=True, text=True, timeout=60)
    assert Path(where.stdout.strip()).is_relative_to(target), where.stdout + where.stderr

    model = work / "tiny.tflite"
    model.write_bytes(small_model())
    r = subprocess.run([sys.executable, "-m", "mcuq.cli", "generate", str(model), "-o",
                        str(work / "proj"), "--target", "tflm", "--vectors", "2"],
                       cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "generated tflm project 'tiny'" in r.stdout
    files = sorted(p.relative_to(work / "proj").as_posix()
                   for p in (work / "proj").rglob("*") if p.is_file())
    assert files == sorted(["CMakeLists.txt", "Makefile", "README.md", "main.cc",
                            "model_data.cc", "model_data.h", "model_settings.h",
                            "test_vectors.h", "cmake/arm-none-eabi.cmake",
                            "platform/mps2-an386/startup.c",
                            "platform/mps2-an386/mps2-an386.ld"])
    main_cc = (work / "proj" / "main.cc").read_text()
    assert "resolver.AddFullyConnected()" in main_cc and "kNumOpTypes = 1;" in main_cc
    assert "g_tiny_model_data_len = %d;" % model.stat().st_size in \
        (work / "proj" / "model_data.cc").read_text()

    # the standalone C target from the installed copy: kernels come from the wheel's firmware/
    r = subprocess.run([sys.executable, "-m", "mcuq.cli", "generate", str(model), "-o",
                        str(work / "cproj"), "--target", "c"],
                       cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (work / "cproj" / "mcuq" / "fully_connected.c").is_file()
