"""`mcuq generate` output: what was written, and the flash and RAM figures."""
from __future__ import annotations

import click

from .common import human_bytes, print_json, table


def print_generate(result, as_json: bool = False) -> None:
    """Summary of a GenerateResult (mcuq.codegen.targets) for either target."""
    if as_json:
        print_json(result)
        return
    d = result.details or {}
    click.echo(f"generated {result.target} project '{result.name}' in {result.out_dir}")
    rows = [["files", len(result.files), ", ".join(result.files)]]
    flash_what = "model array" if result.target == "tflm" else "weights and parameters"
    rows.append(["flash", result.flash_bytes, f"{human_bytes(result.flash_bytes)} ({flash_what})"])
    if result.target == "tflm":
        arena_note = (f"TFLite Micro measured {d.get('tflm_arena_total', '?')} "
                      f"(head {d.get('tflm_arena_head', '?')} + tail "
                      f"{d.get('tflm_arena_tail', '?')}; smallest working "
                      f"{d.get('tflm_arena_required', '?')}) + margin "
                      f"{d.get('arena_margin', '?')}")
    else:
        arena_note = "planned by mcuq (tensor lifetimes)"
    rows.append(["arena", result.arena_bytes, f"{human_bytes(result.arena_bytes)}: {arena_note}"])
    ops = d.get("ops")
    if isinstance(ops, (list, tuple)):
        rows.append(["op types", len(ops), ", ".join(map(str, ops))])
    elif ops is not None:
        rows.append(["kernel calls", ops, ", ".join(map(str, d.get("kernels", [])))])
    if "vectors" in d:
        rows.append(["test vectors", d["vectors"], "checked by the self-test on boot"])
    click.echo(table(rows, ["", "value", "detail"], align="lrl"))
    if result.target == "tflm":
        click.echo("next: make TFLM_DIR=/path/to/tflite-micro tflm-host run-host "
                   "(see README.md in the project)")
    else:
        click.echo("next: make run-host (or make run-qemu for Cortex-M4)")
