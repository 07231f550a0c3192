"""BATCH_MATMUL (int8, ranks 2-5, broadcast batch dims, adj_x/adj_y, constant operands):
reference == TFLite Micro == TFLite (reference kernels) to the byte."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mcuq.errors import UnsupportedModelError
from mcuq.reference import Interpreter
from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES, assert_exact
from tests.reference.strategies10 import int8_array, quant


@st.composite
def batch_matmul_models(draw):
    rank = draw(st.integers(2, 5))
    batch = [draw(st.integers(1, 3)) for _ in range(rank - 2)]
    lb = [d if draw(st.integers(0, 3)) else 1 for d in batch]
    rb = [d if draw(st.integers(0, 3)) else 1 for d in batch]
    lb = lb[draw(st.integers(0, len(lb))):] if draw(st.booleans()) else lb  # lower rank
    out_b = [max(a, c) for a, c in zip([1] * (len(rb) - len(lb)) + lb, rb)]
    rows, depth, cols = (draw(st.integers(1, 5)) for _ in range(3))
    adj_x, adj_y = draw(st.booleans()), draw(st.booleans())
    lshape = tuple(lb) + ((depth, rows) if adj_x else (rows, depth))
    rshape = tuple(rb) + ((cols, depth) if adj_y else (depth, cols))
    ql, qr, qy = draw(quant()), draw(quant()), draw(quant())
    b = ModelBuilder()
    lhs = b.input("lhs", lshape, scale=ql[0], zero_point=ql[1])
    if draw(st.integers(0, 2)) == 0:
        rhs = b.const("rhs", draw(int8_array(rshape)), scale=qr[0], zero_point=qr[1])
    else:
        rhs = b.input("rhs", rshape, scale=qr[0], zero_point=qr[1])
    y = b.tensor("y", tuple(out_b) + (rows, cols), scale=qy[0], zero_point=qy[1])
    b.op("BATCH_MATMUL", [lhs, rhs], [y], adj_x=adj_x, adj_y=adj_y)
    b.output(y)
    return b.build()


@settings(max_examples=EXAMPLES, deadline=None)
@given(batch_matmul_models(), st.integers(0, 1000))
def test_batch_matmul(model, seed):
    assert_exact(model, batch=2, seed=seed)


def test_batch_matmul_rejects_rank_6():
    b = ModelBuilder()
    lhs = b.input("lhs", (1, 1, 1, 1, 2, 3), scale=0.1, zero_point=0)
    rhs = b.input("rhs", (1, 1, 1, 1, 3, 2), scale=0.1, zero_point=0)
    y = b.tensor("y", (1, 1, 1, 1, 2, 2), scale=0.1, zero_point=0)
    b.op("BATCH_MATMUL", [lhs, rhs], [y])
    b.output(y)
    with pytest.raises(UnsupportedModelError, match="ranks 6 and 6"):
        Interpreter(b.build())
