"""Shape and data-movement ops: RESHAPE, SQUEEZE, EXPAND_DIMS, CONCATENATION, PAD, PADV2,
STRIDED_SLICE, TRANSPOSE. No arithmetic: every output byte is an input byte (or a pad value),
so exactness is about indices. `prepare` mirrors TFLite Micro's Prepare checks (rank limits,
constant index tensors, option support) and resolves every index once; `run` is numpy slicing
over the batch axis (axis 0 of every input; the model's own first dimension is axis 1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..registry import Signature, register, unsupported

#: Element types TFLM moves for these ops (mcuq models are int8; the others appear in
#: shape arithmetic and cost nothing to allow since no value is computed).
_MOVE_TYPES = ("INT8", "INT16", "INT32")
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def _check_types(op, model, tensors, allowed=_MOVE_TYPES):
    first = tensors[0]
    for t in tensors:
        if t.type_name not in allowed:
            raise unsupported(op, model, f"tensor '{t.label}' is {t.type_name}",
                              f"TFLite Micro's {op.opcode} handles {', '.join(allowed)} here; "
                              "convert with int8 activations (mcuq convert)")
        if t.type_name != first.type_name:
            raise unsupported(op, model, f"tensor '{t.label}' is {t.type_name} but "
                              f"'{first.label}' is {first.type_name}",
                              "inputs and output of a data-movement op must share one type")


def _check_nonempty(op, model, t):
    if t.size == 0 or any(d <= 0 for d in t.shape):
        raise unsupported(op, model, f"tensor '{t.label}' has an empty shape {list(t.shape)}",
                          "remove the empty tensor from the model")


def _const_index(op, model, t, what: str, allowed=("INT32",)) -> np.ndarray:
    """A constant integer index tensor (TFLM reads these as int32 in Prepare)."""
    if t is None or t.data is None:
        raise unsupported(op, model, f"{what} tensor is not constant",
                          f"TFLite Micro needs a constant {what} tensor; fold it at conversion")
    if t.type_name not in allowed:
        raise unsupported(op, model, f"{what} tensor '{t.label}' is {t.type_name}",
                          f"TFLite Micro reads {what} as {'/'.join(allowed)}; re-convert the "
                          "model (TFLiteConverter emits int32 index tensors)")
    return np.asarray(t.data).astype(np.int64).reshape(-1)


# ---- RESHAPE / SQUEEZE / EXPAND_DIMS ---------------------------------------------------------


@dataclass
class ReshapeParams:
    output_shape: tuple[int, ...]


@register("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
class Reshape:
    """TFLM copies the bytes (memcpy) after checking the element counts agree."""
    SIGNATURES = {"RESHAPE": Signature(("input", "shape"), optional=("shape",)),
                  "SQUEEZE": Signature(("input",)),
                  "EXPAND_DIMS": Signature(("input", "axis"))}

    @staticmethod
    def prepare(op, model) -> ReshapeParams:
        x = model.op_inputs(op)[0]
        (y,) = model.op_outputs(op)
        if x.type_name != y.type_name:
            raise unsupported(op, model, f"input is {x.type_name}, output {y.type_name}",
                              "input and output of a reshape must share one type")
        if x.size != y.size:
            raise unsupported(op, model, f"input '{x.label}' {list(x.shape)} has {x.size} "
                              f"elements, output {list(y.shape)} has {y.size}",
                              "the model file is inconsistent; re-convert it")
        if op.opcode == "SQUEEZE":
            dims = op.options.get("squeeze_dims") or ()
            rank = len(x.shape)
            for d in dims:
                a = d + rank if d < 0 else d
                if not (0 <= a < rank and x.shape[a] == 1):
                    raise unsupported(op, model, f"squeeze dim {d} is not a size-1 axis of "
                                      f"{list(x.shape)}", "re-convert the model")
        return ReshapeParams(tuple(y.shape))

    @staticmethod
    def run(p: ReshapeParams, inputs):
        x = inputs[0]
        return [x.reshape(x.shape[0], *p.output_shape)]


# ---- CONCATENATION ---------------------------------------------------------------------------


@dataclass
class ConcatParams:
    axis: int  # positive, in the tensor's own dims
    input_shapes: tuple[tuple[int, ...], ...]
    output_shape: tuple[int, ...]
    elem_size: int


@register("CONCATENATION")
class Concatenation:
    """TFLM reference_ops::Concatenation: a plain copy of each input's rows, no requantization
    (activation must be NONE, rank <= 4, at most 10 inputs)."""
    SIGNATURE = Signature(("values",), variadic_inputs=True)

    MAX_INPUTS = 10
    MAX_RANK = 4

    @staticmethod
    def prepare(op, model) -> ConcatParams:
        xs = model.op_inputs(op)
        (y,) = model.op_outputs(op)
        if any(x is None for x in xs) or not xs:
            raise unsupported(op, model, "an input is missing", "re-convert the model")
        _check_types(op, model, [*xs, y], ("INT8", "INT16", "INT32", "INT64"))
        act = op.options.get("fused_activation_function", "NONE")
        if act != "NONE":
            raise unsupported(op, model, f"fused activation {act}",
                              "TFLite Micro's CONCATENATION supports no fused activation; "
                              "apply the activation as a separate op")
        if len(xs) > Concatenation.MAX_INPUTS:
            raise unsupported(op, model, f"{len(xs)} inputs",
                              f"TFLite Micro concatenates at most {Concatenation.MAX_INPUTS} "
                              "tensors at once; split the concatenation")
        rank = len(y.shape)
        for x in xs:
            if len(x.shape) > Concatenation.MAX_RANK:
                raise unsupported(op, model, f"input '{x.label}' has rank {len(x.shape)}",
                                  "TFLite Micro's CONCATENATION handles up to 4 dimensions")
        axis = int(op.options.get("axis", 0))
        axis = axis + rank if axis < 0 else axis
        if not 0 <= axis < rank:
            raise unsupported(op, model, f"axis {op.options.get('axis')} is out of range for "
                              f"rank {rank}", "re-convert the model")
        for x in xs:
            same = len(x.shape) == rank and all(
                a == b for k, (a, b) in enumerate(zip(x.shape, y.shape)) if k != axis)
            if not same:
                raise unsupported(op, model, f"input '{x.label}' {list(x.shape)} does not match "
                                  f"output {list(y.shape)} outside axis {axis}",
                                  "the model file is inconsistent; re-convert it")
        if sum(x.shape[axis] for x in xs) != y.shape[axis]:
            raise unsupported(op, model, f"inputs sum to {sum(x.shape[axis] for x in xs)} "
                              f"along axis {axis}, output has {y.shape[axis]}",
                              "the model file is inconsistent; re-convert it")
        _check_nonempty(op, model, y)
        if y.type_name == "INT8":
            for x in xs:
                if x.quant is None or y.quant is None or (
                        np.float32(x.scale) != np.float32(y.scale)
                        or x.zero_point != y.zero_point):
                    raise unsupported(
                        op, model,
                        f"input '{x.label}' is quantized differently (scale {x.scale:.9g}, "
                        f"zero point {x.zero_point}) from the output (scale {y.scale:.9g}, "
                        f"zero point {y.zero_point})",
                        "TFLite Micro copies int8 bytes without requantizing (and TFLite "
                        "refuses the model): give every input the output's quantization, as "
                        "TFLiteConverter does")
        return ConcatParams(axis, tuple(tuple(x.shape) for x in xs), tuple(y.shape),
                            y.dtype.itemsize)

    @staticmethod
    def run(p: ConcatParams, inputs):
        return [np.concatenate(inputs, axis=p.axis + 1)]


# ---- PAD / PADV2 -----------------------------------------------------------------------------


@dataclass
class PadParams:
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    before: tuple[int, ...]
    after: tuple[int, ...]
    pad_value: int | None  # None: read at run time from input 2 (a non-constant scalar)
    dtype: np.dtype


@register("PAD", "PADV2")
class Pad:
    """TFLM PadPrepare/PadEval: rank <= 5, constant int32 paddings, output dims checked; int8
    pads with the output zero point (PAD) or the scalar constant (PADV2, quantized exactly as
    the output)."""
    SIGNATURE = Signature(("input", "paddings", "constant_values"),
                          optional=("constant_values",), constant=("paddings",))

    MAX_RANK = 5

    @staticmethod
    def prepare(op, model) -> PadParams:
        ins = model.op_inputs(op)
        if len(ins) not in (2, 3):
            raise unsupported(op, model, f"{len(ins)} inputs", "PAD takes 2 or 3 inputs")
        x, paddings = ins[0], ins[1]
        value = ins[2] if len(ins) == 3 else None
        (y,) = model.op_outputs(op)
        _check_types(op, model, [x, y])
        rank = len(x.shape)
        if rank > Pad.MAX_RANK:
            raise unsupported(op, model, f"input has rank {rank}",
                              "TFLite Micro's PAD handles up to 5 dimensions")
        pads = _const_index(op, model, paddings, "paddings")
        if pads.size != 2 * len(y.shape) or len(y.shape) != rank:
            raise unsupported(op, model, f"paddings '{paddings.label}' has {pads.size} values "
                              f"for rank {rank}", "paddings must be shaped (rank, 2)")
        before, after = pads[0::2], pads[1::2]
        if (before < 0).any() or (after < 0).any():
            raise unsupported(op, model, f"negative paddings {pads.reshape(-1, 2).tolist()}",
                              "TFLite Micro's PAD does not crop; use STRIDED_SLICE")
        expect = tuple(int(d + b + a) for d, b, a in zip(x.shape, before, after))
        if expect != tuple(y.shape):
            raise unsupported(op, model, f"output {list(y.shape)} is not input "
                              f"{list(x.shape)} plus paddings {pads.reshape(-1, 2).tolist()}",
                              "the model file is inconsistent; re-convert it")
        _check_nonempty(op, model, x)
        pad_value: int | None
        if value is None:
            pad_value = y.zero_point if y.type_name == "INT8" else 0
        else:
            if value.type_name != x.type_name or value.size != 1:
                raise unsupported(op, model, f"constant_values '{value.label}' is "
                                  f"{value.type_name} with {value.size} elements",
                                  f"it must be one {x.type_name} value")
            if x.type_name == "INT8" and (
                    value.quant is None or y.quant is None
                    or value.zero_point != y.zero_point
                    or np.float64(np.float32(value.scale)) != np.float64(np.float32(y.scale))):
                raise unsupported(op, model, f"constant_values '{value.label}' is quantized "
                                  "differently from the output",
                                  "TFLite Micro requires the pad value in the output's "
                                  "quantization (same scale and zero point)")
            pad_value = None if value.data is None else int(np.asarray(value.data).reshape(-1)[0])
        return PadParams(tuple(x.shape), tuple(y.shape), tuple(int(v) for v in before),
                         tuple(int(v) for v in after), pad_value, y.dtype)

    @staticmethod
    def run(p: PadParams, inputs):
        x = inputs[0]
        batch = x.shape[0]
        if p.pad_value is None:
            fill = np.asarray(inputs[2]).reshape(batch, -1)[:, 0].astype(p.dtype)
        else:
            fill = np.full(batch, p.pad_value, p.dtype)
        out = np.empty((batch, *p.output_shape), p.dtype)
        out[...] = fill.reshape(batch, *([1] * len(p.output_shape)))
        inner = (slice(None),) + tuple(slice(b, b + d) for b, d in zip(p.before, p.input_shape))
        out[inner] = x
        return [out]


# ---- STRIDED_SLICE ---------------------------------------------------------------------------


def _clamp(v: int, lo: int, hi: int) -> int:
    return hi if v > hi else lo if v < lo else v


def prepare_start_stop(begin, end, stride, size, begin_masked, end_masked, shrink):
    """TFLM Prepare (CheckOutputSize): strided_slice::StartForAxis / StopForAxis, then
    dim = ceil((end - begin) / float(stride)) clipped at 0. Returns (start, stop, dim)."""
    if size == 0:
        return 0, 0, 0
    start = begin
    if begin_masked:
        start = INT32_MIN if stride > 0 else INT32_MAX
    if start < 0:
        start += size
    start = _clamp(start, 0, size) if stride > 0 else _clamp(start, -1, size - 1)
    if shrink:
        stop = start + 1
    else:
        stop = end
        if end_masked:
            stop = INT32_MAX if stride > 0 else INT32_MIN
        if stop < 0:
            stop += size
        stop = _clamp(stop, 0, size) if stride > 0 else _clamp(stop, -1, size - 1)
    dim = math.ceil(float(np.float32(stop - start) / np.float32(stride)))
    return start, stop, max(dim, 0)


def eval_start_stop(begin, end, stride, size, begin_masked, end_masked, shrink):
    """TFLM Eval: strided_slice::StridedSliceStartForAxis / StridedSliceEndForAxis (the mask
    overrides after clamping; offset is never set by TFLM). Returns (start, stop)."""
    start = begin + size if begin < 0 else begin
    start = _clamp(start, 0, size) if stride > 0 else _clamp(start, -1, size - 1)
    if begin_masked:
        start = 0 if stride > 0 else size - 1
    if shrink:
        return start, (start if start >= size else start + 1)
    stop = end + size if end < 0 else end
    stop = _clamp(stop, 0, size) if stride > 0 else _clamp(stop, -1, size - 1)
    if end_masked:
        stop = size if stride > 0 else -1
    return start, stop


@dataclass
class StridedSliceParams:
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    starts: tuple[int, ...]  # per input axis, resolved (first index read)
    strides: tuple[int, ...]
    counts: tuple[int, ...]  # elements read per input axis (1 on shrunk axes)


@register("STRIDED_SLICE")
class StridedSlice:
    """TFLM strided_slice.cc: rank <= 4, constant int32 begin/end/strides, begin/end/shrink
    masks; ellipsis and new-axis masks are ignored by TFLM (so mcuq rejects them), and so is
    the `offset` flag."""
    SIGNATURE = Signature(("input", "begin", "end", "strides"),
                          constant=("begin", "end", "strides"))

    MAX_RANK = 4

    @staticmethod
    def prepare(op, model) -> StridedSliceParams:
        ins = model.op_inputs(op)
        if len(ins) != 4:
            raise unsupported(op, model, f"{len(ins)} inputs", "STRIDED_SLICE takes 4 inputs")
        x, tb, te, ts = ins
        (y,) = model.op_outputs(op)
        _check_types(op, model, [x, y])
        rank = len(x.shape)
        if rank > StridedSlice.MAX_RANK:
            raise unsupported(op, model, f"input has rank {rank}",
                              "TFLite Micro's STRIDED_SLICE handles up to 4 dimensions")
        o = op.options
        for name in ("ellipsis_mask", "new_axis_mask"):
            if int(o.get(name, 0) or 0) != 0:
                raise unsupported(op, model, f"{name}={o.get(name)}",
                                  f"TFLite Micro ignores {name}, so the result would not be "
                                  "what the model means; rewrite the slice without "
                                  "'...'/tf.newaxis (add a RESHAPE)")
        if o.get("offset", False):
            raise unsupported(op, model, "offset=True",
                              "TFLite Micro ignores STRIDED_SLICE's offset flag; convert "
                              "the slice with absolute end indices")
        begin = _const_index(op, model, tb, "begin")
        end = _const_index(op, model, te, "end")
        strides = _const_index(op, model, ts, "strides")
        for t, v in ((tb, begin), (te, end), (ts, strides)):
            if v.size != rank:
                raise unsupported(op, model, f"'{t.label}' has {v.size} values for an input of "
                                  f"rank {rank}", "give one begin/end/stride per input axis")
        bm, em, sm = (int(o.get(k, 0) or 0) for k in ("begin_mask", "end_mask",
                                                      "shrink_axis_mask"))
        starts, steps, counts, out_shape = [], [], [], []
        for a in range(rank):
            size, st = int(x.shape[a]), int(strides[a])
            if st == 0:
                raise unsupported(op, model, f"stride 0 on axis {a}",
                                  "strides must be non-zero")
            flags = (bool(bm >> a & 1), bool(em >> a & 1), bool(sm >> a & 1))
            _, _, dim = prepare_start_stop(int(begin[a]), int(end[a]), st, size, *flags)
            start, stop = eval_start_stop(int(begin[a]), int(end[a]), st, size, *flags)
            n = len(range(start, stop, st))
            if flags[2]:
                if n != 1:
                    raise unsupported(op, model, f"shrink axis {a} selects no element "
                                      f"(begin {int(begin[a])}, stride {st}, size {size})",
                                      "TFLite Micro leaves such an output unwritten; shrink "
                                      "with a positive stride and an index inside the axis")
            else:
                if n != dim:
                    raise unsupported(op, model, f"axis {a}: TFLite Micro's Prepare expects "
                                      f"{dim} elements but Eval reads {n}",
                                      "re-convert the model")
                out_shape.append(dim)
            starts.append(start)
            steps.append(st)
            counts.append(n)
        if tuple(out_shape) != tuple(y.shape):
            raise unsupported(op, model, f"output {list(y.shape)} does not match the slice "
                              f"{out_shape} of input {list(x.shape)}",
                              "the model file is inconsistent; re-convert it")
        _check_nonempty(op, model, y)
        return StridedSliceParams(tuple(x.shape), tuple(y.shape), tuple(starts),
                                  tuple(steps), tuple(counts))

    @staticmethod
    def run(p: StridedSliceParams, inputs):
        x = inputs[0]
        for a, (s, st, n) in enumerate(zip(p.starts, p.strides, p.counts)):
            x = np.take(x, s + st * np.arange(n, dtype=np.int64), axis=a + 1)
        return [np.ascontiguousarray(x).reshape(x.shape[0], *p.output_shape)]


# ---- TRANSPOSE -------------------------------------------------------------------------------


@dataclass
class TransposeParams:
    perm: tuple[int, ...]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]


@register("TRANSPOSE")
class Transpose:
    """TFLM TransposePrepare: rank <= 5, constant int32 perm with one entry per axis."""
    SIGNATURE = Signature(("input", "perm"), constant=("perm",))

    MAX_RANK = 5

    @staticmethod
    def prepare(op, model) -> TransposeParams:
        x, tp = model.op_inputs(op)[:2]
        (y,) = model.op_outputs(op)
        _check_types(op, model, [x, y], ("INT8", "INT16"))
        rank = len(x.shape)
        if rank > Transpose.MAX_RANK:
            raise unsupported(op, model, f"input has rank {rank}",
                              "TFLite Micro's TRANSPOSE handles 1 to 5 dimensions")
        perm = _const_index(op, model, tp, "perm")
        if len(tp.shape) != 1 or perm.size != rank or sorted(perm.tolist()) != list(range(rank)):
            raise unsupported(op, model, f"perm {perm.tolist()} is not a permutation of "
                              f"{rank} axes", "re-convert the model")
        out = tuple(int(x.shape[k]) for k in perm)
        if out != tuple(y.shape):
            raise unsupported(op, model, f"output {list(y.shape)} is not input "
                              f"{list(x.shape)} permuted by {perm.tolist()}",
                              "the model file is inconsistent; re-convert it")
        _check_nonempty(op, model, y)
        return TransposeParams(tuple(int(k) for k in perm), tuple(x.shape), out)

    @staticmethod
    def run(p: TransposeParams, inputs):
        x = inputs[0]
        return [np.ascontiguousarray(np.transpose(x, (0, *[k + 1 for k in p.perm])))]
