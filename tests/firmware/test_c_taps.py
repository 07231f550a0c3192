"""The short-patch conv of firmware/kernels/conv_taps.c (mcuq/codegen/c_ops/conv_taps.py), bit-exact
against the reference on the host (ASan + UBSan: the C code) and on Cortex-M4 (QEMU: the
assembly; and once with -DMCUQ_NO_ASM: the C code on the M4), in both requantizations.
CONV_2D with 1-4 input channels and patches of at most 5 int16 pairs, and DEPTHWISE_CONV_2D on
one input channel x multiplier (routed to the same kernel): 3x3 on one channel (the row loop in
assembly) and 3x1 on three, other filter rows (pairs only, single taps, 1x3, 2x2x2, 5x1, 10x1),
odd and even widths and channel counts, SAME/VALID, stride 2, strides skipping ring rows,
full-range and clamped activations, exotic requantization channels, batch 2 and batch 1 (in
place in one call: "taps" and "taps-reverse", whose order the arena plan replays)."""
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from mcuq.reference.ops.conv import compute_padding
from mcuq.testing import strategies as S
from mcuq.testing.cbatch import Case, run_batch
from tests.exactness import EXAMPLES
from tests.test_arena_plan import first_layer

#: (batch, h, w, k_h, k_w, in_c, out_c, stride_h, stride_w, padding, depthwise)
GEOMETRIES = [
    (1, 16, 16, 3, 3, 1, 8, 1, 1, "SAME", False),   # the zoo cnn's first layer
    (1, 20, 16, 3, 3, 1, 8, 2, 2, "SAME", False),   # first_layers #0
    (1, 20, 16, 3, 3, 1, 8, 2, 2, "SAME", True),    # first_layers #1 (depthwise x8)
    (2, 8, 8, 3, 3, 1, 4, 1, 1, "SAME", False),
    (2, 7, 9, 3, 3, 1, 5, 1, 2, "VALID", False),
    (1, 9, 7, 3, 3, 1, 3, 4, 1, "SAME", True),      # rows skipped
    (2, 6, 5, 3, 1, 3, 2, 1, 1, "SAME", False),     # 3x1 on RGB
    (1, 6, 6, 3, 1, 3, 2, 1, 1, "VALID", False),    # narrowing: in place forward
    (2, 5, 7, 2, 2, 2, 6, 1, 1, "SAME", False),     # pairs only (generic rows)
    (2, 12, 4, 5, 1, 1, 7, 1, 1, "SAME", False),    # single taps
    (1, 12, 3, 10, 1, 1, 4, 2, 1, "SAME", True),    # tallest filter
    (2, 5, 9, 1, 3, 1, 9, 1, 1, "SAME", False),     # one filter row
    (1, 4, 6, 1, 1, 3, 1, 1, 1, "SAME", False),     # 1x1 on three channels
    (2, 6, 8, 2, 3, 1, 16, 2, 3, "SAME", True),
]
#: examples per geometry (MCUQ_EXAMPLES=N: N // 12); the activation by geometry (every one of
#: S.ACTIVATIONS: full-range and clamped layers)
PER_GEOMETRY = max(2, EXAMPLES // 12)

REQUIRED = {"conv/taps", "depthwise/as-conv-taps", "conv/taps:3x3-rows", "conv/taps:any-rows",
            "conv/taps:odd-rows", "conv/taps:single-taps", "conv/taps:full-range",
            "conv/taps:clamp", "conv/taps:odd-out", "conv/taps:border", "conv/taps:stride-w",
            "conv/taps:rows-skipped", "conv/taps:batches", "conv/taps:exotic",
            "conv/taps:in-place-forward", "conv/taps:in-place-reverse",
            "conv/requant:dead-channel", "conv/requant:shift-1-or-0", "conv/requant:left-shift"}


@st.composite
def taps_models(draw, geometry, exotic: bool, act: str) -> bytes:
    n, h, w, kh, kw, cin, cout, sh, sw, padding, depthwise = geometry
    pad = compute_padding(padding, sh, sw, 1, 1, h, w, kh, kw)
    g = dict(h=h, w=w, kh=kh, kw=kw, sh=sh, sw=sw, dh=1, dw=1, padding=padding, oh=pad.out_h,
             ow=pad.out_w)
    if exotic:  # channel 0 above the table's shift range (shift >= 0), 1 dead, 2 at shift -1
        # (in mcuq_rqc's table), the others typical
        q = draw(S.layer_quants(cout, True, "typical"))
        reals = [draw(S.real_multipliers("left" if act == "NONE" else "shift0")), 0.0,
                 draw(S.real_multipliers("shift-1"))]
        reals = (reals + [draw(S.real_multipliers("typical")) for _ in range(cout)])[:cout]
        quant = S.LayerQuant(q.input_scale, q.input_zero_point,
                             tuple(S.f32(r * q.output_scale / q.input_scale) for r in reals),
                             q.output_scale, q.output_zero_point)
    else:
        quant = draw(S._quant_for("first-layer", cout, draw(st.booleans())))
    bias = draw(S.biases(cout)) if draw(st.booleans()) else None
    if depthwise:
        return S.conv_model(g, n, 1, cout, quant, draw(S.weights((1, kh, kw, cout))), bias,
                            act, depthwise=True, mult=cout)
    return S.conv_model(g, n, cin, cout, quant, draw(S.weights((cout, kh, kw, cin))), bias,
                        act)


def taps_cases(per_geometry: int = PER_GEOMETRY, geometries=GEOMETRIES,
               exotic_every: int = 4) -> list[Case]:
    """per_geometry models of each geometry (taps_models), every exotic_every-th geometry
    (from the second) also with exotic channels; activations in turn."""
    cases: list[Case] = []
    for i, geometry in enumerate(geometries):
        act = S.ACTIVATIONS[i % len(S.ACTIVATIONS)]
        for exotic in (False, True) if i % exotic_every == 1 else (False,):
            @settings(max_examples=per_geometry, deadline=None, database=None,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck))
            @given(S.cases(taps_models(geometry, exotic, act)))
            def collect(case):
                cases.append(Case(*case))

            collect()
    return cases


