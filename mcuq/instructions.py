"""Exact instructions per inference of the standalone C build on a Cortex-M4, counted by
emulation with the `unicorn` package (QEMU's CPU core; the same counts as a QEMU plugin), the
estimated cycles next to them (mcuq.m4timing: the Cortex-M4 timing table, a pipeline refill per
taken branch, optional flash wait states), per op when asked, and the stack high-water mark of
one inference measured by painting the stack.

The footprint image (mcuq.footprint) is loaded segment by segment; each sample is written where
the model keeps its inputs (`mcuq_model_input(i)`, itself run on the emulated core, points into
the arena; with --external-io builds the image's own input/output buffers, passed to invoke_io),
the model's invoke function is called directly, and every executed Thumb instruction is counted
(per translated block, with instruction lengths and static cycles decoded once per block).
Inputs are the given int8 samples, so data-dependent paths are exercised. The counting engine
(`BlockCounter`) works on any ELF: the benchmark uses it for TensorFlow Lite Micro's Invoke() too.
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ToolchainError
from .footprint import cortex_m4_footprint
from .m4timing import Timing, block_cost
from .model import load_model

FLASH, RAM, SIZE = 0x00000000, 0x20000000, 4 << 20
RETURN_ADDR = FLASH + SIZE - 0x100  # an address that holds no code: emulation stops there


def _elf(path: Path, sizes: dict | None = None):
    """(loadable segments [(vaddr, bytes, memsz)], symbols {name: value}) of an ELF32 file;
    `sizes`, when given, receives {name: st_size}."""
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
                st_name, st_value, st_size = struct.unpack_from("<III", data, sh[4] + k * 16)
                end = data.index(b"\0", strtab[4] + st_name)
                name = data[strtab[4] + st_name:end].decode()
                symbols[name] = st_value
                if sizes is not None:
                    sizes[name] = st_size
    return segments, symbols


def _thumb_lengths(code: bytes) -> int:
    """Number of Thumb instructions in a block of code (16- and 32-bit encodings)."""
    n, i = 0, 0
    while i + 1 < len(code):
        hw = code[i] | (code[i + 1] << 8)
        i += 4 if (hw >> 11) in (0b11101, 0b11110, 0b11111) else 2
        n += 1
    return n


def _unicorn():
    try:
        import unicorn
        from unicorn import arm_const
    except ImportError:
        raise ToolchainError("Cortex-M4 emulation (instruction counts, painted stack) needs the "
                             "unicorn package",
                             "pip install unicorn (or pip install 'mcuq[bench]')") from None
    return unicorn, arm_const


class _Image:
    """The footprint image of a model, loaded once per sample into a fresh emulated M4."""

    def __init__(self, model, rounding: str = "double", external_io: bool = False, tile=None,
                 inplace: bool = True, pack="off"):
        self.model = load_model(model)
        self.footprint = cortex_m4_footprint(self.model, painted=False, rounding=rounding,
                                             external_io=external_io, tile=tile, inplace=inplace,
                                             pack=pack)
        self.sizes: dict[str, int] = {}
        self.segments, self.symbols = _elf(Path(self.footprint.elf), self.sizes)
        symbols = self.symbols
        self.external_io = "mcuq_model_invoke_io" in symbols
        if self.external_io:
            self.invoke_name = "mcuq_model_invoke_io"
            self.in_buf = symbols.get("mcuq_footprint_in")
            self.out_buf = symbols.get("mcuq_footprint_out")
            found = None not in (self.in_buf, self.out_buf)
        else:
            self.invoke_name = "mcuq_model_invoke"
            self.input_fn = symbols.get("mcuq_model_input")
            found = self.input_fn is not None
        self.invoke = symbols.get(self.invoke_name)
        if not found or self.invoke is None:
            raise RuntimeError(f"{self.footprint.elf}: invoke or the model's inputs not found "
                               "in the symbol table")
        # the ops' calls: in s_run when the compiler kept it out of line, else in invoke
        self.ops_fn = "s_run" if "s_run" in symbols else self.invoke_name

    def default_inputs(self) -> list[np.ndarray]:
        return [np.zeros((1, *t.shape), t.dtype) for t in self.model.input_tensors()]

    def machine(self, inputs: list[np.ndarray], b: int):
        """(uc, stack top): sample b in the input buffer, invoke's arguments in r0/r1, the
        stack pointer at `stack top` and a return address that stops the emulation."""
        unicorn, a = _unicorn()
        uc = unicorn.Uc(unicorn.UC_ARCH_ARM, unicorn.UC_MODE_THUMB | unicorn.UC_MODE_MCLASS)
        uc.ctl_set_cpu_model(a.UC_CPU_ARM_CORTEX_M4)
        uc.mem_map(FLASH, SIZE)
        uc.mem_map(RAM, SIZE)
        for vaddr, blob, memsz in self.segments:
            uc.mem_write(vaddr, blob + bytes(memsz - len(blob)))
        ptrs = RAM + SIZE - 0x1000  # two small pointer arrays above the stack
        top = ptrs - 0x10
        if not self.external_io:  # the inputs live in the arena: ask the model where
            for k, x in enumerate(inputs):
                uc.reg_write(a.UC_ARM_REG_SP, top)
                uc.reg_write(a.UC_ARM_REG_R0, k)
                uc.reg_write(a.UC_ARM_REG_LR, RETURN_ADDR | 1)
                uc.emu_start((self.input_fn & ~1) | 1, RETURN_ADDR)
                uc.mem_write(uc.reg_read(a.UC_ARM_REG_R0), np.ascontiguousarray(x[b]).tobytes())
            uc.reg_write(a.UC_ARM_REG_SP, top)
            uc.reg_write(a.UC_ARM_REG_LR, RETURN_ADDR | 1)
            return uc, top
        uc.mem_write(self.in_buf, b"".join(np.ascontiguousarray(x[b]).tobytes() for x in inputs))
        in_sizes = [t.nbytes for t in self.model.input_tensors()]
        out_sizes = [t.nbytes for t in self.model.output_tensors()]
        in_ptrs = np.cumsum([0] + in_sizes[:-1]) + self.in_buf
        out_ptrs = np.cumsum([0] + out_sizes[:-1]) + self.out_buf
        uc.mem_write(ptrs, struct.pack(f"<{len(in_ptrs)}I", *in_ptrs))
        uc.mem_write(ptrs + 0x100, struct.pack(f"<{len(out_ptrs)}I", *out_ptrs))
        uc.reg_write(a.UC_ARM_REG_SP, top)
        uc.reg_write(a.UC_ARM_REG_R0, ptrs)
        uc.reg_write(a.UC_ARM_REG_R1, ptrs + 0x100)
        uc.reg_write(a.UC_ARM_REG_LR, RETURN_ADDR | 1)
        return uc, top

    def run(self, uc) -> None:
        uc.emu_start((self.invoke & ~1) | 1, RETURN_ADDR)


@dataclass
class OpCost:
    """One op's share of an inference: what ran from its call site in invoke (argument set-up
    included) to the next op's."""
    index: int
    opcode: str
    label: str  # the call's comment in model.c: output tensor, shape, kernel path
    instructions: int = 0
    cycles: int = 0


