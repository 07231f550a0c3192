"""The standalone C99 target: model.c/model.h from the reference's prepared ops, mcuq's
kernels copied from firmware/, test vectors, a self-test and the build files of the chosen
layout (mcuq.codegen.layouts: make, cmake, arduino, platformio, esp-idf, zephyr)."""
from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path
from typing import Callable

import numpy as np

from .. import __version__
from ..errors import InputError
from ..model import Model
from ..text import safe_text
from ..toolchain import cache_lock, cache_root, make, sources_digest
from ..reference import Interpreter
from ..reference.profiles import profile_for_rounding
from ..vectors import random_inputs
from .carray import C_TYPES, format_values
from .cmodel import CModel, build_cmodel
from .layouts import PLATFORM_FILES, plan_c
from .render import ProjectWriter, firmware_dir, write_plan
from .targets import GenerateResult

#: The C target's requantization roundings (generate --rounding), each reproducing a reference
#: profile (mcuq.reference.profiles.PROFILE_FOR_ROUNDING).
ROUNDINGS = ("double", "single")

#: Firmware files every standalone project needs besides the kernels it calls.
COMMON_KERNEL_FILES = ("mcuq_fixedpoint.h",)
__all__ = ["PLATFORM_FILES", "generate_c", "kernel_files", "render_c_model",
           "template_data"]


def kernel_files(sources: list[str]) -> list[str]:
    """Firmware kernel files (relative to firmware/kernels) for the emitted kernel names."""
    root = firmware_dir() / "kernels"
    files = list(COMMON_KERNEL_FILES)
    for s in sources:
        for ext in (".h", ".c"):
            if (root / f"{s}{ext}").exists():
                files.append(f"{s}{ext}")
    # kernels may include shared helpers (mcuq_*.h); ship them all, they are small.
    files += sorted(p.name for p in root.glob("mcuq_*.h") if p.name not in files)
    return files


def buffers_header(needs: dict[str, int]) -> str:
    """firmware/kernels/mcuq_buffers.h with each buffer sized to what this model's ops need
    (at least 4; never above the header's own value, the largest any op gets)."""
    from .climits import header_defines

    text = (firmware_dir() / "kernels" / "mcuq_buffers.h").read_text()
    for macro, largest in header_defines("mcuq_buffers.h").items():
        size = needs.get(macro, 0)
        if size > largest:
            raise ValueError(f"{macro}: an op needs {size}, the kernels allow {largest}")
        text = re.sub(rf"(#define {macro}) \d+", rf"\g<1> {max(size, 4)}", text)
    return text


def vector_data(model: Model, cm: CModel, interpreter: Interpreter, count: int, inputs=None):
    """Template data for test_vectors.h: inputs and the reference's outputs."""
    if inputs is None:
        inputs = random_inputs(model, count, seed=0) if count else []
    if not count or not len(inputs):
        return []
    inputs = interpreter.normalize_inputs(inputs)
    interpreter.reset()  # a stateful model's vectors are one sequence from the start
    outputs = interpreter.run(inputs).outputs
    vectors = []
    for v in range(inputs[0].shape[0]):
        arrays, in_names, out_names = [], [], []
        for k, x in enumerate(inputs):
            n = f"s_vec{v}_in{k}"
            arrays.append({"name": n, "ctype": C_TYPES[x.dtype], "count": int(x[v].size),
                           "body": format_values(x[v])})
            in_names.append(n)
        for k, y in enumerate(outputs):
            n = f"s_vec{v}_out{k}"
            arrays.append({"name": n, "ctype": C_TYPES[y.dtype], "count": int(y[v].size),
                           "body": format_values(y[v])})
            out_names.append(n)
        vectors.append({"arrays": arrays, "inputs": in_names, "outputs": out_names})
    return vectors


