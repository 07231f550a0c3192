"""The summary `mcuq convert` prints: sizes, ops, I/O quantization, time (text or JSON)."""
from __future__ import annotations

import click

from .common import human_bytes, print_json, table, to_jsonable


def convert_dict(result) -> dict:
    """JSON view (everything but the model bytes)."""
    d = to_jsonable({k: v for k, v in vars(result).items() if k != "data"})
    d["size_ratio"] = round(result.size_ratio, 3) if result.size_ratio else None
    if result.loader is not None:
        d["loader"]["description"] = result.loader.loader_text
    return d


def print_convert(result, as_json: bool = False) -> None:
    if as_json:
        print_json(convert_dict(result))
        return
    echo = click.echo
    where = result.output or "<bytes>"
    echo(f"converted {result.source} ({result.model_kind}) -> {where} "
         f"in {result.seconds:.1f} s (TensorFlow {result.tensorflow})")
    prov = result.loader
    if prov is not None:
        echo(f"  loader        {prov.loader_text}" + (f": {prov.reason}" if prov.reason else ""))
        if prov.fallback:
            echo(f"  fallback      {prov.fallback}")
        if prov.custom_objects or prov.custom_objects_unused:
            echo("  custom        " + (", ".join(prov.custom_objects) or "none used")
                 + (f" (given, not used: {', '.join(prov.custom_objects_unused)})"
                    if prov.custom_objects_unused else ""))
        for note in prov.notes:
            echo(f"  loader said   {note}")
    kind = ("16x8 (int16 activations, int8 weights, int64 bias)"
            if getattr(result, "activations", "int8") == "int16" else "full int8")
    echo(f"  quantization  {kind}, {result.io_type} I/O, "
         f"{'per-channel' if result.per_channel else 'per-tensor'} weights")
    echo(f"  calibration   {result.samples_used} of {result.samples_total} samples from "
         f"{result.calibration} (seed {result.seed}"
         + (", arrays matched by order" if result.matched_by == "order" else "") + ")")
    for note in result.calibration_notes:
        echo(f"                {note}")
    echo(f"  batch         {result.batch}")
    if result.float_bytes:
        echo(f"  size          float32 weights {human_bytes(result.float_bytes)} -> .tflite "
             f"{human_bytes(result.tflite_bytes)} ({result.size_ratio:.1f}x smaller; "
             f"int8 weights {human_bytes(result.weight_bytes)})")
    else:
        echo(f"  size          .tflite {human_bytes(result.tflite_bytes)} "
             f"(constants {human_bytes(result.weight_bytes)})")
    ops = sorted(result.op_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    echo(f"  ops           {sum(result.op_counts.values())}: "
         + ", ".join(f"{name} x{n}" for name, n in ops))
    rows = []
    for kind, infos in (("input", result.inputs), ("output", result.outputs)):
        for t in infos:
            rows.append([kind, t.name, "x".join(str(d) for d in t.shape), t.dtype,
                         f"{t.scale:.6g}" if t.scale is not None else "-",
                         t.zero_point if t.zero_point is not None else "-"])
    echo("")
    echo(table(rows, ["", "name", "shape", "type", "scale", "zero point"], align="llllrr"))
    for line in result.converter_output:
        echo(f"converter said: {line}")
    for w in result.warnings:
        echo(f"warning: {w}")
    missing = getattr(result, "missing_kernels", [])
    if missing:
        echo(f"note: mcuq has no {getattr(result, 'activations', 'int8')} kernel for "
             f"{', '.join(missing)}: TFLite Micro runs the model; mcuq verify's reference and "
             "generate --target c refuse it")
