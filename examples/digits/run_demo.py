"""The bundled example, end to end through the real `mcuq` command:

  train a small CNN on scikit-learn's 8x8 digits (real data that installs offline)
  -> mcuq convert   (full-int8 PTQ, calibrated on the training split)
  -> mcuq inspect   (MACs, flash, arena: mcuq's plan next to TFLite Micro's measurement)
  -> mcuq generate  (a TFLite Micro project and a standalone C project)
  -> mcuq verify    (reference vs TFLite, TFLite Micro, the C build on the host and on
                     Cortex-M4 under QEMU; int8 vs float accuracy on the held-out split;
                     per-layer quantization error) and its HTML report, build/report.html

Everything lands in examples/digits/build/. Run with `make demo`.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUILD = HERE / "build"
MCUQ = [sys.executable, "-m", "mcuq.cli"]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")


def step(title: str, args: list[str], capture_json: bool = False):
    print(f"\n=== {title}\n$ mcuq {' '.join(args)}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(MCUQ + args, text=True, env=ENV,
                          stdout=subprocess.PIPE if capture_json else None)
    if proc.returncode != 0:
        sys.exit(f"demo: `mcuq {args[0]}` failed with exit code {proc.returncode}")
    print(f"({time.perf_counter() - t0:.1f} s)", flush=True)
    return json.loads(proc.stdout) if capture_json else None


def main() -> None:
    BUILD.mkdir(exist_ok=True)
    data = BUILD / "data"
    print("=== train a small CNN on scikit-learn's digits", flush=True)
    subprocess.run([sys.executable, str(HERE / "train.py"), "--out", str(data)], check=True,
                   env=ENV)
    tflite = BUILD / "digits.tflite"
    step("convert", ["convert", str(data / "model.keras"), "--calibration",
                     str(data / "calib.npy"), "-o", str(tflite), "--force"])
    step("inspect", ["inspect", str(tflite)])
    projects = {}
    for target in ("tflm", "c"):
        projects[target] = BUILD / f"firmware-{target}"
        step(f"generate --target {target}", ["generate", str(tflite), "-o",
                                             str(projects[target]), "--target", target,
                                             "--name", "digits", "--force"])
    runners = ["reference", "tflite", "tflm", "tflite-default"]
    if shutil.which("cc"):
        runners.append("host")
    if shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm"):
        runners.append("cortex-m4")
    else:
        print("note: arm-none-eabi-gcc/qemu-system-arm missing, skipping the cortex-m4 runner "
              "(sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi "
              "libstdc++-arm-none-eabi-newlib qemu-system-arm)")
    verify_args = ["verify", str(tflite), "--data", str(data / "test_x.npy"), "--labels",
                   str(data / "test_y.npy"), "--float", str(data / "model.keras"),
                   "--runners", ",".join(runners), "--explain"]
    html = BUILD / "report.html"
    step("verify --html (the report to open in a browser)", verify_args + ["--html", str(html)])
    report = step("verify --json (the same run, read by the report below)",
                  verify_args + ["--json", "--no-diagnose"], capture_json=True)
    summary(tflite, report, projects, html)


def summary(tflite: Path, report: dict, projects: dict, html: Path) -> None:
    import mcuq

    info = mcuq.inspect(tflite)
    a = info.arena
    m = report["metrics"][0]
    by_profile: dict[str, list[str]] = {}
    for r in report["runners"]:
        if r["status"] == "exact":
            by_profile.setdefault(r["profile"], []).append(r["runner"])
    exact = ", ".join(f"{', '.join(names)} (vs {p})" for p, names in by_profile.items())
    differ = [f"{r['runner']} (max {max(o['max_abs_lsb'] for o in r['outputs'])} LSB vs "
              f"{r['profile']}, {'reported' if r['status'] == 'differs' else r['status']})"
              if r["outputs"] else f"{r['runner']} ({r['status']}: {r.get('note') or ''})"
              for r in report["runners"] if r["status"] != "exact"]
    gaps = {r["profile"]: r["profile_gap"] for r in report["runners"] if r.get("profile_gap")}
    lines = [
        ("model", f"{tflite.name}: {len(info.ops)} ops, {info.macs:,} MACs, "
                  f"{info.flash_bytes:,} B flatbuffer"),
        ("accuracy", f"float {m['accuracy']['float']:.2%}  int8 {m['accuracy']['int8']:.2%}  "
                     f"on {report['samples']} held-out digits; top-1 agreement "
                     f"{m['top1_agreement']:.2%}, SQNR {m['sqnr_db']:.1f} dB"),
        ("arena", f"TFLite Micro {a.tflm_total_bytes:,} B (measured: head "
                  f"{a.tflm_head_bytes:,} + tail {a.tflm_tail_bytes:,}); mcuq C target "
                  f"{a.c_arena_bytes:,} B (inputs and outputs inside, {a.c_inplace_ops} ops "
                  "in place)"),
        ("projects", f"{projects['tflm']} (TFLite Micro), {projects['c']} (standalone C)"),
        ("bit-exact", exact + ": == reference in that profile on every output byte"),
        ("differs", ", ".join(differ) or "none"),
        *[("profiles", g["summary"]) for g in gaps.values()],
        ("verdict", report["status"]),
        ("html", f"{html} (open it in a browser: op costs, memory plan, runners, per-layer "
                 "error, confusion matrix)"),
    ]
    print("\n=== report")
    for k, v in lines:
        print(f"  {k:10} {v}")
    if report["exit_code"] != 0:
        sys.exit(report["exit_code"])


if __name__ == "__main__":
    main()
