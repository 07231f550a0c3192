"""Where each `mcuq generate --layout` puts a project's files, and the file lists and flags its
build files declare. Everything a build file lists is computed here; templates only loop.

    make        the Makefile project (default; TFLite Micro projects also carry a CMakeLists.txt)
    cmake       a CMake library target + an arm-none-eabi toolchain file (QEMU self-test)
    arduino     an Arduino library: library.properties, src/, an example sketch (Serial)
    platformio  a PlatformIO library: library.json, src/, an example platformio.ini (native)
    esp-idf     an ESP-IDF component: CMakeLists.txt (idf_component_register), idf_component.yml
    zephyr      a Zephyr module: zephyr/module.yml, CMakeLists.txt, Kconfig, a sample

The standalone C target has every layout; the TensorFlow Lite Micro target has make and cmake
(the other tools ship their own TFLite Micro ports, which this project cannot build or test).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InputError

LAYOUTS = ("make", "cmake", "arduino", "platformio", "esp-idf", "zephyr")
TARGET_LAYOUTS = {"c": LAYOUTS, "tflm": ("make", "cmake")}

#: Version written into library.properties / library.json / idf_component.yml.
LIBRARY_VERSION = "1.0.0"

#: Warnings every C build file declares; the self-test builds add -Werror.
C_WARNINGS = ("-Wall", "-Wextra")
#: Message buffer the self-test entry points pass to mcuq_<name>_self_test().
SELFTEST_MESSAGE_BYTES = 160

PLATFORM_FILES = ("mps2-an386/startup.c", "mps2-an386/mps2-an386.ld")


@dataclass(frozen=True)
class Cpu:
    """A Cortex-M core: arm-none-eabi-gcc flags and TFLite Micro's TARGET_ARCH for it."""
    name: str
    flags: str
    tflm_arch: str


#: The cores the generated Makefiles and the CMake toolchain file can build for. The flags
#: select the hard-float multilib newlib ships for each (thumb/v7e-m+fp, v7e-m+dp,
#: v8-m.main+fp, v8-m.main+dp) and match TFLite Micro's cortex_m_generic TARGET_ARCH.
ARM_CPUS = (
    Cpu("cortex-m4", "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16",
        "cortex-m4+fp"),
    Cpu("cortex-m7", "-mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16", "cortex-m7+fp"),
    Cpu("cortex-m33", "-mcpu=cortex-m33 -mthumb -mfloat-abi=hard -mfpu=fpv5-sp-d16",
        "cortex-m33"),
    Cpu("cortex-m55", "-mcpu=cortex-m55 -mthumb -mfloat-abi=hard -mfpu=auto", "cortex-m55"),
)
QEMU_CPU = "cortex-m4"  # mps2-an386


def cpu(name: str) -> Cpu:
    for c in ARM_CPUS:
        if c.name == name:
            return c
    raise InputError(f"unknown Cortex-M core '{name}'",
                     f"choose one of {', '.join(c.name for c in ARM_CPUS)}")


@dataclass(frozen=True)
class FileSpec:
    """One project file: rendered from `template`, copied from firmware/`firmware`, or written
    from `text` (made in Python, e.g. JSON)."""
    dest: str
    template: str | None = None
    firmware: str | None = None
    text: str | None = None


@dataclass
class Plan:
    """What a layout writes, and the data its templates get."""
    target: str
    layout: str
    files: list[FileSpec] = field(default_factory=list)
    data: dict = field(default_factory=dict)

    def render(self, template: str, dest: str) -> None:
        self.files.append(FileSpec(dest, template=template))

    def copy(self, firmware: str, dest: str) -> None:
        self.files.append(FileSpec(dest, firmware=firmware))

    def text(self, dest: str, text: str) -> None:
        self.files.append(FileSpec(dest, text=text))


def check_layout(target: str, layout: str) -> None:
    if layout not in LAYOUTS:
        raise InputError(f"unknown layout '{layout}'", f"use --layout {'|'.join(LAYOUTS)}")
    if layout not in TARGET_LAYOUTS[target]:
        raise InputError(
            f"--layout {layout} is not available for --target {target}",
            f"use --target c (no interpreter) for {layout}, or --layout "
            f"{'|'.join(TARGET_LAYOUTS[target])} for TensorFlow Lite Micro")


