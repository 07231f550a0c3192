"""The summary `mcuq compress` prints: per layer, totals, teacher vs student (text or JSON)."""
from __future__ import annotations

import click

from .common import print_json, table, to_jsonable


def compress_dict(result) -> dict:
    """JSON view (everything but the model objects and bytes)."""
    d = to_jsonable({k: v for k, v in vars(result).items() if k not in ("student", "tflite")})
    return d


def _pct(x) -> str:
    return "-" if x is None else f"{100.0 * x:.2f}%"


def _db(x) -> str:
    if x is None:
        return "-"
    return "inf" if x == float("inf") else f"{x:.1f}"


def _arrow(a, b, fmt="{:,}") -> str:
    if a is None:
        return "-"
    return fmt.format(a) if a == b else f"{fmt.format(a)} -> {fmt.format(b)}"


def _x(r) -> str:
    return "-" if r is None else f"{r:.2f}x"


def compress_text(result) -> str:
    out = []
    where = result.output or "<keras.Model>"
    out.append(f"compressed {result.source} ({result.model_kind}) -> {where} in "
               f"{result.seconds:.1f} s (TensorFlow {result.tensorflow})")
    data = f"{result.samples:,} samples from {result.data}; validation {result.val_samples:,} " \
           f"{result.val_data}"
    if result.labels:
        data += f"; labels {result.labels}"
    out.append(f"  data          {data}")
    if result.prune or result.prune_layers:
        what = f"{result.prune:.0%} of channels" if result.prune else "per layer"
        if result.prune_layers:
            what += " (" + ", ".join(f"{k}={v:g}" for k, v in result.prune_layers.items()) + ")"
        out.append(f"  pruning       {what}, ranked by {result.importance} importance")
    if result.cluster is not None:
        scope = "output channel" if result.cluster_per_channel else "layer"
        bits = max(1, (result.cluster - 1).bit_length())
        line = f"{result.cluster} shared values per {scope} ({bits}-bit indices)"
        if result.sparsity:
            line += f"; {result.sparsity:.0%} of weights pinned at 0"
        out.append(f"  clustering    {line}")
    loss = ", ".join(f"output {k}: {'KL (T=' + format(result.temperature, 'g') + ')' if kind == 'softmax' else 'MSE'}"
                     for k, kind in enumerate(result.outputs))
    if result.alpha is not None and result.labels:
        loss += f"; labels weighted alpha={result.alpha:g}"
    fits = []
    for f in result.fine_tuning:
        s = f"{f.stage} {f.epochs_run}/{f.epochs} epochs, best {f.best_epoch}"
        if f.stopped_early:
            s += " (stopped early)"
        fits.append(s)
    out.append(f"  fine-tuning   {'; '.join(fits) or 'none'} (distillation: {loss})")
    for k in result.kept_whole:
        out.append(f"  kept whole    {k['layer']}: {k['reason']}")
    out.append("")
    rows = []
    for r in result.layers:
        distinct = "-" if r.distinct is None else str(r.distinct)
        if r.distinct_int8 is not None:
            distinct += f" (int8 {r.distinct_int8})"
        rows.append([r.name, r.cls, _arrow(r.channels_before, r.channels_after),
                     _arrow(r.params_before, r.params_after),
                     _arrow(r.macs_before, r.macs_after), distinct, r.note])
    out.append(table(rows, ["layer", "type", "channels", "params", "MACs", "distinct/ch",
                            "note"], "llrrrrl"))
    out.append("")
    t, s, ratio = result.totals["teacher"], result.totals["student"], result.totals["ratio"]
    rows = [["params", f"{t.params:,}", f"{s.params:,}", _x(ratio["params"])],
            ["MACs", f"{t.macs:,}", f"{s.macs:,}", _x(ratio["macs"])],
            ["float32 bytes", f"{t.float_bytes:,}", f"{s.float_bytes:,}",
             _x(ratio["float_bytes"])],
            ["int8 bytes (est.)", f"{t.int8_bytes:,}", f"{s.int8_bytes:,}",
             _x(ratio["int8_bytes"])],
            ["packed bytes (est.)", f"{t.packed_bytes:,}", f"{s.packed_bytes:,}",
             _x(ratio["packed_bytes"])]]
    if result.int8:
        ti, si, ri = result.int8["teacher"], result.int8["student"], result.int8["ratio"]
        rows += [[".tflite bytes", f"{ti.tflite_bytes:,}", f"{si.tflite_bytes:,}",
                  _x(ri["tflite_bytes"])],
                 ["int8 weights", f"{ti.weight_bytes:,}", f"{si.weight_bytes:,}",
                  _x(ri["weight_bytes"])],
                 ["packed weights", f"{ti.weight_bytes:,}", f"{si.packed_weight_bytes:,}",
                  _x(ri["packed_weight_bytes"])],
                 ["int8 MACs", f"{ti.macs:,}", f"{si.macs:,}", _x(ri["macs"])],
                 ["arena (planned)", f"{ti.arena_bytes:,}", f"{si.arena_bytes:,}",
                  _x(ri["arena_bytes"])]]
    out.append(table(rows, ["", "teacher", "student", "smaller"], "lrrr"))
    out.append("")
    rows = [[e.model, _pct(e.agreement), _pct(e.accuracy), _db(e.sqnr_db)]
            for e in result.evaluation]
    out.append(table(rows, [f"on {result.val_samples:,} validation samples", "top-1 agreement",
                            "accuracy", "SQNR dB"], "lrrr"))
    if result.k_holds is not None:
        most = result.int8["student"].max_distinct
        out.append("")
        if result.k_holds:
            out.append(f"int8: every clustered output channel holds <= {result.cluster} distinct "
                       f"values (most: {most})")
        else:
            out.append(f"warning: a converted channel holds {most} distinct int8 values, more "
                       f"than K={result.cluster}")
    for n in result.notes:
        out.append(f"note: {n}")
    written = [p for p in (result.output, result.tflite_output) if p]
    if written:
        out.append(f"wrote {', '.join(written)}")
    return "\n".join(out)


def print_compress(result, as_json: bool = False) -> None:
    if as_json:
        print_json(compress_dict(result))
        return
    click.echo(compress_text(result))
