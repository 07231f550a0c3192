"""Hypothesis building blocks shared by the issue-10 op tests (tests/reference/test_select.py,
test_space.py, ...; the C twins in tests/firmware reuse the model strategies).

Quantization and shapes are drawn by hypothesis itself (edge values first: zero points -128,
0, 127; the smallest and largest scales), constant tensors with hypothesis.extra.numpy, so
shrinking and the example database work on every parameter."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

ZERO_POINTS = st.one_of(st.sampled_from([-128, 0, 127]), st.integers(-128, 127))
SCALES = st.one_of(st.sampled_from([1e-3, 1.0 / 256, 0.05, 1.0]),
                   st.floats(1e-3, 1.0)).map(lambda v: float(np.float32(v)))


@st.composite
def quant(draw):
    """(scale, zero point) of an int8 tensor."""
    return draw(SCALES), draw(ZERO_POINTS)


def shape(rank: int, lo: int = 1, hi: int = 5):
    return st.lists(st.integers(lo, hi), min_size=rank, max_size=rank).map(tuple)


def int8_array(shp):
    return hnp.arrays(np.int8, tuple(shp))