@dataclass
class RunCost:
    instructions: int
    cycles: int  # estimated (mcuq.m4timing)
    by_op: list[OpCost] = field(default_factory=list)


class BlockCounter:
    """Counts executed instructions and estimated cycles block by block on a unicorn machine.

    Each translated block is decoded once (instruction count, static cycles); a block that
    does not start where the previous one ended follows a taken branch, which adds the pipeline
    refill (and the flash wait states). With wait states, every data read from flash adds them
    (a memory hook on the flash range). `attribute(address)` may map a block to a bucket (an
    op): blocks mapped to None are charged to the current bucket. With `call` (a function's
    address), only that function's first call is counted: from its entry until the block it
    returns to (which is not counted), then the emulation stops."""

    def __init__(self, uc, timing: Timing = Timing(), buckets: int = 0, attribute=None,
                 flash: tuple[int, int] | None = (FLASH, FLASH + SIZE), call: int | None = None):
        unicorn, a = _unicorn()
        self.timing = timing
        self._call = call
        self._lr = a.UC_ARM_REG_LR
        self._return: int | None = None
        self.returned = False
        self.instructions = 0
        self.cycles = 0
        self.per_bucket = [[0, 0] for _ in range(buckets)]
        self._cache: dict[tuple[int, int], tuple[int, int, int | None]] = {}
        self._prev_end = None
        self._current = 0
        self._attribute = attribute
        self._counting = call is None
        uc.hook_add(unicorn.UC_HOOK_BLOCK, self._on_block)
        if timing.wait_states and flash is not None:
            uc.hook_add(unicorn.UC_HOOK_MEM_READ, self._on_flash_read, begin=flash[0],
                        end=flash[1] - 1)

    def _info(self, uc, address: int, size: int):
        code = bytes(uc.mem_read(address, size))
        cost = block_cost(code, address, self.timing)
        bucket = self._attribute(address) if self._attribute else None
        return cost.instructions, cost.cycles, bucket

    def _on_block(self, uc, address, size, _user):
        key = (address, size)
        info = self._cache.get(key)
        if info is None:
            info = self._cache[key] = self._info(uc, address, size)
        n, cycles, bucket = info
        taken = self._prev_end is not None and address != self._prev_end
        self._prev_end = address + size
        if self._call is not None and not self.returned:
            if self._return is None and address == self._call:  # entered: count from here
                self._return = uc.reg_read(self._lr) & ~1
                self._counting = True
                taken = False  # the caller's branch
            elif self._counting and address == self._return:  # back in the caller
                self._counting = False
                self.returned = True
                uc.emu_stop()
                return
        if taken:
            cycles += self.timing.taken_branch
        if not self._counting:
            return
        self.instructions += n
        self.cycles += cycles
        if self.per_bucket:
            if bucket is not None:
                self._current = bucket
            acc = self.per_bucket[self._current]
            acc[0] += n
            acc[1] += cycles

    def _on_flash_read(self, _uc, _access, _address, _size, _value, _user):
        if self._counting:
            w = self.timing.wait_states
            self.cycles += w
            if self.per_bucket:
                self.per_bucket[self._current][1] += w


