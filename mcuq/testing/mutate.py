"""Mutants of real .tflite models, for fuzzing mcuq (tests/test_fuzz.py, benchmarks/fuzz.py).

Two families, so that mcuq can be fuzzed with mutators its tests have not seen:

- STRUCTURED + BYTES (the test's set): edits of the object tree (a dimension, a type, a buffer
  index, a quantization parameter, an op's tensor indices or options, a name, the subgraph's
  inputs/outputs) re-packed into a well-formed flatbuffer, and raw byte edits (bit flips,
  truncation, a 4-byte word overwritten with an offset-like value, inserted or deleted bytes).
- ADVERSARY (only benchmarks/fuzz.py --adversary): a second, different set: ops duplicated,
  dropped or retyped, constants made inputs or outputs, variables and sparsity, exploding
  ranks and int32-overflowing shapes, splices of another model's bytes, vtables shrunk,
  extra subgraphs, custom ops, biases and weights reshaped, strides and dilations of 0.

`mutate(data, name, seed)` returns the mutant's bytes, or None when the mutator does not apply
to this model (e.g. no op has options).
"""
from __future__ import annotations

import struct
from typing import Callable

import numpy as np

from ..model import schema

Mutator = Callable[[object, np.random.Generator], bool]  # edits a ModelT in place

_INT32 = (1 << 31) - 1
_DIMS = (0, 1, 2, 3, 7, 255, 4096, 65536, 1 << 20, _INT32)
_SCALES = (0.0, -1.0, float("inf"), float("-inf"), float("nan"), 1e-45, 1e38, 3.0e-39, 0.5)
_ZPS = (-129, 128, 300, -(1 << 31), (1 << 31) - 1, 1 << 40, 255, -32769)
_NAMES = ("*/ int x; /*", "a\nb", '"\\', "??/", "caf\u00e9", "\x00\x01\x1b[2J", "%s%n",
          "x" * 3000, "")


def _sg(m):
    return m.subgraphs[0]


def _n(seq) -> int:
    return 0 if seq is None else len(seq)


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))] if len(seq) else None


def _tensor(m, rng):
    return _pick(rng, _sg(m).tensors or [])


def _op(m, rng):
    return _pick(rng, _sg(m).operators or [])


# ---- the test's set: structured -----------------------------------------------------------

def m_dim(m, rng) -> bool:
    t = _tensor(m, rng)
    if t is None or t.shape is None or not len(t.shape):
        return False
    shape = list(t.shape)
    k = int(rng.integers(len(shape)))
    shape[k] = int(_pick(rng, _DIMS + (shape[k] + 1, max(shape[k] - 1, 0), shape[k] * 2)))
    t.shape = shape
    return True


def m_rank(m, rng) -> bool:
    t = _tensor(m, rng)
    if t is None:
        return False
    shape = list(t.shape if t.shape is not None else [])
    if shape and rng.random() < 0.5:
        shape.pop(int(rng.integers(len(shape))))
    else:
        shape.insert(int(rng.integers(len(shape) + 1)), int(_pick(rng, (1, 1, 2))))
    t.shape = shape
    return True


def m_type(m, rng) -> bool:
    t = _tensor(m, rng)
    if t is None:
        return False
    t.type = int(rng.integers(0, 21))
    return True


def m_buffer(m, rng) -> bool:
    t = _tensor(m, rng)
    if t is None:
        return False
    n = len(m.buffers or [])
    t.buffer = int(_pick(rng, (0, n - 1, n, n + 7, int(rng.integers(max(n, 1))))))
    return True


def m_buffer_data(m, rng) -> bool:
    bufs = [b for b in (m.buffers or []) if b.data is not None and len(b.data)]
    b = _pick(rng, bufs)
    if b is None:
        return False
    data = np.asarray(b.data, np.uint8)
    r = rng.random()
    if r < 0.4:
        b.data = data[:int(rng.integers(len(data)))]
    elif r < 0.7:
        b.data = np.concatenate([data, rng.integers(0, 256, int(rng.integers(1, 64)),
                                                    dtype=np.uint8)])
    else:
        data = data.copy()
        data[int(rng.integers(len(data)))] ^= np.uint8(1 << int(rng.integers(8)))
        b.data = data
    return True


