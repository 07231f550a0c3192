"""Cortex-M4 cost of the standalone build: flash/RAM from arm-none-eabi-size of a model image
vs a baseline image, stack from -fstack-usage, and exact instruction counts (unicorn)."""
from pathlib import Path

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
    # the inputs and outputs live in the arena: the image's RAM is the arena, which holds the
    # input and the hidden activation together (the first FC reads one, writes the other)
    assert fp.ram_bytes == fp.arena_bytes >= 256 + 64
    ext = cortex_m4_footprint(model, external_io=True)  # the caller's I/O buffers
    io = 256 + 10
    assert ext.ram_bytes >= ext.arena_bytes + io and ext.arena_bytes >= 64
    assert fp.stack_bytes > 0
    assert fp.peak_ram_bytes == fp.ram_bytes + fp.stack_bytes
    bigger = cortex_m4_footprint(load_model(_fc_model(depth=512)))
    assert bigger.flash_bytes - fp.flash_bytes >= 256 * 64  # the extra weights show up


def _it_covered(code: bytes) -> int:
    """Instructions covered by IT instructions (0xBFxy, mask y != 0) in a block of Thumb code."""
    n, i = 0, 0
    while i + 1 < len(code):
        hw = code[i] | (code[i + 1] << 8)
        if hw >> 8 == 0xBF and hw & 0xF:
            mask = hw & 0xF
            n += 4 - ((mask & -mask).bit_length() - 1)
        i += 4 if (hw >> 11) in (0b11101, 0b11110, 0b11111) else 2
    return n


def test_instruction_count_is_exact_against_a_per_instruction_hook(cortex_m4):
    """The block counter (lengths decoded by mcuq) against unicorn's hook on every executed
    instruction, block by block: identical except for instructions in IT blocks whose condition
    failed (the Cortex-M4 issues them; the hook does not fire), never more than the IT blocks
    cover; plus determinism and scaling with MACs."""
    from mcuq.instructions import block_profile, count_instructions

    small = load_model(_fc_model(depth=128))
    x = [np.random.default_rng(1).integers(-128, 128, (2, 1, 128), dtype=np.int8)]
    a = count_instructions(small, x)
    assert a == count_instructions(small, x)  # deterministic
    profile = block_profile(small, [x[0][:1]])
    assert sum(b["decoded"] * b["executions"] for b in profile) == a[0]
    skipped = 0
    for b in profile:
        gap = b["decoded"] * b["executions"] - b["hook_fires"]
        assert 0 <= gap <= _it_covered(b["bytes"]) * b["executions"], hex(b["address"])
        skipped += gap
    assert 0 < skipped < 0.02 * a[0]  # the model's clamps compile to IT blocks
    macs_small = 128 * 64 + 64 * 10
    assert macs_small < a[0] < 20 * macs_small
    b = count_instructions(load_model(_fc_model(depth=256)))[0]
    per_mac = (b - count_instructions(small)[0]) / (128 * 64)  # marginal cost of extra MACs
    assert 0.5 < per_mac < 10


def _conv_model() -> bytes:
    from mcuq.testing.strategies import LayerQuant, conv_model

    rng = np.random.default_rng(2)
    g = dict(h=8, w=8, kh=3, kw=3, sh=1, sw=1, dh=1, dw=1, padding="SAME", oh=8, ow=8)
    q = LayerQuant(0.05, -3, tuple([0.01] * 8), 0.1, 5)
    return conv_model(g, 1, 8, 8, q, rng.integers(-127, 128, (8, 3, 3, 8)).astype(np.int8),
                      rng.integers(-500, 500, 8).astype(np.int32))


def test_stack_is_measured_by_call_graph_and_painted_stack(cortex_m4):
    """Two measurements that must agree: the painted high-water mark on the emulated M4 is
    never above the call-graph bound; on an FC model (no tail calls, no library calls) they
    are equal; a conv model's deepest path goes three calls below the kernel's entry, which
    the old estimate (invoke + the largest leaf frame) left out; the packed conv's assembly
    pair loops are measured (their frames declared in conv.c)."""
    fc = cortex_m4_footprint(load_model(_fc_model()))
    assert fc.stack_painted_bytes == fc.stack_callgraph_bytes == fc.stack_bytes > 0
    assert fc.stack_path[0].startswith("mcuq_model_invoke")
    conv = cortex_m4_footprint(load_model(_conv_model()))
    assert 0 < conv.stack_painted_bytes <= conv.stack_callgraph_bytes == conv.stack_bytes
    assert len(conv.stack_path) >= 5 and conv.stack_path[1].startswith("mcuq_conv_s8"), \
        conv.stack_path
    assert not [u for u in conv.stack_unmeasured if u.startswith("mcuq_conv_pairs")]
    frames = [int(p.rsplit("(", 1)[1].split()[0]) for p in conv.stack_path]
    assert sum(frames) == conv.stack_callgraph_bytes
    old_estimate = frames[0] + max(frames[1:])  # invoke + the largest kernel frame
    assert old_estimate < conv.stack_painted_bytes