_OP_COMMENT = re.compile(r"^\s*/\* op #(\d+) (\S+) (.*?) \*/\s*$")
_CALLEE = re.compile(r"\b(mcuq_\w+|memcpy|memmove|memset)\s*\(")


def _invoke_ops(model_c: str) -> list[tuple[int, str, str, list[str]]]:
    """(op index, opcode, comment, callees) per op of invoke in a generated model.c (the ops
    are in its static s_run, called by invoke or invoke_io)."""
    body = model_c[model_c.index("static int s_run("):]
    body = body[:body.index("\n}\n")]
    ops: list[tuple[int, str, str, list[str]]] = []
    for line in body.splitlines():
        m = _OP_COMMENT.match(line)
        if m:
            ops.append((int(m.group(1)), m.group(2), m.group(3), []))
        elif ops:
            ops[-1][3].extend(_CALLEE.findall(line))
    return ops


def _call_sites(img: "_Image") -> list[tuple[int, int]]:
    """(address of the BL/B.W, position in invoke's op list) for every call invoke makes to an
    op's kernel, matched in order against model.c's calls."""
    from .m4timing import decode_block

    start = img.symbols[img.ops_fn] & ~1
    size = img.sizes.get(img.ops_fn, 0)
    code = next(blob[start - vaddr:start - vaddr + size] for vaddr, blob, _ in img.segments
                if vaddr <= start < vaddr + len(blob))
    by_address = {v & ~1: k for k, v in img.symbols.items()}
    ops = _invoke_ops((Path(img.footprint.elf).parents[2] / "model.c").read_text())
    flat = [(pos, name) for pos, op in enumerate(ops) for name in op[3]]
    sites, j, offset = [], 0, 0
    for insn in decode_block(code, start, Timing()):
        if insn.call is not None:
            name = by_address.get(insn.call)
            k = j
            while k < len(flat) and flat[k][1] != name:
                k += 1
            if k < len(flat):
                sites.append((start + offset, flat[k][0]))
                j = k + 1
        offset += insn.size
    return sites


def measure(model, inputs: list[np.ndarray] | None = None, timing: Timing = Timing(),
            by_op: bool = False, rounding: str = "double", external_io: bool = False,
            tile=None, inplace: bool = True, pack="off") -> list[RunCost]:
    """Instructions and estimated cycles of one call of invoke per sample (and per op of the
    model when by_op). inputs: arrays (B, *shape) in the model's input dtypes (default: one
    all-zero sample). rounding: the C target's requantization ("double" or "single");
    external_io / tile / inplace / pack: the generate options of the build."""
    img = _Image(model, rounding, external_io, tile, inplace, pack)
    inputs = img.default_inputs() if inputs is None else inputs
    ops, attribute = [], None
    if by_op:
        ops = _invoke_ops((Path(img.footprint.elf).parents[2] / "model.c").read_text())
        sites = sorted(_call_sites(img))
        lo = img.symbols[img.ops_fn] & ~1
        hi = lo + img.sizes.get(img.ops_fn, 0)
        addresses = [a for a, _ in sites]

        def attribute(address: int):
            if not lo <= address < hi:
                return None
            k = int(np.searchsorted(addresses, address))  # the next call site from here on
            return sites[min(k, len(sites) - 1)][1] if sites else 0

    out = []
    for b in range(inputs[0].shape[0]):
        uc, _top = img.machine(inputs, b)
        counter = BlockCounter(uc, timing, len(ops) if by_op else 0, attribute)
        img.run(uc)
        per_op = [OpCost(op[0], op[1], op[2], n, c)
                  for op, (n, c) in zip(ops, counter.per_bucket)]
        out.append(RunCost(counter.instructions, counter.cycles, per_op))
    return out


