"""Every code path of the C conv/depthwise/fully-connected kernels, reached on purpose and proved
identical to the reference: one batch of cases aimed at each kernel target
(mcuq.testing.strategies), built once under ASan + UBSan (-fno-sanitize-recover: any report
fails the case) and once for Cortex-M4 (QEMU), in both requantization roundings (double vs the
tflm profile, single -- -DMCUQ_SINGLE_ROUNDING=1 -- vs the single-rounding profile). The
emitters record the path each op took (CCall.paths); the test prints the coverage table and
fails if a path was never taken.

Packed weights (`--pack`, firmware/kernels/packed.c) run in the same builds: for every
weight-bearing op (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV, BATCH_MATMUL
with a constant right-hand side) every index width 1..6 with per-channel and per-tensor tables,
on the same edge-aimed models with their weights snapped to 2^k values
(mcuq.testing.packed_strategies).

MCUQ_EXAMPLES=N draws N // 8 cases per target instead of 3 (MCUQ_RANDOM=1: new ones)."""
import itertools
import math
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from mcuq.model import load_model
from mcuq.testing import strategies as S
from mcuq.testing.cbatch import Case, run_batch
from mcuq.testing.coverage import case_features, coverage_table
from mcuq.testing.packed_strategies import packed_cases
from mcuq.vectors import random_inputs
from tests.exactness import EXAMPLES
from tests.reference.test_batch_matmul import batch_matmul_models
from tests.reference.test_conv import wide_wrap_conv_model
from tests.reference.test_transpose_conv import transpose_conv_models

