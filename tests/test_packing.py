"""mcuq.packing: distinct values per output channel and packed sizes (k-bit indices + tables)."""
import numpy as np
import pytest

from mcuq.model import parse_model
from mcuq.packing import (distinct_per_channel, distinct_per_row, index_bits, pack_model,
                          packed_bytes)


def test_distinct_per_row_counts_each_row():
    v = np.array([[1, 1, 2, 3], [5, 5, 5, 5], [0, -1, 1, -1]], np.int8)
    assert distinct_per_row(v).tolist() == [3, 1, 3]
    assert distinct_per_row(np.zeros((2, 0))).tolist() == [0, 0]


def test_distinct_per_channel_follows_the_axis():
    rng = np.random.default_rng(0)
    w = rng.integers(-2, 2, (3, 5, 7)).astype(np.int8)  # at most 4 values anywhere
    w[:, :, 0] = 9  # channel 0 of axis 2: one value
    counts = distinct_per_channel(w, 2)
    assert counts.shape == (7,)
    assert counts[0] == 1
    expected = [len(np.unique(w[:, :, c])) for c in range(7)]
    assert counts.tolist() == expected


@pytest.mark.parametrize("distinct,bits", [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (16, 4),
                                           (17, 5), (128, 7), (129, 8), (256, 8)])
def test_index_bits(distinct, bits):
    assert index_bits(distinct) == bits


def test_packed_bytes_is_indices_plus_tables_or_raw():
    # 64 channels x 288 values, K=16: 4-bit indices + 64 tables of 16 int8 entries
    assert packed_bytes(64 * 288, 64, 16) == 64 * 288 // 2 + 64 * 16
    assert packed_bytes(64 * 288, 64, 4) == 64 * 288 // 4 + 64 * 4
    assert packed_bytes(10, 1, 3) == 3 + 3  # ceil(10 * 2 / 8) + one 3-entry table
    assert packed_bytes(1000, 10, 200) == 1000  # 8-bit indices: stays raw
    assert packed_bytes(9, 1, 9) == 9  # the table would cost more than it saves


def test_pack_model_on_converted_models(zoo):
    for name in ("cnn", "mobilenet_v1"):
        m = parse_model(zoo[name], name)
        pk = pack_model(m)
        weights = {op.inputs[1] for op in m.operators
                   if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")}
        assert {t.tensor for t in pk.tensors} == weights
        for t in pk.tensors:
            data = m.tensors[t.tensor].data
            axis = 3 if t.op == "DEPTHWISE_CONV_2D" else 0
            assert t.channels == data.shape[axis]
            assert t.distinct_max == max(len(np.unique(np.take(data, c, axis=axis)))
                                         for c in range(data.shape[axis]))
            assert t.packed_bytes <= t.raw_bytes == data.size
        assert pk.weight_bytes == sum(t.nbytes for t in m.tensors if t.data is not None)
        saved = sum(t.raw_bytes - t.packed_bytes for t in pk.tensors)
        assert pk.packed_weight_bytes == pk.weight_bytes - saved
        assert pk.packed_flash_bytes == len(zoo[name]) - saved