def count_instructions(model, inputs: list[np.ndarray] | None = None,
                       rounding: str = "double", external_io: bool = False, tile=None,
                       inplace: bool = True, pack="off") -> list[int]:
    """Instructions executed by one call of invoke per sample. inputs: arrays (B, *shape) in
    the model's input dtypes (default: one all-zero sample). pack: the C target's --pack.

    Counted per translated block with instruction lengths decoded here, so an instruction in an
    IT block whose condition fails counts too (the Cortex-M4 issues it; unicorn's
    per-instruction hook does not fire for it: `block_profile` shows both, and the tests prove
    they differ only there)."""
    return [r.instructions for r in measure(model, inputs, rounding=rounding,
                                            external_io=external_io, tile=tile,
                                            inplace=inplace, pack=pack)]


def block_profile(model, inputs: list[np.ndarray] | None = None, pack="off") -> list[dict]:
    """One sample (the first) with two counters side by side, per translated block: address,
    bytes, instructions decoded from its bytes, executions, and how often unicorn's
    per-instruction hook fired inside it. Slow (a hook per instruction); for tests."""
    unicorn, _ = _unicorn()
    img = _Image(model, pack=pack)
    inputs = img.default_inputs() if inputs is None else inputs
    uc, _top = img.machine(inputs, 0)
    runs: dict[tuple[int, int], int] = {}
    fires: dict[tuple[int, int], int] = {}
    current = [None]

    def on_block(_uc, address, size, _user):
        current[0] = (address, size)
        runs[current[0]] = runs.get(current[0], 0) + 1

    def on_code(_uc, _address, _size, _user):
        fires[current[0]] = fires.get(current[0], 0) + 1

    uc.hook_add(unicorn.UC_HOOK_BLOCK, on_block)
    uc.hook_add(unicorn.UC_HOOK_CODE, on_code)
    img.run(uc)
    out = []
    for (address, size), n in sorted(runs.items()):
        code = bytes(uc.mem_read(address, size))
        out.append({"address": address, "bytes": code, "decoded": _thumb_lengths(code),
                    "executions": n, "hook_fires": fires.get((address, size), 0)})
    return out


# -- any ELF from reset: one call of one function (TensorFlow Lite Micro's Invoke()) ----------

SCS = 0xE000E000  # system control space: the start-up code enables the FPU (CPACR) there
SEMIHOSTING_BKPT = 7  # unicorn's interrupt number for BKPT (semihosting calls: BKPT 0xAB)


def _load_segments(path: Path) -> list[tuple[int, bytes, int]]:
    """(load address, bytes, memsz) of an ELF32's PT_LOAD segments: the flash image a reset
    handler starts from (initialised data at its load address, copied by the start-up code)."""
    data = path.read_bytes()
    (phoff,) = struct.unpack_from("<I", data, 0x1C)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x2A)
    out = []
    for i in range(phnum):
        p_type, p_offset, _vaddr, p_paddr, p_filesz, p_memsz = struct.unpack_from(
            "<IIIIII", data, phoff + i * phentsize)
        if p_type == 1 and p_memsz:
            out.append((p_paddr, data[p_offset:p_offset + p_filesz], p_memsz))
    return out


