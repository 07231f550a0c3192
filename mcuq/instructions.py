"""Exact instructions per inference of the standalone C build on a Cortex-M4, counted by
emulation with the `unicorn` package (QEMU's CPU core; the same counts as a QEMU plugin).

The footprint image (mcuq.footprint) is loaded segment by segment; the model's invoke
function is called directly with pointers to the image's own input/output buffers, and every
executed Thumb instruction is counted (per translated block, with instruction lengths decoded
once per block). Inputs are the given int8 samples, so data-dependent paths are exercised.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from .errors import ToolchainError
from .footprint import cortex_m4_footprint
from .model import load_model

FLASH, RAM, SIZE = 0x00000000, 0x20000000, 4 << 20
RETURN_ADDR = FLASH + SIZE - 0x100  # an address that holds no code: emulation stops there


def _elf(path: Path):
    """(loadable segments [(vaddr, bytes, memsz)], symbols {name: value}) of an ELF32 file."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 1:
        raise ValueError(f"{path}: not an ELF32 file")
    (phoff, shoff) = struct.unpack_from("<II", data, 0x1C)
    (phentsize, phnum, shentsize, shnum) = struct.unpack_from("<HHHH", data, 0x2A)
    segments = []
    for i in range(phnum):
        p_type, p_offset, p_vaddr, _p_paddr, p_filesz, p_memsz = struct.unpack_from(
            "<IIIIII", data, phoff + i * phentsize)
        if p_type == 1 and p_memsz:  # PT_LOAD
            segments.append((p_vaddr, data[p_offset:p_offset + p_filesz], p_memsz))
    sections = [struct.unpack_from("<IIIIIIIIII", data, shoff + i * shentsize)
                for i in range(shnum)]
    symbols = {}
    for sh in sections:
        if sh[1] == 2:  # SHT_SYMTAB
            strtab = sections[sh[6]]
            for k in range(sh[5] // 16):
                st_name, st_value = struct.unpack_from("<II", data, sh[4] + k * 16)
                end = data.index(b"\0", strtab[4] + st_name)
                symbols[data[strtab[4] + st_name:end].decode()] = st_value
    return segments, symbols


def _thumb_lengths(code: bytes) -> int:
    """Number of Thumb instructions in a block of code (16- and 32-bit encodings)."""
    n, i = 0, 0
    while i + 1 < len(code):
        hw = code[i] | (code[i + 1] << 8)
        i += 4 if (hw >> 11) in (0b11101, 0b11110, 0b11111) else 2
        n += 1
    return n


def count_instructions(model, inputs: list[np.ndarray] | None = None) -> list[int]:
    """Instructions executed by one call of invoke per sample. inputs: arrays (B, *shape) in
    the model's input dtypes (default: one all-zero sample)."""
    try:
        from unicorn import UC_ARCH_ARM, UC_HOOK_BLOCK, UC_MODE_MCLASS, UC_MODE_THUMB, Uc
        from unicorn import arm_const as a
    except ImportError:
        raise ToolchainError("instruction counting needs the unicorn package",
                             "pip install unicorn (or pip install 'mcuq[bench]')") from None
    m = load_model(model)
    fp = cortex_m4_footprint(m)
    segments, symbols = _elf(Path(fp.elf))
    invoke = symbols.get("mcuq_model_invoke_io")
    in_buf, out_buf = symbols.get("mcuq_footprint_in"), symbols.get("mcuq_footprint_out")
    if invoke is None or in_buf is None or out_buf is None:
        raise RuntimeError(f"{fp.elf}: invoke or buffers not found in the symbol table")
    if inputs is None:
        inputs = [np.zeros((1, *t.shape), t.dtype) for t in m.input_tensors()]
    in_sizes = [t.nbytes for t in m.input_tensors()]
    out_sizes = [t.nbytes for t in m.output_tensors()]
    counts = []
    for b in range(inputs[0].shape[0]):
        uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
        uc.ctl_set_cpu_model(a.UC_CPU_ARM_CORTEX_M4)
        uc.mem_map(FLASH, SIZE)
        uc.mem_map(RAM, SIZE)
        for vaddr, blob, memsz in segments:
            uc.mem_write(vaddr, blob + bytes(memsz - len(blob)))
        uc.mem_write(in_buf, b"".join(np.ascontiguousarray(x[b]).tobytes() for x in inputs))
        ptrs = RAM + SIZE - 0x1000  # two small pointer arrays above the stack
        in_ptrs = np.cumsum([0] + in_sizes[:-1]) + in_buf
        out_ptrs = np.cumsum([0] + out_sizes[:-1]) + out_buf
        uc.mem_write(ptrs, struct.pack(f"<{len(in_ptrs)}I", *in_ptrs))
        uc.mem_write(ptrs + 0x100, struct.pack(f"<{len(out_ptrs)}I", *out_ptrs))
        uc.reg_write(a.UC_ARM_REG_SP, ptrs - 0x10)
        uc.reg_write(a.UC_ARM_REG_R0, ptrs)
        uc.reg_write(a.UC_ARM_REG_R1, ptrs + 0x100)
        uc.reg_write(a.UC_ARM_REG_LR, RETURN_ADDR | 1)
        cache: dict[tuple[int, int], int] = {}
        total = [0]

        def on_block(uc_, address, size, _user):
            key = (address, size)
            n = cache.get(key)
            if n is None:
                n = cache[key] = _thumb_lengths(bytes(uc_.mem_read(address, size)))
            total[0] += n

        uc.hook_add(UC_HOOK_BLOCK, on_block)
        uc.emu_start((invoke & ~1) | 1, RETURN_ADDR)
        counts.append(total[0])
    return counts