def _common_data(layout: str) -> dict:
    from ..toolchain import APT_PACKAGES

    return {"layout": layout, "cpus": [c.__dict__ for c in ARM_CPUS], "qemu_cpu": QEMU_CPU,
            "lib_version": LIBRARY_VERSION, "warnings": list(C_WARNINGS),
            "apt_packages": " ".join(APT_PACKAGES), "message_bytes": SELFTEST_MESSAGE_BYTES}


# ---- the standalone C target -------------------------------------------------------------------

#: Generated next to the kernels (mcuq/): their compile-time settings (the rounding).
CONFIG_HEADER = "mcuq_config.h"


def plan_c(layout: str, name: str, kernel_files: list[str],
           kernel_texts: dict[str, str] | None = None) -> Plan:
    """The C target's files for `layout`. kernel_files: firmware/kernels files (.c and .h);
    kernel_texts: the project's own text of some of them (the stack buffer sizes header)."""
    check_layout("c", layout)
    plan = Plan("c", layout, data=_common_data(layout))
    lib = "src/" if layout in ("arduino", "platformio") else ""
    # The make layout keeps its historical names; libraries are named after the model so that
    # two models' headers never collide on an include path.
    stem = "model" if layout == "make" else f"{name}_model"
    header, source = f"{stem}.h", f"{stem}.c"
    example = {"make": "", "cmake": "", "arduino": f"examples/{name}_selftest/",
               "platformio": "examples/selftest/src/", "esp-idf": "examples/selftest/main/",
               "zephyr": "samples/selftest/src/"}[layout]
    kernel_c = [f for f in kernel_files if f.endswith(".c")]
    lib_sources = [f"{lib}{source}"] + [f"{lib}mcuq/{f}" for f in kernel_c]
    plan.data.update({
        "header": header, "model_source": f"{lib}{source}", "lib_dir": lib,
        "lib_sources": lib_sources, "example_dir": example,
        "kernel_files": [f"{lib}mcuq/{f}" for f in [*kernel_files, CONFIG_HEADER]],
    })
    plan.render("c/model.h.j2", f"{lib}{header}")
    plan.render("c/model.c.j2", f"{lib}{source}")
    for f in kernel_files:
        if kernel_texts and f in kernel_texts:
            plan.text(f"{lib}mcuq/{f}", kernel_texts[f])
        else:
            plan.copy(f"kernels/{f}", f"{lib}mcuq/{f}")
    plan.render("c/mcuq_config.h.j2", f"{lib}mcuq/{CONFIG_HEADER}")  # the kernels' rounding
    plan.render("c/selftest.h.j2", f"{example}selftest.h")
    plan.render("c/selftest.c.j2", f"{example}selftest.c")
    plan.render("c/test_vectors.h.j2", f"{example}test_vectors.h")
    _C_LAYOUTS[layout](plan, name, example)
    return plan


def _c_make(plan: Plan, name: str, example: str) -> None:
    plan.render("c/main.c.j2", "main.c")
    plan.render("c/Makefile.j2", "Makefile")
    plan.render("c/footprint.c.j2", "footprint.c")
    plan.render("c/README.md.j2", "README.md")
    for f in PLATFORM_FILES:
        plan.copy(f, f"platform/{f}")


def _c_cmake(plan: Plan, name: str, example: str) -> None:
    plan.data["selftest_sources"] = ["main.c", "selftest.c"]
    plan.render("c/main.c.j2", "main.c")
    plan.render("cmake/c/CMakeLists.txt.j2", "CMakeLists.txt")
    plan.render("cmake/arm-none-eabi.cmake.j2", "cmake/arm-none-eabi.cmake")
    plan.render("cmake/c/README.md.j2", "README.md")
    for f in PLATFORM_FILES:
        plan.copy(f, f"platform/{f}")


def _c_arduino(plan: Plan, name: str, example: str) -> None:
    sketch = f"{name}_selftest"
    plan.data.update({"sketch": sketch, "sketch_sources": [f"{sketch}.ino", "selftest.c"]})
    plan.render("arduino/library.properties.j2", "library.properties")
    plan.render("arduino/selftest.ino.j2", f"{example}{sketch}.ino")
    plan.render("arduino/README.md.j2", "README.md")


