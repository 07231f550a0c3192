"""The C target's arena plan: I/O inside, ops in place, placement, the byte-level check, and the
property that an in-place plan never lets an op overwrite a tensor another consumer still needs
(random graphs of the zoo's ops)."""
import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mcuq.codegen.inplace import c_plan, inplace_options, row_bands
from mcuq.memory import check_reads, plan_arena, plan_tflm_like
from mcuq.model import load_model
from mcuq.reference.ops.conv import compute_padding
from mcuq.testing.builder import ModelBuilder
from mcuq.testing.graphs import zoo_graphs
from tests.exactness import EXAMPLES


def activation_chain() -> bytes:
    """x -> RELU -> RELU6 -> ADD(., x') : every op can write over its dying input."""
    b = ModelBuilder()
    x = b.input("x", (1, 4, 4, 8), scale=0.05, zero_point=-3)
    a = b.tensor("a", (1, 4, 4, 8), scale=0.05, zero_point=-3)
    b.op("RELU", [x], [a])
    c = b.tensor("c", (1, 4, 4, 8), scale=0.05, zero_point=-3)
    b.op("RELU6", [a], [c])
    d = b.tensor("d", (1, 4, 4, 8), scale=0.06, zero_point=1)
    b.op("ADD", [c, c], [d])
    b.output(d)
    return b.build()


def test_elementwise_chain_runs_in_one_buffer():
    m = load_model(activation_chain())
    plan = c_plan(m)
    assert plan.size == 128 == plan.lower_bound  # the input's bytes, reused three times
    assert {c.method for c in plan.inplace.values()} == {"direct"} and len(plan.inplace) == 3
    assert len({plan.offsets[t] for t in range(len(m.tensors))}) == 1
    # TFLite Micro's plan holds two of them at once
    assert plan_tflm_like(m).size == 256


def test_an_input_still_needed_is_never_overwritten():
    """x feeds the RELU and the final ADD: the RELU must not run in place over x."""
    b = ModelBuilder()
    x = b.input("x", (1, 8), scale=0.05, zero_point=0)
    a = b.tensor("a", (1, 8), scale=0.05, zero_point=0)
    b.op("RELU", [x], [a])
    y = b.tensor("y", (1, 8), scale=0.1, zero_point=0)
    b.op("ADD", [a, x], [y])
    b.output(y)
    m = load_model(b.build())
    plan = c_plan(m)
    assert 0 not in plan.inplace and plan.inplace[1].operand in (0, 1)
    assert plan.offsets[m.operators[0].outputs[0]] != plan.offsets[m.inputs[0]]


def test_check_reads_catches_a_plan_that_overwrites_a_live_tensor():
    m = load_model(activation_chain())
    good = c_plan(m)
    check_reads(m, good)
    # undeclared: the same offsets without the in-place decisions
    with pytest.raises(AssertionError, match="not its declared in-place operand"):
        check_reads(m, dataclasses.replace(good, inplace={}))
    b = ModelBuilder()
    x = b.input("x", (1, 8), scale=0.05, zero_point=0)
    a = b.tensor("a", (1, 8), scale=0.05, zero_point=0)
    b.op("RELU", [x], [a])
    y = b.tensor("y", (1, 8), scale=0.1, zero_point=0)
    b.op("ADD", [a, x], [y])
    b.output(y)
    m2 = load_model(b.build())
    plan = c_plan(m2)
    bad = dataclasses.replace(plan, offsets=dict(plan.offsets))
    bad.offsets[m2.operators[0].outputs[0]] = bad.offsets[m2.inputs[0]]  # RELU over x
    bad.inplace = {0: dataclasses.replace(plan.inplace[1], op=0, operand=0)}
    with pytest.raises(AssertionError, match="read later|reads tensor"):
        check_reads(m2, bad)


def test_external_io_leaves_the_io_out_of_the_arena():
    m = load_model(activation_chain())
    from mcuq.codegen.cmodel import io_storage

    ext = c_plan(m, external=set(io_storage(m)))
    assert not (set(m.inputs) | set(m.outputs)) & set(ext.offsets)
    assert ext.size == 128  # a and c, in place over each other


