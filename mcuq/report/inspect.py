"""`mcuq inspect`: per-op table, totals, arena plans next to TFLite Micro's measurement."""
from __future__ import annotations

import click

from ..text import label
from .common import human_bytes, print_json, stack_detail, table


def _shape(t) -> str:
    return "x".join(map(str, t.shape)) or "scalar"


def _quant(t) -> str:
    if t.scale is None:
        return t.dtype
    q = f"{t.dtype} s={t.scale:.3g} zp={t.zero_point}"
    return q + (f" ({t.channels} ch)" if t.channels else "")


def _maybe(n) -> str:
    return "-" if n is None else f"{n:,}"


def _support(o) -> str:
    """'ref C tflm' with '-' for each runtime that lacks the op."""
    s = o.support
    if s is None:
        return "?"
    return " ".join(name if ok else "-" for name, ok in
                    (("ref", s.reference), ("C", s.c), ("tflm", s.tflm)))


def print_inspect(info, as_json: bool = False) -> None:
    if as_json:
        print_json(info.as_dict())
        return
    echo = click.echo
    echo(f"{info.source}: {len(info.ops)} ops, {human_bytes(info.flash_bytes)} flatbuffer")
    for kind, ts in (("input", info.inputs), ("output", info.outputs)):
        for t in ts:
            echo(f"  {kind:6} '{label(t.name)}' {_shape(t)} {_quant(t)}")
    rows = []
    for o in info.ops:
        flags = ("" if o.tflm else " !tflm") + ("" if o.mcuq else " !mcuq")
        rows.append([o.index, label(o.op) + flags, " ".join(_shape(t) for t in o.inputs) or "-",
                     " ".join(_shape(t) for t in o.outputs),
                     " ".join(_quant(t) for t in o.outputs),
                     f"{o.macs:,}", f"{o.weight_bytes:,}", f"{o.live_bytes:,}",
                     _support(o)])
    echo("")
    echo(table(rows, ["#", "op", "in", "out", "out quant", "MACs", "weights B", "live RAM B",
                      "support"], "rllllrrrl"))
    echo("support: ref = mcuq's reference (verify), C = mcuq's C target, "
         "tflm = TensorFlow Lite Micro, - = none")
    for sg in info.subgraphs:
        ops = ", ".join(f"{label(op)} x{n}" for op, n in sg["op_counts"].items()) or "no ops"
        echo(f"subgraph {sg['index']} '{label(sg['name'])}': {ops}")
    a = info.arena
    echo("")
    echo(f"MACs {info.macs:,}   weights {human_bytes(info.weight_bytes)}   "
         f"flash (model) {human_bytes(info.flash_bytes)}")
    echo("arena:")
    echo(f"  planned (TFLite Micro-style greedy, 16-aligned)  {a.plan_bytes:>9,} B   "
         f"largest live set {a.lower_bound_bytes:,} B")
    if a.tflm_total_bytes is not None:
        echo(f"  TFLite Micro measured head                       {a.tflm_head_bytes:>9,} B   "
             f"(+ tail {a.tflm_tail_bytes:,} B = total {a.tflm_total_bytes:,} B; "
             f"smallest arena that runs: {a.tflm_required_bytes:,} B)")
    elif a.tflm_error:
        echo(f"  TFLite Micro measured: not available ({a.tflm_error})")
    if a.c_arena_bytes is not None:
        echo(f"  mcuq C target arena                              {a.c_arena_bytes:>9,} B   "
             f"(inputs/outputs {a.c_io_bytes:,} B inside; {a.c_inplace_ops} ops in place, "
             f"temporaries {a.c_scratch_bytes:,} B; largest live set "
             f"{a.c_lower_bound_bytes:,} B)")
        if a.tflm_head_bytes:
            echo(f"    vs TFLite Micro: arena / head {a.c_arena_bytes / a.tflm_head_bytes:.2f}x"
                 + (f", arena / total {a.c_arena_bytes / a.tflm_total_bytes:.2f}x"
                    if a.tflm_total_bytes else "")
                 + " (TFLite Micro's figures: the tflite-micro package, 64-bit)")
    if a.resource_variables or a.variable_tensors:
        n, v = a.resource_variables, a.variable_tensors
        what = "state: " + ", ".join(
            [f"{n} resource variable{'s' if n != 1 else ''}"] * bool(n)
            + [f"{v} variable tensor{'s' if v != 1 else ''}"] * bool(v))
        echo(f"  {what:<47}  {a.state_bytes:>9,} B   (persistent across invocations: the C "
             "target's static buffers outside its arena; in TFLite Micro's tail)")
    if info.footprint:
        f = info.footprint
        echo(f"Cortex-M4 build (mcuq C target): flash {f['flash_bytes']:,} B, "
             f"RAM {f['ram_bytes']:,} B (arena {f['arena_bytes']:,} B), "
             f"{stack_detail(f)}")
        echo(f"  total RAM (arena + stack) {f['peak_ram_bytes']:,} B"
             + (f" = {f['peak_ram_bytes'] / a.tflm_total_bytes:.2f}x TFLite Micro's arena "
                "(its stack not counted)" if a.tflm_total_bytes else ""))
    if info.packing and info.packing["tensors"]:
        echo("")
        echo(packing_text(info.packing))
    if info.tflm_unsupported:
        echo("warning: TFLite Micro has no kernel for: "
             f"{', '.join(map(label, info.tflm_unsupported))}")
    if info.mcuq_verdict:
        echo(f"note: {info.mcuq_verdict} (verify and --target c refuse this model):")
        for o in info.ops:
            if o.mcuq_refusal:
                echo(f"  op #{o.index} {label(o.op)}: {o.mcuq_refusal}")
    elif info.mcuq_unsupported:
        echo(f"note: mcuq's C target does not implement: "
             f"{', '.join(map(label, info.mcuq_unsupported))} (--target c will refuse)")


