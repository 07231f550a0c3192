"""FULLY_CONNECTED's small-layer kernel (firmware/kernels/fully_connected.c: mcuq_fc_small_s8,
mcuq_fc_small_full_s8, their Cortex-M4 assembly and the C beside it; the stream of
mcuq/codegen/c_ops/fully_connected.py: small_stream):

- the emitter's choice: the small kernel for layers of at most SMALL_MAX_WEIGHTS weights whose
  every row is on mcuq_rqc's table; the grouped kernel (rows4 / rows1) for weights with a zero
  point, rows requantized by TFLM's arithmetic (shift >= 0), accumulators that may leave 2^30
  and larger layers;
- the stream's layout, emulated in numpy (SMLAD on the int16 pairs, mcuq_rqc2) == the
  reference's FULLY_CONNECTED;
- one batch of models aimed at every edge of the kernel (one row, pairs and an odd last row,
  depths with a tail of 1..3 columns, batches, full-range and clamped activations, dead rows,
  shift -1 rows, large biases, per-tensor and per-channel) plus layers it must refuse, exact
  against the reference on the host (ASan + UBSan) and on Cortex-M4 (QEMU) in both roundings,
  with the assembly off (-DMCUQ_NO_ASM) and at -O0; the path labels asserted."""
from collections import Counter
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from mcuq.codegen.c_ops.fully_connected import SMALL_MAX_WEIGHTS, small_stream
from mcuq.model import load_model
from mcuq.reference import Interpreter
from mcuq.reference.profiles import profile_for_rounding
from mcuq.reference.fixedpoint import wrap_int32
from mcuq.testing import strategies as S
from mcuq.testing.builder import ModelBuilder
from mcuq.testing.cbatch import Case, run_batch
from mcuq.vectors import random_inputs
from tests.exactness import EXAMPLES

#: Labels of the small kernel (fully_connected.py: emit_small) each batch must reach, and the
#: grouped kernel's labels the refused layers must reach.
REQUIRED = {"fully_connected/small", "fully_connected/small:full-range",
            "fully_connected/small:clamp", "fully_connected/small:one-row",
            "fully_connected/small:odd-row", "fully_connected/small:depth-tail",
            "fully_connected/small:batches", "fully_connected/requant:dead-channel",
            "fully_connected/requant:shift-1-or-0",
            "fully_connected/rows4", "fully_connected/rows1", "fully_connected/requant:exotic"}


def fc_model(batches: int, depth: int, units: int, quant: S.LayerQuant, w: np.ndarray, bias,
             act: str, weight_zero_point: int = 0) -> bytes:
    b = ModelBuilder()
    x = b.input("x", (batches, depth), scale=quant.input_scale,
                zero_point=quant.input_zero_point)
    ws = np.asarray(quant.weight_scales, np.float32)
    wt = b.const("w", w, scale=ws, zero_point=weight_zero_point if ws.size == 1 else 0, axis=0)
    ins = [x, wt, b.const("b", bias, scale=quant.bias_scales, zero_point=0, axis=0)
           if bias is not None else -1]
    y = b.tensor("y", (batches, units), scale=quant.output_scale,
                 zero_point=quant.output_zero_point)
    b.op("FULLY_CONNECTED", ins, [y], version=4, fused_activation_function=act)
    b.output(y)
    return b.build()


def _with_reals(q: S.LayerQuant, reals) -> S.LayerQuant:
    """q with per-channel weight scales giving these real multipliers."""
    return S.LayerQuant(q.input_scale, q.input_zero_point,
                        tuple(S.f32(r * q.output_scale / q.input_scale) if r else 0.0
                              for r in reals), q.output_scale, q.output_zero_point)