def ram_figures(cm: CModel) -> dict:
    """What the model needs in RAM besides the stack, as the generated project states it:
    the arena (activations, and the inputs/outputs unless the caller owns them), its largest
    live set (no plan of these tensors is smaller), the in-place ops and their temporaries, and
    the packed kernels' decode scratch (a static array beside the arena, --pack)."""
    plan = cm.plan
    io = sum(t["bytes"] for t in cm.inputs + cm.outputs)
    return {
        "arena_bytes": cm.arena_size,
        "io_in_arena": not cm.external_io,
        "external_io_bytes": io if cm.external_io else 0,
        "lower_bound_bytes": plan.lower_bound if plan else cm.arena_size,
        "scratch_bytes": plan.scratch_bytes if plan else 0,
        "state_bytes": 0,  # persistent state (none yet: stateful models come with issue 10)
        "inplace_ops": len(plan.inplace) if plan else 0,
        "inplace": {str(i): c.method for i, c in sorted(plan.inplace.items())} if plan else {},
        "decode_scratch_bytes": cm.scratch_bytes,
        "total_bytes": cm.arena_size + (io if cm.external_io else 0) + cm.scratch_bytes,
    }


def _ram_note(cm: CModel, ram: dict) -> str:
    what = "activations" + ("" if cm.external_io else ", inputs and outputs")
    n = ram["inplace_ops"]
    note = (f"{what}; {n} op{'s' if n != 1 else ''} in place, temporaries up to "
            f"{ram['scratch_bytes']} B; largest live set {ram['lower_bound_bytes']} B")
    if ram["decode_scratch_bytes"]:
        note += f"; plus {ram['decode_scratch_bytes']} B packed-weight decode scratch"
    return note


def _api_usage(cm: CModel) -> str:
    n = cm.name
    if cm.external_io:
        return f"call `mcuq_{n}_invoke_io(inputs, outputs)` with your own input and output buffers"
    return (f"write each input at `mcuq_{n}_input(i)`, call `mcuq_{n}_invoke()`, read "
            f"`mcuq_{n}_output(i)` (pointers into the model's arena)")