def m_scale(m, rng) -> bool:
    qs = [t for t in (_sg(m).tensors or []) if t.quantization is not None
          and t.quantization.scale is not None and len(t.quantization.scale)]
    t = _pick(rng, qs)
    if t is None:
        return False
    q = t.quantization
    scale = [float(v) for v in q.scale]
    scale[int(rng.integers(len(scale)))] = float(_pick(rng, _SCALES))
    q.scale = scale
    return True


def m_zero_point(m, rng) -> bool:
    qs = [t for t in (_sg(m).tensors or []) if t.quantization is not None
          and t.quantization.scale is not None and len(t.quantization.scale)]
    t = _pick(rng, qs)
    if t is None:
        return False
    q = t.quantization
    zp = [int(v) for v in (q.zeroPoint if q.zeroPoint is not None else [0] * len(q.scale))]
    if not zp:
        zp = [0]
    zp[int(rng.integers(len(zp)))] = int(_pick(rng, _ZPS + (int(rng.integers(-128, 128)),)))
    q.zeroPoint = zp
    return True


def m_channels(m, rng) -> bool:
    qs = [t for t in (_sg(m).tensors or []) if t.quantization is not None
          and t.quantization.scale is not None and len(t.quantization.scale)]
    t = _pick(rng, qs)
    if t is None:
        return False
    q = t.quantization
    r = rng.random()
    if r < 0.35:
        q.quantizedDimension = int(_pick(rng, (-1, 1, 2, 3, 4, 9)))
    elif r < 0.7:
        n = max(len(q.scale) + int(_pick(rng, (-1, 1, 5))), 1)
        q.scale = [float(q.scale[0])] * n
        q.zeroPoint = [0] * n
    else:
        t.quantization = None
    return True


def m_op_index(m, rng) -> bool:
    op = _op(m, rng)
    if op is None:
        return False
    n = len(_sg(m).tensors or [])
    which = "inputs" if rng.random() < 0.6 else "outputs"
    idx = list(getattr(op, which) if getattr(op, which) is not None else [])
    if not idx:
        return False
    k = int(rng.integers(len(idx)))
    idx[k] = int(_pick(rng, (-1, 0, n - 1, n, n + 3, int(rng.integers(n)))))
    setattr(op, which, idx)
    return True


def m_op_arity(m, rng) -> bool:
    op = _op(m, rng)
    if op is None:
        return False
    n = len(_sg(m).tensors or [])
    which = "inputs" if rng.random() < 0.7 else "outputs"
    idx = list(getattr(op, which) if getattr(op, which) is not None else [])
    if idx and rng.random() < 0.5:
        idx.pop(int(rng.integers(len(idx))))
    else:
        idx.append(int(_pick(rng, (-1, int(rng.integers(n))))))
    setattr(op, which, idx)
    return True


def m_op_order(m, rng) -> bool:
    ops = _sg(m).operators or []
    if len(ops) < 2:
        return False
    i, j = rng.choice(len(ops), 2, replace=False)
    ops[i], ops[j] = ops[j], ops[i]
    return True


def m_opcode(m, rng) -> bool:
    op = _op(m, rng)
    if op is None:
        return False
    n = len(m.operatorCodes or [])
    op.opcodeIndex = int(_pick(rng, (n, n + 1, int(rng.integers(max(n, 1))))))
    return True


def m_options(m, rng) -> bool:
    ops = [o for o in (_sg(m).operators or []) if o.builtinOptions is not None]
    op = _pick(rng, ops)
    if op is None:
        return False
    opts = op.builtinOptions
    fields = [k for k, v in vars(opts).items() if isinstance(v, (int, bool, float))]
    if not fields:
        return False
    k = _pick(rng, fields)
    setattr(opts, k, int(_pick(rng, (-1, 0, 1, 2, 3, 5, 127, 255))))
    return True


