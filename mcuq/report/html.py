"""One self-contained HTML report for `inspect`, `verify` and `diagnose` (`--html R.html`).

No network and no scripts that fetch anything: inline CSS and hand-written inline SVG
(report/svg.py). Every number is computed by the library (mcuq.costs, mcuq.memory,
mcuq.verification, mcuq.diagnosis); this module only lays it out. The same data is embedded as
JSON (`<script type="application/json" id="mcuq-data">`), and table cells that show a number
carry it exactly in `data-num`, so the page can be checked against `--json`.

Sections (each present when its data is given), by element id:
  summary, ops (MACs / weights / live activation bars), memory (the arena plans as pictures),
  runners (per-runner verdicts), layers (SQNR by layer, saturation marks, ranking, remedies),
  accuracy (agreement, accuracy, confusion matrices), weights (per-channel weight ranges of the
  layers the diagnosis flags).
"""
from __future__ import annotations

import json
import math
from html import escape
from pathlib import Path

from . import svg
from .common import human_bytes, to_jsonable

CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;
 margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:22px} header p{margin:4px 0 0;color:#c9d1e0}
nav{padding:8px 28px;background:#e9ecf2;font-size:13px} nav a{margin-right:14px;color:#234}
main{padding:8px 28px 40px;max-width:1400px}
section{background:#fff;border:1px solid #dde2ea;border-radius:6px;margin:16px 0;padding:14px 18px}
h2{font-size:17px;margin:0 0 10px} h3{font-size:14px;margin:14px 0 6px}
table{border-collapse:collapse;font-size:12.5px} td,th{padding:3px 8px;border-bottom:1px solid #eef0f4;
 text-align:right;white-space:nowrap} th{background:#f1f3f7;position:sticky;top:0}
td.s,th.s{text-align:left} td.note{white-space:normal;min-width:260px;max-width:520px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid #dde2ea;border-radius:6px;padding:8px 14px;min-width:150px;background:#fbfcfd}
.card b{display:block;font-size:19px} .card span{color:#5a6475;font-size:12px}
.bar{height:10px;border-radius:2px;display:inline-block;vertical-align:middle}
.bm{background:#4e79a7}.bw{background:#f28e2b}.ba{background:#59a14f}
td.barcell{text-align:left;min-width:130px}
.pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}.warn{color:#9a6700;font-weight:600}
.flagged{background:#fff1f0} .culpritrow{background:#fff8e1}
.plans{display:flex;flex-wrap:wrap;gap:18px}
svg text.t{font-size:12.5px;font-weight:600;fill:#1d2330} svg text.l{font-size:10.5px;fill:#4a5363}
svg text.flag{fill:#cf222e;font-weight:600}
svg .frame{fill:none;stroke:#9aa3b2} svg .ax{stroke:#9aa3b2} svg .grid{stroke:#e3e7ee}
svg .buf{stroke:#fff;stroke-width:.5;opacity:.9} svg .lb{stroke:#cf222e;stroke-dasharray:4 3}
svg .sq{fill:#4e79a7} svg .add{fill:#f28e2b;stroke:#fff} svg .sat{fill:#cf222e}
svg .culprit{fill:#ffe9a8;opacity:.6} svg .wr{stroke:#4e79a7} svg .reach{stroke:#cf222e;stroke-width:1}
.legend span{margin-right:16px;font-size:12px} .sw{display:inline-block;width:10px;height:10px;margin-right:4px}
.cm td{min-width:26px;text-align:center;border:1px solid #fff}
.remedy{margin:6px 0;padding:6px 10px;border-left:4px solid #f28e2b;background:#fffaf3}
.remedy code{background:#f1f3f7;padding:1px 4px}
.muted{color:#5a6475;font-size:12px}
"""

SECTION_TITLES = {
    "summary": "Summary", "ops": "Ops: MACs, weights, live activations",
    "memory": "Memory plan", "runners": "Runners vs the int8 reference",
    "layers": "Per-layer quantization error", "accuracy": "Accuracy and agreement",
    "weights": "Weight ranges per channel (flagged layers)",
    "int16": "int8 vs 16x8 activations (--compare-int16)",
}


def _e(x) -> str:
    return escape(str(x), quote=True)


def _num_attr(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return ' data-num="nan"'
        if math.isinf(v):
            return f' data-num="{"inf" if v > 0 else "-inf"}"'
        return f' data-num="{v!r}"'
    return f' data-num="{v}"'


def _td(v, text=None, cls="", field=None) -> str:
    shown = text if text is not None else ("-" if v is None else v)
    f = f' data-field="{_e(field)}"' if field else ""
    c = f' class="{cls}"' if cls else ""
    return f"<td{c}{f}{_num_attr(v)}>{_e(shown)}</td>"


def _db(v) -> str:
    if v is None:
        return "-"
    if not math.isfinite(v) or v > 120:
        return "inf" if v > 0 else "-inf"
    return f"{v:.1f}"


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def _num(v) -> str:
    return "-" if v is None else f"{v:.4g}"


# -- sections ------------------------------------------------------------------------------
def _summary(cards: list[tuple[str, str]]) -> str:
    return '<div class="cards">' + "".join(
        f'<div class="card"><b>{_e(v)}</b><span>{_e(k)}</span></div>' for k, v in cards) + "</div>"


def _ops_section(info: dict) -> str:
    ops = info["ops"]
    mx = {k: max([o[k] for o in ops] + [1]) for k in ("macs", "weight_bytes", "live_bytes")}
    rows = []
    for o in ops:
        shape = lambda ts: " ".join("x".join(map(str, t["shape"])) for t in ts) or "-"  # noqa: E731
        cells = [_td(o["index"]), f'<td class="s">{_e(o["op"])}</td>',
                 f'<td class="s">{_e(shape(o["inputs"]))}</td>',
                 f'<td class="s">{_e(shape(o["outputs"]))}</td>']
        for key, cls in (("macs", "bm"), ("weight_bytes", "bw"), ("live_bytes", "ba")):
            v = o[key]
            width = 120.0 * v / mx[key]
            cells.append(_td(v, f"{v:,}", field=key))
            cells.append(f'<td class="barcell"><span class="bar {cls}" '
                         f'style="width:{width:.1f}px"></span></td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = ("<tr><th>#</th><th class=s>op</th><th class=s>in</th><th class=s>out</th>"
            "<th>MACs</th><th></th><th>weights B</th><th></th><th>live RAM B</th><th></th></tr>")
    total = (f'<p class="muted">total: {info["macs"]:,} MACs, weights '
             f'{human_bytes(info["weight_bytes"])}, flatbuffer {human_bytes(info["flash_bytes"])}'
             "; live RAM: bytes of activations alive while the op runs (TFLite Micro-style plan)</p>")
    return f'<table id="ops-table">{head}{"".join(rows)}</table>{total}'


def _memory_section(plans: list[dict], arena: dict | None) -> str:
    top = max([p["size"] for p in plans] + [1])
    pics = "".join(svg.memory_plan(p, top) for p in plans)
    lines = []
    for p in plans:
        lines.append(f'<li>{_e(p["title"])}: <b data-num="{p["size"]}">{p["size"]:,} B</b> '
                     f'(largest live set {p["lower_bound"]:,} B'
                     + (f', caller-owned I/O {p["external_bytes"]:,} B' if p["external_bytes"]
                        else "") + ")</li>")
    if arena and arena.get("tflm_total_bytes") is not None:
        lines.append(f'<li>TFLite Micro measured: head {arena["tflm_head_bytes"]:,} B + tail '
                     f'{arena["tflm_tail_bytes"]:,} B = <b data-num="{arena["tflm_total_bytes"]}">'
                     f'{arena["tflm_total_bytes"]:,} B</b> (smallest arena that runs '
                     f'{arena["tflm_required_bytes"]:,} B)</li>')
    return (f'<div class="plans">{pics}</div><ul>{"".join(lines)}</ul>'
            '<p class="muted">Each rectangle is one tensor: x spans the op steps it is alive, '
            "y its bytes in the arena (both plans on the same byte scale; dashed: the largest "
            "live set, no plan can be lower). Hover for names.</p>")


def _runners_section(v: dict) -> str:
    rows = []
    for r in v["runners"]:
        cls = {"exact": "pass", "mismatch": "fail"}.get(r["status"], "warn")
        for o in r["outputs"]:
            rows.append(f'<tr data-runner="{_e(r["runner"])}"><td class="s">{_e(r["runner"])}</td>'
                        f'<td class="s">{_e(r.get("profile", "tflm"))}</td>'
                        f'<td class="s">{_e(o["output"])}</td>'
                        + _td(o["exact"], _pct(o["exact"]), field="exact")
                        + _td(o["max_abs_lsb"], field="max_abs_lsb")
                        + _td(o["mismatched_elements"],
                              f'{o["mismatched_elements"]}/{o["elements"]}',
                              field="mismatched_elements")
                        + f'<td class="s {cls}">{_e(r["status"])}</td>'
                        + f'<td class="s muted note">{_e(r.get("note") or "")}</td></tr>')
        if not r["outputs"]:  # refused or crashed: no outputs, the reason in the note
            rows.append(f'<tr data-runner="{_e(r["runner"])}"><td class="s">{_e(r["runner"])}'
                        f'</td><td class="s">{_e(r.get("profile", "tflm"))}</td>'
                        '<td class="s">-</td><td>-</td><td>-</td><td>-</td>'
                        f'<td class="s fail">{_e(r["status"])}</td>'
                        f'<td class="s muted note">{_e(r.get("note") or "")}</td></tr>')
    verdict = v.get("status") or ("PASS" if v.get("passed", True) else "FAIL")
    head = ("<tr><th class=s>runner</th><th class=s>profile</th><th class=s>output</th>"
            "<th>exact</th>"
            "<th>max_abs_lsb</th><th>mismatched</th><th class=s>status</th>"
            "<th class=s>note</th></tr>")
    body = f'<table id="runners-table">{head}{"".join(rows)}</table>' if rows else \
        "<p>No runner compared: the reference ran alone.</p>"
    gaps = {r["profile"]: r["profile_gap"]["summary"] for r in v["runners"]
            if r.get("profile_gap")}
    explain = "".join(f'<p class="muted">{_e(g)}</p>' for g in gaps.values())
    return (f'<p>verdict: <span class="{"pass" if verdict == "PASS" else "fail"}" '
            f'id="verdict">{verdict}</span> on {v["samples"]} samples '
            f'({_e(v["inputs"])}), each runner against the reference in its profile</p>'
            f'{body}{explain}')


def _layers_section(d: dict) -> str:
    chart = svg.layer_errors(d["layers"])
    legend = ('<p class="legend"><span><i class="sw" style="background:#4e79a7"></i>SQNR at '
              'the layer output (int8 model vs float graph)</span><span><i class="sw" '
              'style="background:#f28e2b"></i>SQNR the layer adds (its ranking score)</span>'
              '<span><i class="sw" style="background:#cf222e"></i>saturation / rmse/scale '
              '&gt; 0.7</span><span><i class="sw" style="background:#ffe9a8"></i>ranked first'
              '</span></p>')
    rows = []
    for lr in d["layers"]:
        cls = "culpritrow" if lr.get("rank") == 1 else ("flagged" if lr["flagged"] else "")
        rows.append(
            f'<tr data-tensor="{_e(lr["tensor"])}" class="{cls}">' + _td(lr.get("rank"), field="rank")
            + f'<td class="s">{_e(lr["layer"])}</td><td class="s">{_e(lr["op"])}</td>'
            + _td(lr["sqnr_db"], _db(lr["sqnr_db"]), field="sqnr_db")
            + _td(lr["rmse_over_scale"], f'{lr["rmse_over_scale"]:.2f}', field="rmse_over_scale")
            + _td(lr["max_abs_error_lsb"], f'{lr["max_abs_error_lsb"]:.1f}',
                  field="max_abs_error_lsb")
            + _td(lr["saturation"], _pct(lr["saturation"]), field="saturation")
            + _td(lr.get("sqnr_float_inputs_db"), _db(lr.get("sqnr_float_inputs_db")),
                  field="sqnr_float_inputs_db")
            + _td(lr.get("added_sqnr_db"), _db(lr.get("added_sqnr_db")), field="added_sqnr_db")
            + _td(lr.get("score_db"), _db(lr.get("score_db")), field="score_db")
            + _td(lr["range_used"], _pct(lr["range_used"]), field="range_used")
            + f'<td class="s">[{lr["int8_range"][0]:.4g}, {lr["int8_range"][1]:.4g}]</td>'
            + f'<td class="s">[{lr["float_range"][0]:.4g}, {lr["float_range"][1]:.4g}]</td></tr>')
    head = ("<tr><th>rank</th><th class=s>layer</th><th class=s>op</th><th>SQNR dB</th>"
            "<th>rmse/scale</th><th>max LSB</th><th>saturated</th><th>float-in dB</th>"
            "<th>added dB</th><th>score dB</th><th>range used</th><th class=s>int8 range</th>"
            "<th class=s>float range</th></tr>")
    rem = []
    for k, r in enumerate(d["remedies"]):
        det = "".join(f"<li>{_e(x)}</li>" for x in r["details"])
        cmd = f'<div><code>{_e(r["command"])}</code></div>' if r.get("command") else ""
        sim = " <span class=muted>(simulated with the reference)</span>" if r["simulated"] else ""
        rem.append(f'<div class="remedy" data-kind="{_e(r["kind"])}"><b>{k + 1}. '
                   f'[{_e(r["kind"])}]</b> {_e(r["summary"])}{sim}<ul>{det}</ul>{cmd}</div>')
    culprit = d.get("culprit")
    lead = ""
    if culprit:
        lr = next(x for x in d["layers"] if x["tensor"] == culprit)
        lead = (f'<p>Most error added by <b id="culprit">{_e(lr["layer"])}</b> ({_e(lr["op"])}): '
                f'{_db(lr["score_db"])} dB.</p>')
    unmatched = ""
    if d["unmatched"]:
        unmatched = "<h3>Not matched to the float graph</h3><ul>" + "".join(
            f'<li>{_e(u["tensor"])} {_e(u["op"])}: {_e(u["reason"])}</li>'
            for u in d["unmatched"]) + "</ul>"
    return (f'{lead}{chart}{legend}<table id="layers-table">{head}{"".join(rows)}</table>'
            f'<h3>Remedies</h3>{"".join(rem) or "<p>None needed by these numbers.</p>"}'
            f'{unmatched}')


def _confusion(cm: list[list[int]], title: str) -> str:
    mx = max([max(r) for r in cm] + [1])
    n = len(cm)
    head = "<tr><th>label \\ predicted</th>" + "".join(f"<th>{c}</th>" for c in range(n)) + "</tr>"
    rows = []
    for i, r in enumerate(cm):
        cells = []
        for j, v in enumerate(r):
            a = 0.08 + 0.85 * v / mx if v else 0
            color = "78,121,167" if i == j else "225,87,89"
            fg = "#fff" if a > 0.5 else "#1d2330"
            cells.append(f'<td data-num="{v}" style="background:rgba({color},{a:.2f});'
                         f'color:{fg}">{v or ""}</td>')
        rows.append(f"<tr><th>{i}</th>{''.join(cells)}</tr>")
    return f'<div><h3>{_e(title)}</h3><table class="cm">{head}{"".join(rows)}</table></div>'


def _accuracy_section(metrics: list[dict]) -> str:
    rows, cms = [], []
    regression = any(m.get("rmse_targets") for m in metrics)  # --labels held targets
    key, what, fmt = (("rmse_targets", "RMSE vs targets", _num) if regression
                      else ("accuracy", "accuracy", _pct))
    for m in metrics:
        acc = m.get(key) or {}
        rows.append(f'<tr data-output="{_e(m["output"])}"><td class="s">{_e(m["output"])}</td>'
                    + _td(m.get("top1_agreement"), _pct(m.get("top1_agreement")),
                          field="top1_agreement")
                    + _td(acc.get("int8"), fmt(acc.get("int8")), field=f"{key}_int8")
                    + _td(acc.get("float"), fmt(acc.get("float")), field=f"{key}_float")
                    + _td(m.get("sqnr_db"), _db(m.get("sqnr_db")), field="sqnr_db") + "</tr>")
        conf = m.get("confusion")
        if conf:
            cms.append(_confusion(conf["int8"], f'{m["output"]}: int8 confusion matrix'))
            if conf.get("float"):
                cms.append(_confusion(conf["float"], f'{m["output"]}: float confusion matrix'))
    head = (f"<tr><th class=s>output</th><th>top-1 agreement</th><th>{what} int8</th>"
            f"<th>{what} float</th><th>SQNR dB</th></tr>")
    return (f'<table id="accuracy-table">{head}{"".join(rows)}</table>'
            f'<div class="plans">{"".join(cms)}</div>')


def _int16_section(c: dict) -> str:
    """verify --compare-int16: one row per conversion and output (mcuq.int16_comparison)."""
    rows = []
    for conv in c["conversions"]:
        label = {"int8": "int8", "int16": "16x8"}.get(conv["activations"], conv["activations"])
        cls = "pass" if conv["status"] == "ok" else "fail"
        cost = (_td(conv.get("tflite_bytes"), field="tflite_bytes")
                + _td(conv.get("c_arena_bytes"), field="c_arena_bytes")
                + _td(conv.get("tflm_total_bytes"), field="tflm_total_bytes"))
        if conv["status"] != "ok":
            rows.append(f'<tr data-activations="{_e(conv["activations"])}"><td class="s">'
                        f'{_e(label)}</td><td class="s">-</td><td>-</td><td>-</td><td>-</td>'
                        f'<td>-</td>{cost}<td class="s {cls}">{_e(conv["status"])}</td>'
                        f'<td class="s muted note">{_e(conv.get("reason") or "")}</td></tr>')
            continue
        for o in conv["outputs"]:
            rows.append(f'<tr data-activations="{_e(conv["activations"])}"><td class="s">'
                        f'{_e(label)}</td><td class="s">{_e(o["output"])}</td>'
                        + _td(o.get("sqnr_db"), _db(o.get("sqnr_db")), field="sqnr_db")
                        + _td(o.get("rmse"), "-" if o.get("rmse") is None
                              else f'{o["rmse"]:.4g}', field="rmse")
                        + _td(o.get("top1_agreement"), _pct(o.get("top1_agreement")),
                              field="top1_agreement")
                        + (_td(o.get("rmse_targets"), f'{o["rmse_targets"]:.4g}',
                               field="rmse_targets") if o.get("rmse_targets") is not None
                           else _td(o.get("accuracy"), _pct(o.get("accuracy")),
                                    field="accuracy"))
                        + cost + f'<td class="s {cls}">ok</td><td class="s"></td></tr>')
    head = ("<tr><th class=s>activations</th><th class=s>output</th><th>SQNR dB</th>"
            "<th>RMSE</th><th>top-1 agreement</th><th>accuracy (RMSE vs targets)</th>"
            "<th>model B</th>"
            "<th>C arena B</th><th>TFLite Micro arena B</th><th class=s>status</th>"
            "<th class=s>note</th></tr>")
    return (f'<p>{_e(c["float_model"])} converted to int8 and to 16x8 in memory, calibrated '
            f'on {_e(c["calibration"])}; mcuq\'s reference vs the float model on '
            f'{c["samples"]} samples.</p><table id="int16-table">{head}{"".join(rows)}</table>')


def _weights_section(d: dict) -> str:
    names = list(dict.fromkeys(d["ranking"][:3] + [lr["tensor"] for lr in d["layers"]
                                                   if lr["flagged"]]))
    parts = []
    for name in names:
        lr = next(x for x in d["layers"] if x["tensor"] == name)
        if lr.get("weights"):
            parts.append(f'<div data-tensor="{_e(name)}">'
                         + svg.weight_ranges(f'{lr["layer"]} ({lr["op"]}, rank {lr["rank"]})',
                                             lr["weights"]) + "</div>")
    return ('<div class="plans">' + "".join(parts) + "</div>") if parts else \
        "<p>No flagged layer has weights.</p>"


# -- the page --------------------------------------------------------------------------------
def _numeric(obj):
    """The JSON view with "inf"/"-inf" strings (to_jsonable's spelling) back as floats."""
    if isinstance(obj, dict):
        return {k: _numeric(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_numeric(v) for v in obj]
    if obj == "inf":
        return float("inf")
    if obj == "-inf":
        return float("-inf")
    return obj


def model_views(model, measure_tflm: bool = True):
    """(Inspection, plan pictures) of a .tflite: what the ops and memory sections show."""
    from ..costs import inspect_model
    from ..codegen.inplace import plan_pictures
    from ..model import load_model

    m = load_model(model)
    return inspect_model(m, measure_tflm=measure_tflm), plan_pictures(m)


def render_report(title: str, subtitle: str = "", inspection=None, plans=None, verify=None,
                  diagnosis=None) -> str:
    """The page. Arguments are the library's result objects (or their dicts); each given one
    adds its sections."""
    info = to_jsonable(inspection) if inspection is not None else None
    if info is not None and hasattr(inspection, "as_dict"):
        info = to_jsonable(inspection.as_dict())
    v = None
    if verify is not None:
        from .verify import verify_dict

        v = verify_dict(verify) if not isinstance(verify, dict) else verify
    d = None
    if diagnosis is not None:
        from .diagnose import diagnose_dict

        d = diagnose_dict(diagnosis) if not isinstance(diagnosis, dict) else diagnosis
    plans = to_jsonable(plans) if plans is not None else None
    data = {"inspect": info, "plans": plans, "verify": v, "diagnose": d}
    blob = json.dumps(data, allow_nan=False).replace("</", "<\\/")
    info, v, d = _numeric(info), _numeric(v), _numeric(d)
    sections: list[tuple[str, str]] = []
    cards: list[tuple[str, str]] = []
    if info is not None:
        cards += [("ops", str(len(info["ops"]))), ("MACs", f'{info["macs"]:,}'),
                  ("weights", human_bytes(info["weight_bytes"])),
                  ("flatbuffer", human_bytes(info["flash_bytes"]))]
        if info["arena"].get("c_arena_bytes") is not None:
            cards.append(("mcuq C arena", f'{info["arena"]["c_arena_bytes"]:,} B'))
        if info["arena"].get("tflm_total_bytes") is not None:
            cards.append(("TFLite Micro arena", f'{info["arena"]["tflm_total_bytes"]:,} B'))
    if v is not None:
        cards.append(("verdict", v["status"]))
    if d is not None and d.get("culprit"):
        lr = next(x for x in d["layers"] if x["tensor"] == d["culprit"])
        cards.append(("most error added by", lr["layer"]))
    metrics = None
    if v is not None and v.get("metrics"):
        metrics = v["metrics"]  # every verified sample
    elif d is not None:
        metrics = d["outputs"]
    if metrics:
        m0 = metrics[0]
        if m0.get("accuracy"):
            cards.append(("accuracy int8 / float",
                          f'{_pct(m0["accuracy"]["int8"])} / {_pct(m0["accuracy"]["float"])}'))
        if m0.get("rmse_targets"):
            r = m0["rmse_targets"]
            cards.append(("RMSE vs targets int8 / float", f'{_num(r["int8"])} / {_num(r["float"])}'))
        if m0.get("sqnr_db") is not None:
            cards.append(("output SQNR", f'{_db(m0["sqnr_db"])} dB'))
    sections.append(("summary", _summary(cards)))
    if info is not None:
        sections.append(("ops", _ops_section(info)))
    if plans:
        sections.append(("memory", _memory_section(plans, info["arena"] if info else None)))
    if v is not None:
        sections.append(("runners", _runners_section(v)))
    if d is not None:
        sections.append(("layers", _layers_section(d)))
    if metrics:
        if v is not None and d is not None and v.get("metrics"):
            # verify's metrics (every sample) with the diagnosis' confusion matrices
            merged = []
            for k, m in enumerate(v["metrics"]):
                m = dict(m)
                if k < len(d["outputs"]) and d["outputs"][k].get("confusion"):
                    m["confusion"] = d["outputs"][k]["confusion"]
                merged.append(m)
            metrics = merged
        sections.append(("accuracy", _accuracy_section(metrics)))
    if v is not None and v.get("int16_comparison"):
        sections.append(("int16", _int16_section(v["int16_comparison"])))
    if d is not None:
        sections.append(("weights", _weights_section(d)))
    nav = "".join(f'<a href="#{k}">{SECTION_TITLES[k]}</a>' for k, _ in sections)
    body = "".join(f'<section id="{k}"><h2>{SECTION_TITLES[k]}</h2>{html}</section>'
                   for k, html in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width\"><title>{_e(title)}</title>"
            f"<style>{CSS}</style></head><body><header><h1>{_e(title)}</h1>"
            f"<p>{_e(subtitle)}</p></header><nav>{nav}</nav><main>{body}</main>"
            f'<script type="application/json" id="mcuq-data">{blob}</script></body></html>\n')


def write_html(path, model, inspection=None, verify=None, diagnosis=None,
               quiet: bool = False, measure_tflm: bool = True) -> Path:
    """Render the report of `model` with whatever results are given (the ops and memory
    sections are always there) and write it atomically; says where on stderr unless quiet."""
    import sys

    from tqdm import tqdm

    with tqdm(total=2, desc="html report", file=sys.stderr, disable=quiet, leave=False,
              delay=1.0) as bar:
        info, plans = model_views(model, measure_tflm=measure_tflm and inspection is None)
        if inspection is not None:
            info = inspection
        bar.update(1)
        name = Path(str(getattr(info, "source", "model"))).name
        verbs = [v for v, x in (("verify", verify), ("diagnose", diagnosis)) if x is not None]
        page = render_report(f"mcuq report: {name}",
                             f"{' + '.join(['inspect'] + verbs)} of {info.source}",
                             inspection=info, plans=plans, verify=verify, diagnosis=diagnosis)
        out = write_report(path, page)
        bar.update(1)
    if not quiet:
        import click

        click.echo(f"html report: {out}", err=True)
    return out


def check_html_path(path) -> Path:
    """Fail before any work if the report cannot be written there."""
    from ..errors import InputError

    p = Path(path)
    if p.is_dir():
        raise InputError(f"{p}: is a folder", "pass a file name such as report.html")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{p}: folder {parent} does not exist", "create it first")
    return p


def write_report(path, html: str) -> Path:
    """Write atomically (temporary sibling, then rename)."""
    from ..conversion import write_atomic

    import os

    p = check_html_path(path)
    write_atomic(p, html.encode("utf-8"))
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(p, 0o666 & ~mask)  # a report to open and share, not a private temp file
    return p


__all__ = ["render_report", "write_report", "write_html", "model_views", "check_html_path", "SECTION_TITLES"]
