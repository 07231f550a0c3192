"""What each `mcuq generate --target` renders; `generate_project` is the library entry point."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..model import load_model
from .carray import c_identifier


@dataclass
class GenerateResult:
    target: str
    name: str
    out_dir: Path
    files: list[str]
    arena_bytes: int
    flash_bytes: int  # model / constants bytes in the project (before linking)
    details: dict = field(default_factory=dict)


def default_name(model_path, model) -> str:
    stem = Path(model_path).stem if isinstance(model_path, (str, Path)) else "model"
    return c_identifier(stem, "model file name")


def generate_project(model, out_dir, target: str = "tflm", name: str | None = None,
                     vectors: int = 4, force: bool = False, inputs=None,
                     layout: str = "make", figures=None, rounding: str | None = None,
                     external_io: bool = False, tile=None, inplace: bool = True,
                     pack="off", compress: bool = False) -> GenerateResult:
    """Render the project for `target` into out_dir (atomically), in the build layout
    `layout` (mcuq.codegen.layouts.LAYOUTS). `inputs`: optional arrays for the test vectors
    (default: `vectors` random inputs, seed 0). C target only: `figures`, a function
    figures(model, rounding, pack) measuring the Cortex-M4 build before anything is written
    (mcuq.generation passes mcuq.footprint.cortex_m4_figures with the same options);
    `rounding`: "double" (default, TFLite Micro's) or "single" (TFLITE_SINGLE_ROUNDING);
    `external_io` (the caller's input/output buffers instead of the arena's), `tile`
    (patch-based execution of the first layers: "auto", "N:RxC" or a mcuq.tiling.TileSpec),
    `inplace=False` (no op runs in place: faster kernels, a larger arena), `pack`: "auto",
    "off" or index bits 1..6 (mcuq.packing.plan_packing; not with `tile`). Target tflm only:
    `compress`, TFLite Micro's own weight compression (mcuq.tflm_compression)."""
    from ..packing import parse_pack
    from .layouts import check_layout

    if target not in ("c", "tflm"):
        raise InputError(f"unknown target '{target}'", "use --target tflm or --target c")
    check_layout(target, layout)
    if rounding is not None and rounding not in ("double", "single"):
        raise InputError(f"unknown rounding '{rounding}'", "use --rounding double or single")
    if rounding is not None and target != "c" and rounding != "double":
        raise InputError(f"--rounding {rounding} applies to the standalone C target only "
                         f"(target '{target}' runs TFLite Micro's own kernels)",
                         "use --target c, or drop --rounding")
    if target != "c" and (external_io or tile is not None or not inplace):
        option = "--external-io" if external_io else "--tile" if tile is not None else \
            "inplace=False"
        raise InputError(f"{option} is an option of the standalone C target",
                         f"use --target c with {option} (TFLite Micro plans its own arena)")
    pack = parse_pack(pack)
    if pack != "off" and target != "c":
        raise InputError(f"--pack {pack} is for --target c",
                         "TFLite Micro's own compression: --target tflm --compress")
    if compress and target != "tflm":
        raise InputError("--compress is for --target tflm",
                         "the C target packs weights with --pack auto")
    m = load_model(model)
    cname = c_identifier(name, "--name") if name is not None else default_name(model, m)
    if target == "c":
        from .target_c import generate_c
        return generate_c(m, out_dir, cname, vectors=vectors, force=force, inputs=inputs,
                          layout=layout, figures=figures, rounding=rounding or "double",
                          external_io=external_io, tile=tile, inplace=inplace, pack=pack)
    from .target_tflm import generate_tflm
    return generate_tflm(m, out_dir, cname, vectors=vectors, force=force, inputs=inputs,
                         layout=layout, compress=compress)