def m_name(m, rng) -> bool:
    t = _tensor(m, rng)
    if t is None:
        return False
    t.name = _pick(rng, _NAMES)
    return True


def m_io(m, rng) -> bool:
    sg = _sg(m)
    n = len(sg.tensors or [])
    which = "inputs" if rng.random() < 0.5 else "outputs"
    r = rng.random()
    if r < 0.3:
        setattr(sg, which, [])
    else:
        idx = list(getattr(sg, which) if getattr(sg, which) is not None else [])
        idx.append(int(_pick(rng, (-1, n, int(rng.integers(max(n, 1)))))))
        setattr(sg, which, idx)
    return True


STRUCTURED: dict[str, Mutator] = {
    "dim": m_dim, "rank": m_rank, "type": m_type, "buffer": m_buffer,
    "buffer_data": m_buffer_data, "scale": m_scale, "zero_point": m_zero_point,
    "channels": m_channels, "op_index": m_op_index, "op_arity": m_op_arity,
    "op_order": m_op_order, "opcode": m_opcode, "options": m_options, "name": m_name,
    "io": m_io,
}


# ---- the test's set: raw bytes --------------------------------------------------------------

def b_flip(data: bytes, rng) -> bytes:
    b = bytearray(data)
    for _ in range(int(rng.integers(1, 9))):
        b[int(rng.integers(len(b)))] ^= 1 << int(rng.integers(8))
    return bytes(b)


def b_truncate(data: bytes, rng) -> bytes:
    return data[:int(rng.integers(0, len(data)))]


