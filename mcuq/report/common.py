"""Helpers shared by every verb's report: JSON encoding of numpy values, aligned tables."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click
import numpy as np


def to_jsonable(obj):
    """Dataclasses, numpy scalars/arrays and paths to plain JSON types."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if not f.name.startswith("_")}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and not np.isfinite(obj):
        return None if np.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


def print_json(obj) -> None:
    click.echo(json.dumps(to_jsonable(obj), indent=2, sort_keys=False))


def table(rows: list[list], headers: list[str], align: str | None = None) -> str:
    """Plain aligned text table. align: one char per column, 'l' or 'r' (default: l then r)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    align = align or ("l" + "r" * (len(headers) - 1))
    def fmt(r):
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w)
                         for c, w, a in zip(r, widths, align)).rstrip()
    lines = [fmt(cells[0]), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in cells[1:]]
    return "\n".join(lines)


def human_bytes(n: int) -> str:
    n = int(n)
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.2f} MiB"


def stack_detail(footprint: dict) -> str:
    """'stack N B (call graph N B, painted N B)': the figure and how it was measured."""
    st = footprint.get("stack") or {}
    parts = [f"call graph {st['callgraph_bytes']:,} B"] if st.get("callgraph_bytes") else []
    if st.get("painted_bytes") is not None:
        parts.append(f"painted high-water {st['painted_bytes']:,} B")
    how = f" ({', '.join(parts)})" if parts else ""
    return f"stack {footprint['stack_bytes']:,} B{how}"
