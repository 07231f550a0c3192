"""Headless Chromium (Debian's `chromium`) taking a screenshot of a local HTML file: how the
tests check that mcuq's HTML report renders in a real browser. `make test` installs the package
when it can (scripts/ensure-browser.sh)."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

APT_LINE = ("sudo apt-get update && sudo apt-get install --no-install-recommends chromium "
            "fonts-dejavu-core")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(html: str | Path, png: str | Path, width: int = 1280, height: int = 2400,
               timeout: float = 120.0) -> Path:
    """Render `html` (a local file) at width x height and write a PNG; raise RuntimeError with
    Chromium's output if no screenshot appears."""
    exe = find_chromium()
    if exe is None:
        raise RuntimeError(f"chromium is not installed; install with: {APT_LINE}")
    png = Path(png).resolve()
    with tempfile.TemporaryDirectory(prefix="mcuq-chromium-") as profile:
        cmd = [exe, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}",
               f"--window-size={width},{height}", Path(html).resolve().as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    if not png.is_file():
        raise RuntimeError(f"chromium wrote no screenshot (exit {proc.returncode}): "
                           f"{proc.stderr.strip()[-600:]}")
    return png
