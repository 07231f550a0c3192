"""Text and JSON views of `mcuq verify` (mcuq.verification.VerifyReport)."""
from __future__ import annotations

import click

from .common import print_json, table, to_jsonable


def verify_dict(report) -> dict:
    """One JSON object in DESIGN.md's vocabulary."""
    d = to_jsonable(report)
    d["status"] = {0: "PASS", 1: "FAIL"}.get(report.exit_code, "INCOMPLETE")
    for r, rd in zip(report.runners, d.get("runners", [])):
        gap = getattr(r, "profile_gap", None)
        if gap is not None:
            rd["profile_gap"].update(identical=gap.identical, max_abs_lsb=gap.max_abs_lsb,
                                     explained_by=gap.explained_by, summary=gap.summary())
    cmp = getattr(report, "int16_comparison", None)
    if cmp is not None:
        d["int16_comparison"]["sqnr_gain_db"] = to_jsonable(cmp.sqnr_gain_db())
    return d


def _pct(x) -> str:
    return "-" if x is None else f"{100.0 * x:.2f}%"


def _num(x, fmt="{:.4g}") -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and x != x:
        return "nan"
    if x == float("inf"):
        return "inf"
    if x == float("-inf"):
        return "-inf"
    return fmt.format(x)


def _divergence_lines(r) -> list[str]:
    d = r.first_diverging_tensor
    if d is None:
        return []
    if d.step is not None:
        lines = [f"  {r.runner}: first diverging tensor {d.describe()} at step {d.step}: "
                 f"{d.mismatched_elements} element(s) differ in steps 0..{d.samples_checked - 1} "
                 f"(re-run), max {d.max_abs_lsb} LSB"]
    else:
        lines = [f"  {r.runner}: first diverging tensor {d.describe()}: {d.mismatched_elements} "
                 f"element(s) differ in {d.samples_checked} re-run sample(s), max "
                 f"{d.max_abs_lsb} LSB"]
    word = "step" if d.step is not None else "sample"
    for e in d.examples:
        pos = ", ".join(map(str, e["position"]))
        lines.append(f"    {word} {e['sample']} [{pos}]: reference {e['reference']}, "
                     f"{r.runner} {e['runner']}")
    return lines


def _explain_lines(report) -> list[str]:
    """verify --explain: how far each runner's profile is from tflm on these inputs."""
    seen, lines = {}, []
    for r in report.runners:
        gap = getattr(r, "profile_gap", None)
        if gap is not None:
            seen.setdefault(gap.profile, (gap, []))[1].append(r.runner)
    for profile, (gap, names) in seen.items():
        lines.append(f"  {profile} ({', '.join(names)}): {gap.summary()}")
    if not lines:
        return []
    return ["", f"profiles vs tflm on these {report.samples} inputs (--explain):", *lines]


def _step_lines(report) -> list[str]:
    return [f"  {r.runner}: first diverging step {r.first_diverging_step} (output "
            f"'{r.first_diverging_output}'); steps before it are identical"
            for r in report.runners if r.first_diverging_step is not None]


