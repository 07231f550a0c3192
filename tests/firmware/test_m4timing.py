"""The Cortex-M4 cycle estimate (mcuq/m4timing.py): the Thumb-2 decoder against GNU objdump on
every instruction of real Cortex-M4 code (mcuq's kernels and TFLite Micro + CMSIS-NN when the
prebuilt library is there), and the timing rules on assembled sequences."""
import re
import subprocess

import pytest

from mcuq import m4timing as T

ARM = "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16".split()
_CONDS = "eq|ne|cs|cc|hs|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le"


def _expected_kind(mnemonic: str):
    """The timing class objdump's mnemonic implies."""
    mn = mnemonic.split(".")[0]
    if re.match(r"^(ldrd|strd)", mn):
        return (T.LDRD,)
    if re.match(r"^(ldm|stm|push|pop|vpush|vpop|vldm|vstm)", mn):
        return (T.MULTI,)
    if re.match(r"^(ldr|ldrex|vldr|pld)", mn):
        return (T.LOAD,)
    if re.match(r"^(str|strex|vstr)", mn):
        return (T.STORE, T.STORE_REG)
    if re.match(r"^(tbb|tbh)", mn):
        return (T.TABLE,)
    if re.match(rf"^(cbz|cbnz|bx|blx|bl|b)$", mn) or re.match(rf"^b({_CONDS})$", mn):
        return (T.BRANCH,)
    if re.match(r"^(sdiv|udiv)", mn):
        return (T.DIVIDE_K,)
    if re.match(r"^(vdiv|vsqrt)", mn):
        return (T.VDIVIDE,)
    return (T.ALU,)


def _check_objdump(path) -> int:
    """Decodes every instruction objdump lists in `path`; returns how many were checked."""
    out = subprocess.run(["arm-none-eabi-objdump", "-d", str(path)], capture_output=True,
                         text=True, check=True).stdout
    checked, wrong = 0, []
    for line in out.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+([0-9a-f]{4})(?: ([0-9a-f]{4}))?\s+([a-z]\S*)\s*(.*)",
                     line)
        if not m or m.group(4) in ("word", "short", "byte"):
            continue
        hw1, hw2 = int(m.group(2), 16), int(m.group(3) or "0", 16)
        if (m.group(3) is not None) != T.is_32bit(hw1):
            continue  # data objdump printed as an instruction
        insn = T.decode(hw1, hw2, int(m.group(1), 16))
        if insn.kind not in _expected_kind(m.group(4)):
            wrong.append(line.strip())
        if insn.call is not None and m.group(4) in ("bl", "b.w") and "<" in m.group(5):
            target = int(m.group(5).split()[0], 16)
            if target and target != insn.call:  # 0: an unrelocated call in an archive
                wrong.append(f"target {line.strip()} decoded {insn.call:#x}")
        checked += 1
    assert not wrong, f"{len(wrong)} of {checked} instructions misclassified:\n" + "\n".join(
        wrong[:10])
    return checked


def test_decoder_agrees_with_objdump_on_kernels(cortex_m4):
    from mcuq.footprint import cortex_m4_footprint
    from mcuq.model import load_model
    from tests.firmware.test_footprint import _conv_model, _fc_model

    n = sum(_check_objdump(cortex_m4_footprint(load_model(m), painted=False).elf)
            for m in (_fc_model(), _conv_model()))
    assert n > 2000


def test_decoder_agrees_with_objdump_on_tflite_micro_cmsis_nn(cortex_m4):
    from mcuq.testing import tflm_prebuilt

    tflm = tflm_prebuilt.locate()
    if tflm is None:
        pytest.skip(tflm_prebuilt.missing_reason())
    assert _check_objdump(tflm.lib("m4-cmsis_nn")) > 100000  # VFP, TBB, LDM, divides, ...


def _assemble(tmp_path, source: str) -> bytes:
    """Thumb machine code of `source` (the .text section of an assembled object)."""
    s = tmp_path / "t.s"
    s.write_text(".syntax unified\n.thumb\n.text\n" + source + "\n")
    o = tmp_path / "t.o"
    subprocess.run(["arm-none-eabi-as", *ARM, str(s), "-o", str(o)], check=True)
    b = tmp_path / "t.bin"
    subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", "-j", ".text", str(o), str(b)],
                   check=True)
    return b.read_bytes()


@pytest.mark.parametrize("source, instructions, cycles", [
    ("adds r0, r1\n mul r2, r3, r4\n smlad r5, r6, r7, r8", 3, 3),  # single-cycle ALU/MAC
    ("ldr r0, [r1]\n ldr r2, [r3]", 2, 3),  # the second load pipelines: 2 + 1
    ("ldr r0, [r1]\n ldr r2, [r0]", 2, 4),  # its address is the first's result: 2 + 2
    ("ldr r0, [r1]\n str r0, [r2, r3]", 2, 3),  # a register-offset store after a load: 1
    ("str r0, [r1, #4]\n str r2, [r1, #8]", 2, 2),  # immediate-offset stores: 1 each
    ("ldrd r0, r1, [r2]\n ldr r3, [r4]", 2, 5),  # LDRD 3, never pipelines
    ("push {r4, r5, r6, r7, lr}", 1, 6),  # 1 + N
    ("ldmia r0!, {r1, r2, r3}", 1, 4),
    ("sdiv r0, r1, r2", 1, T.DIVIDE),
    ("vdiv.f32 s0, s1, s2", 1, 14),
])
def test_block_cycles_follow_the_timing_table(tmp_path, cortex_m4, source, instructions, cycles):
    cost = T.block_cost(_assemble(tmp_path, source), 0)
    assert (cost.instructions, cost.cycles) == (instructions, cycles)


def test_taken_branches_and_flash_wait_states_add_cycles(cortex_m4):
    """The counter adds the pipeline refill to every taken branch and, with flash wait states,
    the wait states to the refill and to every data read from flash: a model's cycles grow by
    exactly those terms, its instruction count stays."""
    import numpy as np

    from mcuq.instructions import measure
    from mcuq.model import load_model
    from tests.firmware.test_footprint import _fc_model

    m = load_model(_fc_model(depth=64))
    x = [np.random.default_rng(3).integers(-128, 128, (1, 64), dtype=np.int8)]
    base = measure(m, x, T.Timing(branch_refill=1))[0]
    refill3 = measure(m, x, T.Timing(branch_refill=3))[0]
    flash2 = measure(m, x, T.Timing(branch_refill=1, wait_states=2))[0]
    assert base.instructions == refill3.instructions == flash2.instructions
    assert base.instructions < base.cycles < refill3.cycles
    taken = (refill3.cycles - base.cycles) // 2
    assert taken > 0 and (refill3.cycles - base.cycles) % 2 == 0
    flash_reads = (flash2.cycles - base.cycles - 2 * taken) // 2
    assert flash_reads >= 64 * 64 // 4  # at least every weight word comes from flash