@pytest.fixture(scope="module")
def cases():
    return taps_cases()


def _check(cases: list[Case], failures: list[str]) -> None:
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(
        failures[:10])
    taps = sum("conv/taps" in c.paths for c in cases)
    assert taps == len(cases), f"only {taps} of {len(cases)} cases ran the taps kernel"
    hits = {p for c in cases for p in c.paths}
    missing = sorted(REQUIRED - hits)
    assert not missing, f"taps paths never taken: {missing}"


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_conv_taps_exact_on_host_sanitized(host_cc, cases, rounding):
    _check(cases, run_batch(cases, "host", rounding=rounding))


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_conv_taps_exact_on_cortex_m4(cortex_m4, cases, rounding):
    _check(cases, run_batch(cases, "cortex-m4", rounding=rounding))


@pytest.mark.parametrize("flags", [("-DMCUQ_NO_ASM",), ("-O0",)], ids=["no-asm", "O0"])
def test_conv_taps_without_assembly_exact_on_cortex_m4(cortex_m4, cases, flags):
    """-DMCUQ_NO_ASM and -O0: the C code (what the host runs) on the M4."""
    failures = run_batch(cases, "cortex-m4", extra_cflags=flags)
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(
        failures[:10])


@settings(max_examples=EXAMPLES * 2, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(1, 5), st.integers(1, 3),
       st.integers(1, 3), st.sampled_from([1, 2, 3, 4]), st.sampled_from([1, 3, 8, 16]),
       st.sampled_from(["SAME", "VALID"]))
def test_taps_in_place_is_offered_only_where_its_order_is_safe(h, w, kh, kw, s, cin, cout,
                                                               padding):
    """conv_taps.py's taps_inplace takes the first direction whose byte order (taps_order)
    reads every input byte before the output overwrites it, declines when neither does, and
    the arena plan's replay (check_reads) accepts what the planner took; the other direction,
    where it is unsafe, is a conflict the replay reports."""
    import numpy as np

    from mcuq.codegen.c_ops.conv import order_times
    from mcuq.codegen.c_ops.conv_taps import as_taps, taps_inplace, taps_order
    from mcuq.codegen.inplace import c_plan
    from mcuq.memory import check_reads, order_conflicts
    from mcuq.model import load_model
    from mcuq.reference import Interpreter
    pad = compute_padding(padding, s, s, 1, 1, h, w, kh, kw)
    if pad.out_h < 1 or pad.out_w < 1:
        return
    m = load_model(first_layer(h, w, cin, cout, (kh, kw), s, padding))
    p = Interpreter(m).params(0)
    got = taps_inplace(p)
    q = as_taps(p)
    if q is None:
        assert got is None
        return
    n_in, n_out = int(np.prod(p.input_shape)), int(np.prod(p.output_shape))
    conflicts = [order_conflicts(*order_times(taps_order(q, r), n_in, n_out), 0).size
                 for r in (False, True)]
    if conflicts[0] and conflicts[1]:
        assert got is None
    else:
        assert got[0] == ("taps" if not conflicts[0] else "taps-reverse")
        check_reads(m, c_plan(m))