@st.composite
def small_models(draw, kind: str) -> bytes:
    """"small": the kernel's shapes (1..9 rows, depth 1..40, 1..3 batches), full-range
    (no activation or a ReLU at zero point -128) or clamped activations; "requant": per row a
    typical, shift -1, shift -2, dead multiplier, large biases; "refused": a layer the
    grouped kernel keeps (a shift >= 0 row, a weight zero point, biases near the int32 limits,
    more than SMALL_MAX_WEIGHTS weights)."""
    batches = draw(st.integers(1, 3))
    units, depth = draw(st.sampled_from([1, 1, 2, 3, 4, 5, 7, 8, 9])), draw(
        st.integers(1, 40) | st.sampled_from([4, 8, 16, 32]))
    per_channel, act, wzp = draw(st.booleans()), draw(st.sampled_from(S.ACTIVATIONS)), 0
    bias = draw(S.biases(units, "small")) if draw(st.booleans()) else None
    quant = draw(S.layer_quants(units, per_channel, "typical"))
    if kind == "requant":
        per_channel = True
        quant = _with_reals(draw(S.layer_quants(units, True, "typical")), [
            draw(S.real_multipliers(draw(st.sampled_from(
                ["typical", "typical", "shift-1", "shift-2", "dead"])))) for _ in range(units)])
        # up to 2^29: large, yet the accumulator bound stays below 2^30 for small rows
        bias = np.asarray(draw(st.lists(st.integers(-(2 ** 29), 2 ** 29), min_size=units,
                                        max_size=units)), np.int32)
    elif kind == "refused":
        why = draw(st.sampled_from(["shift", "zero-point", "limits", "big"]))
        if why == "shift":  # one row at a multiplier of 0.75 (shift 0), the rest drawn
            quant = _with_reals(draw(S.layer_quants(units, True, "typical")), [0.75] + [
                draw(S.real_multipliers(draw(st.sampled_from(["typical", "shift0", "left"]))))
                for _ in range(units - 1)])
        elif why == "zero-point":
            quant = draw(S.layer_quants(units, False, "typical"))
            wzp = draw(st.sampled_from([-3, 1, 7]))
        elif why == "limits":
            bias = np.full(units, 2 ** 30, np.int32) * draw(st.sampled_from([1, -1]))
        else:
            units, depth = draw(st.integers(5, 9)), SMALL_MAX_WEIGHTS // 4 + draw(
                st.integers(1, 3))
            quant = draw(S.layer_quants(units, per_channel, "typical"))
            bias = None
    if act == "RELU" and draw(st.booleans()):  # a full-range ReLU
        quant = S.LayerQuant(quant.input_scale, quant.input_zero_point, quant.weight_scales,
                             quant.output_scale, -128)
    w = draw(S.weights((units, depth)))
    return fc_model(batches, depth, units, quant, w, bias, act, wzp)


