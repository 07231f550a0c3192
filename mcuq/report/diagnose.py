"""Text and JSON views of `mcuq diagnose` (mcuq.diagnosis.Diagnosis)."""
from __future__ import annotations

import click

from .common import print_json, table, to_jsonable
from .verify import _num

#: Layers listed under "ranking" in the text view (the JSON has every one).
TOP = 5


def diagnose_dict(d) -> dict:
    out = to_jsonable(d)
    out["culprit"] = d.culprit.tensor if d.culprit is not None else None
    return out


def _db(x) -> str:
    if x is None:
        return "-"
    if x == float("inf") or x > 120:
        return "inf"
    if x == float("-inf"):
        return "-inf"
    return f"{x:.1f}"


def _pct(x) -> str:
    if x is None:
        return "-"
    if 0 < x < 1e-4:
        return "<0.01%"
    return f"{100.0 * x:.2f}%"


def layer_rows(d) -> list[list]:
    rows = []
    for lr in d.layers:
        rows.append([lr.rank or "-", lr.layer, lr.op, "x".join(map(str, lr.shape)),
                     _db(lr.sqnr_db), f"{lr.rmse_over_scale:.2f}" + (" !" if lr.flagged else ""),
                     f"{lr.max_abs_error_lsb:.1f}", _pct(lr.saturation),
                     _db(lr.sqnr_float_inputs_db), _db(lr.added_sqnr_db), _db(lr.score_db)])
    return rows


def diagnose_text(d, top: int = TOP) -> str:
    out = [f"model:  {d.model} vs the float graph of {d.float_model} ({d.float_ops} ops); "
           f"{d.matched_tensors} int8 tensors matched"
           + (f", {len(d.unmatched)} not" if d.unmatched else ""),
           f"inputs: {d.inputs}", ""]
    out.append(table(layer_rows(d), ["rank", "layer", "op", "shape", "sqnr_db", "rmse/scale",
                                     "max LSB", "saturated", "float-in dB", "added dB",
                                     "score dB"], "rlllrrrrrrr"))
    out.append("  sqnr_db, rmse/scale (! > 0.7), max LSB, saturated: the int8 model vs the float "
               "graph at this tensor; float-in: the op alone fed quantized float inputs; added: "
               "... vs the float op on the same inputs (what this layer adds); score: added, "
               "weight ops per output channel")
    if d.ranking:
        out += ["", "ranking (most error added first):"]
        for k, name in enumerate(d.ranking[:top]):
            lr = d.layer(name)
            sat = f", {_pct(lr.saturation)} saturated" if lr.saturation else ""
            out.append(f"  {k + 1}. {lr.layer} ({lr.op}, op #{lr.op_index}) adds "
                       f"{_db(lr.score_db)} dB; {_db(lr.sqnr_db)} dB SQNR at its output{sat}"
                       if lr.op_index is not None else
                       f"  {k + 1}. input '{lr.tensor}': quantization {_db(lr.score_db)} dB{sat}")
    rows = []
    regression = any(o.rmse_targets for o in d.outputs)  # --labels held regression targets
    what, shown = ("rmse vs targets", _num) if regression else ("accuracy", _pct)
    for o in d.outputs:
        acc = (o.rmse_targets if regression else o.accuracy) or {}
        rows.append([o.output, _db(o.sqnr_db), _pct(o.top1_agreement), shown(acc.get("int8")),
                     shown(acc.get("float"))])
    out += ["", table(rows, ["output", "sqnr_db", "top1_agreement", f"{what} int8",
                             f"{what} float"])]
    out += ["", "remedies:" if d.remedies else "remedies: none needed by these numbers"]
    for k, r in enumerate(d.remedies):
        out.append(f"  {k + 1}. [{r.kind}] {r.summary}"
                   + ("  (simulated with the reference)" if r.simulated else ""))
        out += [f"       {line}" for line in r.details]
        if r.command:
            out.append(f"       $ {r.command}")
    if d.unmatched:
        out += ["", "not matched to the float graph:"]
        out += [f"  '{u['tensor']}' {u['op']}: {u['reason']}" for u in d.unmatched]
    out += [f"note: {n}" for n in d.notes]
    return "\n".join(out)


def diagnose_summary(d, top: int = 3) -> list[str]:
    """The few lines `verify --float` prints: the ranking's head and the remedies."""
    out = [f"per-layer quantization error ({d.samples} samples; `mcuq diagnose` for every "
           "tensor):"]
    for k, name in enumerate(d.ranking[:top]):
        lr = d.layer(name)
        out.append(f"  {k + 1}. {lr.layer} ({lr.op}) adds {_db(lr.score_db)} dB; "
                   f"{_db(lr.sqnr_db)} dB SQNR at its output"
                   + (f", {_pct(lr.saturation)} saturated" if lr.saturation else ""))
    for r in d.remedies[:3]:
        out.append(f"  remedy [{r.kind}]: {r.summary}")
    return out


def print_diagnose(d, as_json: bool = False) -> None:
    if as_json:
        print_json(diagnose_dict(d))
    else:
        click.echo(diagnose_text(d))
