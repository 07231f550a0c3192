"""Estimated Cortex-M4 cycles of Thumb code: a small Thumb-2 decoder and the timing table of
Arm's Cortex-M4 Technical Reference Manual (DDI 0439, section 3.3 "Instruction set summary"
and its notes on load/store timings), for mcuq.instructions' block counter.

The estimate is static per translated block plus two dynamic terms the counter adds:

| instruction class                                  | cycles                                  |
|----------------------------------------------------|-----------------------------------------|
| data processing, shifts, bit fields, SXTB16, SSAT, | 1                                       |
| parallel add/sub (SADD16, SSUB8, SEL), IT, NOP     |                                         |
| MUL, MLA, MLS, SMULL, UMULL, SMLAL, UMLAL, SMLAxy, | 1 (the M4's single-cycle MAC unit)      |
| SMLAD, SMLALD, SMMUL, SMUAD, ...                   |                                         |
| SDIV, UDIV                                         | 2-12 (early termination): `divide`      |
| LDR/LDRB/LDRH/LDRSB/LDRSH (single)                 | 2; 1 when it directly follows a single  |
|                                                    | load whose destination it does not use  |
|                                                    | as an address register (pipelined)      |
| STR/STRB/STRH, immediate offset                    | 1 (the data phase overlaps the next     |
|                                                    | instruction through the write buffer)   |
| STR/STRB/STRH, register offset                     | 2; 1 when it follows a single load      |
| LDRD, STRD                                         | 3 (1 + N, N = 2; never pipelined)       |
| LDM, STM, PUSH, POP (N registers)                  | 1 + N                                   |
| VLDR/VSTR, VLDM/VSTM/VPUSH/VPOP                    | 2, 1 + N                                |
| VDIV, VSQRT                                        | 14                                      |
| taken branch (B, BL, BX, BLX, CBZ/CBNZ, B<cond>;   | 1 + P, P = pipeline refill, 1-3         |
| POP/LDM/LDR/MOV/ADD with PC as destination)        | (`branch_refill`, default 2)            |
| not-taken conditional branch                       | 1                                       |
| TBB, TBH                                           | 2 + P                                   |

Flash wait states W (`wait_states`): every taken branch refills the pipeline from flash (+W),
and every data read from flash (constants, weights; LDR literal, LDM/LDRD count per word)
costs +W; sequential instruction fetches are assumed hidden by the flash prefetch buffer.
Not modelled: the extra cycle of a load/store whose address register was written by the
instruction just before it (no forwarding path to the address generator), unaligned-access
splits, folding of IT into a preceding 16-bit instruction, bus contention. The figures are an
estimate next to the exact instruction count, not a cycle-accurate simulation.
"""
from __future__ import annotations

from dataclasses import dataclass

#: Defaults of the timing parameters (see the module docstring).
BRANCH_REFILL = 2
DIVIDE = 7  # midpoint of SDIV/UDIV's 2-12 cycles


@dataclass(frozen=True)
class Timing:
    branch_refill: int = BRANCH_REFILL  # P: pipeline refill after a taken branch (1-3)
    wait_states: int = 0  # W: flash wait states
    divide: int = DIVIDE

    @property
    def taken_branch(self) -> int:
        """Cycles a taken branch adds to its own one: the refill, from flash."""
        return self.branch_refill + self.wait_states


# Instruction kinds (the fields of Insn.kind)
ALU, LOAD, STORE, STORE_REG, LDRD, MULTI, BRANCH, TABLE, DIVIDE_K, VDIVIDE = range(10)


@dataclass(frozen=True)
class Insn:
    size: int  # bytes (2 or 4)
    kind: int
    base_cycles: int  # without pipelining and without the taken-branch refill
    rt: int = -1  # loads: destination register
    addr_regs: tuple = ()  # loads/stores: base (and offset) registers
    literal: bool = False  # PC-relative load (reads flash)
    branch: bool = False  # may transfer control (a taken branch adds the refill)
    call: int | None = None  # BL/B.W target address (direct calls)
    words: int = 0  # words moved by LDM/STM/LDRD/VLDM


def _sign_extend(value: int, bits: int) -> int:
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


def _bl_target(address: int, hw1: int, hw2: int) -> int:
    """Target of a 32-bit B.W (T4) or BL at `address`."""
    s = (hw1 >> 10) & 1
    j1, j2 = (hw2 >> 13) & 1, (hw2 >> 11) & 1
    i1, i2 = 1 - (j1 ^ s), 1 - (j2 ^ s)
    imm = (s << 24) | (i1 << 23) | (i2 << 22) | ((hw1 & 0x3FF) << 12) | ((hw2 & 0x7FF) << 1)
    return (address + 4 + _sign_extend(imm, 25)) & 0xFFFFFFFF