PER_TARGET = max(3, EXAMPLES // 8)

#: Paths of firmware/kernels/conv.c and fully_connected.c (labels of mcuq/codegen/c_ops/conv.py
#: and fully_connected.py) and case features (mcuq.testing.coverage) every run must reach.
REQUIRED = {
    "conv/direct-1x1", "conv/im2col", "conv/im2col:border", "conv/im2col:interior",
    "conv/im2col:dilated-w", "conv/packed:odd-out",
    "conv/ring", "conv/ring:chunk-table", "conv/ring:long-rows", "conv/ring:row-tails",
    "conv/ring:row-pairs", "conv/ring:pairs-across-rows", "conv/ring:padded-rows",
    "conv/ring:tails-only",
    "conv/ring:dilated-w", "conv/ring:border", "conv/ring:first-layer",
    "conv/ring:rows-skipped", "conv/ring:batches", "conv/ring:in-place-forward",
    "conv/ring:in-place-reverse", "conv/direct-1x1:in-place-forward",
    "conv/direct-1x1:in-place-reverse",
    "conv/packed:odd-pixels", "conv/generic:grouped", "conv/generic:col-max",
    "conv/generic:border", "conv/generic:rows", "conv/generic:taps",
    "depthwise/fast", "depthwise/fast:4-channels", "depthwise/fast:channel-tail",
    "depthwise/fast:padding", "depthwise/fast:taps-x3", "depthwise/multiplier-x4",
    "depthwise/multiplier-x4:padding", "depthwise/multiplier-x4:paired",
    "depthwise/generic:multiplier", "depthwise/generic:taps", "depthwise/generic:channels",
    "depthwise/generic:rows", "depthwise/generic:padding",
    "fully_connected/rows4", "fully_connected/row-tail", "fully_connected/depth-tail",
    "fully_connected/depth-x4", "fully_connected/unpacked-row", "fully_connected/deep-row",
    "fully_connected/small",
    "conv/as-depthwise-x4",
    "conv/requant:dead-channel", "conv/requant:left-shift", "conv/requant:shift-1-or-0",
    "conv/requant:shift-31", "conv/requant:exotic", "conv/requant:mixed",
    "depthwise/requant:shift-31", "depthwise/requant:dead-channel",
    "depthwise/requant:left-shift", "depthwise/requant:exotic", "depthwise/requant:mixed",
    "fully_connected/requant:dead-channel", "fully_connected/requant:left-shift",
    "fully_connected/requant:exotic", "fully_connected/requant:mixed",
    "conv/acc-wraps", "depthwise/acc-wraps", "fully_connected/acc-wraps",
    "zero-point:-128", "zero-point:127", "zero-point:0",
}

#: Packed weights (labels of mcuq/codegen/c_ops/packed.py): every op family with every index
#: width and both table forms, the decoder's edges and the kernels' loops.
PACKED_FAMILIES = ("conv", "depthwise", "fully_connected", "transpose_conv", "batch_matmul")
REQUIRED_PACKED = {
    *(f"packed/{f}:bits-{k}" for f in PACKED_FAMILIES for k in range(1, 7)),
    *(f"packed/{f}:tables-{t}" for f in PACKED_FAMILIES for t in ("channel", "tensor")),
    *(f"packed/bits-{k}:groups-of-8" for k in range(1, 7)),
    "packed/part-filled-byte", "packed/tail",
    "packed/conv:direct", "packed/conv:direct:pixel-quads", "packed/conv:direct:pixel-pairs",
    "packed/conv:blocked", "packed/conv:blocked:several-blocks",
    "packed/conv:blocked:pixel-tail", "packed/conv:per-pixel", "packed/conv:padding",
    "packed/conv:padding:tap-sums", "packed/conv:padding:weights", "packed/conv:grouped",
    "packed/conv:dilated", "packed/conv:rq-fast", "packed/conv:rq-generic",
    "packed/depthwise:quads", "packed/depthwise:quads:padding",
    "packed/depthwise:channel-tail", "packed/depthwise:pixel-pairs", "packed/depthwise:padding",
    "packed/depthwise:padding:tap-sums", "packed/depthwise:padding:weights",
    "packed/depthwise:multiplier",
    "packed/depthwise:rq-fast", "packed/depthwise:rq-generic",
    "packed/fully_connected:batch-pairs", "packed/fully_connected:rq-fast",
    "packed/fully_connected:rq-generic", "packed/batch_matmul:adj_y",
    "packed/conv/acc-wraps", "packed/fully_connected/acc-wraps",
}


def _targets():
    yield from (S.conv_models(t) for t in S.CONV_TARGETS)
    yield from (S.depthwise_models(t) for t in S.DEPTHWISE_TARGETS)
    yield from (S.fully_connected_models(t) for t in S.FC_TARGETS)


def path_cases(per_target: int = PER_TARGET) -> list[Case]:
    """per_target cases for every kernel target, plus the reference tests' wrap model."""
    cases: list[Case] = []
    for strategy in _targets():
        @settings(max_examples=per_target, deadline=None, database=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(S.cases(strategy))
        def collect(case):
            cases.append(Case(*case))

        collect()
    wide = wide_wrap_conv_model()
    cases.append(Case(wide, random_inputs(load_model(wide), 6, 5)))
    return cases + ring_cases()


def ring_cases() -> list[Case]:
    """Conv mode 3 and the one-call in-place convs on fixed first-layer shapes, so that every
    patch builder and both walk orders run whatever hypothesis draws: DS-CNN's 10x4 filter on
    one channel (one-word rows, widening: from the last pixel back), RGB 3x3 stride 2 (split
    rows, narrowing: forward), a 1x11 filter on one channel at stride 2 (rows padded to words,
    input rows skipped; shorter filters take the taps kernel), 4x3 on one channel (tails
    only), 3x4 on 2 channels (whole-word rows), a widening 1x1 (by pixels, back), 9x9 on 4 channels (more filter-row words than the table
    of word addresses holds) and 3x3 dilated 2 on RGB (tap by tap)."""
    from tests.test_arena_plan import first_layer, pointwise_chain

    models = [first_layer(), first_layer(32, 32, 3, 8, (3, 3)),
              first_layer(9, 13, 1, 6, (1, 11), 2, "SAME"),
              first_layer(6, 6, 2, 16, (3, 4), 1, "VALID"), pointwise_chain(4, 12, 8),
              first_layer(12, 12, 4, 4, (9, 9), 1, "VALID"),
              first_layer(10, 12, 3, 8, (3, 3), 1, "SAME", dil=2),
              first_layer(9, 7, 1, 6, (4, 3), 1, "SAME")]
    return [Case(m, random_inputs(load_model(m), 2, 7)) for m in models]


def _const_rhs(model: bytes) -> bool:
    m = load_model(model)
    return m.tensors[m.operators[0].inputs[1]].data is not None


@st.composite
def _interior_models(draw, depthwise: bool) -> bytes:
    """A conv/depthwise model with VALID padding and at least two output columns: the packed
    kernels' two-pixel loops."""
    g = draw(S.geometry(k_max=3, hw_max=10, same_padding=False).filter(
        lambda g: g["ow"] >= 2 and g["padding"] == "VALID" and (depthwise or g["dw"] == 1)))
    cin = draw(st.integers(1, 12))
    mult = draw(st.integers(1, 2)) if depthwise else 1
    cout = cin * mult if depthwise else draw(st.integers(1, 8))
    quant = draw(S.layer_quants(cout))
    shape = (1, g["kh"], g["kw"], cout) if depthwise else (cout, g["kh"], g["kw"], cin)
    bias = draw(S.biases(cout)) if draw(st.booleans()) else None
    return S.conv_model(g, draw(st.integers(1, 2)), cin, cout, quant, draw(S.weights(shape)),
                        bias, draw(st.sampled_from(S.ACTIVATIONS)), depthwise=depthwise,
                        mult=mult)


@st.composite
def _lut_edge_models(draw, kind: str) -> bytes:
    """Conv/depthwise models aimed at packed.c's paths the edge targets rarely reach:
    "quads": the direct path with >= 4 interior columns (four pixels per filter row);
    "blocks": the blocked path with more output pixels than one block of patches;
    "taps": more than MCUQ_LUT_TAPS_MAX taps with SAME padding (the padding sums come from the
    weights, not the per-tap sums); "dw-taps": the same for DEPTHWISE_CONV_2D."""
    from mcuq.codegen.c_ops.packed import DIRECT_MIN_ROW, LUT_COL_BYTES, LUT_TAPS_MAX
    from mcuq.reference.ops.conv import compute_padding

    depthwise = kind == "dw-taps"
    if kind == "quads":
        kh, kw, dh = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
        ow = 6 + draw(st.integers(0, 1)) + 4 * draw(st.integers(0, 1))  # quads, then a pair
        h, w = (kh - 1) * dh + 1 + draw(st.integers(0, 2)), kw - 1 + ow
        cin = -(-DIRECT_MIN_ROW // kw) + draw(st.integers(0, 3))
        padding, sh = "VALID", 1
    elif kind == "blocks":
        kh, kw, dh = draw(st.integers(1, 3)), draw(st.integers(1, 3)), 1
        cin = draw(st.integers(1, max(1, (DIRECT_MIN_ROW - 1) // kw)))
        block = LUT_COL_BYTES // (-(-kh * kw * cin // 4) * 4)  # output pixels per block
        h = w = math.isqrt(block) + 1 + draw(st.integers(0, 2))
        padding, sh = "SAME", 1
    else:  # a 9x9 filter (81 taps) on a small image
        assert 9 * 9 > LUT_TAPS_MAX
        kh = kw = 9
        dh, h, w = 1, draw(st.integers(2, 8)), draw(st.integers(2, 8))
        cin = draw(st.integers(1, 4)) if depthwise else draw(st.integers(2, 4))
        padding, sh = "SAME", draw(st.integers(1, 2))
    pad = compute_padding(padding, sh, 1, dh, 1, h, w, kh, kw)
    g = dict(h=h, w=w, kh=kh, kw=kw, sh=sh, sw=1, dh=dh, dw=1, padding=padding,
             oh=pad.out_h, ow=pad.out_w)
    cout = cin if depthwise else draw(st.integers(1, 4))
    quant = draw(S.layer_quants(cout))
    shape = (1, kh, kw, cout) if depthwise else (cout, kh, kw, cin)
    bias = draw(S.biases(cout)) if draw(st.booleans()) else None
    return S.conv_model(g, 1, cin, cout, quant, draw(S.weights(shape)), bias,
                        draw(st.sampled_from(S.ACTIVATIONS)), depthwise=depthwise)


def _packed_families():
    """Per op family, the model strategies the packed cases cycle through."""
    return {
        "conv": [_interior_models(False), *(_lut_edge_models(k) for k in
                                             ("quads", "blocks", "taps"))]
        + [S.conv_models(t) for t in S.CONV_TARGETS],
        "depthwise": [_interior_models(True), _lut_edge_models("dw-taps")]
        + [S.depthwise_models(t) for t in S.DEPTHWISE_TARGETS],
        "fully_connected": [S.fully_connected_models(t) for t in S.FC_TARGETS],
        "transpose_conv": [transpose_conv_models()],
        "batch_matmul": [batch_matmul_models().filter(_const_rhs)],
    }


def packed_path_cases(per_combination: int = 1) -> list[Case]:
    """For every op family, index width 1..6 and table form: `per_combination` cases (each a
    model of the family's next edge target with its weights snapped to 2^k values), packed
    with k-bit indices."""
    cases: list[Case] = []
    for family, strategies in _packed_families().items():
        combos = itertools.product(range(1, 7), ("channel", "tensor"))
        for j, (bits, tables) in enumerate(combos):
            drawn: list[Case] = []

            @settings(max_examples=per_combination + 1, deadline=None, database=None,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck))
            @given(packed_cases(strategies[j % len(strategies)], bits, tables))
            def collect(case):
                drawn.append(Case(case[0], case[1], pack=case[2], tables=case[3]))

            collect()
            cases.extend(drawn[1:] or drawn)  # past hypothesis' first, smallest example
    return cases


def _coverage(cases: list[Case]) -> Counter:
    hits: Counter = Counter()
    for c in cases:
        features = case_features(c.model, c.inputs)
        if c.pack != "off":
            features = {f"packed/{f}" for f in features}
        hits.update(set(c.paths) | features)
    return hits


def _packed_counts(cases: list[Case]) -> str:
    """Cases per (op family, index width) that were packed and came out exact."""
    counts: Counter = Counter()
    for c in cases:
        for fam in PACKED_FAMILIES:
            if f"packed/{fam}" in c.paths:
                counts[(fam, c.pack)] += 1
    return "; ".join(f"{fam} " + " ".join(f"k{k}:{counts[(fam, k)]}" for k in range(1, 7))
                     for fam in PACKED_FAMILIES)


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_every_c_kernel_path_is_taken_and_exact_on_host_sanitized(host_cc, rounding):
    packed = packed_path_cases()
    cases = path_cases() + packed
    # -fsanitize=address,undefined -fno-sanitize-recover
    failures = run_batch(cases, "host", rounding=rounding)
    hits = _coverage(cases)
    required = REQUIRED | REQUIRED_PACKED
    print(f"\nC kernel path coverage, {len(cases)} cases (host, ASan + UBSan, {rounding} "
          "rounding):\n" + coverage_table(hits, required))
    print(f"packed cases exact per op and index width: {_packed_counts(packed)}")
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(
        failures[:10])
    assert all(any(p.startswith("packed/") for p in c.paths) for c in packed), \
        "a packed case ran unpacked"
    missing = sorted(required - {k for k, n in hits.items() if n})
    assert not missing, f"kernel paths never taken: {missing}"


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_every_c_kernel_path_is_exact_on_cortex_m4(cortex_m4, rounding):
    packed = packed_path_cases()
    cases = path_cases(per_target=1) + packed
    failures = run_batch(cases, "cortex-m4", rounding=rounding)
    hits = _coverage(cases)
    print(f"\npacked cases exact per op and index width (Cortex-M4): {_packed_counts(packed)}")
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(
        failures[:10])
    for fam in ("conv", "depthwise", "fully_connected"):  # the wrap cases ran on the M4 too
        assert hits[f"{fam}/acc-wraps"], f"no {fam} case with a wrapping accumulator"
    missing = sorted({f"packed/{f}:bits-{k}" for f in PACKED_FAMILIES for k in range(1, 7)}
                     - {k for k, n in hits.items() if n})
    assert not missing, f"packed widths never run on the Cortex-M4: {missing}"


def test_python_limits_are_the_c_headers_values(tmp_path, host_cc):
    """The emitters' limits (mcuq/codegen/climits.py reads the headers) against what the C
    preprocessor itself makes of the headers: one source of truth, checked end to end."""
    import subprocess

    from mcuq.codegen.c_ops import (conv, conv_taps, elementwise, fully_connected, int16,
                                    reduce, shape)
    from mcuq.codegen.render import firmware_dir

    from mcuq.codegen.c_ops import requant
    from mcuq.packing import C_MAX_BITS

    python = {"MCUQ_CONV_COL_MAX": conv.COL_MAX, "MCUQ_CONV_RING_MAX": conv.RING_MAX,
              "MCUQ_CONV_RING_ROWS": conv.RING_ROWS, "MCUQ_CONV_RING_CHUNKS": conv.RING_CHUNKS,
              "MCUQ_DW_TAPS_MAX": conv.DW_TAPS_MAX,
              "MCUQ_DW_CH_MAX": conv.DW_CH_MAX, "MCUQ_DW_ROWS_MAX": conv.DW_ROWS_MAX, "MCUQ_RQ_WORDS": requant.RQ_WORDS,
              "MCUQ_LUT_MAX_BITS": C_MAX_BITS,
              "MCUQ_FC_SCRATCH_MAX": fully_connected.SCRATCH_MAX,
              "MCUQ_CONV16_COL_MAX": int16.COL16_MAX, "MCUQ_RQ16_WORDS": int16.RQ16_WORDS,
              "MCUQ_DW16_TAPS_MAX": int16.DW16_TAPS_MAX,
              "MCUQ_ELEMENTWISE_MAX_RANK": elementwise.MAX_RANK,
              "MCUQ_MEAN_MAX_KEPT": reduce.MAX_KEPT, "MCUQ_COPY_MAX_RANK": shape.MAX_RANK,
              "MCUQ_TAPS_WORDS": conv_taps.TAPS_WORDS, "MCUQ_TAPS_ROWS": conv_taps.TAPS_ROWS,
              "MCUQ_TAPS_RING_MAX": conv_taps.TAPS_RING_MAX,
              "MCUQ_TAPS_FULL_WORDS": conv_taps.FULL_WORDS,
              "MCUQ_TAPS_CLAMP_WORDS": conv_taps.CLAMP_WORDS}
    src = tmp_path / "limits.c"
    src.write_text('#include <stdio.h>\n#include "conv.h"\n#include "elementwise.h"\n'
                   '#include "mcuq_fixedpoint.h"\n#include "fully_connected.h"\n'
                   '#include "packed.h"\n#include "linear16.h"\n'
                   '#include "reduce.h"\n#include "shape.h"\n#include "conv_taps.h"\n'
                   'int main(void) {\n'
                   + "".join(f'  printf("{k} %ld\\n", (long)({k}));\n' for k in python)
                   + "  return 0;\n}\n")
    exe = tmp_path / "limits"
    subprocess.run(["cc", "-std=c99", "-DMCUQ_SINGLE_ROUNDING=0",  # (a project's mcuq_config.h)
                    f"-I{firmware_dir() / 'kernels'}", str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    c = {k: int(v) for k, v in (line.split() for line in out.splitlines())}
    assert c == python
    # the stack buffers' header in firmware/ holds those maxima (a generated project's copy
    # holds what its layers need)
    from mcuq.codegen.climits import header_defines

    buffers = header_defines("mcuq_buffers.h")
    assert buffers == {"MCUQ_CONV_COL_BUF": conv.COL_MAX, "MCUQ_CONV_RING_BUF": conv.RING_MAX,
                       "MCUQ_CONV_RING_KP_BUF": conv.COL_MAX,
                       "MCUQ_TAPS_RING_BUF": conv_taps.TAPS_RING_MAX,
                       "MCUQ_DW_TAPS_BUF": conv.DW_TAPS_MAX,
                       "MCUQ_DW_CH_BUF": conv.DW_CH_MAX, "MCUQ_DW_ROWS_BUF": conv.DW_ROWS_MAX,
                       "MCUQ_DW_PLANAR_BUF": conv.DW_ROWS_MAX,
                       "MCUQ_FC_SCRATCH_BUF": fully_connected.SCRATCH_MAX,
                       "MCUQ_CONV16_COL_BUF": int16.COL16_MAX,
                       "MCUQ_DW16_TAPS_BUF": int16.DW16_TAPS_MAX}