def template_data(model: Model, cm: CModel, vectors: list, rounding: str = "double") -> dict:
    def io(items):
        offsets = np.cumsum([0] + [t["bytes"] for t in items])
        return [dict(t, scale_c=f"{float(np.float32(t['scale']))!r}f", offset=int(o))
                for t, o in zip(items, offsets)]
    const_bytes = sum(a.count * _ctype_size(a.ctype) for a in cm.arrays)
    ram = ram_figures(cm)
    return {
        "version": __version__, "source": safe_text(Path(model.source).name),
        "name": cm.name, "NAME": cm.name.upper(), "header": "model.h",
        "kernels": [s for s in cm.sources], "arrays": cm.arrays, "structs": cm.structs,
        "tables": cm.tables, "calls": cm.calls, "copies": cm.copies,
        "arena_size": cm.arena_size,
        # the declared array: at least one byte when the I/O lives in it
        "arena_decl": cm.arena_size if cm.external_io else max(cm.arena_size, 1),
        "external_io": cm.external_io, "ram": ram, "ram_note": _ram_note(cm, ram),
        "api_usage": _api_usage(cm),
        "variables": cm.variables, "subgraphs": cm.subgraphs, "reset_calls": cm.reset_calls,
        "stateful": cm.stateful, "state_bytes": cm.state_bytes,
        "scratch_bytes": cm.scratch_bytes, "scratch_words": -(-cm.scratch_bytes // 4),
        "inputs": io(cm.inputs), "outputs": io(cm.outputs),
        "single_io": len(cm.inputs) == 1 and len(cm.outputs) == 1,
        "vectors": vectors, "const_bytes": const_bytes,
        "io_bytes": sum(t["bytes"] for t in cm.inputs + cm.outputs),
        "op_summary": ", ".join(f"{n} {op}" for op, n in
                                Counter(c.op for c in cm.calls).most_common()),
        "rounding": rounding, "single_rounding": rounding == "single",
    }


def _ctype_size(ctype: str) -> int:
    return {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "int32_t": 4, "uint32_t": 4, "int64_t": 8,
            "float": 4}[ctype]


def render_c_model(writer: ProjectWriter, data: dict, prefix: str = "") -> None:
    """model.h and model.c (also used by tests that link many models into one binary)."""
    writer.render("c/model.h.j2", f"{prefix}model.h", data)
    writer.render("c/model.c.j2", f"{prefix}model.c", data)


def check_tile_pack(tile, pack) -> None:
    """--tile with packed weights is refused: the tiled graph's ops are new operators whose
    weights the packing plan does not know (pack: parsed, mcuq.packing.parse_pack)."""
    if tile is not None and pack != "off":
        raise InputError(f"--tile {tile_key(tile)} cannot be combined with --pack {pack}: "
                         "tiled ops have no packed-weight kernels",
                         "drop --tile (or use --pack off) for this model")


def c_model(model: Model, name: str, interpreter: Interpreter, external_io: bool = False,
            tile=None, inplace: bool = True, packing: dict | None = None
            ) -> tuple[CModel, dict]:
    """The CModel of `model`, tiled when `tile` is given (mcuq.tiling: a TileSpec, "auto" or
    "N:RxC"); returns it with the tiling's figures ({} untiled). packing: the weights stored
    packed (mcuq.packing.plan_packing; untiled only)."""
    if tile is None:
        return build_cmodel(model, name, interpreter, external_io=external_io,
                            inplace=inplace, packing=packing), {}
    if packing:
        check_tile_pack(tile, "auto")
    from ..tiling import tile_model

    tiled = tile_model(model, tile, interpreter, external_io=external_io)
    cm = build_cmodel(tiled.model, name, tiled, external_io=external_io, inplace=inplace)
    return cm, tiled.figures()


def generate_c(model: Model, out_dir, name: str, vectors: int = 4, force: bool = False,
               inputs=None, figures: Callable[..., dict] | None = None,
               layout: str = "make", rounding: str = "double", external_io: bool = False,
               tile=None, inplace: bool = True, pack="off") -> GenerateResult:
    """Render the project into out_dir in `layout` (mcuq.codegen.layouts). figures: measures
    the Cortex-M4 build first (mcuq.footprint.cortex_m4_figures(model, rounding, pack) with the
    same external_io / tile / inplace options, passed in by the generate verb so that codegen
    never imports the build that uses it); a failed build is an error and leaves out_dir
    untouched. rounding: "double" (TFLite Micro's default) or "single" (TFLITE_SINGLE_ROUNDING):
    the kernels are built with MCUQ_SINGLE_ROUNDING 1 (the generated mcuq/mcuq_config.h) and
    the parameters and test vectors come from the reference's single-rounding profile.
    external_io: the caller owns the input/output buffers (invoke_io) instead of finding them
    in the arena; tile: patch-based execution of the first layers (mcuq.tiling);
    inplace=False: no op in place (a larger arena, no row copies). pack: "auto", "off" or
    index bits (mcuq.packing): weights stored as k-bit indices + tables, decoded by the packed
    kernels (firmware/kernels/packed.c), never in place; not with `tile`. A TFLite
    Micro-compressed .tflite is read as the plain model it stands for."""
    from ..packing import parse_pack, plan_packing
    from ..tflm_compression import decompress_tflm

    writer = ProjectWriter(out_dir, force)  # an unusable OUT_DIR fails before any work
    model = decompress_tflm(model)
    interpreter = Interpreter(model, profile_for_rounding(rounding))
    pack = parse_pack(pack)
    check_tile_pack(tile, pack)
    packing = plan_packing(model, pack) if pack != "off" else {}
    cm, tiling = c_model(model, name, interpreter, external_io, tile, inplace, packing)
    plan = plan_c(layout, name, kernel_files(cm.sources),
                  {"mcuq_buffers.h": buffers_header(cm.buffers)})
    data = template_data(model, cm, vector_data(model, cm, interpreter, vectors, inputs),
                         rounding)
    data.update(plan.data)
    m4 = figures(model, rounding, pack) if figures else {}
    write_plan(plan, writer, data)
    details = {"io_bytes": data["io_bytes"], "ops": len(cm.calls), "kernels": cm.sources,
               "kernel_paths": {c.index: list(c.paths) for c in cm.calls if c.paths},
               "layout": layout, "rounding": rounding, "profile": interpreter.profile.name,
               "ram": data["ram"], "resource_variables": len(cm.variables),
               "state_bytes": cm.state_bytes, "windowed": model.windowed}
    if tiling:
        details["tiling"] = tiling
    if pack != "off" and not packing:
        details["pack_note"] = (f"--pack {pack}: no weight tensor " + (
            "gets smaller as indices + tables with k <= 6" if pack == "auto" else
            f"has at most {1 << pack} distinct values per channel") + "; all stored plain")
    if packing:
        details["packing"] = packing_summary(model, packing, cm)
        if figures and "cortex_m4" in m4:
            details["cortex_m4_plain"] = figures(model, rounding, "off").get("cortex_m4")
    details.update(m4)
    if "cortex_m4" in details:
        fp = details["cortex_m4"]
        details["ram"]["stack_bytes"] = fp["stack_bytes"]
        # the image's static RAM (arena, any kernel statics, in --external-io builds the
        # test image's I/O buffers) + the stack measured on the Cortex-M4
        details["ram"]["total_bytes"] = fp["peak_ram_bytes"]
    return GenerateResult(target="c", name=name, out_dir=writer.dest,
                          files=sorted(f.dest for f in plan.files),
                          arena_bytes=cm.arena_size, flash_bytes=data["const_bytes"],
                          details=details)


def project_dir(model: Model, variant: str, cache_dir: Path | None = None,
                rounding: str = "double", external_io: bool = False, tile=None,
                inplace: bool = True, pack="off") -> Path:
    """The generated standalone project for `model` (name "model") in the build cache, keyed
    by content: model bytes, mcuq version, every firmware/ and templates/ file, `variant`,
    the requantization `rounding` it is generated and built with, the generate options
    (external_io, tile, inplace) and `pack` (mcuq.packing: weights as k-bit indices + tables)."""
    from ..packing import parse_pack

    pack = parse_pack(pack)
    options = f"rounding={rounding}|external_io={bool(external_io)}|tile={tile_key(tile)}" + \
        ("" if inplace else "|no-inplace") + ("" if pack == "off" else f"|pack={pack}")
    h = hashlib.sha256()
    for part in (model.data, __version__.encode(), sources_digest().encode(), variant.encode(),
                 options.encode()):
        h.update(part)
        h.update(b"\0")
    folder = (cache_dir or cache_root()) / h.hexdigest()[:24]
    project = folder / "project"
    with cache_lock(folder):
        if not (project / "Makefile").exists():
            generate_c(model, project, "model", vectors=2, force=True, rounding=rounding,
                       external_io=external_io, tile=tile, inplace=inplace, pack=pack)
    return project


def build_cached(project: Path, goal: str, binary: Path,
                 extra_cflags: tuple[str, ...] = ()) -> Path:
    """`make goal` in a project of the build cache unless `binary` is there, under the cache
    folder's lock (toolchain.cache_lock): a concurrent build of the same project waits for this
    one, and nobody runs a binary the linker is still writing."""
    with cache_lock(project.parent, goal):
        if not binary.exists():
            make(project, goal, extra_cflags)
    return binary


def tile_key(tile) -> str:
    """A stable text for a tile option (None, "auto", "N:RxC" or a TileSpec)."""
    if tile is None:
        return "none"
    return str(tile) if isinstance(tile, str) else f"{tile.ops}:{tile.rows}x{tile.cols}"


def packing_summary(model: Model, packing: dict, cm: CModel) -> dict:
    """What generate's report says about --pack: per tensor its bits, tables and bytes."""
    tensors = []
    for i, lay in packing.items():
        t = model.tensors[i]
        tensors.append({"tensor": i, "name": t.name, "shape": list(t.shape), "bits": lay.bits,
                        "tables": "channel" if lay.per_channel else "tensor",
                        "plain_bytes": t.nbytes, "packed_bytes": lay.nbytes})
    plain = sum(t["plain_bytes"] for t in tensors)
    packed = sum(t["packed_bytes"] for t in tensors)
    return {"tensors": tensors, "plain_bytes": plain, "packed_bytes": packed,
            "scratch_bytes": cm.scratch_bytes}
