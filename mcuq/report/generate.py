"""`mcuq generate` output: what was written, and the flash and RAM figures."""
from __future__ import annotations

import click

from .common import human_bytes, print_json, stack_detail, table


def print_generate(result, as_json: bool = False) -> None:
    """Summary of a GenerateResult (mcuq.codegen.targets) for either target."""
    if as_json:
        print_json(result)
        return
    d = result.details or {}
    layout = d.get("layout", "make")
    click.echo(f"generated {result.target} project '{result.name}' ({layout} layout) "
               f"in {result.out_dir}")
    top = [f for f in result.files if "/" not in f]
    folders: dict[str, int] = {}
    for f in result.files:
        if "/" in f:
            folders[f.split("/")[0]] = folders.get(f.split("/")[0], 0) + 1
    listing = ", ".join(top + [f"{k}/ ({n} files)" for k, n in folders.items()])
    rows = [["files", len(result.files), listing]]
    flash_what = "model array" if result.target == "tflm" else "weights and parameters"
    comp, packing = d.get("compression"), d.get("packing")
    if comp:
        flash_what += (f"; compressed: {comp['plain_bytes']:,} B plain -> {comp['size']:,} B, "
                       f"{len(comp['tensors'])} tensor(s) as k-bit indices + tables")
    elif packing:
        flash_what += (f"; weights {packing['plain_bytes']:,} B plain -> "
                       f"{packing['packed_bytes']:,} B packed, {len(packing['tensors'])} "
                       "tensor(s) as k-bit indices + tables")
    elif d.get("pack_note"):
        flash_what += f"; {d['pack_note']}"
    rows.append(["flash", result.flash_bytes, f"{human_bytes(result.flash_bytes)} ({flash_what})"])
    if result.target == "tflm":
        arena_note = (f"TFLite Micro measured {d.get('tflm_arena_total', '?')} "
                      f"(head {d.get('tflm_arena_head', '?')} + tail "
                      f"{d.get('tflm_arena_tail', '?')}; smallest working "
                      f"{d.get('tflm_arena_required', '?')}) + margin "
                      f"{d.get('arena_margin', '?')}")
    else:
        ram = d.get("ram", {})
        what = ("activations (I/O: the caller's buffers, --external-io)"
                if ram.get("external_io_bytes") else "activations, inputs and outputs")
        arena_note = (f"planned by mcuq: {what}; {ram.get('inplace_ops', 0)} ops in place "
                      f"(temporaries {ram.get('scratch_bytes', 0):,} B); largest live set "
                      f"{ram.get('lower_bound_bytes', result.arena_bytes):,} B")
    rows.append(["arena", result.arena_bytes, f"{human_bytes(result.arena_bytes)}: {arena_note}"])
    if d.get("rounding"):
        what = ("one rounding of the 64-bit product (TFLITE_SINGLE_ROUNDING)"
                if d["rounding"] == "single" else "TFLite Micro's default (two roundings)")
        rows.append(["rounding", d["rounding"],
                     f"{what}; verified against the reference profile {d.get('profile')}"])
    if result.target == "c" and d.get("ram"):
        ram = d["ram"]
        parts = ["arena"] + ([f"decode scratch {ram['decode_scratch_bytes']:,} B"]
                             if ram.get("decode_scratch_bytes") else []) + (["caller I/O"] if ram.get("external_io_bytes") else []) + \
            ([f"stack {ram['stack_bytes']:,} B (Cortex-M4)"] if "stack_bytes" in ram else
             ["stack (not measured: no arm-none-eabi-gcc)"])
        rows.append(["total RAM", ram["total_bytes"],
                     f"{human_bytes(ram['total_bytes'])}: {' + '.join(parts)}"])
    tiling = d.get("tiling")
    if tiling:
        rows.append(["tiled", tiling["patches"],
                     f"first {tiling['ops']} ops patch by patch ({tiling['grid']} over "
                     f"'{tiling['output']}'): peak {tiling['arena_bytes']:,} B vs "
                     f"{tiling['untiled_arena_bytes']:,} B untiled, +{tiling['extra_macs']:,} "
                     f"MACs ({100 * tiling['extra_macs_fraction']:.1f} %) recomputed in halos"])
    if d.get("resource_variables"):
        where = ("in the arena above (MicroResourceVariables from the interpreter's allocator)"
                 if result.target == "tflm" else
                 "static buffers outside the arena; mcuq_<name>_reset() starts a sequence")
        rows.append(["state", d["state_bytes"],
                     f"{d['resource_variables']} state buffer(s) (resource variables, variable "
                     "tensors such as an LSTM's hidden and cell states), persistent across "
                     f"invocations: {where}".replace("<name>", result.name)])
    if d.get("windowed"):
        reset = ("interpreter.Reset()" if result.target == "tflm"
                 else f"mcuq_{result.name}_reset()")
        rows.append(["windows", "", "each invocation takes a whole window (a Keras LSTM that "
                     "is not stateful starts every window from zeros) and the state persists: "
                     f"call {reset} before each independent window, or it carries over"])
    if comp:
        rows.append(["decoded RAM", comp["decoded_ram_bytes"],
                     f"arena of the compressed model minus the plain one (measured "
                     f"{comp['arena_total']:,} vs {comp['plain_arena_total']:,} B): TFLM_DECODE "
                     f"writes each tensor into the arena before its op (largest "
                     f"{comp['largest_decoded_bytes']:,} B)"])
    if packing:
        rows.append(["decode scratch", packing["scratch_bytes"],
                     "bytes of static RAM the packed kernels decode one output channel's "
                     "filter into (the largest; no decoded copy of any tensor), beside the arena "
                     "and counted in total RAM"])
    ops = d.get("ops")
    if isinstance(ops, (list, tuple)):
        rows.append(["op types", len(ops), ", ".join(map(str, ops))])
    elif ops is not None:
        rows.append(["kernel calls", ops, ", ".join(map(str, d.get("kernels", [])))])
    m4 = d.get("cortex_m4")
    if m4:
        rows.append(["Cortex-M4 flash", m4["flash_bytes"],
                     f"{human_bytes(m4['flash_bytes'])}: code + constants (arm-none-eabi-size, "
                     "model image minus a baseline image)"])
        plain = d.get("cortex_m4_plain")
        if plain:
            rows.append(["M4 flash plain", plain["flash_bytes"],
                         f"{human_bytes(plain['flash_bytes'])}: the same model without --pack "
                         f"(packed: {m4['flash_bytes'] / plain['flash_bytes']:.2f}x); RAM "
                         f"{plain['ram_bytes']:,} B"])
        io_note = ("incl. the test image's I/O buffers" if d.get("ram", {}).get("external_io_bytes")
                   else "the inputs and outputs are in the arena")
        rows.append(["Cortex-M4 RAM", m4["ram_bytes"],
                     f"{human_bytes(m4['ram_bytes'])}: arena + data + bss ({io_note}); "
                     f"{stack_detail(m4)}"])
    elif result.target == "c" and d.get("cortex_m4_note"):
        rows.append(["Cortex-M4", "-", d["cortex_m4_note"]])
    if "vectors" in d:
        rows.append(["test vectors", d["vectors"], "checked by the self-test on boot"])
    cmsis = d.get("cmsis_nn")
    if cmsis:
        fast = [c for c in cmsis if c["kernel"] != "reference"]
        ref = [c for c in cmsis if c["kernel"] == "reference"]
        rows.append(["CMSIS-NN", sum(c["count"] for c in fast),
                     _kernels(fast, True) or "none of this model's ops"])
        rows.append(["reference", sum(c["count"] for c in ref),
                     (_kernels(ref, False) or "none") + " (TFLite Micro's reference kernels)"])
        for c in cmsis:
            if c["problem"]:
                rows.append(["CMSIS-NN bug", c["count"], f"{c['op']}: {c['problem']}; build "
                             "TFLite Micro with ARM_KERNELS= (reference) for this model"])
    click.echo(table(rows, ["", "value", "detail"], align="lrl"))
    click.echo(f"next: {NEXT_STEPS[(result.target, layout)]} (see README.md in the project)")


