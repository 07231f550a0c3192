"""Hand-written inline SVG for the HTML report: no plotting library, no network. Each function
takes plain data computed by the library and returns one <svg> element as a string."""
from __future__ import annotations

import math
from html import escape

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac"]


def _e(x) -> str:
    return escape(str(x), quote=True)


def _n(x: float) -> str:
    return f"{x:.1f}"


def _nice_max(v: float) -> float:
    if v <= 0 or not math.isfinite(v):
        return 1.0
    p = 10 ** math.floor(math.log10(v))
    for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if v <= m * p:
            return m * p
    return 10 * p


def _ticks(top: float, n: int = 5) -> list[float]:
    return [top * k / n for k in range(n + 1)]


def memory_plan(pic: dict, scale_bytes: int, width: int = 470, height: int = 330) -> str:
    """Tensors as rectangles: x = op steps alive, y = arena offset (the same byte scale for
    every plan drawn with the same `scale_bytes`, so their heights compare)."""
    left, top, right, bottom = 62, 28, 10, 34
    w, h = width - left - right, height - top - bottom
    steps = max(pic["steps"], 1)
    full = max(scale_bytes, 1)
    sx, sy = w / steps, h / full
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="plan" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{_e(pic["title"])}">',
             f'<text x="{left}" y="16" class="t">{_e(pic["title"])}: {pic["size"]:,} B</text>',
             f'<rect x="{left}" y="{top}" width="{w}" height="{h}" class="frame"/>']
    for v in _ticks(full, 4):
        y = top + h - v * sy
        parts.append(f'<line x1="{left - 4}" x2="{left}" y1="{_n(y)}" y2="{_n(y)}" class="ax"/>'
                     f'<text x="{left - 6}" y="{_n(y + 4)}" class="l" text-anchor="end">'
                     f'{int(v):,}</text>')
    for s in range(steps + 1):
        if steps <= 30 or s % max(1, steps // 15) == 0:
            x = left + s * sx
            parts.append(f'<line x1="{_n(x)}" x2="{_n(x)}" y1="{top + h}" y2="{top + h + 4}" '
                         f'class="ax"/>')
            if s < steps:
                parts.append(f'<text x="{_n(x + sx / 2)}" y="{top + h + 15}" class="l" '
                             f'text-anchor="middle">{s}</text>')
    parts.append(f'<text x="{left + w / 2}" y="{height - 3}" class="l" text-anchor="middle">'
                 f'op step</text>')
    for k, r in enumerate(pic["rects"]):
        x = left + r["first"] * sx
        rw = max((r["last"] - r["first"] + 1) * sx - 1, 1)
        y = top + h - (r["offset"] + r["size"]) * sy
        rh = max(r["size"] * sy, 1)
        parts.append(
            f'<rect x="{_n(x + 0.5)}" y="{_n(y)}" width="{_n(rw)}" height="{_n(rh)}" '
            f'fill="{PALETTE[k % len(PALETTE)]}" class="buf"><title>{_e(r["tensor"])}: '
            f'{r["size"]:,} B at offset {r["offset"]:,}, alive ops {r["first"]}..{r["last"]}'
            f'</title></rect>')
    if pic["lower_bound"]:
        y = top + h - pic["lower_bound"] * sy
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{_n(y)}" y2="{_n(y)}" '
                     f'class="lb"><title>largest live set {pic["lower_bound"]:,} B</title></line>')
    parts.append("</svg>")
    return "".join(parts)