def verify_text(report) -> str:
    profiles = getattr(report, "profiles", None) or ["tflm"]
    out = [f"model:  {report.model}", f"inputs: {report.inputs}",
           f"judge:  {report.judge} in profile{'s' if len(profiles) > 1 else ''} "
           f"{', '.join(profiles)} ({report.samples} inferences each"
           + (" as one sequence, state kept between steps (--windows: reset before each)"
              if getattr(report, "sequence", False) else
              ", one window each from a reset state (--sequence: keep the state between them)"
              if getattr(report, "windows", False) else "")
           + f", {report.reference_seconds:.2f} s)", ""]
    rows = []
    for r in report.runners:
        for o in r.outputs:
            rows.append([r.runner, getattr(r, "profile", "tflm"), o.output, _pct(o.exact),
                         "-" if o.max_abs_lsb is None else o.max_abs_lsb,
                         f"{o.mismatched_elements}/{o.elements}", STATUS[r.status]])
        if not r.outputs:
            rows.append([r.runner, getattr(r, "profile", "tflm"), "-", "-", "-", "-",
                         STATUS[r.status]])
    if rows:
        out.append(table(rows, ["runner", "profile", "output", "exact", "max_abs_lsb",
                                "mismatched", "status"], "lllrrrl"))
    else:
        out.append("(no runner compared: the reference ran alone)")
    notes = [f"  {r.runner}: {r.status + ': ' if r.status in FAILED else ''}{r.note}"
             for r in report.runners
             if r.note and (r.status != "exact" or "compressed" in r.note)]
    notes += _step_lines(report)
    notes += [line for r in report.runners for line in _divergence_lines(r)]
    notes += [f"  {r.runner} output '{o.output}': {o.note}"
              for r in report.runners for o in r.outputs if o.note]
    if notes:
        out += [""] + notes
    out += _explain_lines(report)
    if report.metrics:
        out += ["", f"quantized reference vs float model ({report.float_model or 'none'})"
                + (f", labels {report.labels}" if report.labels else "") + ":"]
        regression = any(getattr(m, "rmse_targets", None) for m in report.metrics)
        mrows = []
        for m in report.metrics:
            acc = (m.rmse_targets if regression else m.accuracy) or {}
            shown = _num if regression else _pct
            mrows.append([m.output, _pct(m.top1_agreement), shown(acc.get("int8")),
                          shown(acc.get("float")), _num(m.sqnr_db, "{:.2f}"),
                          _num(m.cosine, "{:.5f}"), _num(m.rmse), _num(m.mae)])
        what = "rmse vs targets" if regression else "accuracy"
        out.append(table(mrows, ["output", "top1_agreement", f"{what} int8", f"{what} float",
                                 "sqnr_db", "cosine", "rmse", "mae"]))
    if getattr(report, "int16_comparison", None) is not None:
        from .int16 import comparison_lines

        out += ["", *comparison_lines(report.int16_comparison)]
    diag = getattr(report, "diagnosis", None)
    if diag is not None:
        from .diagnose import diagnose_summary

        out += ["", *diagnose_summary(diag)]
    elif getattr(report, "diagnosis_error", None):
        out += ["", f"per-layer diagnosis not available: {report.diagnosis_error}"]
    out.append("")
    out.append(verdict_line(report))
    return "\n".join(out)


STATUS = {"exact": "exact", "mismatch": "MISMATCH", "differs": "differs (reported)",
          "refused": "REFUSED", "crashed": "CRASHED"}
FAILED = ("refused", "crashed")


def verdict_line(report) -> str:
    """The last line: PASS / FAIL (a mismatch) / INCOMPLETE (a runner could not run) / OK
    (the reference alone: nothing compared)."""
    by = {k: [r.runner for r in report.runners if r.status == k] for k in STATUS}
    could_not = [f"{r.runner} {r.status}" for r in report.runners if r.status in FAILED]
    differs = (f"; {', '.join(by['differs'])} differ by LSBs (reported, not failed on)"
               if by["differs"] else "")
    on = (f"every step of a {report.samples}-step sequence" if getattr(report, "sequence", False)
          else f"{report.samples} windows" if getattr(report, "windows", False)
          else f"{report.samples} samples")
    exact = (f"{', '.join(by['exact'])} identical to the reference (each in its profile) on "
             f"{on}" if by["exact"] else "")
    if by["mismatch"]:
        line = (f"FAIL: {', '.join(by['mismatch'])} differ(s) from the reference where "
                "exactness is required")
        return line + (f"; {', '.join(could_not)}" if could_not else "")
    if could_not:
        ran = exact or "no runner finished"
        return f"INCOMPLETE: {', '.join(could_not)} (see above); {ran}{differs}"
    if not report.runners:
        return (f"OK: the reference ran alone on {report.samples} samples; nothing was "
                "compared (choose runners with --runners, e.g. reference,tflm,tflite)")
    return f"PASS: {exact or 'no runner must be exact'}{differs}"


def print_verify(report, as_json: bool = False) -> None:
    if as_json:
        print_json(verify_dict(report))
    else:
        click.echo(verify_text(report))
