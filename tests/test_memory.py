"""Arena plans: lifetimes, the TFLM-like greedy plan, the C target's plan, and their checks."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mcuq.memory import (ArenaPlan, Buffer, lifetimes, lower_bound, place, plan_arena,
                         plan_tflm_like)
from mcuq.model import load_model
from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES


def chain_model(widths=(64, 256, 32, 128, 10), reshape_at: int | None = None) -> bytes:
    """FC chain x -> h1 -> ... ; optionally a RESHAPE after layer `reshape_at`."""
    rng = np.random.default_rng(0)
    b = ModelBuilder()
    prev = b.input("x", (1, widths[0]), scale=0.05)
    for i, (d, u) in enumerate(zip(widths, widths[1:])):
        w = b.const(f"w{i}", rng.integers(-127, 128, (u, d), dtype=np.int8), scale=0.01)
        y = b.tensor(f"h{i}", (1, u), scale=0.1)
        b.op("FULLY_CONNECTED", [prev, w, -1], [y], version=4)
        prev = y
        if reshape_at == i:
            shape = b.const(f"shape{i}", np.array([u, 1], np.int32))
            r = b.tensor(f"r{i}", (u, 1), scale=0.1)
            b.op("RESHAPE", [prev, shape], [r])
            prev = r
    b.output(prev)
    return b.build()


def test_lifetimes_follow_producers_and_consumers():
    m = load_model(chain_model())
    life = lifetimes(m)
    x, h0, h1, h2, y = (t.index for t in m.tensors if t.data is None)
    assert life[x] == (0, 0)
    assert life[h0] == (0, 1)
    assert life[h1] == (1, 2)
    assert life[y] == (3, 4)  # a model output stays live after the last op (the caller reads it)


def test_tflm_like_plan_reaches_the_largest_live_pair():
    m = load_model(chain_model())
    plan = plan_tflm_like(m)
    # live pairs: (64,256) (256,32) (32,128) (128,10 -> 16): the peak is 64 + 256
    assert plan.lower_bound == 64 + 256
    assert plan.size == 64 + 256
    assert all(off % 16 == 0 for off in plan.offsets.values())


def test_c_plan_excludes_caller_buffers_and_aliases_reshape():
    m = load_model(chain_model(reshape_at=1))
    io = set(m.inputs) | set(m.outputs)
    plan = plan_arena(m, external=io)
    r = next(t.index for t in m.tensors if t.name == "r1")
    h1 = next(t.index for t in m.tensors if t.name == "h1")
    assert plan.offsets[r] == plan.offsets[h1]  # same bytes, no copy
    assert not io & set(plan.offsets)
    assert plan.size == 256 + 32  # h0 and h1 live together; x and y are the caller's


def test_check_rejects_overlapping_live_buffers():
    a, b = Buffer(0, [0], 16, 0, 1), Buffer(1, [1], 16, 1, 2)
    good = ArenaPlan(32, {0: 0, 1: 16}, [a, b], 16, 32)
    good.check()
    with pytest.raises(AssertionError, match="overlap"):
        ArenaPlan(32, {0: 0, 1: 0}, [a, b], 16, 32).check()


@st.composite
def buffer_sets(draw):
    n = draw(st.integers(1, 30))
    bufs = []
    for i in range(n):
        first = draw(st.integers(0, 20))
        bufs.append(Buffer(i, [i], 16 * draw(st.integers(1, 64)), first,
                           first + draw(st.integers(0, 6))))
    return bufs


@settings(max_examples=EXAMPLES * 4, deadline=None)
@given(buffer_sets())
def test_placement_is_valid_and_not_below_the_live_set(bufs):
    order = sorted(bufs, key=lambda b: -b.size)
    offsets = place(bufs, order, 16)
    size = max(offsets[b.root] + b.size for b in bufs)
    plan = ArenaPlan(size, offsets, bufs, 16, lower_bound(bufs))
    plan.check()
    assert size >= plan.lower_bound
