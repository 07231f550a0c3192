"""Cortex-M4 cost of the standalone build: flash/RAM from arm-none-eabi-size of a model image
vs a baseline image, stack from -fstack-usage, and exact instruction counts (unicorn)."""
import numpy as np
import pytest

from mcuq.footprint import cortex_m4_footprint
from mcuq.model import load_model
from mcuq.testing.builder import ModelBuilder


def _fc_model(depth=256, units=64, seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    x = b.input("x", (1, depth), scale=0.05, zero_point=3)
    w = b.const("w", rng.integers(-127, 128, (units, depth), dtype=np.int8),
                scale=rng.uniform(0.001, 0.01, units).astype(np.float32), axis=0)
    h = b.tensor("h", (1, units), scale=0.04, zero_point=-128)
    b.op("FULLY_CONNECTED", [x, w, -1], [h], version=4, fused_activation_function="RELU")
    w2 = b.const("w2", rng.integers(-127, 128, (10, units), dtype=np.int8), scale=0.004)
    y = b.tensor("y", (1, 10), scale=0.1, zero_point=7)
    b.op("FULLY_CONNECTED", [h, w2, -1], [y], version=4)
    b.output(y)
    return b.build()


def test_footprint_counts_weights_in_flash_and_arena_in_ram(cortex_m4):
    model = load_model(_fc_model())
    fp = cortex_m4_footprint(model)
    weights = 256 * 64 + 64 * 10
    assert fp.flash_bytes >= weights  # the weights are in flash, not RAM
    assert fp.flash_bytes < weights + 8192  # plus kernels, params, folded biases
    io = 256 + 10
    assert fp.ram_bytes >= fp.arena_bytes + io
    assert fp.arena_bytes >= 64  # the hidden activation lives in the arena
    assert fp.stack_bytes > 0
    assert fp.peak_ram_bytes == fp.ram_bytes + fp.stack_bytes
    bigger = cortex_m4_footprint(load_model(_fc_model(depth=512)))
    assert bigger.flash_bytes - fp.flash_bytes >= 256 * 64  # the extra weights show up


def test_instruction_count_is_exact_and_scales_with_macs(cortex_m4):
    pytest.importorskip("unicorn", reason="pip install unicorn")
    from mcuq.instructions import count_instructions

    small, big = load_model(_fc_model(depth=128)), load_model(_fc_model(depth=256))
    x = [np.random.default_rng(1).integers(-128, 128, (2, 1, 128), dtype=np.int8)]
    a = count_instructions(small, x)
    assert a == count_instructions(small, x)  # deterministic
    macs_small = 128 * 64 + 64 * 10
    assert macs_small < a[0] < 20 * macs_small
    b = count_instructions(big)[0]
    per_mac = (b - a[0]) / (128 * 64)  # marginal cost of the extra MACs
    assert 0.5 < per_mac < 10