#: What to run after `generate`, per (target, layout); each README says more.
NEXT_STEPS = {
    ("tflm", "make"): "make TFLM_DIR=/path/to/tflite-micro tflm-host run-host "
                      "(tflm-arm run-qemu: Cortex-M4 with CMSIS-NN)",
    ("tflm", "cmake"): "cmake -S . -B build -DTFLM_DIR=/path/to/tflite-micro && "
                       "cmake --build build && ctest --test-dir build",
    ("c", "make"): "make run-host (or make run-qemu for Cortex-M4)",
    ("c", "cmake"): "cmake -S . -B build && cmake --build build && ctest --test-dir build",
    ("c", "arduino"): "copy the folder to your sketchbook's libraries/ and open its example",
    ("c", "platformio"): "cd examples/selftest && pio run -e native",
    ("c", "esp-idf"): "cd examples/selftest && idf.py build flash monitor",
    ("c", "zephyr"): "west build -b qemu_cortex_m3 samples/selftest -t run",
}


def _kernels(choices: list[dict], with_function: bool) -> str:
    parts = []
    for c in choices:
        what = f"{c['op']} {c['types'].lower()} x{c['count']}"
        if with_function:
            what += f" ({c['kernel']})"
        elif c["note"]:
            what += f" ({c['note']})"
        parts.append(what)
    return ", ".join(parts)