def _semihost(uc, a) -> bool:
    """Answers a semihosting call (r0: operation, r1: argument block) the way a host with no
    files would, enough for newlib's start-up and printf; returns False on SYS_EXIT."""
    op = uc.reg_read(a.UC_ARM_REG_R0)
    if op in (0x18, 0x20):  # SYS_EXIT, SYS_EXIT_EXTENDED
        return False
    result = {0x01: 1,  # SYS_OPEN: a handle
              0x09: 1,  # SYS_ISTTY
              0x05: 0,  # SYS_WRITE: every byte written
              0x06: 0,  # SYS_READ: nothing left to read... (0 = all read)
              0x15: 0xFFFFFFFF,  # SYS_GET_CMDLINE: none
              }.get(op, 0)
    if op == 0x16:  # SYS_HEAPINFO: no information (zeros)
        block = struct.unpack("<I", uc.mem_read(uc.reg_read(a.UC_ARM_REG_R1), 4))[0]
        uc.mem_write(block, bytes(16))
    uc.reg_write(a.UC_ARM_REG_R0, result)
    return True


def measure_function(elf, symbol: str, timing: Timing = Timing(),
                     limit: int = 1_000_000_000) -> RunCost:
    """Instructions and estimated cycles of the first call of `symbol` in a Cortex-M4 program
    (an mps2-an386 image such as a generated TFLite Micro project's QEMU self-test), run from
    its reset vector on the same emulated Cortex-M4 as `measure`, with semihosting answered
    by `_semihost`. Counting starts when the function is entered and stops when it returns
    to its caller."""
    unicorn, a = _unicorn()
    path = Path(elf)
    sizes: dict[str, int] = {}
    _, symbols = _elf(path, sizes)
    if symbol not in symbols:
        raise RuntimeError(f"{path}: no symbol {symbol}")
    entry = symbols[symbol] & ~1
    uc = unicorn.Uc(unicorn.UC_ARCH_ARM, unicorn.UC_MODE_THUMB | unicorn.UC_MODE_MCLASS)
    uc.ctl_set_cpu_model(a.UC_CPU_ARM_CORTEX_M4)
    uc.mem_map(FLASH, SIZE)
    uc.mem_map(RAM, SIZE)
    uc.mem_map(SCS, 0x1000)
    for address, blob, _memsz in _load_segments(path):
        uc.mem_write(address, blob)
    sp, reset = struct.unpack("<II", bytes(uc.mem_read(FLASH, 8)))
    uc.reg_write(a.UC_ARM_REG_SP, sp)
    counter = BlockCounter(uc, timing, call=entry)

    def on_interrupt(uc_, number, _user):
        if number != SEMIHOSTING_BKPT or not _semihost(uc_, a):
            uc_.emu_stop()
            return
        uc_.reg_write(a.UC_ARM_REG_PC, (uc_.reg_read(a.UC_ARM_REG_PC) + 2) | 1)

    uc.hook_add(unicorn.UC_HOOK_INTR, on_interrupt)
    uc.emu_start(reset | 1, 0xFFFFFFFF, count=limit)
    if not counter.returned:
        raise RuntimeError(f"{path}: {symbol} was not called and returned within {limit:,} "
                           "instructions")
    return RunCost(counter.instructions, counter.cycles)


#: Filler of the painted stack; a stack word that happens to hold it at the deepest point
#: would hide 4 bytes of depth (measured figures are rounded up to 8 bytes anyway).
PAINT = 0xA5C3E187
PAINT_BYTES = 256 << 10


def painted_stack(model, inputs: list[np.ndarray] | None = None, rounding: str = "double",
                  external_io: bool = False, tile=None, inplace: bool = True,
                  pack="off") -> list[int]:
    """Stack high-water mark of one call of invoke per sample, in bytes: the PAINT_BYTES below
    the stack pointer are filled with a pattern, invoke runs on the emulated Cortex-M4, and the
    deepest word that no longer holds the pattern gives the depth (rounded up to 8 bytes,
    the AAPCS stack alignment)."""
    img = _Image(model, rounding, external_io, tile, inplace, pack)
    inputs = img.default_inputs() if inputs is None else inputs
    depths = []
    for b in range(inputs[0].shape[0]):
        uc, top = img.machine(inputs, b)
        base = top - PAINT_BYTES
        uc.mem_write(base, struct.pack("<I", PAINT) * (PAINT_BYTES // 4))
        img.run(uc)
        words = np.frombuffer(bytes(uc.mem_read(base, PAINT_BYTES)), "<u4")
        touched = np.flatnonzero(words != PAINT)
        if touched.size and touched[0] == 0:
            raise RuntimeError(f"invoke used more than {PAINT_BYTES} bytes of stack")
        depth = PAINT_BYTES - int(touched[0]) * 4 if touched.size else 0
        depths.append(-(-depth // 8) * 8)
    return depths
