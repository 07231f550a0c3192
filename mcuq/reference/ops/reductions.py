"""SUM, REDUCE_MAX, ARG_MAX, ARG_MIN on int8 (reduce.py holds MEAN).

TFLite Micro semantics:
  SUM         reduce_common.cc EvalSumHelper -> QuantizedMeanOrSum(compute_sum=true): the int32
              sum of the raw values minus zero_point * count (int32 wrap), then
              MultiplyByQuantizedMultiplier with QuantizeMultiplier(input_scale / output_scale)
              (double), + output zero point, clamp. Unlike MEAN, 1/count is not folded in.
              At most 2 distinct reduced axes (resolved_axis[kMaxNumberOfReducedAxis]), rank
              <= 5 (temp_index[kMaxNumberOfAxis]). LiteRT's reference SUM computes something
              else (float rescale); mcuq follows TFLite Micro (tests compare with TFLM only).
  REDUCE_MAX  EvalMaxHelper -> ReduceGeneric with init INT8_MIN and max: the raw int8 maximum.
              Its Eval requires input and output scale (as double) and zero point equal.
  ARG_MAX/MIN reference_ops::ArgMinMax with std::greater / std::less: the first index of the
              extreme value along the axis; int8 input, int32 axis and int32 output only
              (TFLM's Eval refuses int64 outputs, TensorFlow's default for tf.argmax: convert
              with output_type=tf.int32).
Axis tensors must be int32 (TFLM's PrepareSimple / Eval) and constant (mcuq fixes shapes
before running; TFLiteConverter folds them).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import fixedpoint as fp
from ..registry import Signature, check_signature, register, require_int8, unsupported
from .reduce import MAX_DIMS, MAX_REDUCED_AXES, MeanParams, resolve_axes
from .reduce import Mean as _Mean
from .shape import _check_nonempty


def _axes(op, model, x, ax) -> tuple[int, ...]:
    if ax.type_name != "INT32":
        raise unsupported(op, model, f"axis '{ax.name}' is {ax.type_name}",
                          f"TFLite Micro's {op.opcode} takes int32 axes; re-convert the model")
    rank = len(x.shape)
    raw = np.asarray(ax.data).reshape(-1)
    if ((raw < -rank) | (raw >= max(rank, 1))).any():
        raise unsupported(op, model, f"axis {raw.tolist()} out of range for rank {rank}",
                          "re-convert the model")
    return resolve_axes(raw, rank)


def _reduced_shape(op, model, x, y, axes) -> None:
    keep = bool(op.options.get("keep_dims", False))
    expect = tuple(1 if i in axes else d for i, d in enumerate(x.shape)) if keep else \
        tuple(d for i, d in enumerate(x.shape) if i not in axes)
    if int(np.prod(expect, dtype=np.int64)) != y.size:
        raise unsupported(op, model, f"output {list(y.shape)} does not match input "
                          f"{list(x.shape)} reduced over {list(axes)}", "re-convert the model")


# ---- SUM --------------------------------------------------------------------------------------


@register("SUM")
class Sum:
    SIGNATURE = Signature(inputs=("input", "axis"), constant=("axis",))

    @staticmethod
    def prepare(op, model, profile) -> MeanParams:
        x, ax = check_signature(op, model, Sum.SIGNATURE)
        (y,) = model.op_outputs(op)
        require_int8(op, model, (x, y))
        rank = len(x.shape)
        if rank > MAX_DIMS:
            raise unsupported(op, model, f"input has {rank} dimensions",
                              f"TFLite Micro's SUM handles at most {MAX_DIMS}")
        axes = _axes(op, model, x, ax)
        if len(axes) > MAX_REDUCED_AXES:
            raise unsupported(op, model, f"SUM over {len(axes)} axes {list(axes)}",
                              f"TFLite Micro sums over at most {MAX_REDUCED_AXES} axes at once; "
                              "split it into two SUM ops")
        _reduced_shape(op, model, x, y, axes)
        count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64)) if axes else 1
        _check_nonempty(op, model, x)
        m, s = profile.quantize_multiplier(float(np.float64(np.float32(x.scale))
                                                 / np.float64(np.float32(y.scale))))
        return MeanParams(axes, count, x.zero_point, y.zero_point, int(m), int(s),
                          tuple(x.shape), tuple(y.shape), profile.rounding,
                          as_uint8=profile.sum_as_uint8)

    run = staticmethod(_Mean.run)  # the same integer path with the unfolded multiplier


# ---- REDUCE_MAX -------------------------------------------------------------------------------


@dataclass
class ReduceMaxParams:
    axes: tuple[int, ...]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]


@register("REDUCE_MAX")
class ReduceMax:
    SIGNATURE = Signature(inputs=("input", "axis"), constant=("axis",))

    @staticmethod
    def prepare(op, model) -> ReduceMaxParams:
        x, ax = check_signature(op, model, ReduceMax.SIGNATURE)
        (y,) = model.op_outputs(op)
        require_int8(op, model, (x, y))
        if np.float64(np.float32(x.scale)) != np.float64(np.float32(y.scale)) or \
                x.zero_point != y.zero_point:
            raise unsupported(op, model, f"input scale/zero point ({x.scale:.9g}, "
                              f"{x.zero_point}) differ from the output's ({y.scale:.9g}, "
                              f"{y.zero_point})", "TFLite Micro's int8 REDUCE_MAX requires "
                              "equal quantization (its Eval fails otherwise)")
        axes = _axes(op, model, x, ax)
        _reduced_shape(op, model, x, y, axes)
        _check_nonempty(op, model, x)
        return ReduceMaxParams(axes, tuple(x.shape), tuple(y.shape))

    @staticmethod
    def run(p: ReduceMaxParams, inputs):
        x = inputs[0]
        out = x.max(axis=tuple(a + 1 for a in p.axes)) if p.axes else x
        return [np.ascontiguousarray(out).reshape(x.shape[0], *p.output_shape)]


# ---- ARG_MAX / ARG_MIN ------------------------------------------------------------------------


@dataclass
class ArgParams:
    axis: int
    largest: bool  # ARG_MAX
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]


@register("ARG_MAX", "ARG_MIN")
class ArgMinMax:
    SIGNATURE = Signature(inputs=("input", "axis"), constant=("axis",))

    @staticmethod
    def prepare(op, model) -> ArgParams:
        x, ax = check_signature(op, model, ArgMinMax.SIGNATURE)
        (y,) = model.op_outputs(op)
        if x.type_name != "INT8":
            raise unsupported(op, model, f"input '{x.name}' is {x.type_name}",
                              "mcuq's ARG_MAX/ARG_MIN take int8 inputs (convert with mcuq "
                              "convert)")
        if y.type_name != "INT32":
            raise unsupported(op, model, f"output '{y.name}' is {y.type_name}",
                              "TFLite Micro's ARG_MAX/ARG_MIN write int32 only: use "
                              "tf.argmax(..., output_type=tf.int32) before converting")
        axes = _axes(op, model, x, ax)
        if len(axes) != 1 or ax.size != 1:
            raise unsupported(op, model, f"axis '{ax.name}' holds {ax.size} values",
                              "ARG_MAX/ARG_MIN take one axis")
        rank = len(x.shape)
        expect = tuple(d for i, d in enumerate(x.shape) if i != axes[0])
        if tuple(y.shape) != expect:
            raise unsupported(op, model, f"output {list(y.shape)}, expected {list(expect)}",
                              "the model file is inconsistent; re-convert it")
        if rank < 1:
            raise unsupported(op, model, "scalar input", "ARG_MAX needs at least one axis")
        _check_nonempty(op, model, x)
        return ArgParams(axes[0], op.opcode == "ARG_MAX", tuple(x.shape), expect)

    @staticmethod
    def run(p: ArgParams, inputs):
        x = inputs[0]
        f = np.argmax if p.largest else np.argmin  # first occurrence, like TFLM's strict cmp
        return [np.ascontiguousarray(f(x, axis=p.axis + 1).astype(np.int32))
                .reshape(x.shape[0], *p.output_shape)]