def _c_platformio(plan: Plan, name: str, example: str) -> None:
    import json

    src = [s[len("src/"):] for s in plan.data["lib_sources"]]
    plan.data.update({"src_filter": src, "example_sources": ["main.c", "selftest.c"]})
    manifest = {
        "name": name, "version": LIBRARY_VERSION,
        "description": f"The '{name}' int8 model as C99 code generated by mcuq "
                       "(mcuq's kernels, no interpreter, no heap)",
        "keywords": ["tinyml", "int8", "neural-network", "mcuq"],
        "frameworks": "*", "platforms": "*",
        "build": {"srcDir": "src", "includeDir": "src",
                  "srcFilter": ["-<*>"] + [f"+<{s}>" for s in src]},
        "examples": [{"name": "selftest", "base": "examples/selftest",
                      "files": ["platformio.ini", "src/main.c", "src/selftest.c",
                                "src/selftest.h", "src/test_vectors.h"]}],
    }
    plan.text("library.json", json.dumps(manifest, indent=2) + "\n")
    plan.render("c/main.c.j2", f"{example}main.c")
    plan.render("platformio/platformio.ini.j2", "examples/selftest/platformio.ini")
    plan.render("platformio/README.md.j2", "README.md")


def _c_esp_idf(plan: Plan, name: str, example: str) -> None:
    plan.data["example_sources"] = ["app_main.c", "selftest.c"]
    plan.render("esp-idf/CMakeLists.txt.j2", "CMakeLists.txt")
    plan.render("esp-idf/idf_component.yml.j2", "idf_component.yml")
    plan.render("esp-idf/project_CMakeLists.txt.j2", "examples/selftest/CMakeLists.txt")
    plan.render("esp-idf/main_CMakeLists.txt.j2", f"{example}CMakeLists.txt")
    plan.render("esp-idf/main_idf_component.yml.j2", f"{example}idf_component.yml")
    plan.render("esp-idf/app_main.c.j2", f"{example}app_main.c")
    plan.render("esp-idf/README.md.j2", "README.md")


def _c_zephyr(plan: Plan, name: str, example: str) -> None:
    plan.data.update({"example_sources": ["src/main.c", "src/selftest.c"],
                      "kconfig_symbol": f"MCUQ_{name.upper()}"})
    plan.render("zephyr/module.yml.j2", "zephyr/module.yml")
    plan.render("zephyr/CMakeLists.txt.j2", "CMakeLists.txt")
    plan.render("zephyr/Kconfig.j2", "Kconfig")
    plan.render("zephyr/sample_CMakeLists.txt.j2", "samples/selftest/CMakeLists.txt")
    plan.render("zephyr/prj.conf.j2", "samples/selftest/prj.conf")
    plan.render("zephyr/sample.yaml.j2", "samples/selftest/sample.yaml")
    plan.render("zephyr/main.c.j2", f"{example}main.c")
    plan.render("zephyr/README.md.j2", "README.md")


_C_LAYOUTS = {"make": _c_make, "cmake": _c_cmake, "arduino": _c_arduino,
              "platformio": _c_platformio, "esp-idf": _c_esp_idf, "zephyr": _c_zephyr}


# ---- the TensorFlow Lite Micro target ---------------------------------------------------------

#: TFLite Micro's compile flags for the project's own C++ files (TFLite Micro's own set).
TFLM_CXX_FLAGS = ("-std=c++17", "-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics",
                  "-Wall", "-Wextra", "-Wno-unused-parameter", "-DTF_LITE_STATIC_MEMORY")


def plan_tflm(layout: str, name: str) -> Plan:
    check_layout("tflm", layout)
    plan = Plan("tflm", layout, data=_common_data(layout))
    plan.data.update({
        "sources": ["main.cc", "model_data.cc"], "cxx_flags": list(TFLM_CXX_FLAGS),
        # CMake sets the standard and the define itself
        "cxx_options": [f for f in TFLM_CXX_FLAGS if not f.startswith(("-std=", "-D"))]})
    for rel in ("model_data.h", "model_data.cc", "model_settings.h", "test_vectors.h",
                "main.cc"):
        plan.render(f"tflm/{rel}.j2", rel)
    if layout == "make":
        plan.render("tflm/Makefile.j2", "Makefile")
    plan.render("tflm/CMakeLists.txt.j2", "CMakeLists.txt")
    plan.render("cmake/arm-none-eabi.cmake.j2", "cmake/arm-none-eabi.cmake")
    plan.render("tflm/README.md.j2", "README.md")
    for f in PLATFORM_FILES:
        plan.copy(f, f"platform/{f}")
    return plan