@settings(max_examples=EXAMPLES * 4, deadline=None)
@given(zoo_graphs())
def test_inplace_plans_never_overwrite_what_a_consumer_still_needs(data):
    """Random graphs of the zoo's ops (branches, residuals, concatenations, intermediate model
    outputs): the plan passes the byte-level simulation (every read finds its tensor's bytes),
    the overlap check, and is never above the plan without in-place ops or below the bound."""
    m = load_model(data)
    plan = c_plan(m)
    check_reads(m, plan)
    plan.check()
    assert plan.lower_bound <= plan.size <= plan_arena(m).size
    for op_index, choice in plan.inplace.items():
        op = m.operators[op_index]
        x = op.inputs[choice.operand]
        assert x not in m.outputs
        assert all(x not in later.inputs for later in m.operators[op_index + 1:])


@settings(max_examples=EXAMPLES * 8, deadline=None)
@given(st.integers(1, 24), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2),
       st.integers(1, 64), st.integers(1, 64), st.sampled_from(["SAME", "VALID"]))
def test_row_schedules_copy_every_input_row_before_it_is_overwritten(h, k, s, d, row_in,
                                                                     row_out, padding):
    """Replay a row schedule on a byte map of the tensor: every input row a band copies is
    intact (not yet overwritten by output rows), whatever order row_bands chose."""
    pad = compute_padding(padding, s, s, d + 1, d + 1, h, h, k, k)
    if pad.out_h < 1:
        return
    k_eff = (k - 1) * (d + 1) + 1
    spans = [(y, y + 1, max(0, y * s - pad.pad_h), min(h, y * s - pad.pad_h + k_eff))
             for y in range(pad.out_h)]
    spans = [(a, b, lo, max(lo, hi)) for a, b, lo, hi in spans]

    def replay(order) -> bool:
        owner = np.full(max(h * row_in, pad.out_h * row_out), -1)
        for r in range(h):
            owner[r * row_in:(r + 1) * row_in] = r
        held: set[int] = set()
        for y0, y1, lo, hi in order:
            for r in range(lo, hi):
                if r not in held and not (owner[r * row_in:(r + 1) * row_in] == r).all():
                    return False
            held = set(range(lo, hi))
            owner[y0 * row_out:y1 * row_out] = -2  # the output rows, written over the tensor
        return True

    bands = row_bands(h, pad.out_h, s, pad.pad_h, k_eff, row_in, row_out)
    if bands is None:  # then neither order keeps the input rows intact
        assert not replay(spans) and not replay(spans[::-1])
        return
    assert replay(bands.bands)
    assert sorted(bands.bands) == spans and bands.reverse == (bands.bands[0] != spans[0])
    assert bands.temp_rows == max(hi - lo for *_, lo, hi in spans)


@settings(max_examples=EXAMPLES * 8, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(1, 3), st.integers(1, 3),
       st.integers(1, 40), st.sampled_from(["SAME", "VALID"]))
def test_pooling_in_place_reads_each_window_before_it_is_overwritten(h, w, f, extra, ch,
                                                                     padding):
    """pooling.c's order (pixel by pixel, channel blocks of 32 or 4: read the block's window,
    write the block) over one buffer, when stride >= filter and padding < stride."""
    s = f + extra - 1
    pad = compute_padding(padding, s, s, 1, 1, h, w, f, f)
    if pad.out_h < 1 or pad.out_w < 1 or pad.pad_h >= s or pad.pad_w >= s:
        return
    written = np.zeros(h * w * ch, bool)
    block = 4 if ch % 4 == 0 else 32
    for oy in range(pad.out_h):
        for ox in range(pad.out_w):
            iy, ix = oy * s - pad.pad_h, ox * s - pad.pad_w
            for c0 in range(0, ch, block):
                cs = slice(c0, min(ch, c0 + block))
                for y in range(max(iy, 0), min(iy + f, h)):
                    for x in range(max(ix, 0), min(ix + f, w)):
                        assert not written[(y * w + x) * ch:][cs].any(), (oy, ox, y, x)
                out = (oy * pad.out_w + ox) * ch
                written[out + cs.start:out + cs.stop] = True


