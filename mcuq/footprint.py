"""What the standalone C build of a model costs on a Cortex-M4, measured from real builds.

`make footprint` in the generated project links two images with arm-none-eabi-gcc: the model
(startup + model.c + kernels + a main that calls invoke once on static buffers) and a
baseline (the same without the model). `arm-none-eabi-size -A` of both gives the model's own
share of flash (text incl. rodata, plus the .data load image) and RAM (data + bss: arena and
caller buffers); `-fstack-usage` gives the stack of invoke plus its deepest kernel (kernels are
leaf functions).
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import ToolchainError
from .model import load_model
from .runners.firmware import APT_LINE, make, missing_tools, project_dir


@dataclass
class Footprint:
    text: int  # whole model image (arm-none-eabi-size): code + rodata
    data: int
    bss: int
    baseline_text: int  # the same image without the model
    baseline_data: int
    baseline_bss: int
    stack_bytes: int  # invoke's frame + the deepest kernel frame
    arena_bytes: int
    elf: str  # path of the model image (instruction counting runs it)

    @property
    def flash_bytes(self) -> int:
        """The model's share of flash: code, constants and the .data load image."""
        return (self.text + self.data) - (self.baseline_text + self.baseline_data)

    @property
    def ram_bytes(self) -> int:
        """The model's static RAM: arena, caller buffers of this test image, .data."""
        return (self.data + self.bss) - (self.baseline_data + self.baseline_bss)

    @property
    def peak_ram_bytes(self) -> int:
        return self.ram_bytes + self.stack_bytes

    def as_dict(self) -> dict:
        return {"flash_bytes": self.flash_bytes, "ram_bytes": self.ram_bytes,
                "stack_bytes": self.stack_bytes, "peak_ram_bytes": self.peak_ram_bytes,
                "arena_bytes": self.arena_bytes,
                "image": {"text": self.text, "data": self.data, "bss": self.bss},
                "baseline": {"text": self.baseline_text, "data": self.baseline_data,
                             "bss": self.baseline_bss}}


def _sections(elf: Path) -> dict[str, int]:
    out = subprocess.run(["arm-none-eabi-size", "-A", str(elf)], capture_output=True,
                         text=True, check=True).stdout
    sizes = {}
    for line in out.splitlines():
        m = re.match(r"^(\.\S+)\s+(\d+)\s+\d+", line)
        if m:
            sizes[m.group(1)] = int(m.group(2))
    return sizes


def _text_data_bss(sections: dict[str, int]) -> tuple[int, int, int]:
    text = sections.get(".text", 0) + sections.get(".ARM.exidx", 0)
    return text, sections.get(".data", 0), sections.get(".bss", 0)


def _stack_usage(fp_dir: Path) -> int:
    """invoke's frame + the largest kernel frame, from the .su files of the footprint build."""
    invoke, kernels = 0, 0
    for su in fp_dir.rglob("*.su"):
        for line in su.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) < 2:
                continue
            func, size = parts[0].rsplit(":", 1)[-1], int(parts[1])
            if su.parent.name == "mcuq":
                kernels = max(kernels, size)
            elif func.endswith("_invoke_io"):
                invoke = max(invoke, size)
    return invoke + kernels


def cortex_m4_footprint(model) -> Footprint:
    m = load_model(model)
    missing = missing_tools("cortex-m4")
    if "arm-none-eabi-gcc" in missing:
        raise ToolchainError("cortex-m4: arm-none-eabi-gcc not found on PATH", APT_LINE)
    project = project_dir(m, "footprint")
    fp = project / "build" / "footprint"
    if not (fp / "model.elf").exists() or not (fp / "baseline.elf").exists():
        make(project, "footprint")
    t, d, b = _text_data_bss(_sections(fp / "model.elf"))
    bt, bd, bb = _text_data_bss(_sections(fp / "baseline.elf"))
    arena = 0
    header = (project / "model.h").read_text()
    m_arena = re.search(r"_ARENA_BYTES (\d+)", header)
    if m_arena:
        arena = int(m_arena.group(1))
    return Footprint(t, d, b, bt, bd, bb, _stack_usage(fp), arena, str(fp / "model.elf"))
