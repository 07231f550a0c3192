"""The packed CONV_2D's channel loop (firmware/kernels/conv.c: mcuq_conv_channels, the four
assembly pair loops and their C twin) and its requantization (mcuq_rqc, mcuq_rqc2 in
mcuq_fixedpoint.h; rqc_table in mcuq/codegen/c_ops/requant.py):

- the table's arithmetic, emulated with Python integers instruction by instruction (SMMLAR /
  SMMLA of the doubled accumulator), equals TFLite Micro's MultiplyByQuantizedMultiplier plus the
  folded offset on randomized accumulators, multipliers and every shift it takes (e = 1 .. 31,
  dead channels), in both roundings;
- one batch of CONV_2D models aimed at every layout and edge of the loop (int8 and wide weights,
  full-range and clamped activations, K = 4 .. 156, every entry of both chunk loops
  (chunks % 4), odd channel and pixel counts, exotic channels: left shifts, shift 0,
  accumulators that may leave 2^30; shift -1 channels, now on the table; dead channels),
  exact against the reference on the host (ASan + UBSan) and on Cortex-M4 (QEMU) in both
  roundings, and with the assembly off (-DMCUQ_NO_ASM) and at -O0 on the Cortex-M4; the
  emitter's path labels asserted."""
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from mcuq.codegen.c_ops.requant import ACC_LIMIT, RA_LIMIT, rqc_table
from mcuq.reference.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier
from mcuq.testing import strategies as S
from mcuq.testing.cbatch import Case, run_batch
from tests.exactness import EXAMPLES

INT32_MIN, INT32_MAX = -(2 ** 31), 2 ** 31 - 1


def _wrap32(v: int) -> int:
    return (v + 2 ** 31) % 2 ** 32 - 2 ** 31


def _rqc(acc: int, entry, rounding: str) -> int:
    """mcuq_rqc as the assembly computes it: ADD of the sign, LSL #1, SMMLAR (SMMLA), ASR."""
    m, ra, e = (int(v) for v in entry)
    a2 = _wrap32(acc << 1)
    if rounding == "single":
        hi = ((ra << 32) + a2 * m) >> 32
    else:
        hi = (((ra - (acc < 0)) << 32) + a2 * m + 2 ** 31) >> 32
    assert INT32_MIN <= hi <= INT32_MAX  # the high word SMMLAR returns, no overflow
    return hi >> e


@settings(max_examples=max(EXAMPLES, 60), deadline=None, derandomize=True)
@given(st.data())
def test_rqc_table_is_tflm_requantization(data):
    """rqc_table's entries through mcuq_rqc's arithmetic == MultiplyByQuantizedMultiplier +
    output_offset - act_min, for every channel the table takes (the others are exotic)."""
    n = data.draw(st.integers(1, 8))
    reals = data.draw(st.lists(S.real_multipliers(), min_size=n, max_size=n))
    pairs = [quantize_multiplier(r) if r else (0, 0) for r in reals]
    mult, shift = [p[0] for p in pairs], [p[1] for p in pairs]
    offset, act_min = data.draw(st.integers(-128, 127)), data.draw(st.integers(-128, 127))
    bound = data.draw(st.sampled_from([0, ACC_LIMIT - 1, ACC_LIMIT]))
    table, exotic = rqc_table(mult, shift, offset, act_min, np.full(n, bound))
    entries = table.reshape(n, 3)
    accs = data.draw(st.lists(st.one_of(st.integers(-(2 ** 30) + 1, 2 ** 30 - 1),
                                        st.sampled_from([0, -1, 1, 2 ** 30 - 1, -(2 ** 30) + 1])),
                              min_size=1, max_size=6))
    for c in range(n):
        m, s = int(mult[c]), int(shift[c])
        if exotic[c]:  # shift >= 0, an accumulator that may leave 2^30, or ra out of range
            ra = 2 ** (-s - 1) + (offset - act_min) * 2 ** -s if s < 0 else 0
            assert entries[c, 2] == -1 and m != 0
            assert s >= 0 or bound >= ACC_LIMIT or abs(ra) > RA_LIMIT
            continue
        assert m == 0 or bound < ACC_LIMIT
        for rounding in ("double", "single"):
            for acc in accs:
                want = int(multiply_by_quantized_multiplier(np.int32(acc), m, s, rounding))
                assert _rqc(acc, entries[c], rounding) == want + offset - act_min, \
                    (acc, m, s, rounding)


def test_rqc_table_takes_shift_minus_one_and_marks_the_rest_exotic():
    m = [1 << 30, 1 << 30, 1 << 30, 0, 1 << 30]
    s = [-1, 0, 3, 0, -31]
    table, exotic = rqc_table(m, s, 5, -128, np.array([10, 10, 10, 2 ** 31, 2 ** 30]))
    assert exotic.tolist() == [False, True, True, False, True]  # dead: any accumulator
    assert table.reshape(5, 3)[0].tolist() == [1 << 30, 1 + 2 * 133, 1]
    assert table.reshape(5, 3)[3].tolist() == [0, 1 + 2 * 133, 1]


# -- the C kernels --------------------------------------------------------------------------

