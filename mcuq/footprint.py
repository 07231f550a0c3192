"""What the standalone C build of a model costs on a Cortex-M4, measured from real builds.

`make footprint` in the generated project links two images with arm-none-eabi-gcc: the model
(startup + model.c + kernels + a main that calls invoke once on static buffers) and a
baseline (the same without the model). `arm-none-eabi-size -A` of both gives the model's own
share of flash (text incl. rodata, plus the .data load image) and RAM (data + bss: the arena with the
inputs and outputs in it, or with --external-io the arena and the image's I/O buffers).

Stack, measured two ways and cross-checked (tests/firmware/test_footprint.py):
- call graph: GCC's own call graph with every function's frame (-fcallgraph-info=su, the
  .ci files next to the .su files), walked for the deepest path from invoke; an indirect call
  counts as the deepest function of its file, and library callees without a graph (memcpy)
  are listed as unmeasured;
- painted: the emulated Cortex-M4 (mcuq.instructions.painted_stack, needs unicorn) fills the
  stack with a pattern, runs one inference and finds the deepest word overwritten.
`stack_bytes` is the larger of the two (the figure to reserve).
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .codegen.target_c import project_dir
from .errors import ToolchainError
from .model import Model, load_model
from .toolchain import APT_LINE, cache_lock, make, missing_tools


@dataclass
class Footprint:
    text: int  # whole model image (arm-none-eabi-size): code + rodata
    data: int
    bss: int
    baseline_text: int  # the same image without the model
    baseline_data: int
    baseline_bss: int
    stack_bytes: int  # the larger of the call graph and the painted measurement
    arena_bytes: int
    elf: str  # path of the model image (instruction counting runs it)
    stack_callgraph_bytes: int = 0  # deepest call-graph path from invoke
    stack_painted_bytes: int | None = None  # high-water mark on the emulated M4 (unicorn)
    stack_path: list[str] = field(default_factory=list)  # the deepest path, with frames
    stack_unmeasured: list[str] = field(default_factory=list)  # callees without a frame size

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
                "stack": {"callgraph_bytes": self.stack_callgraph_bytes,
                          "painted_bytes": self.stack_painted_bytes,
                          "deepest_path": self.stack_path, "unmeasured": self.stack_unmeasured},
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


_CI_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
_CI_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
_CI_SIZE = re.compile(r"\\n(\d+) bytes \(([a-z,]+)\)")


@dataclass
class CallGraphStack:
    bytes: int
    path: list[str]  # "function (N B)" from the entry down
    unmeasured: list[str]  # callees with no frame size (library functions: memcpy, ...)


#: A kernel function written in assembly (no GCC frame record) declares its stack in its C
#: source: "mcuq-asm-frame: <name> <bytes>" (a leaf: it calls nothing).
_ASM_FRAME = re.compile(r"mcuq-asm-frame: (\w+) (\d+)")


def callgraph_stack(build_dir: Path, entry: str,
                    sources: Path | None = None) -> CallGraphStack:
    """Deepest stack from `entry` over GCC's call graph (.ci files of -fcallgraph-info=su in
    build_dir), with the frames the kernel sources in `sources` declare for their assembly
    functions (_ASM_FRAME). A frame marked dynamic (alloca/VLA) is an error: the C target has
    none."""
    frames: dict[str, int] = {}
    edges: dict[str, set[str]] = {}
    files: dict[str, list[str]] = {}
    for src in sorted(sources.glob("*.c")) if sources is not None else []:
        for name, size in _ASM_FRAME.findall(src.read_text(errors="replace")):
            frames[name] = int(size)
    for ci in sorted(build_dir.rglob("*.ci")):
        text = ci.read_text(errors="replace")
        unit = ci.stem + ".c"
        for title, label in _CI_NODE.findall(text):
            m = _CI_SIZE.search(label)
            if m is None:
                continue  # a placeholder or an external declaration
            if m.group(2) != "static":
                raise RuntimeError(f"{ci}: {title} has a {m.group(2)} stack frame")
            frames[title] = int(m.group(1))
            files.setdefault(unit, []).append(title)
        for src, dst in _CI_EDGE.findall(text):
            if dst == "__indirect_call":
                dst = f"__indirect_call@{unit}@{src}"
            edges.setdefault(src, set()).add(dst)
    if entry not in frames:
        raise RuntimeError(f"{build_dir}: no call graph for {entry} (.ci files missing: "
                           "arm-none-eabi-gcc older than 10?)")
    unmeasured: set[str] = set()
    memo: dict[str, tuple[int, list[str]]] = {}

    def reaches(a: str, b: str) -> bool:
        seen, todo = set(), [a]
        while todo:
            f = todo.pop()
            if f == b:
                return True
            if f not in seen:
                seen.add(f)
                todo.extend(edges.get(f, ()))
        return False

    def deepest(fn: str, on_path: frozenset) -> tuple[int, list[str]]:
        if fn in memo:
            return memo[fn]
        if fn.startswith("__indirect_call@"):
            # any function of that file that does not lead back to the caller (or to any
            # function on the path: that would be recursion, which the kernels have none of)
            # could be the target (the kernels pass their static row functions by pointer;
            # packed.c's decoders are named by a pointer in the weights' descriptor)
            _, unit, caller = fn.split("@", 2)
            best = (0, [f"(indirect call in {unit})"])
            for cand in files.get(unit, []):
                if cand not in on_path and not any(reaches(cand, f)
                                                   for f in on_path | {caller}):
                    d, p = deepest(cand, on_path)
                    best = max(best, (d, p), key=lambda t: t[0])
            return best
        if fn not in frames:
            unmeasured.add(fn)
            return 0, [f"{fn} (unmeasured)"]
        if fn in on_path:
            raise RuntimeError(f"recursion through {fn}: the stack has no static bound")
        below = (0, [])
        for callee in sorted(edges.get(fn, ())):
            d, p = deepest(callee, on_path | {fn})
            if d > below[0] or not below[1]:
                below = (d, p)
        result = (frames[fn] + below[0], [f"{fn.split(':')[-1]} ({frames[fn]} B)"] + below[1])
        memo[fn] = result
        return result

    total, path = deepest(entry, frozenset())
    return CallGraphStack(total, path, sorted(unmeasured))


def invoke_symbol(header: str) -> str:
    """The model's entry point in a generated model.h: invoke_io with caller-owned I/O
    (--external-io), else invoke (I/O inside the arena)."""
    return "mcuq_model_invoke_io" if "mcuq_model_invoke_io(" in header else "mcuq_model_invoke"


def cortex_m4_footprint(model, painted: bool = True, rounding: str = "double",
                        external_io: bool = False, tile=None, inplace: bool = True,
                        pack="off") -> Footprint:
    """Flash, RAM and stack of the model's Cortex-M4 build (cached by content). painted=False
    skips the emulated painted-stack run (the instruction counter only needs the image).
    rounding: the C target's requantization ("double" or "single"); external_io / tile /
    inplace / pack: the generate options of the build (mcuq.codegen.target_c; pack: weights
    as k-bit indices + tables)."""
    m = load_model(model)
    missing = missing_tools("cortex-m4")
    if "arm-none-eabi-gcc" in missing:
        raise ToolchainError("cortex-m4: arm-none-eabi-gcc not found on PATH", APT_LINE)
    project = project_dir(m, "footprint", rounding=rounding, external_io=external_io,
                          tile=tile, inplace=inplace, pack=pack)
    fp = project / "build" / "footprint"
    with cache_lock(project.parent, "footprint"):  # another process may be building it
        if not (fp / "model.elf").exists() or not (fp / "baseline.elf").exists():
            make(project, "footprint")
    t, d, b = _text_data_bss(_sections(fp / "model.elf"))
    bt, bd, bb = _text_data_bss(_sections(fp / "baseline.elf"))
    arena = 0
    header = (project / "model.h").read_text()
    m_arena = re.search(r"_ARENA_BYTES (\d+)", header)
    if m_arena:
        arena = int(m_arena.group(1))
    graph = callgraph_stack(fp, invoke_symbol(header), project / "mcuq")
    footprint = Footprint(t, d, b, bt, bd, bb, graph.bytes, arena, str(fp / "model.elf"),
                          stack_callgraph_bytes=graph.bytes, stack_path=graph.path,
                          stack_unmeasured=graph.unmeasured)
    if painted:
        try:
            from .instructions import painted_stack
            footprint.stack_painted_bytes = painted_stack(
                m, rounding=rounding, external_io=external_io, tile=tile, inplace=inplace,
                pack=pack)[0]
        except ToolchainError:  # unicorn not installed: the call graph alone
            pass
        else:
            footprint.stack_bytes = max(graph.bytes, footprint.stack_painted_bytes)
    return footprint


def cortex_m4_figures(model: Model, rounding: str = "double", pack="off",
                      external_io: bool = False, tile=None, inplace: bool = True) -> dict:
    """Flash, RAM and stack of the Cortex-M4 build (a cached build with arm-none-eabi-gcc), or
    a note saying how to get them when the cross toolchain is missing. A build that fails with
    the toolchain present is a bug in the C target: its McuqError propagates (generate fails
    with the compiler's message; nothing is written). The generate verb (mcuq.generation)
    hands this to the C target, which calls it before writing the project; rounding: the
    C target's requantization ("double" or "single"); pack: the C target's --pack;
    external_io / tile / inplace: the generate options of the build."""
    if "arm-none-eabi-gcc" in missing_tools("cortex-m4"):
        return {"cortex_m4_note": f"flash/RAM need arm-none-eabi-gcc: {APT_LINE}"}
    return {"cortex_m4": cortex_m4_footprint(model, rounding=rounding, external_io=external_io,
                                             tile=tile, inplace=inplace, pack=pack).as_dict()}