def test_per_op_attribution_and_a_whole_program_count_agree(cortex_m4):
    """measure(by_op=True): the per-op instructions and cycles add up to the totals and follow
    the model's ops in order; measure_function runs a whole program from its reset vector (the
    generated project's Cortex-M4 self-test, semihosting answered by the emulator) and counts
    the first call of invoke: the same instructions as measure on the same input (vector 0),
    and the same estimated cycles. With --external-io (invoke_io) the per-op shares add up
    too."""
    from mcuq.instructions import measure, measure_function
    from mcuq.runners.firmware import FirmwareRunner
    from mcuq.vectors import random_inputs

    model = load_model(_conv_model())
    cost = measure(model, [x[:1] for x in random_inputs(model, 2, 0)], by_op=True)[0]
    assert [op.index for op in cost.by_op] == [op.index for op in model.operators]
    assert sum(op.instructions for op in cost.by_op) == cost.instructions
    assert sum(op.cycles for op in cost.by_op) == cost.cycles > cost.instructions
    assert cost.by_op[0].opcode == "CONV_2D" and "[conv/" in cost.by_op[0].label
    elf = FirmwareRunner(model, "cortex-m4").build()
    whole = measure_function(elf, "mcuq_model_invoke")  # I/O in the arena: invoke(void)
    assert (whole.instructions, whole.cycles) == (cost.instructions, cost.cycles)
    x = [x[:1] for x in random_inputs(model, 2, 0)]
    ext = measure(model, x, by_op=True, external_io=True)[0]
    assert [op.index for op in ext.by_op] == [op.index for op in model.operators]
    assert sum(op.instructions for op in ext.by_op) == ext.instructions


def test_generated_projects_size_the_kernel_stack_buffers_to_their_layers(tmp_path):
    """firmware/kernels/mcuq_buffers.h holds the largest buffers any layer may get; a project's
    copy holds what its own layers need (a 3x3x8 convolution: 72-byte patches), so its stack
    holds no room for other models' layers."""
    import re

    from mcuq.codegen.target_c import generate_c

    generate_c(load_model(_conv_model()), tmp_path / "p", "m", vectors=1)
    text = (tmp_path / "p" / "mcuq" / "mcuq_buffers.h").read_text()
    sizes = dict(re.findall(r"#define (MCUQ_\w+_BUF) (\d+)", text))
    assert {k: int(v) for k, v in sizes.items()} == {
        "MCUQ_CONV_COL_BUF": 72, "MCUQ_CONV_RING_BUF": 4, "MCUQ_CONV_RING_KP_BUF": 4,
        "MCUQ_DW_TAPS_BUF": 4, "MCUQ_DW_CH_BUF": 4,
        "MCUQ_DW_ROWS_BUF": 4, "MCUQ_DW_PLANAR_BUF": 4, "MCUQ_FC_SCRATCH_BUF": 4,
        "MCUQ_CONV16_COL_BUF": 4, "MCUQ_TAPS_RING_BUF": 4, "MCUQ_DW16_TAPS_BUF": 4}


def test_a_project_whose_fc_rows_are_all_too_deep_for_the_scratch_builds(cortex_m4):
    """An FC deeper than the unpacked-row buffer (1,280 inputs, as MobileNetV2's head) takes
    the deep-row path: the project's buffer is the minimum, and the kernel's unpacking path,
    dead for it, must not break the -Werror build (array bounds of a 1-word buffer)."""
    import re

    data = _deep_fc_model()
    fp = cortex_m4_footprint(load_model(data), painted=False)
    text = (Path(fp.elf).parents[2] / "mcuq" / "mcuq_buffers.h").read_text()
    assert re.search(r"#define MCUQ_FC_SCRATCH_BUF 4\b", text)


def _deep_fc_model() -> bytes:
    rng = np.random.default_rng(5)
    b = ModelBuilder()
    x = b.input("x", (1, 1280), scale=0.05, zero_point=3)
    w = b.const("w", rng.integers(-127, 128, (2, 1280), dtype=np.int8), scale=0.002)
    y = b.tensor("y", (1, 2), scale=0.2, zero_point=0)
    b.op("FULLY_CONNECTED", [x, w, -1], [y], version=4)
    b.output(y)
    return b.build()