#: The channel loop's labels (mcuq/codegen/c_ops/conv.py: conv_paths) each batch must reach.
REQUIRED = {"conv/packed:wide", "conv/packed:int8", "conv/packed:full-range",
            "conv/packed:clamp", "conv/packed:odd-chunks", "conv/packed:odd-out",
            "conv/packed:odd-pixels", "conv/packed:rq-shift-1", "conv/packed:acc-bound",
            "conv/requant:exotic", "conv/requant:mixed", "conv/requant:dead-channel",
            "conv/direct-1x1", "conv/packed:constant-channel", "conv/packed:hot-channel"}


@st.composite
def channel_models(draw, kind: str, tail: int = 0) -> bytes:
    """A CONV_2D on the packed paths aimed at one edge of the channel loop:
    "wide": small layers (int16 weights), 1x1 with K = 4 .. 40 or a 1..3 x 1..3 im2col patch;
    "int8": more than WIDE_MAX_BYTES of weights (K 132 .. 156, 16 .. 17 channels, tail: the
    chunk count % 4);
    "requant": exotic, dead and shift -1 channels mixed with typical ones, large biases;
    "special": channels rqc_table calls exotic that packed_requant takes back: all-zero weights
    (a constant output) and hot ones (shift >= 0, outputs whose zero point is mostly -128, so
    negative accumulators clamp: the pair loop's SMMLAR with weights stored times 2^(L + 1)),
    beside hot ones that stay exotic."""
    if kind == "int8":
        g = draw(S.geometry(kernel=(1, 1), hw_max=3))
        cin, cout = 4 * (32 + tail + 4 * draw(st.integers(0, 1))), draw(st.integers(16, 17))
    elif draw(st.booleans()):
        g = draw(S.geometry(kernel=(1, 1), hw_max=5))
        cin, cout = 4 * draw(st.integers(1, 10)), draw(st.integers(1, 9))
    else:
        g = draw(S.geometry(k_max=3, hw_max=6))
        cin, cout = draw(st.integers(1, 6)), draw(st.integers(2, 9))
    per_channel = True
    if kind == "special":
        q = draw(S.layer_quants(cout, per_channel, "typical"))
        bands = [draw(st.sampled_from(["typical", "left", "shift0", "left", "dead"]))
                 for _ in range(cout)]
        reals = [draw(S.real_multipliers(b)) for b in bands]
        zp_out = -128 if draw(st.integers(0, 3)) else q.output_zero_point
        quant = S.LayerQuant(q.input_scale, q.input_zero_point,
                             tuple(S.f32(r * q.output_scale / q.input_scale) if r else 0.0
                                   for r in reals), q.output_scale, zp_out)
        w = np.array(draw(S.weights((cout, g["kh"], g["kw"], cin))))
        for c in range(cout):
            if draw(st.integers(0, 3)) == 0:
                w[c] = 0  # all-zero weights: the accumulator is the bias
        bias = draw(S.biases(cout, "small"))
        act = draw(st.sampled_from(["NONE", "RELU", "RELU6"]))
        return S.conv_model(g, draw(st.integers(1, 2)), cin, cout, quant, w, bias, act)
    if kind == "requant":
        q = draw(S.layer_quants(cout, per_channel, "typical"))
        bands = [draw(st.sampled_from(["typical", "typical", "shift-1", "shift0", "left", "dead",
                                       "shift-31", "shift-2"])) for _ in range(cout)]
        reals = [draw(S.real_multipliers(b)) for b in bands]
        quant = S.LayerQuant(q.input_scale, q.input_zero_point,
                             tuple(S.f32(r * q.output_scale / q.input_scale) if r else 0.0
                                   for r in reals), q.output_scale, q.output_zero_point)
        bias = draw(S.biases(cout, draw(st.sampled_from(["small", "large"]))))
    else:
        quant = draw(S.layer_quants(cout, per_channel, "typical"))
        bias = draw(S.biases(cout, "small")) if draw(st.booleans()) else None
    # full range: no activation, or a ReLU whose zero point is -128
    act = draw(st.sampled_from(S.ACTIVATIONS))
    if act == "RELU" and draw(st.booleans()):
        quant = S.LayerQuant(quant.input_scale, quant.input_zero_point, quant.weight_scales,
                             quant.output_scale, -128)
    w = draw(S.weights((cout, g["kh"], g["kw"], cin)))
    return S.conv_model(g, draw(st.integers(1, 2)), cin, cout, quant, w, bias, act)


