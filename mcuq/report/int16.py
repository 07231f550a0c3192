"""Text view of `verify --compare-int16` (mcuq.int16_comparison.Int16Comparison); its JSON is
the dataclass as is (mcuq.report.verify.verify_dict)."""
from __future__ import annotations

from .common import table


def _db(x) -> str:
    if x is None:
        return "-"
    if x != x:
        return "nan"
    if x in (float("inf"), float("-inf")):
        return "inf" if x > 0 else "-inf"
    return f"{x:.2f}"


def _pct(x) -> str:
    return "-" if x is None else f"{100.0 * x:.2f}%"


def _bytes(x) -> str:
    return "-" if x is None else f"{x:,}"


def _regression(cmp) -> bool:
    return getattr(cmp, "float_rmse_targets", None) is not None


def comparison_rows(cmp) -> list[list[str]]:
    """One row per conversion and output: the table shown by the text view."""
    rows = []
    reg = _regression(cmp)
    for c in cmp.conversions:
        arena = [_bytes(c.tflite_bytes), _bytes(c.c_arena_bytes), _bytes(c.tflm_plan_bytes),
                 _bytes(c.tflm_total_bytes)]
        if c.status != "ok":
            rows.append([c.label, "-", "-", "-", "-", "-", "-", "-", "-", "-",
                         c.status.upper()])
            continue
        for k, o in enumerate(c.outputs):
            rows.append([c.label if k == 0 else "", o.output, _db(o.sqnr_db), f"{o.rmse:.4g}",
                         _pct(o.top1_agreement),
                         ("-" if o.rmse_targets is None else f"{o.rmse_targets:.4g}") if reg
                         else _pct(o.accuracy),
                         *(arena if k == 0 else [""] * 4), "ok"])
    return rows


HEADERS = ["activations", "output", "sqnr_db", "rmse", "top1_agreement", "accuracy",
           "model B", "C arena B", "TFLM plan B", "TFLM arena B", "status"]


def comparison_lines(cmp) -> list[str]:
    head = (f"int8 vs 16x8 (--compare-int16): {cmp.float_model} converted both ways in memory, "
            f"calibrated on {cmp.calibration}; mcuq's reference (tflm) vs the float model on "
            f"{cmp.samples} samples" + (f", labels {cmp.labels}" if cmp.labels else "") + ":")
    headers = [("rmse_targets" if h == "accuracy" and _regression(cmp) else h) for h in HEADERS]
    out = [head, table(comparison_rows(cmp), headers, "llrrrrrrrrl")]
    if cmp.float_accuracy is not None:
        out.append(f"  float model accuracy {_pct(cmp.float_accuracy)}")
    if _regression(cmp):
        out.append(f"  float model RMSE vs the targets {cmp.float_rmse_targets:.4g} "
                   f"({cmp.labels}: read as regression targets)")
    gains = cmp.sqnr_gain_db()
    if gains:
        a = cmp.by_activations
        outs = a["int8"].outputs
        said = ", ".join(f"{o.output} {'+' if g >= 0 else ''}{_db(g)} dB"
                         for o, g in zip(outs, gains) if g is not None)
        cost = []
        for key, what in (("tflite_bytes", "model"), ("c_arena_bytes", "C arena"),
                          ("tflm_total_bytes", "TFLM arena")):
            x, y = getattr(a["int8"], key), getattr(a["int16"], key)
            if x and y:
                cost.append(f"{what} {y / x:.2f}x")
        out.append(f"  16x8 vs int8: SQNR {said}; " + ", ".join(cost))
    for c in cmp.conversions:
        if c.status != "ok":
            out.append(f"  {c.label}: {c.status}: {c.reason}")
    return out