def is_32bit(hw1: int) -> bool:
    return (hw1 >> 11) in (0b11101, 0b11110, 0b11111)


def decode(hw1: int, hw2: int, address: int = 0, timing: Timing = Timing()) -> Insn:
    """Timing class of the Thumb instruction starting with halfword hw1 (hw2: the next one)."""
    if not is_32bit(hw1):
        return _decode16(hw1)
    return _decode32(hw1, hw2, address, timing)


def _decode16(hw: int) -> Insn:
    top5 = hw >> 11
    if top5 == 0b01001:  # LDR literal
        return Insn(2, LOAD, 2, rt=(hw >> 8) & 7, addr_regs=(15,), literal=True)
    if hw >> 12 == 0b0101:  # load/store, register offset
        op = (hw >> 9) & 7
        rm, rn, rt = (hw >> 6) & 7, (hw >> 3) & 7, hw & 7
        if op >= 3:
            return Insn(2, LOAD, 2, rt=rt, addr_regs=(rn, rm))
        return Insn(2, STORE_REG, 2, addr_regs=(rn, rm))
    if hw >> 13 == 0b011 or hw >> 12 == 0b1000:  # LDR/STR(B) and LDRH/STRH, immediate
        rn, rt = (hw >> 3) & 7, hw & 7
        if (hw >> 11) & 1:
            return Insn(2, LOAD, 2, rt=rt, addr_regs=(rn,))
        return Insn(2, STORE, 1, addr_regs=(rn,))
    if hw >> 12 == 0b1001:  # LDR/STR SP-relative
        if (hw >> 11) & 1:
            return Insn(2, LOAD, 2, rt=(hw >> 8) & 7, addr_regs=(13,))
        return Insn(2, STORE, 1, addr_regs=(13,))
    if hw >> 9 == 0b1011010:  # PUSH
        n = bin(hw & 0x1FF).count("1")
        return Insn(2, MULTI, 1 + n, words=n)
    if hw >> 9 == 0b1011110:  # POP (with PC: a return)
        n = bin(hw & 0x1FF).count("1")
        return Insn(2, MULTI, 1 + n, branch=bool(hw & 0x100), words=n)
    if hw >> 12 == 0b1100:  # STM / LDM
        n = bin(hw & 0xFF).count("1")
        return Insn(2, MULTI, 1 + n, words=n)
    if hw >> 12 == 0b1101:  # B<cond> (cond 1110 UDF, 1111 SVC)
        if (hw >> 8) & 0xF >= 0xE:
            return Insn(2, ALU, 1)
        return Insn(2, BRANCH, 1, branch=True)
    if top5 == 0b11100:  # B
        return Insn(2, BRANCH, 1, branch=True)
    if hw >> 8 == 0b01000111:  # BX / BLX register
        return Insn(2, BRANCH, 1, branch=True)
    if hw >> 10 == 0b010001:  # ADD/CMP/MOV high registers: PC as destination branches
        op = (hw >> 8) & 3
        rd = (hw & 7) | ((hw >> 4) & 8)
        return Insn(2, ALU, 1, branch=rd == 15 and op in (0, 2))
    if hw & 0xF500 == 0xB100:  # CBZ / CBNZ
        return Insn(2, BRANCH, 1, branch=True)
    return Insn(2, ALU, 1)


