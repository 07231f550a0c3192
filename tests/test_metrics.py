"""mcuq.metrics on hand-computed arrays, and quantize() against TFLite Micro's QUANTIZE."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mcuq import metrics
from mcuq.model import load_model
from mcuq.runners import make_runner
from mcuq.testing.builder import ModelBuilder
from tests.exactness import EXAMPLES


def test_compare_exact_counts_in_lsb():
    ref = np.array([[-128, 0, 5, 127]], np.int8)
    got = np.array([[127, 0, 4, 127]], np.int8)  # int8 wrap must not hide a 255 LSB gap
    c = metrics.compare_exact(ref, got)
    assert (c.elements, c.mismatched_elements, c.max_abs_lsb, c.exact) == (4, 2, 255, 0.5)
    same = metrics.compare_exact(ref, ref.copy())
    assert (same.exact, same.max_abs_lsb, same.mismatched_elements) == (1.0, 0, 0)
    # float outputs (float I/O models): differences in LSBs of the dequantize step
    f = metrics.compare_exact(np.array([[0.5, 1.0]]), np.array([[0.75, 1.0]]), lsb=0.25)
    assert (f.max_abs_lsb, f.mismatched_elements) == (1, 1)


def test_first_differences_names_sample_and_position():
    ref = np.zeros((2, 1, 3), np.int8)
    got = ref.copy()
    got[1, 0, 2] = -1
    (e,) = metrics.first_differences(ref, got, sample_ids=np.array([7, 9]))
    assert e == {"sample": 9, "position": [0, 2], "reference": 0, "runner": -1}


def test_sqnr_of_known_noise():
    signal = np.ones((10, 10))
    noise = np.where(np.arange(100).reshape(10, 10) % 2 == 0, 0.1, -0.1)
    # power 100, noise power 100 * 0.01 = 1 -> 20 dB
    assert metrics.sqnr_db(signal, signal + noise) == pytest.approx(20.0)
    assert metrics.sqnr_db(signal, signal + 10 * noise) == pytest.approx(0.0, abs=1e-9)
    assert metrics.sqnr_db(signal, signal) == math.inf


def test_cosine():
    a = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    b = np.array([[0.0, 2.0], [3.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    # per sample: 0, 1, 1/sqrt(2), both zero -> 1
    assert metrics.cosine(a, b) == pytest.approx((0 + 1 + 1 / math.sqrt(2) + 1) / 4)
    assert metrics.cosine([[1.0, 2.0]], [[-1.0, -2.0]]) == pytest.approx(-1.0)


def test_rmse_mae():
    a = np.array([[0.0, 0.0, 0.0, 0.0]])
    b = np.array([[1.0, -1.0, 3.0, -3.0]])
    assert metrics.rmse(a, b) == pytest.approx(math.sqrt(5.0))
    assert metrics.mae(a, b) == pytest.approx(2.0)


def test_top1_agreement_and_accuracy():
    a = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.0, 0.0, 1.0]])
    b = np.array([[0.0, 1.0, 0.0], [0.0, 0.9, 0.1], [0.1, 0.1, 0.8], [0.5, 0.2, 0.3]])
    assert metrics.top1_agreement(a, b) == 0.5  # samples 0 and 2 agree
    assert metrics.accuracy(a, [1, 0, 2, 0]) == 0.75
    assert metrics.accuracy(a[:, None, :], np.array([1, 0, 2, 2])) == 1.0  # (N, 1, C) too


def test_dequantize():
    q = np.array([-128, -3, 127], np.int8)
    np.testing.assert_allclose(metrics.dequantize(q, 0.5, -3), [-62.5, 0.0, 65.0])


def test_quantize_hand_computed():
    # scale 0.1, zero point -3. x / scale is divided in float32: 0.25 -> 2.5 (a tie, rounded
    # away from zero to 3; float64 division gives 2.4999999 -> 2), 0.05 -> 0.5 -> 1,
    # -0.25 -> -3, -0.15 -> -1.5 -> -2; 100 / -100 clamp to 127 / -128.
    x = np.array([0.25, -0.25, 0.05, -0.15, 100.0, -100.0, 0.0, 1.23], np.float32)
    np.testing.assert_array_equal(metrics.quantize(x, 0.1, -3),
                                  [0, -6, -2, -5, 127, -128, -3, 9])


def _quantize_model(scale: float, zero_point: int, n: int) -> bytes:
    b = ModelBuilder()
    x = b.input("x", (1, n), dtype="FLOAT32")
    y = b.tensor("y", (1, n), scale=scale, zero_point=zero_point)
    b.op("QUANTIZE", [x], [y])
    b.output(y)
    return b.build()


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_quantize_matches_tflm_quantize_op(seed):
    rng = np.random.default_rng(seed)
    scale = float(np.float32(10 ** rng.uniform(-3, 0)))
    zp = int(rng.integers(-128, 128))
    n = 64
    # Exact multiples of half a step (ties) plus arbitrary values, some far out of range.
    ties = (rng.integers(-600, 600, n // 2) * 0.5 * scale).astype(np.float32)
    other = (rng.standard_normal(n // 2) * 200 * scale).astype(np.float32)
    x = np.concatenate([ties, other]).reshape(1, 1, n)
    model = load_model(_quantize_model(scale, zp, n))
    want = make_runner("tflm", model).run([x]).outputs[0]
    np.testing.assert_array_equal(metrics.quantize(x, scale, zp), want)