def layer_errors(layers: list[dict], width_per: int = 34) -> str:
    """SQNR at each layer's output (bar) and the SQNR the layer adds (dot), in op order;
    red triangles mark saturation, a red label the rmse/scale flag, a band the top-ranked layer."""
    n = len(layers)
    left, top, right, bottom = 48, 30, 12, 96
    w = max(n * width_per, 560)
    width, height = left + w + right, 330
    h = height - top - bottom
    vals = [v for lr in layers for v in (lr["sqnr_db"], lr.get("score_db"))
            if isinstance(v, (int, float)) and math.isfinite(v)]
    ymax = _nice_max(min(max(vals + [10.0]), 70.0))
    sy = h / ymax

    def yv(v):
        v = min(max(v, 0.0), ymax) if math.isfinite(v) else ymax
        return top + h - v * sy

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="SQNR by layer">',
             f'<text x="{left}" y="16" class="t">SQNR by layer (dB, higher is better)</text>']
    for v in _ticks(ymax, 4):
        y = yv(v)
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{_n(y)}" y2="{_n(y)}" class="grid"/>'
                     f'<text x="{left - 6}" y="{_n(y + 4)}" class="l" text-anchor="end">'
                     f'{v:g}</text>')
    step = w / max(n, 1)
    for k, lr in enumerate(layers):
        x0 = left + k * step
        if lr.get("rank") == 1:
            parts.append(f'<rect x="{_n(x0)}" y="{top}" width="{_n(step)}" height="{h}" '
                         f'class="culprit"><title>ranked first</title></rect>')
        s = lr["sqnr_db"]
        y = yv(s)
        parts.append(f'<rect x="{_n(x0 + step * 0.2)}" y="{_n(y)}" width="{_n(step * 0.6)}" '
                     f'height="{_n(top + h - y)}" class="sq"><title>{_e(lr["layer"])} '
                     f'({_e(lr["op"])}): {_fmt(s)} dB at its output</title></rect>')
        a = lr.get("score_db")
        if isinstance(a, (int, float)) and math.isfinite(a):
            parts.append(f'<circle cx="{_n(x0 + step / 2)}" cy="{_n(yv(a))}" r="4" class="add">'
                         f'<title>{_e(lr["layer"])} adds {_fmt(a)} dB (rank '
                         f'{lr.get("rank")})</title></circle>')
        if lr.get("clipped"):
            cx = x0 + step / 2
            parts.append(f'<path d="M{_n(cx - 5)},{top - 2} L{_n(cx + 5)},{top - 2} '
                         f'L{_n(cx)},{top + 6} Z" class="sat"><title>{lr["saturation"]:.3%} '
                         f'of the float values saturate</title></path>')
        label = f'{lr.get("rank") or "-"} {lr["layer"]}'
        cls = "l flag" if lr.get("flagged") else "l"
        parts.append(f'<text transform="translate({_n(x0 + step / 2 + 3)},{top + h + 8}) '
                     f'rotate(60)" class="{cls}">{_e(label[:22])}</text>')
    parts.append(f'<rect x="{left}" y="{top}" width="{w}" height="{h}" class="frame"/>')
    parts.append("</svg>")
    return "".join(parts)


def _fmt(v) -> str:
    if not isinstance(v, (int, float)):
        return "-"
    return "inf" if not math.isfinite(v) or v > 120 else f"{v:.1f}"


def weight_ranges(name: str, w: dict, width: int = 520, height: int = 190) -> str:
    """Per output channel: the float weight range (bar) and the int8 grid's reach ±127·scale
    (ticks). A channel far taller than the others owns a per-tensor scale."""
    mins, maxs, scales = w["float_min"], w["float_max"], w["scale"]
    n = len(mins)
    left, top, right, bottom = 52, 26, 10, 22
    pw, ph = width - left - right, height - top - bottom
    reach = [127 * (scales[c] if len(scales) > 1 else scales[0]) for c in range(n)]
    lim = _nice_max(max([abs(v) for v in mins + maxs] + [1e-12]))
    sy = ph / (2 * lim)
    mid = top + ph / 2
    step = pw / max(n, 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="weight ranges of {_e(name)}">',
             f'<text x="{left}" y="14" class="t">{_e(name)}</text>',
             f'<text x="{width - right}" y="14" class="l" text-anchor="end">'
             f'{"per-channel" if w["per_channel"] else "one"} int8 scale'
             f'{"s" if w["per_channel"] else ""}</text>',
             f'<line x1="{left}" x2="{left + pw}" y1="{_n(mid)}" y2="{_n(mid)}" class="grid"/>']
    for v in (-lim, 0, lim):
        parts.append(f'<text x="{left - 6}" y="{_n(mid - v * sy + 4)}" class="l" '
                     f'text-anchor="end">{v:.3g}</text>')
    for c in range(n):
        x = left + (c + 0.5) * step
        y1, y2 = mid - maxs[c] * sy, mid - mins[c] * sy
        parts.append(f'<line x1="{_n(x)}" x2="{_n(x)}" y1="{_n(y1)}" y2="{_n(y2)}" '
                     f'class="wr" stroke-width="{_n(max(min(step * 0.6, 8), 1))}">'
                     f'<title>channel {c}: [{mins[c]:.4g}, {maxs[c]:.4g}], int8 step '
                     f'{reach[c] / 127:.3g}</title></line>')
        r = min(reach[c], lim)
        for yy in (mid - r * sy, mid + r * sy):
            parts.append(f'<line x1="{_n(x - step * 0.4)}" x2="{_n(x + step * 0.4)}" '
                         f'y1="{_n(yy)}" y2="{_n(yy)}" class="reach"/>')
    parts.append(f'<text x="{left + pw / 2}" y="{height - 5}" class="l" text-anchor="middle">'
                 f'output channel (0..{n - 1}); ticks: ±127 × int8 scale</text>')
    parts.append("</svg>")
    return "".join(parts)


__all__ = ["memory_plan", "layer_errors", "weight_ranges"]