def channel_cases(per_kind: int) -> list[Case]:
    cases: list[Case] = []
    kinds = [("wide", 0, per_kind), ("requant", 0, per_kind), ("special", 0, per_kind)]
    kinds += [("int8", tail, max(2, per_kind // 3)) for tail in range(4)]
    for kind, tail, n in kinds:
        @settings(max_examples=n, deadline=None, database=None, derandomize=True,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(S.cases(channel_models(kind, tail)))
        def collect(case):
            cases.append(Case(*case))

        collect()
    return cases


PER_KIND = max(6, EXAMPLES // 4)


def _check(cases: list[Case], target: str, rounding: str, flags=()) -> Counter:
    failures = run_batch(cases, target, extra_cflags=tuple(flags), rounding=rounding)
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(
        failures[:6])
    hits = Counter(p for c in cases for p in set(c.paths))
    assert all("conv/generic" not in " ".join(c.paths) for c in cases), "a case ran generic"
    missing = sorted(REQUIRED - set(hits))
    assert not missing, f"channel-loop paths never taken: {missing}"
    assert any("conv/direct-1x1" not in c.paths for c in cases), "no gathered patches"
    variants = {(lay, clamp) for c in cases for lay in ("wide", "int8")
                for clamp in ("full-range", "clamp")
                if f"conv/packed:{lay}" in c.paths and f"conv/packed:{clamp}" in c.paths}
    assert len(variants) == 4, f"pair loops run: {sorted(variants)}"  # the 4 assembly loops
    entries = {(lay, r) for c in cases for lay in ("wide", "int8") for r in range(4)
               if f"conv/packed:{lay}" in c.paths and f"conv/packed:entry-{r}" in c.paths}
    assert len(entries) == 8, f"chunk loop entries run: {sorted(entries)}"
    return hits


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_channel_loop_exact_on_host_sanitized(host_cc, rounding):
    hits = _check(channel_cases(PER_KIND), "host", rounding)
    print("\n" + ", ".join(f"{k} {v}" for k, v in sorted(hits.items())))


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_channel_loop_exact_on_cortex_m4(cortex_m4, rounding):
    _check(channel_cases(PER_KIND), "cortex-m4", rounding)


@pytest.mark.parametrize("rounding, flags", [("double", ["-DMCUQ_NO_ASM"]),
                                             ("single", ["-O0"])])
def test_channel_loop_c_exact_on_cortex_m4(cortex_m4, rounding, flags):
    """The C pair loop on the Cortex-M4 (DSP intrinsics, no assembly): -DMCUQ_NO_ASM and -O0."""
    _check(channel_cases(PER_KIND), "cortex-m4", rounding, flags)


@pytest.mark.parametrize("zp_out, act", [(-128, "NONE"), (5, "NONE"), (5, "RELU")])
def test_packed_requant_takes_constant_and_hot_channels_back(zp_out, act):
    """packed_requant: an all-zero channel becomes a constant entry; a hot channel (shift 2) an
    e = 0 entry whose pair-loop arithmetic (the sign add and SMMLAR of 2^(L + 1) acc, emulated)
    clamps to TFLM's value on every accumulator of its range, only where a negative
    accumulator clamps to act_min anyway (zero point -128, or a ReLU); else it stays exotic."""
    from mcuq.codegen.c_ops.conv import packed_requant
    from mcuq.model import load_model
    from mcuq.reference import Interpreter

    rng = np.random.default_rng(2)
    g = dict(h=2, w=2, kh=1, kw=1, sh=1, sw=1, dh=1, dw=1, padding="VALID", oh=2, ow=2)
    reals = [0.01, 3.3, 3.5e-10, 0.7]  # typical, hot (shift 2), all-zero (exotic), hot (0)
    quant = S.LayerQuant(0.05, 3, tuple(S.f32(r * 0.1 / 0.05) for r in reals), 0.1, zp_out)
    w = rng.integers(-20, 21, (4, 1, 1, 8)).astype(np.int8)
    w[2] = 0
    bias = np.array([100, -700, 37, 5], np.int32)
    m = load_model(S.conv_model(g, 1, 8, 4, quant, w, bias, act))
    p = Interpreter(m).params(0)
    table, exotic, up, constant, hot = packed_requant(p)
    entries = table.reshape(4, 3).astype(np.int64)
    assert constant.tolist() == [False, False, True, False]
    lo = 0 if p.act_min == -128 and p.act_max == 127 else p.act_min
    want_hot = zp_out == -128 or act == "RELU"
    assert hot.tolist() == [False, want_hot, False, want_hot]
    assert exotic.tolist() == [False, not want_hot, False, not want_hot]
    mult, shift = np.asarray(p.multiplier).ravel(), np.asarray(p.shift).ravel()
    for c in np.flatnonzero(hot):
        mc, L = int(mult[c]), int(shift[c])
        assert up[c] == L >= 0 and entries[c].tolist() == [mc, p.output_offset - lo, 0]
        bound = 8 * 20 * 128 + 800
        for acc in range(-bound, bound + 1, 7):
            a2 = acc << (L + 1)
            v = ((int(entries[c, 1]) - (a2 < 0)) * 2 ** 32 + a2 * mc + 2 ** 31) >> 32
            got = min(max(v + lo, p.act_min), p.act_max)
            tflm = int(multiply_by_quantized_multiplier(np.int32(acc), mc, L)) + p.output_offset
            assert got == min(max(tflm, p.act_min), p.act_max), (c, acc)
    c = 2  # the constant: a dead entry giving the bias's output byte
    v = int(multiply_by_quantized_multiplier(np.int32(37), int(mult[c]), int(shift[c])))
    assert entries[c].tolist() == [0, 1 + 2 * (min(max(v + p.output_offset, p.act_min),
                                                   p.act_max) - lo), 1]
