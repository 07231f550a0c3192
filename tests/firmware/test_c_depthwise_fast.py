"""Depthwise modes 3, 4 and 1 of firmware/kernels/conv.c, bit-exact against the reference on the
host (ASan + UBSan: the C code) and on Cortex-M4 (QEMU: the assembly; and once with
-DMCUQ_NO_ASM: the C code on the M4), in both requantizations.
Mode 3 (mcuq_depthwise_planar; 3x3, stride_w 1, depth multiplier 1, 4k channels, rows unpacked
to int16 planes, two output pixels per pass, the last three of an odd row in one, groups of
blocks per ring) and mode 4 (mcuq_depthwise_s2; the same with stride_w 2, pixel by pixel over
rows unpacked once): cases aimed at their edges (odd and even widths, SAME/VALID padding, single
output rows, strides skipping ring rows, several groups, exotic channels taking the C line),
batch 2 (not in place) and batch 1 (in place whole: the "planar" method, whose order the arena
plan replays). Mode 1 (mcuq_depthwise_px; its full blocks in one assembly loop over a per-block
stream, 3x3 unrolled, other multiples of 3 taps in a loop, else C): narrow 3x3 maps of widths
1..4, 2x3 and 1x3 filters, channel tails, exotic channels."""
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from mcuq.reference.ops.conv import compute_padding
from mcuq.testing import strategies as S
from mcuq.testing.cbatch import Case, run_batch
from tests.exactness import EXAMPLES

#: mode 3: (batch, h, w, stride_h, stride_w, padding, channels): output widths 5..16 odd and
#: even, one output row (wide enough for mode 3), strides skipping ring rows, VALID leftovers,
#: 36 channels in several groups; batch 2 (not in place) and batch 1 (in place whole, or by
#: rows on one-row bands)
GEOMETRIES = [
    (2, 5, 6, 1, 1, "SAME", 4), (2, 4, 7, 1, 1, "SAME", 8), (2, 3, 9, 1, 1, "VALID", 12),
    (2, 8, 8, 2, 1, "SAME", 4), (2, 9, 10, 5, 1, "SAME", 8), (2, 1, 12, 1, 1, "SAME", 4),
    (2, 3, 14, 2, 1, "VALID", 4), (2, 12, 6, 1, 1, "SAME", 16), (1, 6, 13, 1, 1, "SAME", 8),
    (1, 7, 5, 1, 1, "SAME", 36), (1, 6, 9, 2, 1, "SAME", 12), (1, 5, 16, 1, 1, "SAME", 36),
    (2, 6, 7, 1, 1, "SAME", 36), (1, 9, 11, 4, 1, "VALID", 4),
]
#: mode 4 (stride_w 2): output widths 6..16 odd and even
GEOMETRIES_S2 = [
    (2, 6, 12, 2, 2, "SAME", 4), (2, 5, 13, 1, 2, "SAME", 8), (2, 9, 15, 4, 2, "VALID", 4),
    (2, 2, 26, 1, 2, "SAME", 12), (1, 8, 16, 2, 2, "SAME", 16), (1, 5, 28, 1, 2, "SAME", 4),
    (1, 7, 14, 2, 2, "VALID", 36), (2, 4, 22, 2, 2, "SAME", 36), (1, 3, 31, 1, 2, "VALID", 8),
]
#: mode 1: (batch, h, w, stride_h, stride_w, padding, channels, k_h, k_w): output widths 1..4
GEOMETRIES_PX = [
    (2, 4, 4, 1, 1, "SAME", 8, 3, 3), (2, 5, 5, 1, 1, "SAME", 12, 3, 3),
    (2, 3, 3, 1, 2, "SAME", 6, 3, 3), (2, 6, 4, 2, 1, "VALID", 4, 2, 3),
    (2, 4, 5, 1, 1, "SAME", 9, 1, 3), (2, 2, 2, 1, 1, "SAME", 16, 3, 3),
    (1, 8, 8, 2, 2, "SAME", 12, 3, 3), (1, 4, 2, 1, 2, "SAME", 36, 3, 3),
    (1, 3, 1, 1, 1, "SAME", 8, 3, 3), (2, 6, 3, 1, 1, "VALID", 4, 3, 3),
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

#: modes 3 and 4's coverage labels (mcuq/codegen/c_ops/conv.py: conv_paths) every run must reach
REQUIRED = {"depthwise/planar", "depthwise/planar:odd-width", "depthwise/planar:padding",
            "depthwise/planar:rows-skipped", "depthwise/planar:groups",
            "depthwise/s2", "depthwise/s2:odd-width", "depthwise/s2:padding",
            "depthwise/s2:rows-skipped", "depthwise/s2:groups",
            "depthwise/in-place:planar", "depthwise/requant:exotic"}


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
    return planar_cases() + planar_cases(geometries=GEOMETRIES_S2)


@pytest.fixture(scope="module")
def px_cases():
    return planar_cases(geometries=GEOMETRIES_PX)


def _check(cases: list[Case], failures: list[str]) -> None:
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(
        failures[:10])
    # the others ran in place by rows (one output row per band: mode 1)
    fast = sum("depthwise/planar" in c.paths or "depthwise/s2" in c.paths for c in cases)
    assert fast >= 3 * len(cases) // 4, f"only {fast} of {len(cases)} cases ran mode 3/4"
    whole = sum("planar" in c.inplace.values() for c in cases)
    assert whole >= len(cases) // 5, f"only {whole} of {len(cases)} cases in place whole"
    hits = {p for c in cases for p in c.paths}
    missing = sorted(REQUIRED - hits)
    assert not missing, f"mode 3/4 paths never taken: {missing}"


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_depthwise_planar_exact_on_host_sanitized(host_cc, cases, rounding):
    _check(cases, run_batch(cases, "host", rounding=rounding))


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_depthwise_planar_exact_on_cortex_m4(cortex_m4, cases, rounding):
    _check(cases, run_batch(cases, "cortex-m4", rounding=rounding))


def test_depthwise_fast_paths_without_assembly_exact_on_cortex_m4(cortex_m4, cases, px_cases):
    """-DMCUQ_NO_ASM: the C code of modes 1, 3 and 4 (what the host runs) on the M4."""
    both = cases + px_cases
    failures = run_batch(both, "cortex-m4", extra_cflags=("-DMCUQ_NO_ASM",))
    assert not failures, f"{len(failures)} of {len(both)} cases differ:\n" + "\n".join(
        failures[:10])


def _check_px(cases: list[Case], failures: list[str]) -> None:
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(
        failures[:10])
    hits = {p for c in cases for p in c.paths}
    missing = sorted({"depthwise/fast:4-channels", "depthwise/fast:taps-x3",
                      "depthwise/fast:channel-tail", "depthwise/fast:padding",
                      "depthwise/requant:exotic"} - hits)
    assert not missing, f"mode 1 paths never taken: {missing}"


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_depthwise_px_exact_on_host_sanitized(host_cc, px_cases, rounding):
    _check_px(px_cases, run_batch(px_cases, "host", rounding=rounding))


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_depthwise_px_exact_on_cortex_m4(cortex_m4, px_cases, rounding):
    _check_px(px_cases, run_batch(px_cases, "cortex-m4", rounding=rounding))