def packing_text(pk: dict) -> str:
    """Per weight tensor: distinct values per output channel (most / mean) and in the tensor,
    the smallest index width k for per-channel tables, and bytes plain vs packed: the smaller
    of k-bit indices + per-channel tables and one table, what the C target stores with --pack
    auto, and TFLite Micro's compression (--compress)."""
    rows = []
    for t in pk["tensors"]:
        rows.append([t["op_index"], t["op"], "x".join(map(str, t["shape"])),
                     f"{t['distinct_max']} / {t['distinct_mean']:.1f}", t["tensor_distinct"],
                     t["min_bits"], f"{t['raw_bytes']:,}",
                     "-" if t["tables"] == "raw" else f"{t['packed_bytes']:,} ({t['tables']})",
                     "-" if t["c_bytes"] is None else f"{t['c_bytes']:,} ({t['c_bits']}-bit)",
                     "-" if t["tflm_bytes"] is None
                     else f"{t['tflm_bytes']:,} ({t['tflm_bits']}-bit)"])
    grid = table(rows, ["op#", "op", "weights", "distinct/ch max/mean", "distinct", "k",
                        "plain B", "packed B", "C --pack auto", "TFLM --compress"], "rllrrrrrrr")
    lines = ["weights as look-up tables (k-bit indices + int8 tables):",
             *("  " + line for line in grid.splitlines()),
             f"total weights {pk['weight_bytes']:,} B plain; packed {pk['packed_weight_bytes']:,}"
             f" B; C target (--pack auto, k <= 6) {pk['c_weight_bytes']:,} B; TFLite Micro "
             f"(--compress, k <= 7) {pk['tflm_weight_bytes']:,} B",
             "k: index bits for the most distinct values in one channel; '-': stays plain "
             "(k > 6 for C, > 7 for TFLM, or the tables cost more than the indices save)"]
    return "\n".join(lines)