def test_zoo_plans_reach_their_lower_bound(zoo):
    """On every zoo model the C plan is its largest live set (no plan of these tensors is
    smaller) and below TFLite Micro's plan of the same model where it has anything in place."""
    for name, data in zoo.items():
        m = load_model(data)
        plan = c_plan(m)
        assert plan.size == plan.lower_bound, name
        assert plan.size <= plan_tflm_like(m).size, name
    resnet = c_plan(load_model(zoo["resnet8"]))
    assert resnet.size <= 0.7 * plan_tflm_like(load_model(zoo["resnet8"])).size
    kinds = {c.method for name in ("ds_cnn", "mobilenet_v1", "cnn")
             for c in c_plan(load_model(zoo[name])).inplace.values()}
    # by channels they would save under 10 % (see below); their depthwise layers on modes 3
    # and 4 run in place whole ("planar": no temporary), convs in one call by pixels, ring or
    # taps (cnn's 3x3 first layer on one channel, by rows before the taps kernel)
    assert kinds == {"direct", "planar", "pixels", "pixels-reverse", "ring", "ring-reverse",
                     "taps-reverse"}


def wide_depthwise(channels: int = 30, stride: int = 1) -> bytes:
    """A 3x3 depthwise convolution over a short, wide map: its rows copy (3 rows x 16 x 30 =
    1,440 B) is far larger than one channel's padded plane (6 x 18 B). With 30 channels (not
    a multiple of 4) it runs on mode 1, so not whole in place; with 32 on mode 3 (stride 1)
    or 4 (stride 2), in place whole."""
    rng = np.random.default_rng(4)
    b = ModelBuilder()
    x = b.input("x", (1, 4, 16, channels), scale=0.05, zero_point=-3)
    w = b.const("w", rng.integers(-127, 128, (1, 3, 3, channels), dtype=np.int8),
                scale=rng.uniform(0.005, 0.02, channels).astype(np.float32), zero_point=0,
                axis=3)
    bias = b.const("b", rng.integers(-500, 500, channels).astype(np.int32), scale=0.0005,
                   zero_point=0)
    y = b.tensor("y", (1, 4 // stride, 16 // stride, channels), scale=0.06, zero_point=2)
    b.op("DEPTHWISE_CONV_2D", [x, w, bias], [y], version=3, depth_multiplier=1, padding="SAME",
         stride_h=stride, stride_w=stride, fused_activation_function="RELU")
    b.output(y)
    return b.build()


def test_depthwise_runs_by_channels_only_where_that_saves_enough(zoo):
    """TinyEngine's per-channel kernel is slower than the usual depthwise kernel (DS-CNN: 1.4x
    the instructions), so a depthwise convolution runs by channels only where that makes the
    arena smaller by more than CHANNELS_SAVING; else by rows (the usual kernel); on modes 3
    and 4 it runs in place whole (the usual kernel, no temporary: "planar")."""
    from mcuq.memory import CHANNELS_SAVING
    from mcuq.reference import Interpreter

    m = load_model(wide_depthwise())
    plan = c_plan(m)
    assert [c.method for c in plan.inplace.values()] == ["channels"]
    assert plan.size == 1920 + 108
    for stride in (1, 2):
        m = load_model(wide_depthwise(32, stride))
        plan = c_plan(m)
        assert [c.method for c in plan.inplace.values()] == ["planar"]
        assert plan.size == plan.lower_bound == 2048
    for name in ("ds_cnn", "mobilenet_v1"):
        m = load_model(zoo[name])
        opts = inplace_options(m, Interpreter(m).params)
        plan = c_plan(m)
        dw = [o for o in plan.inplace if m.operators[o].opcode == "DEPTHWISE_CONV_2D"]
        assert dw and all(plan.inplace[o].method == "planar" for o in dw)
        # without the whole-tensor method: by rows; forcing every depthwise op by channels
        # saves less than the threshold
        no_planar = [o for o in opts if o.method != "planar"]
        by_rows = plan_arena(m, inplace=no_planar)
        assert {by_rows.inplace[o].method for o in dw if o in by_rows.inplace} == {"rows"}
        forced = plan_arena(m, inplace=[o for o in no_planar if not (
            o.op in dw and o.method == "rows")])
        assert by_rows.size * (1 - CHANNELS_SAVING) <= forced.size < by_rows.size, name
        assert plan.size <= by_rows.size, name


def test_planar_order_is_replayed_byte_by_byte(zoo):
    """The whole-tensor depthwise method declares its kernel's byte order (InPlace.order):
    check_reads replays it on the plan's offsets, accepts the kernel's order and rejects an
    order that writes an output row one step early (before the input row under it has been
    unpacked); the rule offers the method only where its order is safe."""
    from mcuq.codegen.c_ops.planar_inplace import planar_order
    from mcuq.memory import order_conflicts
    from mcuq.reference import Interpreter

    for data in (wide_depthwise(32, 1), wide_depthwise(32, 2), zoo["ds_cnn"]):
        m = load_model(data)
        plan = c_plan(m)
        ops = [o for o, c in plan.inplace.items() if c.method == "planar"]
        assert ops
        check_reads(m, plan)
        for o in ops:
            reads, writes = plan.inplace[o].order()
            assert not order_conflicts(reads, writes, 0).size
            early = np.where(writes >= 3, writes - 2, writes)  # one (group, row) step early
            bad = dataclasses.replace(plan.inplace[o], order=lambda r=reads, w=early: (r, w))
            unsafe = dataclasses.replace(plan, inplace={**plan.inplace, o: bad})
            with pytest.raises(AssertionError, match="over input bytes it reads later"):
                check_reads(m, unsafe)
            # the same order with the output 1 row further on is safe (nothing read later)
            p = Interpreter(m).params(o)
            row = p.output_shape[2] * p.output_shape[3]
            assert not order_conflicts(*planar_order(p), row).size
    assert order_conflicts(np.array([5, -1]), np.array([5, 6]), 0).tolist() == [0]
    assert order_conflicts(np.array([5, -1]), np.array([6, 0]), 0).tolist() == []
    assert order_conflicts(np.array([5, 9]), np.array([6]), 1).tolist() == [0]


def test_inplace_options_are_declared_per_op():
    m = load_model(activation_chain())
    from mcuq.reference import Interpreter

    opts = inplace_options(m, Interpreter(m).params)
    assert [(o.op, o.operand, o.method) for o in opts] == [
        (0, 0, "direct"), (1, 0, "direct"), (2, 0, "direct"), (2, 1, "direct")]


def pointwise_chain(c0: int, c1: int, c2: int, hw=(3, 5), batch: int = 1) -> bytes:
    """x (c0 channels) -> RELU -> 1x1 conv to c1 -> 1x1 conv to c2: both convs' inputs die at
    them, so each can run in place by pixels (forward when it narrows, reverse when it widens)."""
    rng = np.random.default_rng(c0 * 100 + c1 * 10 + c2)
    b = ModelBuilder()
    x = b.input("x", (batch, *hw, c0), scale=0.05, zero_point=-3)
    a = b.tensor("a", (batch, *hw, c0), scale=0.05, zero_point=-3)
    b.op("RELU", [x], [a])
    prev, cin = a, c0
    for k, cout in enumerate((c1, c2)):
        w = b.const(f"w{k}", rng.integers(-127, 128, (cout, 1, 1, cin), dtype=np.int8),
                    scale=rng.uniform(0.005, 0.02, cout).astype(np.float32), zero_point=0,
                    axis=0)
        bias = b.const(f"b{k}", rng.integers(-500, 500, cout).astype(np.int32), scale=0.0005,
                       zero_point=0)
        y = b.tensor(f"y{k}", (batch, *hw, cout), scale=0.06, zero_point=2)
        b.op("CONV_2D", [prev, w, bias], [y], version=3, padding="VALID", stride_h=1,
             stride_w=1, fused_activation_function="RELU")
        prev, cin = y, cout
    b.output(prev)
    return b.build()


@pytest.mark.parametrize("c0, c1, c2, batch", [(8, 16, 4, 1), (12, 4, 8, 2), (8, 8, 8, 1)])
def test_pointwise_convs_run_in_place_by_pixels(c0, c1, c2, batch):
    """A 1x1 stride-1 conv runs in place on the whole tensor in one call: forward where the
    output pixels are no wider than the input's, from the last pixel pair back where they are
    wider; check_reads replays the kernel's pair order byte by byte."""
    m = load_model(pointwise_chain(c0, c1, c2, batch=batch))
    plan = c_plan(m)
    check_reads(m, plan)
    want = {1: "pixels-reverse" if c1 > c0 else "pixels",
            2: "pixels-reverse" if c2 > c1 else "pixels"}
    assert {i: plan.inplace[i].method for i in (1, 2)} == want
    assert all(plan.inplace[i].scratch == 0 for i in (1, 2))
    for i in (1, 2):  # the output starts at its input's first byte
        op = m.operators[i]
        assert plan.offsets[op.outputs[0]] == plan.offsets[op.inputs[0]]


def test_check_reads_rejects_an_unsafe_pixel_order():
    """The byte-level replay of mcuq_conv_s8_inplace's order: a widening 1x1 conv walked
    forward overwrites input pixels it has not read yet; an output placed past its input's
    first byte overwrites them going forward even when it does not widen."""
    from mcuq.codegen.c_ops.conv import order_times, pixel_order

    m = load_model(pointwise_chain(8, 16, 8))
    plan = c_plan(m)
    assert plan.inplace[1].method == "pixels-reverse"
    walk = order_times(pixel_order(15, 8, 16), 15 * 8, 15 * 16)  # 8 -> 16 walked forward
    forward = dataclasses.replace(plan, inplace={**plan.inplace, 1: dataclasses.replace(
        plan.inplace[1], method="pixels", order=lambda: walk)})
    with pytest.raises(AssertionError, match=r"op #1 CONV_2D in place \(pixels\) writes"):
        check_reads(m, forward)
    # the narrowing conv #2 (16 -> 8) forward, with its output moved 20 bytes up
    assert plan.inplace[2].method == "pixels"
    op = m.operators[2]
    shifted = dataclasses.replace(plan, offsets=dict(plan.offsets), size=plan.size + 20)
    shifted.offsets[op.outputs[0]] += 20
    with pytest.raises(AssertionError, match=r"op #2 CONV_2D in place \(pixels\) writes"):
        check_reads(m, shifted)
    check_reads(m, plan)


def first_layer(h=49, w=10, cin=1, cout=32, k=(10, 4), stride=2, padding="SAME",
                dil=1) -> bytes:
    """DS-CNN's first layer: a 1-channel MFCC map, a tall filter, stride 2, SAME padding (its
    output is 8x the input's bytes)."""
    from mcuq.testing.strategies import LayerQuant, conv_model

    rng = np.random.default_rng(5)
    pad = compute_padding(padding, stride, stride, dil, dil, h, w, *k)
    g = dict(h=h, w=w, kh=k[0], kw=k[1], sh=stride, sw=stride, dh=dil, dw=dil,
             padding=padding, oh=pad.out_h, ow=pad.out_w)
    quant = LayerQuant(0.05, -3, tuple([0.01] * cout), 0.08, 2)
    return conv_model(g, 1, cin, cout, quant,
                      rng.integers(-127, 128, (cout, *k, cin), dtype=np.int8),
                      rng.integers(-500, 500, cout).astype(np.int32), "RELU")


def test_first_layer_runs_in_place_in_one_call_by_ring():
    """Conv mode 3 in place over one buffer: DS-CNN's widening first layer from the last pixel
    back ("ring-reverse"), an RGB 3x3 stride-2 layer that narrows forward ("ring"); walked the
    other way, check_reads' replay of the kernel's order finds input rows overwritten before
    they were copied into the ring."""
    from mcuq.codegen.c_ops.conv import order_times, ring_order, ring_order_args
    from mcuq.reference import Interpreter

    for data, method, other in ((first_layer(), "ring-reverse", "ring"),
                                (first_layer(32, 32, 3, 8, (3, 3)), "ring", "ring-reverse")):
        m = load_model(data)
        plan = c_plan(m)
        check_reads(m, plan)
        assert plan.inplace[0].method == method and plan.inplace[0].scratch == 0
        p = Interpreter(m).params(0)
        walk = order_times(ring_order(*ring_order_args(p), reverse=other.endswith("reverse")),
                           int(np.prod(p.input_shape)), int(np.prod(p.output_shape)))
        wrong = dataclasses.replace(plan, inplace={0: dataclasses.replace(
            plan.inplace[0], method=other, order=lambda: walk)})
        with pytest.raises(AssertionError, match=rf"op #0 CONV_2D in place \({other}\) writes"):
            check_reads(m, wrong)


@settings(max_examples=EXAMPLES * 4, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(1, 5), st.integers(1, 5),
       st.integers(1, 3), st.sampled_from([1, 2, 3, 4, 8]), st.sampled_from([1, 3, 8, 16]),
       st.sampled_from(["SAME", "VALID"]))
def test_ring_in_place_is_offered_only_where_its_order_is_safe(h, w, kh, kw, s, cin, cout,
                                                                padding):
    """conv.py's ring_inplace takes the first direction whose byte order (conv.ring_order)
    reads every input byte before the output overwrites it, and declines when neither does."""
    from mcuq.codegen.c_ops.conv import (as_depthwise, conv_mode, order_times, ring_inplace,
                                         ring_order, ring_order_args)
    from mcuq.codegen.c_ops.conv_taps import as_taps
    from mcuq.memory import order_conflicts
    from mcuq.reference import Interpreter

    pad = compute_padding(padding, s, s, 1, 1, h, w, kh, kw)
    if pad.out_h < 1 or pad.out_w < 1:
        return
    m = load_model(first_layer(h, w, cin, cout, (kh, kw), s, padding))
    p = Interpreter(m).params(0)
    got = ring_inplace(p)
    if as_depthwise(p) is not None or conv_mode(p)[0] != 3 or as_taps(p) is not None:
        assert got is None  # (short patches: the taps kernel, test_c_taps.py)
        return
    n_in, n_out = int(np.prod(p.input_shape)), int(np.prod(p.output_shape))

    def safe(reverse):
        walk = order_times(ring_order(*ring_order_args(p), reverse=reverse), n_in, n_out)
        return not order_conflicts(*walk, 0).size

    forward, backward = safe(False), safe(True)
    if not (forward or backward):
        assert got is None
    else:
        assert got[0] == ("ring" if forward else "ring-reverse")
        plan = c_plan(m)
        check_reads(m, plan)
        assert plan.inplace[0].method == got[0]


def test_first_layers_concat_runs_in_place_backwards(zoo):
    """first_layers' CONCATENATION of two 10x8x8 branches goes over its first input (stored at
    the output's first byte) from the last row back: the arena is its largest live set with
    the concat's output and one input (1,920 B, not 2,560). check_reads replays the kernel's
    byte order (shape.concat_order) and rejects the same kernel walked first row to last, the
    other input's bytes written before the rows move, or the output placed far below its
    input."""
    from mcuq.codegen.c_ops.shape import concat_order
    from mcuq.memory import order_conflicts

    m = load_model(zoo["first_layers"])
    plan = c_plan(m)
    op = next(o for o in m.operators if o.opcode == "CONCATENATION")
    choice = plan.inplace[op.index]
    assert (choice.method, choice.operand) == ("concat-reverse", 0)
    assert plan.size == plan.lower_bound == 1920
    assert plan.offsets[op.outputs[0]] == plan.offsets[op.inputs[0]]
    check_reads(m, plan)
    outer, rows = 80, [8, 8]
    reads, writes = concat_order(outer, rows, 0)
    assert reads.size == 640 and writes.size == 1280

    def with_order(order):
        return dataclasses.replace(plan, inplace={**plan.inplace, op.index: dataclasses.replace(
            choice, order=lambda: order)})

    forward = (2 * np.repeat(np.arange(outer), 8),
               np.repeat(2 * np.arange(outer) + 1, 16))  # row 0 first
    others_first = (reads, np.where(writes == 2 * outer, -1, writes))
    for bad in (forward, others_first):
        with pytest.raises(AssertionError, match=r"op #2 CONCATENATION in place "
                                                 r"\(concat-reverse\) writes"):
            check_reads(m, with_order(bad))
    # the output starting 8 bytes before its input: safe (its rows land on input rows read
    # already); 328 bytes before: output row o lands on input rows < o, not read yet
    assert not order_conflicts(reads, writes, -8).size
    assert order_conflicts(reads, writes, -328).size


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.integers(1, 12), st.lists(st.integers(1, 24), min_size=1, max_size=4), st.data())
def test_concat_order_is_safe_backwards_only(outer, rows, data):
    """shape.concat_order (rows of the in-place input last to first, then the other inputs)
    never writes an output byte over an input byte read later, for any input of any concat;
    the rows walked first to last do as soon as there are two rows and another input."""
    from mcuq.codegen.c_ops.shape import concat_order
    from mcuq.memory import order_conflicts

    k = data.draw(st.integers(0, len(rows) - 1))
    reads, writes = concat_order(outer, rows, k)
    assert reads.size == outer * rows[k] and writes.size == outer * sum(rows)
    assert not order_conflicts(reads, writes, 0).size
    total = sum(rows)
    fwd_reads = 2 * np.repeat(np.arange(outer, dtype=np.int64), rows[k])
    fwd_writes = np.repeat(2 * np.arange(outer, dtype=np.int64) + 1, total)
    unsafe = outer > 1 and total > rows[k]
    assert bool(order_conflicts(fwd_reads, fwd_writes, 0).size) == unsafe
