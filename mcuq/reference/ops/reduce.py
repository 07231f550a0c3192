"""MEAN, int8 (TFLM reduce_common.cc EvalMeanHelper -> EvalIntegerMean).

Every int8 MEAN goes through reference_ops::QuantizedMeanOrSum: the int32 sum of the raw
values minus zero_point * n, rescaled by the multiplier of input_scale / output_scale with
1/n folded into it (shift = min(floor(log2 n), 32, 31 + exponent), multiplier =
(m << shift) / n, exponent -= shift), then MultiplyByQuantizedMultiplier, + output zero
point, clamp. Older TFLM releases had a second path for equal input/output quantization
(reference_ops::Mean: raw sum / n with C's truncating division); the tflite-micro package
mcuq tests against no longer takes it (proved by test_reduce.py: mean(2, 3) is 3, not 2).
TFLM keeps the resolved axes in a fixed array of 2 (kMaxNumberOfReducedAxis) and the index
in an array of 5 (kMaxNumberOfAxis); larger models are rejected here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import fixedpoint as fp
from ..registry import Signature, register, require_int8, unsupported

MAX_DIMS = 5
MAX_REDUCED_AXES = 2


@dataclass
class MeanParams:
    axes: tuple[int, ...]  # resolved (non-negative, unique, in the given order)
    count: int  # elements reduced into each output
    input_zp: int
    output_zp: int
    multiplier: int  # with 1/count folded in
    shift: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    rounding: str = "double"  # MultiplyByQuantizedMultiplier's (profiles.Profile.rounding)
    #: LiteRT 2.3's int8 SUM: its uint8 kernel on the int8 bytes (values read as uint8, the
    #: result clamped to [0, 255] and stored as that byte)
    as_uint8: bool = False


def resolve_axes(axes, rank: int) -> tuple[int, ...]:
    """ResolveAxis: negative axes count from the end; duplicates are dropped."""
    out: list[int] = []
    for a in axes:
        a = int(a) + rank if int(a) < 0 else int(a)
        if a not in out:
            out.append(a)
    return tuple(out)


def fold_count(multiplier: int, shift: int, count: int) -> tuple[int, int]:
    """QuantizedMeanOrSum's rescaling of (multiplier, shift) by 1/count."""
    s = min(count.bit_length() - 1, 32, 31 + shift)
    return (multiplier << s) // count, shift - s


def mean_axes(op, model, x, ax, y) -> tuple[tuple[int, ...], int]:
    """(reduced axes, elements per mean) of a MEAN, refusing what TFLite Micro refuses
    (non-constant axes, rank, more than MAX_REDUCED_AXES axes, an output shape that does not
    match). Shared by the int8 and int16 kernels."""
    if ax is None or ax.data is None or ax.type_name != "INT32":
        raise unsupported(op, model, "the axis input is not a constant INT32 tensor",
                          "mcuq supports MEAN over constant axes only")
    rank = len(x.shape)
    if rank > MAX_DIMS:
        raise unsupported(op, model, f"input has {rank} dimensions",
                          f"TFLite Micro's MEAN handles at most {MAX_DIMS}")
    raw = ax.data.reshape(-1)
    if ((raw < -rank) | (raw >= max(rank, 1))).any():
        raise unsupported(op, model, f"axis {raw.tolist()} out of range for rank {rank}",
                          "re-convert the model")
    axes = resolve_axes(raw, rank)
    if len(axes) > MAX_REDUCED_AXES:
        raise unsupported(op, model, f"MEAN over {len(axes)} axes {list(axes)}",
                          f"TFLite Micro reduces over at most {MAX_REDUCED_AXES} axes; "
                          "split the mean into two MEAN ops")
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64)) if axes else 1
    keep = bool(op.options.get("keep_dims", False))
    expect = tuple(1 if i in axes else d for i, d in enumerate(x.shape)) if keep else \
        tuple(d for i, d in enumerate(x.shape) if i not in axes)
    if int(np.prod(expect, dtype=np.int64)) != y.size:
        raise unsupported(op, model, f"output {list(y.shape)} does not match input "
                          f"{list(x.shape)} reduced over {list(axes)}",
                          "re-convert the model")
    return axes, count


@register("MEAN")
class Mean:
    SIGNATURE = Signature(("input", "axis"), constant=("axis",))

    @staticmethod
    def prepare(op, model, profile) -> MeanParams:
        x, ax = model.op_inputs(op)[:2]
        (y,) = model.op_outputs(op)
        require_int8(op, model, (x, y))
        axes, count = mean_axes(op, model, x, ax, y)
        if count == 0:
            raise unsupported(op, model, "reduction over an empty axis",
                              "remove the empty dimension")
        m, s = profile.quantize_multiplier(float(np.float64(np.float32(x.scale))
                                            / np.float64(np.float32(y.scale))))
        m, s = fold_count(m, s, count)
        return MeanParams(axes, count, x.zero_point, y.zero_point, int(m), int(s),
                          tuple(x.shape), tuple(y.shape), profile.rounding)

    @staticmethod
    def run(p: MeanParams, inputs):
        x = inputs[0].view(np.uint8) if p.as_uint8 else inputs[0]
        batch = x.shape[0]
        total = x.sum(axis=tuple(a + 1 for a in p.axes), dtype=np.int64)
        total = fp.wrap_int32(total).reshape(batch, -1)
        shifted = fp.wrap_int32(total - np.int64(p.input_zp) * p.count)
        v = fp.wrap_int32(fp.multiply_by_quantized_multiplier(shifted, p.multiplier, p.shift,
                                                              p.rounding) + p.output_zp)
        if p.as_uint8:
            out = np.clip(v, 0, 255).astype(np.uint8).view(np.int8)
        else:
            out = np.clip(v, -128, 127).astype(np.int8)  # int32 add in TFLM
        return [out.reshape(batch, *p.output_shape)]