def b_offset(data: bytes, rng) -> bytes:
    """A 4-byte aligned word (an offset, a length, a vtable entry) set to a plausible or
    hostile value."""
    b = bytearray(data)
    pos = int(rng.integers(0, max(len(b) // 4 - 1, 1))) * 4
    value = int(_pick(rng, (0, 4, len(b), len(b) + 64, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000,
                            int(rng.integers(0, len(b))), 1 << 16)))
    b[pos:pos + 4] = struct.pack("<I", value & 0xFFFFFFFF)
    return bytes(b)


def b_splice(data: bytes, rng) -> bytes:
    b = bytearray(data)
    pos = int(rng.integers(0, len(b)))
    if rng.random() < 0.5:
        del b[pos:pos + int(rng.integers(1, 64))]
    else:
        b[pos:pos] = bytes(rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8))
    return bytes(b)


BYTES = {"flip": b_flip, "truncate": b_truncate, "offset": b_offset, "splice": b_splice}


# ---- the adversary's set (benchmarks/fuzz.py --adversary) -----------------------------------

def a_dup_op(m, rng) -> bool:
    ops = _sg(m).operators or []
    op = _pick(rng, ops)
    if op is None:
        return False
    import copy

    ops.insert(int(rng.integers(len(ops) + 1)), copy.deepcopy(op))
    return True


def a_drop_op(m, rng) -> bool:
    ops = _sg(m).operators or []
    if not ops:
        return False
    ops.pop(int(rng.integers(len(ops))))
    return True


def a_retype_op(m, rng) -> bool:
    """An op code's builtin changed to another builtin (a different op, same tensors)."""
    codes = m.operatorCodes or []
    c = _pick(rng, codes)
    if c is None:
        return False
    s = schema()
    names = [v for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")]
    c.builtinCode = int(_pick(rng, names))
    c.deprecatedBuiltinCode = min(c.builtinCode, 127)
    c.version = int(_pick(rng, (1, 2, 3, 7, 99)))
    return True


def a_custom_op(m, rng) -> bool:
    codes = m.operatorCodes or []
    c = _pick(rng, codes)
    if c is None:
        return False
    s = schema()
    c.builtinCode = c.deprecatedBuiltinCode = s.BuiltinOperator.CUSTOM
    c.customCode = _pick(rng, ("TFLM_DECODE", "*/x", "ethos-u", "", "\n"))
    return True


def a_const_io(m, rng) -> bool:
    """A constant tensor listed as a model input or output."""
    sg = _sg(m)
    consts = [i for i, t in enumerate(sg.tensors or []) if t.buffer and
              m.buffers[t.buffer].data is not None and len(m.buffers[t.buffer].data)]
    i = _pick(rng, consts)
    if i is None:
        return False
    which = "inputs" if rng.random() < 0.5 else "outputs"
    idx = list(getattr(sg, which) if getattr(sg, which) is not None else [])
    if idx and rng.random() < 0.5:
        idx[int(rng.integers(len(idx)))] = int(i)
    else:
        idx.append(int(i))
    setattr(sg, which, idx)
    return True


def a_variable(m, rng) -> bool:
    t = _tensor(m, rng)
    if t is None:
        return False
    t.isVariable = True
    return True


def a_sparsity(m, rng) -> bool:
    t = _tensor(m, rng)
    if t is None:
        return False
    s = schema()
    sp = s.SparsityParametersT()
    sp.traversalOrder = list(range(len(t.shape if t.shape is not None else [])))
    sp.blockMap = []
    sp.dimMetadata = []
    t.sparsity = sp
    return True


def a_explode_rank(m, rng) -> bool:
    t = _tensor(m, rng)
    if t is None:
        return False
    t.shape = list(t.shape if t.shape is not None else []) + [1] * int(rng.integers(5, 40))
    return True


def a_overflow_shape(m, rng) -> bool:
    """Dimensions whose product overflows int32/int64 (wraps to a small or negative size)."""
    t = _tensor(m, rng)
    if t is None:
        return False
    t.shape = _pick(rng, ([65536, 65536, 65536], [_INT32, _INT32, 4], [1 << 16, 1 << 16],
                          [46341, 46341], [_INT32, 2]))
    return True


def a_bias_shape(m, rng) -> bool:
    ops = [o for o in (_sg(m).operators or []) if o.inputs is not None and len(o.inputs) >= 3
           and o.inputs[2] >= 0]
    op = _pick(rng, ops)
    if op is None:
        return False
    t = _sg(m).tensors[op.inputs[2]]
    n = int(t.shape[0]) if t.shape is not None and len(t.shape) else 1
    t.shape = _pick(rng, ([n + 1], [max(n - 1, 1)], [1, n], [n, 1], []))
    return True


def a_weight_perm(m, rng) -> bool:
    ops = [o for o in (_sg(m).operators or []) if o.inputs is not None and len(o.inputs) >= 2
           and o.inputs[1] >= 0]
    op = _pick(rng, ops)
    if op is None:
        return False
    t = _sg(m).tensors[op.inputs[1]]
    if t.shape is None or len(t.shape) < 2:
        return False
    t.shape = list(np.asarray(t.shape)[rng.permutation(len(t.shape))].tolist())
    return True


def a_zero_stride(m, rng) -> bool:
    ops = [o for o in (_sg(m).operators or []) if o.builtinOptions is not None and any(
        k.startswith(("stride", "dilation", "filter", "depthMultiplier"))
        for k in vars(o.builtinOptions))]
    op = _pick(rng, ops)
    if op is None:
        return False
    keys = [k for k in vars(op.builtinOptions)
            if k.startswith(("stride", "dilation", "filter", "depthMultiplier"))]
    setattr(op.builtinOptions, _pick(rng, keys), int(_pick(rng, (0, -1, -7, 1 << 20))))
    return True


def a_extra_subgraph(m, rng) -> bool:
    import copy

    m.subgraphs.append(copy.deepcopy(_sg(m)))
    if rng.random() < 0.5:  # and break an index in it (TFLite Micro allocates every subgraph)
        sg = m.subgraphs[-1]
        if _n(sg.operators):
            sg.operators[0].inputs = [_n(sg.tensors) + 5]
    return True


def a_metadata(m, rng) -> bool:
    s = schema()
    md = s.MetadataT()
    md.name = _pick(rng, ("OfflineMemoryAllocation", "min_runtime_version", "\n*/"))
    md.buffer = int(_pick(rng, (0, len(m.buffers or []), 1)))
    m.metadata = list(m.metadata or []) + [md]
    m.description = _pick(rng, _NAMES)
    return True


def a_output_is_input(m, rng) -> bool:
    sg = _sg(m)
    if not _n(sg.inputs) or not _n(sg.operators):
        return False
    op = _pick(rng, sg.operators)
    if not _n(op.outputs):
        return False
    op.outputs = [int(sg.inputs[0])] + list(op.outputs[1:])
    return True


_ADVERSARY_TREE: dict[str, Mutator] = {
    "dup_op": a_dup_op, "drop_op": a_drop_op, "retype_op": a_retype_op,
    "custom_op": a_custom_op, "const_io": a_const_io, "variable": a_variable,
    "sparsity": a_sparsity, "explode_rank": a_explode_rank, "overflow_shape": a_overflow_shape,
    "bias_shape": a_bias_shape, "weight_perm": a_weight_perm, "zero_stride": a_zero_stride,
    "extra_subgraph": a_extra_subgraph, "metadata": a_metadata,
    "output_is_input": a_output_is_input,
}


def ab_vtable(data: bytes, rng) -> bytes:
    """A vtable's size or table-size field rewritten (u16 pairs at even positions)."""
    b = bytearray(data)
    pos = int(rng.integers(0, max(len(b) // 2 - 1, 1))) * 2
    b[pos:pos + 2] = struct.pack("<H", int(_pick(rng, (0, 2, 4, 6, 0xFFFF, 0x7FFE))))
    return bytes(b)


def ab_swap_words(data: bytes, rng) -> bytes:
    b = bytearray(data)
    n = len(b) // 4
    if n < 4:
        return bytes(b)
    i, j = (int(v) * 4 for v in rng.choice(n - 1, 2, replace=False))
    b[i:i + 4], b[j:j + 4] = b[j:j + 4], b[i:i + 4]
    return bytes(b)


def ab_repeat(data: bytes, rng) -> bytes:
    """A region copied over another (tables that alias each other)."""
    b = bytearray(data)
    size = int(rng.integers(4, 128))
    src, dst = (int(rng.integers(0, max(len(b) - size, 1))) for _ in range(2))
    b[dst:dst + size] = b[src:src + size]
    return bytes(b)


_ADVERSARY_BYTES = {"vtable": ab_vtable, "swap_words": ab_swap_words, "repeat": ab_repeat}

TEST_SET = sorted(STRUCTURED) + sorted(BYTES)
ADVERSARY_SET = sorted(_ADVERSARY_TREE) + sorted(_ADVERSARY_BYTES)


def mutate(data: bytes, name: str, seed: int) -> bytes | None:
    """The mutant of `data` by mutator `name` with `seed` (None if it does not apply)."""
    rng = np.random.default_rng(seed)
    if name in BYTES:
        return BYTES[name](data, rng)
    if name in _ADVERSARY_BYTES:
        return _ADVERSARY_BYTES[name](data, rng)
    fn = STRUCTURED.get(name) or _ADVERSARY_TREE[name]
    s = schema()
    m = s.ModelT.InitFromObj(s.Model.GetRootAs(data, 0))
    if not fn(m, rng):
        return None
    import flatbuffers

    fb = flatbuffers.Builder(max(len(data), 1024))
    try:
        fb.Finish(m.Pack(fb), file_identifier=b"TFL3")
    except (struct.error, OverflowError, TypeError, ValueError):
        return None  # a value the schema cannot hold: not a file anyone could write
    return bytes(fb.Output())


__all__ = ["mutate", "TEST_SET", "ADVERSARY_SET", "STRUCTURED", "BYTES"]
