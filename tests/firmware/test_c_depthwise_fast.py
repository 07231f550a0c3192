"""Depthwise modes 3 and 1 of firmware/kernels/conv.c, bit-exact against the reference on the
host (ASan + UBSan: the C code) and on Cortex-M4 (QEMU: the assembly), in both
requantizations.
Mode 3 (mcuq_depthwise_planar; 3x3, depth multiplier 1, 4k channels, rows unpacked to int16
planes, two output pixels per pass): cases aimed at its edges (stride_w 1 and 2, odd widths,
SAME padding, single output rows, strides skipping ring rows, exotic channels taking the C
line). Mode 1 (mcuq_depthwise_px; its full blocks in one assembly loop, 3x3 unrolled, other
multiples of 3 taps in a loop, else C): narrow 3x3 maps, 2x3 and 1x3 filters, channel tails,
exotic channels."""
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from mcuq.reference.ops.conv import compute_padding
from mcuq.testing import strategies as S
from mcuq.testing.cbatch import Case, run_batch
from tests.exactness import EXAMPLES

#: (batch, h, w, stride_h, stride_w, padding, channels): stride_w 1 and 2 with odd and even
#: output widths, one output row (wide enough for mode 3), strides skipping ring rows, VALID
#: leftovers; batch 2 (no op runs in place) but for two wide batch-1 images, which the arena
#: plan may run in place by rows (mode 3 on one-row bands)
GEOMETRIES = [
    (2, 5, 6, 1, 1, "SAME", 4), (2, 4, 7, 1, 1, "SAME", 8), (2, 3, 9, 1, 1, "VALID", 12),
    (2, 8, 8, 2, 1, "SAME", 4), (2, 7, 13, 1, 2, "SAME", 8), (2, 6, 16, 2, 2, "SAME", 4),
    (2, 9, 15, 4, 2, "VALID", 4), (2, 9, 10, 5, 1, "SAME", 8), (2, 1, 12, 1, 1, "SAME", 4),
    (2, 2, 26, 1, 2, "SAME", 12), (2, 3, 14, 2, 1, "VALID", 4), (2, 12, 6, 1, 1, "SAME", 16),
    (1, 6, 13, 1, 1, "SAME", 8), (1, 5, 28, 1, 2, "SAME", 4),
]
#: mode 1: (batch, h, w, stride_h, stride_w, padding, channels, k_h, k_w)
GEOMETRIES_PX = [
    (2, 4, 4, 1, 1, "SAME", 8, 3, 3), (2, 5, 5, 1, 1, "SAME", 12, 3, 3),
    (2, 3, 3, 1, 2, "SAME", 6, 3, 3), (2, 6, 4, 2, 1, "VALID", 4, 2, 3),
    (2, 4, 5, 1, 1, "SAME", 9, 1, 3), (2, 2, 2, 1, 1, "SAME", 16, 3, 3),
]
#: examples per geometry (MCUQ_EXAMPLES=N: N // 16)
PER_GEOMETRY = max(1, EXAMPLES // 16)


@st.composite
def planar_models(draw, geometry, exotic: bool) -> bytes:
    n, h, w, sh, sw, padding, cin, kh, kw = (*geometry, 3, 3)[:9]
    pad = compute_padding(padding, sh, sw, 1, 1, h, w, kh, kw)
    g = dict(h=h, w=w, kh=kh, kw=kw, sh=sh, sw=sw, dh=1, dw=1, padding=padding, oh=pad.out_h,
             ow=pad.out_w)
    per_channel = draw(st.booleans())
    quant = draw(S._quant_for("shift" if exotic else "planar", cin, per_channel))
    bias = draw(S.biases(cin)) if draw(st.booleans()) else None
    return S.conv_model(g, n, cin, cin, quant,
                        draw(S.weights((1, kh, kw, cin))), bias,
                        draw(st.sampled_from(S.ACTIVATIONS)), depthwise=True, mult=1)

#: mode 3's coverage labels (mcuq/codegen/c_ops/conv.py: conv_paths) every run must reach
REQUIRED = {"depthwise/planar", "depthwise/planar:stride-1", "depthwise/planar:stride-2",
            "depthwise/planar:odd-width", "depthwise/planar:padding",
            "depthwise/planar:rows-skipped", "depthwise/requant:exotic"}


def planar_cases(per_geometry: int = PER_GEOMETRY, geometries=GEOMETRIES) -> list[Case]:
    cases: list[Case] = []
    for i, geometry in enumerate(geometries):  # every third with exotic channels
        @settings(max_examples=per_geometry, deadline=None, database=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(S.cases(planar_models(geometry, i % 3 == 0)))
        def collect(case):
            cases.append(Case(*case))

        collect()
    return cases


@pytest.fixture(scope="module")
def cases():
    return planar_cases()


@pytest.fixture(scope="module")
def px_cases():
    return planar_cases(geometries=GEOMETRIES_PX)


def _check(cases: list[Case], failures: list[str]) -> None:
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(
        failures[:10])
    # the others ran in place (by channels, or by rows: one output row per band)
    planar = sum("depthwise/planar" in c.paths for c in cases)
    assert planar >= len(cases) // 2, f"only {planar} of {len(cases)} cases ran mode 3"
    hits = {p for c in cases for p in c.paths}
    missing = sorted(REQUIRED - hits)
    assert not missing, f"mode 3 paths never taken: {missing}"


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_depthwise_planar_exact_on_host_sanitized(host_cc, cases, rounding):
    _check(cases, run_batch(cases, "host", rounding=rounding))


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_depthwise_planar_exact_on_cortex_m4(cortex_m4, cases, rounding):
    _check(cases, run_batch(cases, "cortex-m4", rounding=rounding))


def _check_px(cases: list[Case], failures: list[str]) -> None:
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(
        failures[:10])
    hits = {p for c in cases for p in c.paths}
    missing = sorted({"depthwise/fast:4-channels", "depthwise/fast:taps-x3",
                      "depthwise/fast:channel-tail", "depthwise/requant:exotic"} - hits)
    assert not missing, f"mode 1 paths never taken: {missing}"


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_depthwise_px_exact_on_host_sanitized(host_cc, px_cases, rounding):
    _check_px(px_cases, run_batch(px_cases, "host", rounding=rounding))


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_depthwise_px_exact_on_cortex_m4(cortex_m4, px_cases, rounding):
    _check_px(px_cases, run_batch(px_cases, "cortex-m4", rounding=rounding))
