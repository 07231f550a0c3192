"""`mcuq generate`: the project (mcuq.codegen) and, for the standalone C target, the flash, RAM
and stack of its Cortex-M4 build (mcuq.footprint), measured before anything is written. The
measurement is handed to codegen as a function, so that codegen never imports the build (and
the runners) that use it: data flows one way."""
from __future__ import annotations

from functools import partial

from .codegen import GenerateResult
from .codegen import generate_project as render_project


def generate_project(model, out_dir, target: str = "tflm", name: str | None = None,
                     vectors: int = 4, force: bool = False, inputs=None, layout: str = "make",
                     cortex_m4: bool = True, rounding: str | None = None,
                     external_io: bool = False, tile=None, inplace: bool = True, pack="off",
                     compress: bool = False) -> GenerateResult:
    """Render the project for `target` into out_dir (atomically; see mcuq.codegen). For target
    "c" with `cortex_m4`, the Cortex-M4 build (with the same rounding / external_io / tile /
    inplace / pack options) is measured first (a note when the toolchain is missing; a failing
    build is an error and nothing is written). rounding (target "c"): "double" (default,
    TFLite Micro's) or "single" (TFLITE_SINGLE_ROUNDING). pack (target "c"): weights as k-bit
    indices + tables (mcuq.packing); compress (target "tflm"): TFLite Micro's own weight
    compression (mcuq.tflm_compression)."""
    figures = None
    if target == "c" and cortex_m4:
        from .footprint import cortex_m4_figures

        figures = partial(cortex_m4_figures, external_io=external_io, tile=tile,
                          inplace=inplace)
    return render_project(model, out_dir, target=target, name=name, vectors=vectors,
                          force=force, inputs=inputs, layout=layout, figures=figures,
                          rounding=rounding, external_io=external_io, tile=tile,
                          inplace=inplace, pack=pack, compress=compress)


__all__ = ["generate_project", "GenerateResult"]
