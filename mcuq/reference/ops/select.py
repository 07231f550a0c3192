"""Selection and shape ops: SHAPE, PACK, UNPACK, SPLIT, SPLIT_V, SLICE, GATHER.

Like shape.py, no arithmetic: every output element is an input element, so exactness is about
indices; these ops also move int32 tensors (the shape arithmetic of a Keras model exported with
a dynamic batch: SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE). `prepare` mirrors TFLite Micro's
checks (types each kernel's Eval accepts, constant axis tensors, TFLM's option semantics) and
resolves every index once; `run` works on the batch axis 0 (the model's own axes follow).

TFLite Micro semantics followed (tensorflow/lite/micro/kernels/*.cc):
  SHAPE   ShapeEval writes the input's dims; int32 output only.
  PACK    PackImpl copies each input's rows (outer = prod(out dims before axis)); no Prepare:
          values_count is read from the options; f32/i8/i16/i32/i64.
  UNPACK  UnpackImpl: `num` outputs (from the options) along axis; f32/i32/i16/i8.
  SPLIT   constant axis (Prepare), output count = number of outputs; f32/i8/i16/i32.
  SPLIT_V the outputs' own dims along the axis (size_splits is never read); constant axis.
  SLICE   int32/int64 begin and size (same type), rank <= 5, begin in [0, dim], size -1 or
          within the remaining extent, element count equal to the output's; f32/i32/i8/i16.
  GATHER  int32 positions only, int8/f32 params; axis/batch_dims resolved as GatherPrepare;
          a position outside [0, axis size) fails TFLM's Eval (mcuq raises).
Copies between int8 tensors quantized differently are refused (TFLM would copy raw bytes,
changing the values' meaning; LiteRT refuses such models), as for CONCATENATION.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import InputError
from ..registry import Signature, check_signature, register, unsupported
from .shape import _check_nonempty

INT_TYPES = ("INT8", "INT16", "INT32")


def check_types(op, model, tensors, allowed) -> None:
    """Every tensor of one type from `allowed` (TFLM's Eval switch for the op)."""
    first = tensors[0]
    for t in tensors:
        if t.type_name not in allowed:
            raise unsupported(op, model, f"tensor '{t.name}' is {t.type_name}",
                              f"TFLite Micro's {op.opcode} handles {', '.join(allowed)}; "
                              "convert with int8 activations (mcuq convert)")
        if t.type_name != first.type_name:
            raise unsupported(op, model, f"tensor '{t.name}' is {t.type_name} but "
                              f"'{first.name}' is {first.type_name}",
                              f"the inputs and outputs of {op.opcode} must share one type")


def check_same_quantization(op, model, src, dsts) -> None:
    """int8 data copied unchanged must keep its scale and zero point."""
    if src.type_name != "INT8":
        return
    for y in dsts:
        same = (src.quant is not None and y.quant is not None
                and np.float32(src.scale) == np.float32(y.scale)
                and src.zero_point == y.zero_point)
        if not same:
            raise unsupported(
                op, model, f"'{y.name}' is quantized differently (scale {y.scale:.9g}, zero "
                f"point {y.zero_point}) from '{src.name}' (scale {src.scale:.9g}, zero point "
                f"{src.zero_point})",
                f"TFLite Micro's {op.opcode} copies int8 bytes without requantizing: give "
                "both tensors the same quantization, as TFLiteConverter does")


def scalar_axis(op, model, t, rank: int, what: str = "axis") -> int:
    """A constant int32 axis (first element, as TFLM reads it), resolved to [0, rank)."""
    if t.type_name != "INT32":
        raise unsupported(op, model, f"{what} tensor '{t.name}' is {t.type_name}",
                          f"TFLite Micro reads the {what} as int32; re-convert the model")
    raw = int(np.asarray(t.data).reshape(-1)[0]) if t.data.size else 0
    axis = raw + rank if raw < 0 else raw
    if not 0 <= axis < rank:
        raise unsupported(op, model, f"{what} {raw} is out of range for rank {rank}",
                          "re-convert the model")
    return axis


def _same_shape(op, model, t, shape, what="output") -> None:
    if tuple(t.shape) != tuple(shape):
        raise unsupported(op, model, f"{what} '{t.name}' is {list(t.shape)}, expected "
                          f"{list(shape)}", "the model file is inconsistent; re-convert it")


# ---- SHAPE ------------------------------------------------------------------------------------


@dataclass
class ShapeParams:
    values: np.ndarray  # int32 (rank,)


@register("SHAPE")
class Shape:
    SIGNATURE = Signature(inputs=("input",))

    @staticmethod
    def prepare(op, model) -> ShapeParams:
        (x,) = check_signature(op, model, Shape.SIGNATURE)
        (y,) = model.op_outputs(op)
        if y.type_name != "INT32":
            raise unsupported(op, model, f"output '{y.name}' is {y.type_name}",
                              "TFLite Micro's SHAPE writes int32 only: convert with "
                              "out_type=tf.int32 (the default)")
        _same_shape(op, model, y, (len(x.shape),))
        return ShapeParams(np.asarray(x.shape, np.int32))

    @staticmethod
    def run(p: ShapeParams, inputs):
        batch = inputs[0].shape[0]
        return [np.ascontiguousarray(np.broadcast_to(p.values, (batch, p.values.size)))]


# ---- PACK / UNPACK ----------------------------------------------------------------------------


@dataclass
class PackParams:
    axis: int  # in the output's dims
    count: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    elem_size: int


@register("PACK")
class Pack:
    SIGNATURE = Signature(inputs=("values",), variadic_inputs=True)
    TYPES = ("INT8", "INT16", "INT32", "INT64")

    @staticmethod
    def prepare(op, model) -> PackParams:
        xs = check_signature(op, model, Pack.SIGNATURE)
        (y,) = model.op_outputs(op)
        check_types(op, model, [*xs, y], Pack.TYPES)
        count = int(op.options.get("values_count", 0) or 0)
        if count != len(xs):
            raise unsupported(op, model, f"values_count {count} but {len(xs)} inputs",
                              "TFLite Micro packs values_count inputs; re-convert the model")
        shape = tuple(xs[0].shape)
        for x in xs[1:]:
            if tuple(x.shape) != shape:
                raise unsupported(op, model, f"input '{x.name}' is {list(x.shape)}, "
                                  f"'{xs[0].name}' is {list(shape)}",
                                  "PACK needs inputs of one shape")
        rank = len(shape) + 1
        raw = int(op.options.get("axis", 0) or 0)
        axis = raw + rank if raw < 0 else raw
        if not 0 <= axis < rank:
            raise unsupported(op, model, f"axis {raw} is out of range for rank {rank}",
                              "re-convert the model")
        _same_shape(op, model, y, shape[:axis] + (count,) + shape[axis:])
        check_same_quantization(op, model, y, xs)
        _check_nonempty(op, model, y)
        return PackParams(axis, count, shape, tuple(y.shape), y.dtype.itemsize)

    @staticmethod
    def run(p: PackParams, inputs):
        return [np.stack(inputs, axis=p.axis + 1)]


@dataclass
class UnpackParams:
    axis: int
    count: int
    input_shape: tuple[int, ...]
    elem_size: int


@register("UNPACK")
class Unpack:
    SIGNATURE = Signature(inputs=("input",), outputs=("output",), variadic_outputs=True)

    @staticmethod
    def prepare(op, model) -> UnpackParams:
        (x,) = check_signature(op, model, Unpack.SIGNATURE)
        ys = model.op_outputs(op)
        check_types(op, model, [x, *ys], INT_TYPES)
        rank = len(x.shape)
        raw = int(op.options.get("axis", 0) or 0)
        axis = raw + rank if raw < 0 else raw
        if not 0 <= axis < rank:
            raise unsupported(op, model, f"axis {raw} is out of range for rank {rank}",
                              "re-convert the model")
        num = int(op.options.get("num", 0) or 0)
        if num != len(ys) or num != x.shape[axis]:
            raise unsupported(op, model, f"num {num}, {len(ys)} outputs, axis {axis} of "
                              f"{list(x.shape)}", "UNPACK makes one output per element of "
                              "the axis; re-convert the model")
        for y in ys:
            _same_shape(op, model, y, x.shape[:axis] + x.shape[axis + 1:])
        check_same_quantization(op, model, x, ys)
        _check_nonempty(op, model, x)
        return UnpackParams(axis, num, tuple(x.shape), x.dtype.itemsize)

    @staticmethod
    def run(p: UnpackParams, inputs):
        x = inputs[0]
        return [np.ascontiguousarray(np.take(x, i, axis=p.axis + 1)) for i in range(p.count)]


# ---- SPLIT / SPLIT_V --------------------------------------------------------------------------


@dataclass
class SplitParams:
    axis: int
    sizes: tuple[int, ...]  # each output's extent along the axis
    input_shape: tuple[int, ...]
    elem_size: int
    data_input: int  # which op input holds the data (SPLIT: 1, SPLIT_V: 0)


def _split_outputs(op, model, x, ys, axis) -> tuple[int, ...]:
    for y in ys:
        if len(y.shape) != len(x.shape) or any(
                a != b for k, (a, b) in enumerate(zip(y.shape, x.shape)) if k != axis):
            raise unsupported(op, model, f"output '{y.name}' {list(y.shape)} does not match "
                              f"input {list(x.shape)} outside axis {axis}",
                              "the model file is inconsistent; re-convert it")
    sizes = tuple(int(y.shape[axis]) for y in ys)
    if sum(sizes) != x.shape[axis]:
        raise unsupported(op, model, f"outputs sum to {sum(sizes)} along axis {axis}, input "
                          f"has {x.shape[axis]}", "the model file is inconsistent; re-convert it")
    check_same_quantization(op, model, x, ys)
    for y in ys:
        _check_nonempty(op, model, y)
    return sizes


@register("SPLIT", "SPLIT_V")
class Split:
    SIGNATURES = {
        "SPLIT": Signature(inputs=("axis", "input"), constant=("axis",),
                           variadic_outputs=True),
        "SPLIT_V": Signature(inputs=("input", "size_splits", "axis"), constant=("axis",),
                             variadic_outputs=True),
    }

    @staticmethod
    def prepare(op, model) -> SplitParams:
        ins = check_signature(op, model, Split.SIGNATURES[op.opcode])
        ys = model.op_outputs(op)
        if op.opcode == "SPLIT":
            ax, x = ins
        else:
            x, _, ax = ins  # TFLM never reads size_splits: the outputs' dims decide
        check_types(op, model, [x, *ys], INT_TYPES)
        axis = scalar_axis(op, model, ax, len(x.shape))
        sizes = _split_outputs(op, model, x, ys, axis)
        if op.opcode == "SPLIT":
            n = int(op.options.get("num_splits", len(ys)) or len(ys))
            if n != len(ys) or len(set(sizes)) != 1:
                raise unsupported(op, model, f"num_splits {n}, outputs of extents {list(sizes)}",
                                  "SPLIT makes num_splits equal parts; re-convert the model")
        return SplitParams(axis, sizes, tuple(x.shape), x.dtype.itemsize,
                           1 if op.opcode == "SPLIT" else 0)

    @staticmethod
    def run(p: SplitParams, inputs):
        x = inputs[p.data_input]
        cuts = np.cumsum(p.sizes)[:-1]
        return [np.ascontiguousarray(v) for v in np.split(x, cuts, axis=p.axis + 1)]


# ---- SLICE ------------------------------------------------------------------------------------


@dataclass
class SliceParams:
    begin: tuple[int, ...]
    size: tuple[int, ...]  # resolved (no -1)
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    elem_size: int


@register("SLICE")
class Slice:
    SIGNATURE = Signature(inputs=("input", "begin", "size"), constant=("begin", "size"))
    MAX_RANK = 5

    @staticmethod
    def prepare(op, model) -> SliceParams:
        x, tb, ts = check_signature(op, model, Slice.SIGNATURE)
        (y,) = model.op_outputs(op)
        check_types(op, model, [x, y], INT_TYPES)
        if tb.type_name != ts.type_name or tb.type_name not in ("INT32", "INT64"):
            raise unsupported(op, model, f"begin '{tb.name}' is {tb.type_name}, size "
                              f"'{ts.name}' is {ts.type_name}",
                              "TFLite Micro's SLICE takes int32 or int64 begin and size "
                              "of one type")
        rank = len(x.shape)
        if rank > Slice.MAX_RANK:
            raise unsupported(op, model, f"input has rank {rank}",
                              "TFLite Micro's SLICE handles up to 5 dimensions")
        begin = np.asarray(tb.data).astype(np.int64).reshape(-1)
        size = np.asarray(ts.data).astype(np.int64).reshape(-1)
        if len(tb.shape) != 1 or len(ts.shape) != 1 or begin.size != rank or size.size != rank:
            raise unsupported(op, model, f"begin {begin.tolist()} / size {size.tolist()} for "
                              f"an input of rank {rank}",
                              "give one begin and one size per input axis (1-D tensors)")
        resolved = []
        for a, (d, b0, s0) in enumerate(zip(x.shape, begin, size)):
            if b0 < 0 or b0 > d:
                raise unsupported(op, model, f"begin {int(b0)} outside [0, {d}] on axis {a}",
                                  "TFLite Micro fails on such a slice; re-convert the model")
            s = d - b0 if s0 == -1 else s0
            if s < 0 or s > d - b0:
                raise unsupported(op, model, f"size {int(s0)} on axis {a} (begin {int(b0)}, "
                                  f"extent {d})", "TFLite Micro fails on such a slice")
            resolved.append(int(s))
        if int(np.prod(resolved)) != y.size:
            raise unsupported(op, model, f"the slice has {int(np.prod(resolved))} elements, "
                              f"output '{y.name}' {list(y.shape)} has {y.size}",
                              "the model file is inconsistent; re-convert it")
        check_same_quantization(op, model, x, [y])
        _check_nonempty(op, model, y)
        return SliceParams(tuple(int(v) for v in begin), tuple(resolved), tuple(x.shape),
                           tuple(y.shape), x.dtype.itemsize)

    @staticmethod
    def run(p: SliceParams, inputs):
        x = inputs[0]
        idx = (slice(None),) + tuple(slice(b, b + s) for b, s in zip(p.begin, p.size))
        return [np.ascontiguousarray(x[idx]).reshape(x.shape[0], *p.output_shape)]


# ---- GATHER -----------------------------------------------------------------------------------


@dataclass
class GatherParams:
    batch: int  # product of the batch_dims leading dims
    outer: int  # product of the dims between batch_dims and axis
    axis_size: int
    inner: int  # product of the dims after the axis
    coords: int  # positions per batch entry
    indices: np.ndarray | None  # constant positions, int64 (batch, coords); None: runtime
    output_shape: tuple[int, ...]
    elem_size: int
    name: str = ""  # "op #k GATHER" for run-time errors
    indices_name: str = ""


@register("GATHER")
class Gather:
    SIGNATURE = Signature(inputs=("params", "indices"))

    @staticmethod
    def prepare(op, model) -> GatherParams:
        x, idx = check_signature(op, model, Gather.SIGNATURE)
        (y,) = model.op_outputs(op)
        if idx.type_name != "INT32":
            raise unsupported(op, model, f"indices '{idx.name}' are {idx.type_name}",
                              "TFLite Micro's GATHER takes int32 positions only; cast the "
                              "indices to int32 before converting")
        check_types(op, model, [x, y], ("INT8",))
        rank, crank = len(x.shape), len(idx.shape)
        raw_axis = int(op.options.get("axis", 0) or 0)
        axis = raw_axis + rank if raw_axis < 0 else raw_axis
        raw_bd = int(op.options.get("batch_dims", 0) or 0)
        bd = raw_bd + crank if raw_bd < 0 else raw_bd
        if not 0 <= axis < rank:
            raise unsupported(op, model, f"axis {raw_axis} is out of range for rank {rank}",
                              "re-convert the model")
        if not (bd <= axis and 0 <= bd < rank and bd <= crank):
            raise unsupported(op, model, f"batch_dims {raw_bd} with axis {axis}, params rank "
                              f"{rank}, indices rank {crank}",
                              "TFLite Micro's GatherPrepare refuses this combination")
        if tuple(x.shape[:bd]) != tuple(idx.shape[:bd]):
            raise unsupported(op, model, f"the first {bd} dims of params {list(x.shape)} and "
                              f"indices {list(idx.shape)} differ", "re-convert the model")
        out = tuple(x.shape[:axis]) + tuple(idx.shape[bd:]) + tuple(x.shape[axis + 1:])
        _same_shape(op, model, y, out)
        check_same_quantization(op, model, x, [y])
        _check_nonempty(op, model, y)
        prod = lambda v: int(np.prod(v, dtype=np.int64))
        batch, coords = prod(x.shape[:bd]), prod(idx.shape[bd:])
        p = GatherParams(batch, prod(x.shape[bd:axis]), int(x.shape[axis]),
                         prod(x.shape[axis + 1:]), coords, None, out, x.dtype.itemsize,
                         op.describe(), idx.name)
        if idx.data is not None:
            values = np.asarray(idx.data).astype(np.int64).reshape(batch, coords)
            bad = (values < 0) | (values >= p.axis_size)
            if bad.any():
                raise unsupported(op, model, f"constant index {int(values[bad][0])} is outside "
                                  f"[0, {p.axis_size})", "TFLite Micro fails on it at run time")
            p.indices = values
        return p

    @staticmethod
    def run(p: GatherParams, inputs):
        x = inputs[0]
        b = x.shape[0]
        if p.indices is not None:
            idx = np.broadcast_to(p.indices, (b, p.batch, p.coords))
        else:
            idx = np.asarray(inputs[1]).astype(np.int64).reshape(b, p.batch, p.coords)
            bad = (idx < 0) | (idx >= p.axis_size)
            if bad.any():
                s = tuple(int(v) for v in np.argwhere(bad)[0])
                raise InputError(
                    f"{p.name}: index {int(idx[s])} in '{p.indices_name}' (sample {s[0]}) is "
                    f"outside [0, {p.axis_size})",
                    "TFLite Micro's GATHER fails on it (kTfLiteError): feed valid indices")
        x5 = x.reshape(b, p.batch, p.outer, p.axis_size, p.inner)
        ix = np.broadcast_to(idx[:, :, None, :, None], (b, p.batch, p.outer, p.coords, p.inner))
        out = np.take_along_axis(x5, ix, axis=3)
        return [np.ascontiguousarray(out).reshape(b, *p.output_shape)]
