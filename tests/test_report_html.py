"""The HTML report of inspect, verify and diagnose: every section present, its numbers equal
to --json, self-contained, written atomically, and rendered by a real browser (headless
Chromium) into a non-blank screenshot of the expected size."""
import json
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest
from click.testing import CliRunner

from mcuq.cli import main
from mcuq.testing import zoo as zoo_mod


class Page(HTMLParser):
    """Section ids, the embedded JSON, and every cell that carries a number."""

    def __init__(self, text: str):
        super().__init__()
        self.sections, self.cells, self.rows = [], [], {}
        self.tags = set()
        self.urls = []
        self._row = None
        self._json = False
        self.json_text = ""
        self.feed(text)
        self.data = json.loads(self.json_text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        for k in ("src", "href"):
            if a.get(k):
                self.urls.append(a[k])
        if tag == "section":
            self.sections.append(a["id"])
        if tag == "tr":
            self._row = next(((k[5:], a[k]) for k in ("data-tensor", "data-runner",
                                                      "data-output") if k in a), None)
        if tag == "td" and "data-field" in a:
            self.cells.append((self._row, a["data-field"], a.get("data-num")))
        if tag == "script":
            assert a.get("type") == "application/json", "no executable script in the report"
            self._json = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._json = False

    def handle_data(self, data):
        if self._json:
            self.json_text += data


def _num(text):
    return {"inf": float("inf"), "-inf": float("-inf")}.get(text, None) if text in (
        "inf", "-inf") else float(text)


def _json_num(v):
    return {"inf": float("inf"), "-inf": float("-inf")}[v] if isinstance(v, str) else float(v)


@pytest.fixture(scope="module")
def files(tmp_path_factory, zoo):
    from mcuq.conversion import quiet_native_output

    d = tmp_path_factory.mktemp("html")
    model = zoo_mod.build_keras("cnn")
    with quiet_native_output():
        model.save(d / "cnn.keras")
    (d / "cnn.tflite").write_bytes(zoo["cnn"])
    x = zoo_mod.calibration("cnn", n=64, seed=4)[0]
    np.save(d / "x.npy", x)
    np.save(d / "y.npy", np.argmax(model.predict(x, verbose=0), axis=1))
    return d


@pytest.fixture(scope="module")
def verify_page(files):
    """verify --float --labels --html: every section of the report, and its --json."""
    d = files
    r = CliRunner().invoke(main, ["verify", str(d / "cnn.tflite"), "--data", str(d / "x.npy"),
                                  "--labels", str(d / "y.npy"), "--float", str(d / "cnn.keras"),
                                  "--runners", "reference,tflm", "--json",
                                  "--html", str(d / "verify.html")])
    assert r.exit_code == 0, r.output
    return Page((d / "verify.html").read_text()), json.loads(r.stdout), d / "verify.html"


def test_verify_report_has_every_section_and_the_json_numbers(verify_page):
    page, out, path = verify_page
    assert page.sections == ["summary", "ops", "memory", "runners", "layers", "accuracy",
                             "weights"]
    assert {"svg", "table"} <= page.tags
    assert not [u for u in page.urls if not u.startswith("#")], "no external resource"
    assert page.data["verify"]["runners"] == out["runners"]
    diag = out["diagnosis"]
    assert page.data["diagnose"]["ranking"] == diag["ranking"]
    # Every number in the per-layer table is the JSON's, exactly.
    by_tensor = {lr["tensor"]: lr for lr in diag["layers"]}
    layer_cells = [(r[1], f, n) for r, f, n in page.cells if r and r[0] == "tensor"]
    assert len(layer_cells) >= 9 * len(by_tensor)
    for tensor, fld, num in layer_cells:
        want = by_tensor[tensor][fld]
        if want is None:
            assert num is None
        else:
            assert _num(num) == _json_num(want), (tensor, fld)
    (runner,) = out["runners"]
    cells = {f: n for row, f, n in page.cells if row == ("runner", "tflm")}
    assert float(cells["exact"]) == runner["outputs"][0]["exact"]
    assert int(cells["max_abs_lsb"]) == runner["outputs"][0]["max_abs_lsb"]
    acc = {f: n for row, f, n in page.cells if row == ("output", out["metrics"][0]["output"])}
    assert float(acc["accuracy_int8"]) == out["metrics"][0]["accuracy"]["int8"]
    assert float(acc["top1_agreement"]) == out["metrics"][0]["top1_agreement"]
    # The op table's MACs are inspect's.
    info = page.data["inspect"]
    macs = [int(n) for row, f, n in page.cells if f == "macs"]
    assert macs == [o["macs"] for o in info["ops"]] and sum(macs) == info["macs"]
    assert [p["size"] for p in page.data["plans"]] == [info["arena"]["plan_bytes"],
                                                       info["arena"]["c_arena_bytes"]]


def test_diagnose_report_embeds_the_json_it_printed(files):
    d = files
    r = CliRunner().invoke(main, ["diagnose", str(d / "cnn.tflite"), "--float",
                                  str(d / "cnn.keras"), "--data", str(d / "x.npy"),
                                  "--no-simulate", "--json", "--html", str(d / "diag.html")])
    assert r.exit_code == 0, r.output
    page = Page((d / "diag.html").read_text())
    assert page.data["diagnose"] == json.loads(r.stdout)
    assert page.sections == ["summary", "ops", "memory", "layers", "accuracy", "weights"]
    assert not list(d.glob(".diag.html.*")), "the temporary file was renamed into place"


def test_inspect_html_needs_no_tensorflow(files, tmp_path):
    out = tmp_path / "inspect.html"
    code = ("import sys; from mcuq.cli import main\n"
            "try:\n    main(['inspect', sys.argv[1], '--html', sys.argv[2]])\n"
            "except SystemExit as e:\n    assert not e.code, e.code\n"
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'\n")
    r = subprocess.run([sys.executable, "-c", code, str(files / "cnn.tflite"), str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    page = Page(out.read_text())
    assert page.sections == ["summary", "ops", "memory"]
    assert page.data["verify"] is None and page.data["diagnose"] is None


def test_report_renders_in_chromium(verify_page, tmp_path):
    from mcuq.testing.browser import APT_LINE, find_chromium, screenshot

    if find_chromium() is None:
        pytest.skip(f"chromium missing (make test installs it as root); install with: {APT_LINE}")
    Image = pytest.importorskip("PIL.Image")
    _, _, path = verify_page
    png = screenshot(path, tmp_path / "report.png", width=1280, height=2400)
    img = Image.open(png).convert("RGB")
    assert img.size == (1280, 2400)
    px = np.asarray(img).reshape(-1, 3).astype(np.int64)
    page_bg = np.array([0xF6, 0xF7, 0xF9])
    assert np.mean(np.any(px != page_bg, axis=1)) > 0.25, "mostly blank"
    assert len(np.unique(px[::7], axis=0)) > 50, "too few colours for text, bars and plots"
    assert tuple(px[10 * 1280 + 10]) == (0x1D, 0x23, 0x30), "the header's CSS did not apply"
    # The SQNR chart's bars (#4e79a7) and the memory plan's rectangles are drawn.
    assert np.count_nonzero(np.all(px == [0x4E, 0x79, 0xA7], axis=1)) > 2000