def _decode32(hw1: int, hw2: int, address: int, timing: Timing) -> Insn:
    if hw1 & 0xFE40 == 0xE800:  # LDM / STM (IA, DB)
        n = bin(hw2).count("1")
        load = (hw1 >> 4) & 1
        return Insn(4, MULTI, 1 + n, branch=bool(load and hw2 & 0x8000), words=n)
    if hw1 & 0xFE40 == 0xE840:  # dual, exclusive, table branch
        if hw1 & 0xFFF0 == 0xE8D0 and hw2 & 0xFFE0 in (0xF000, 0xF010):
            return Insn(4, TABLE, 2, branch=True)
        if hw1 & 0xFFE0 == 0xE840:  # LDREX / STREX: as a single load
            return Insn(4, LOAD, 2, rt=hw2 >> 12, addr_regs=(hw1 & 0xF,))
        rn = hw1 & 0xF
        return Insn(4, LDRD, 3, literal=rn == 15, words=2)
    if hw1 & 0xFE00 == 0xF800:  # load/store single (and PLD/PLI hints)
        load = (hw1 >> 4) & 1
        rn, rt = hw1 & 0xF, hw2 >> 12
        reg_offset = not (hw1 & 0x80) and rn != 15 and hw2 & 0x0FC0 == 0
        regs = (rn, hw2 & 0xF) if reg_offset else (rn,)
        if load:
            size = (hw1 >> 5) & 3
            return Insn(4, LOAD, 2, rt=rt, addr_regs=regs, literal=rn == 15,
                        branch=rt == 15 and size == 2)
        return Insn(4, STORE_REG if reg_offset else STORE, 2 if reg_offset else 1,
                    addr_regs=regs)
    if hw1 & 0xFF80 == 0xFB80:  # long multiply, multiply-accumulate, divide
        op1, op2 = (hw1 >> 4) & 7, (hw2 >> 4) & 0xF
        if op2 == 0xF and op1 in (1, 3):  # SDIV, UDIV
            return Insn(4, DIVIDE_K, timing.divide)
        return Insn(4, ALU, 1)
    if hw1 & 0xF800 == 0xF000 and hw2 & 0x8000:  # branches and miscellaneous control
        if hw2 & 0x5000 == 0x5000:  # BL
            return Insn(4, BRANCH, 1, branch=True, call=_bl_target(address, hw1, hw2))
        if hw2 & 0x5000 == 0x1000:  # B.W (T4)
            return Insn(4, BRANCH, 1, branch=True, call=_bl_target(address, hw1, hw2))
        if hw2 & 0x5000 == 0x0000 and (hw1 >> 6) & 0xF < 0xE:  # B<cond>.W (T3)
            return Insn(4, BRANCH, 1, branch=True)
        return Insn(4, ALU, 1)  # MSR, MRS, hints, barriers
    if hw1 & 0xFE00 == 0xEC00 and (hw2 >> 9) & 7 == 0b101:  # VFP load/store (cp10/cp11)
        if hw1 & 0x01E0 == 0x0040:  # VMOV between two core registers and a d/two s registers
            return Insn(4, ALU, 1)
        rn = hw1 & 0xF
        if hw1 & 0x0120 == 0x0100:  # VLDR / VSTR
            return Insn(4, LOAD if (hw1 >> 4) & 1 else STORE, 2, addr_regs=(rn,),
                        literal=rn == 15)
        n = max(hw2 & 0xFF, 1)  # VLDM / VSTM / VPUSH / VPOP: imm8 words
        return Insn(4, MULTI, 1 + n, words=n)
    if hw1 & 0xFF00 == 0xEE00 and (hw2 >> 9) & 7 == 0b101 and not hw2 & 0x10:  # VFP data
        if hw1 & 0xB0 == 0x80 or (hw1 & 0xBF == 0xB1 and hw2 & 0xC0 == 0xC0):
            return Insn(4, VDIVIDE, 14)  # VDIV, VSQRT
        return Insn(4, ALU, 1)
    return Insn(4, ALU, 1)


def decode_block(code: bytes, address: int, timing: Timing) -> list[Insn]:
    out = []
    i = 0
    while i + 1 < len(code):
        hw1 = code[i] | (code[i + 1] << 8)
        hw2 = code[i + 2] | (code[i + 3] << 8) if i + 3 < len(code) else 0
        insn = decode(hw1, hw2, address + i, timing)
        out.append(insn)
        i += insn.size
    return out


@dataclass(frozen=True)
class BlockCost:
    instructions: int
    cycles: int  # static: every instruction, pipelining inside the block, no refill
    literal_words: int  # words this block reads from flash through PC-relative loads
    calls: tuple  # (address, target) of direct BL/B.W instructions


def block_cost(code: bytes, address: int, timing: Timing = Timing()) -> BlockCost:
    """Static cost of one straight-line block (the counter adds the refill of a taken branch
    at its end and, with wait states, flash data reads)."""
    insns = decode_block(code, address, timing)
    cycles = 0
    literal = 0
    calls = []
    prev_load_rt = None  # destination of the previous instruction when it was a single load
    offset = 0
    for insn in insns:
        c = insn.base_cycles
        if insn.kind in (LOAD, STORE_REG) and prev_load_rt is not None \
                and prev_load_rt not in insn.addr_regs:
            c = 1  # pipelined behind the previous load
        cycles += c
        if insn.literal:
            literal += max(insn.words, 1)
        if insn.call is not None:
            calls.append((address + offset, insn.call))
        prev_load_rt = insn.rt if insn.kind == LOAD and not insn.branch else None
        offset += insn.size
    return BlockCost(len(insns), cycles, literal, tuple(calls))
