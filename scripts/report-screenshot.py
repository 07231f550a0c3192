"""Screenshot of an mcuq HTML report for the README: headless Chromium renders it, Pillow
scales it down and stores it as a palette PNG (small enough to keep in git).

    .venv/bin/python scripts/report-screenshot.py examples/digits/build/report.html docs/report.png
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PIL import Image

from mcuq.testing.browser import screenshot


def main(html: str, png: str, height: int = 2140, width: int = 860) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        shot = screenshot(html, Path(tmp) / "full.png", width=1280, height=height)
        img = Image.open(shot).convert("RGB")
        img = img.resize((width, round(img.height * width / img.width)), Image.LANCZOS)
        img.quantize(colors=96, method=Image.Quantize.MEDIANCUT).save(png, optimize=True)
    print(f"{png}: {Path(png).stat().st_size:,} bytes")


if __name__ == "__main__":
    main(*sys.argv[1:3])