@lru_cache(maxsize=None)
def small_cases(per_kind: int) -> list[Case]:
    """The batch, drawn once per session (run_batch refills each case's paths)."""
    cases: list[Case] = []
    for kind, n in (("small", 2 * per_kind), ("requant", per_kind), ("refused", per_kind)):
        @settings(max_examples=n, deadline=None, database=None, derandomize=True,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(S.cases(small_models(kind)))
        def collect(case):
            cases.append(Case(*case))

        collect()
    # and one fixed layer per assembly function and shape (whatever hypothesis draws): one
    # row, pairs and an odd row, pairs only; full range (no activation) and clamped (ReLU6)
    for units, depth in ((1, 37), (5, 22), (4, 16)):
        w = (np.arange(units * depth) * 37 % 255 - 127).astype(np.int8).reshape(units, depth)
        for act in ("NONE", "RELU6"):
            m = fc_model(2, depth, units, _typical(units), w, None, act)
            cases.append(Case(m, random_inputs(load_model(m), 3, units + depth)))
    return cases


PER_KIND = max(8, EXAMPLES // 3)


def _check(cases: list[Case], target: str, rounding: str, flags=()) -> Counter:
    failures = run_batch(cases, target, extra_cflags=tuple(flags), rounding=rounding)
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(
        failures[:6])
    hits = Counter(p for c in cases for p in set(c.paths))
    missing = sorted(REQUIRED - set(hits))
    assert not missing, f"paths never taken: {missing}"
    # both assembly functions, on pairs (with an odd row) and on one row
    variants = {(clamp, shape) for c in cases for clamp in ("full-range", "clamp")
                for shape in ("one-row", "odd-row", "pairs")
                if f"fully_connected/small:{clamp}" in c.paths
                and (f"fully_connected/small:{shape}" in c.paths
                     or shape == "pairs" and "fully_connected/small:one-row" not in c.paths)}
    assert len(variants) == 6, f"small-kernel variants run: {sorted(variants)}"
    return hits


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_small_fc_exact_on_host_sanitized(host_cc, rounding):
    hits = _check(small_cases(PER_KIND), "host", rounding)
    print("\n" + ", ".join(f"{k} {v}" for k, v in sorted(hits.items())))


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_small_fc_exact_on_cortex_m4(cortex_m4, rounding):
    _check(small_cases(PER_KIND), "cortex-m4", rounding)


@pytest.mark.parametrize("rounding, flags", [("double", ["-DMCUQ_NO_ASM"]),
                                             ("single", ["-O0"])])
def test_small_fc_c_exact_on_cortex_m4(cortex_m4, rounding, flags):
    """The C twin on the Cortex-M4 (DSP intrinsics, no assembly): -DMCUQ_NO_ASM and -O0."""
    _check(small_cases(PER_KIND), "cortex-m4", rounding, flags)


# -- the emitter's choice and the stream's layout ---------------------------------------------

def _params(model: bytes):
    return Interpreter(model).params(0)


def _typical(units: int, per_channel: bool = True) -> S.LayerQuant:
    return S.LayerQuant(0.05, 3, tuple([0.01] * (units if per_channel else 1)), 0.2, -5)


def test_small_kernel_takes_small_layers_and_refuses_the_rest():
    w = np.arange(-40, 40, dtype=np.int8).reshape(5, 16)
    ok = _params(fc_model(1, 16, 5, _typical(5), w, None, "NONE"))
    assert small_stream(ok) is not None
    shifted = _with_reals(_typical(5), [0.001, 0.6, 0.001, 0.001, 0.001])  # shift 0 row
    assert small_stream(_params(fc_model(1, 16, 5, shifted, w, None, "NONE"))) is None
    zp = _params(fc_model(1, 16, 5, _typical(5, False), w, None, "NONE", weight_zero_point=2))
    assert zp.filter_offset and small_stream(zp) is None
    big_bias = np.full(5, 2 ** 30, np.int32)
    assert small_stream(_params(fc_model(1, 16, 5, _typical(5), w, big_bias, "NONE"))) is None
    big = np.ones((5, SMALL_MAX_WEIGHTS // 5 + 1), np.int8)
    assert small_stream(_params(fc_model(1, big.shape[1], 5, _typical(5), big, None,
                                         "NONE"))) is None


def _smlad(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Sum over int16 pairs of words, as SMLAD accumulates (int64; the bound keeps it exact)."""
    def halves(v):
        v = v.astype(np.int64)
        return ((v & 0xFFFF) ^ 0x8000) - 0x8000, ((v >> 16 & 0xFFFF) ^ 0x8000) - 0x8000
    (xl, xh), (wl, wh) = halves(x), halves(w)
    return (xl * wl + xh * wh).sum(axis=-1)


def _run_stream(p, stream: np.ndarray, x: np.ndarray, rounding: str) -> np.ndarray:
    """The kernel's walk of the stream in numpy: per row the doubled accumulator from the
    unpacked input words, then mcuq_rqc2 and the clamp (act_min -128 / act_max 127: SSAT)."""
    out_n, depth = p.weights.shape
    chunks = -(-depth // 4)
    xp = np.zeros(chunks * 4, np.int64)
    xp[:depth] = x
    xq = xp.reshape(chunks, 4) & 0xFFFF
    xs = np.stack([xq[:, 0] | xq[:, 2] << 16, xq[:, 1] | xq[:, 3] << 16], axis=1).ravel()
    s = stream.astype(np.int64)
    signed = lambda v: int(wrap_int32(np.int64(v)))  # noqa: E731
    rows, k = [], 0

    def requant(a2, entry):
        m, ra, e = (signed(v) for v in entry)
        if rounding == "single":
            return (((ra << 32) + a2 * m) >> 32) >> e
        return ((((ra - (a2 < 0)) << 32) + a2 * m + 2 ** 31) >> 32) >> e

    for _ in range(out_n // 2):
        ba, bb = signed(s[k]), signed(s[k + 1])
        body = s[k + 2:k + 2 + 4 * chunks].reshape(chunks, 4)
        a = signed(ba + _smlad(xs.reshape(chunks, 2), body[:, :2]).sum())
        c = signed(bb + _smlad(xs.reshape(chunks, 2), body[:, 2:]).sum())
        k += 2 + 4 * chunks
        rows += [requant(a, s[k:k + 3]), requant(c, s[k + 3:k + 6])]
        k += 6
    if out_n % 2:
        a = signed(signed(s[k]) + _smlad(xs.reshape(chunks, 2),
                                         s[k + 1:k + 1 + 2 * chunks].reshape(chunks, 2)).sum())
        k += 1 + 2 * chunks
        rows.append(requant(a, s[k:k + 3]))
        k += 3
    assert k == stream.size
    return np.clip(np.array(rows), -128, 127).astype(np.int8)


@settings(max_examples=max(EXAMPLES, 30), deadline=None, derandomize=True)
@given(st.data())
def test_stream_layout_matches_the_reference(data):
    """small_stream's words walked as the kernel walks them (int16 pairs, doubled biases,
    mcuq_rqc2 with its table) give the reference's outputs, in both roundings."""
    units, depth = data.draw(st.integers(1, 9)), data.draw(st.integers(1, 40))
    quant = data.draw(S.layer_quants(units, data.draw(st.booleans()), "typical"))
    w = data.draw(S.weights((units, depth)))
    bias = data.draw(S.biases(units, "small")) if data.draw(st.booleans()) else None
    model = fc_model(1, depth, units, quant, w, bias, "NONE")
    p = _params(model)
    stream = small_stream(p)
    if stream is None:  # a row off the table (e.g. a multiplier >= 0.5)
        return
    x = np.asarray(data.draw(st.lists(st.integers(-128, 127), min_size=depth,
                                      max_size=depth)), np.int8).reshape(1, depth)
    for rounding in ("double", "single"):
        want = Interpreter(model, profile_for_rounding(rounding)).run([x]).outputs[0].ravel()
        got = _run_stream(p, stream, x.ravel().astype(np.int64), rounding)
        assert got.tolist() == want.tolist(), rounding


def test_one_row_layers_alone_build_with_the_smallest_buffer(tmp_path, host_cc):
    """A model whose FULLY_CONNECTED layers are all one row needs no unpacked row: the
    project's buffer is 4 bytes and the kernel still builds -Werror clean (the constant test
    drops the unpacked path) and is exact on the host."""
    import subprocess

    from mcuq.generation import generate_project

    w = (np.arange(37) % 200 - 100).astype(np.int8).reshape(1, 37)
    generate_project(fc_model(2, 37, 1, _typical(1), w, None, "RELU6"), tmp_path / "p",
                     target="c", name="one", vectors=3)
    assert "#define MCUQ_FC_SCRATCH_BUF 4 " in (tmp_path / "p/mcuq/mcuq_buffers.h").read_text()
    assert "mcuq_fc_small_s8(" in (tmp_path / "p/model.c").read_text()
    run = subprocess.run(["make", "-C", str(tmp_path / "p"), "run-host"], capture_output=True,
                         text=True)
    assert run.returncode == 0 and "PASS" in run.stdout, run.stdout + run.stderr
