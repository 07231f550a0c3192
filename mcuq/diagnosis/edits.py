"""In-memory edits of an int8 model that stand for what a remedy would make the converter do,
so the reference can measure a remedy before anyone re-converts:

- `recalibrated(model, ranges)`: activation ranges from other data (what `mcuq convert
  --calibration DATA` computes: min/max per tensor, widened to hold 0, asymmetric int8 with a
  nudged zero point); tensors the int8 spec ties together (RESHAPE, MAX_POOL_2D,
  CONCATENATION, ...) share one range; fixed-range outputs (SOFTMAX, LOGISTIC, TANH) keep theirs;
  every bias is re-quantized with its op's new input scale.
- `per_channel_weights(model, ops, float_weights)`: symmetric int8 weights with one scale per
  output channel, the converter's default, for ops that have one scale per tensor.

The results are mcuq.model.Model objects (new Tensor objects, the same operators) that the
reference interpreter prepares and runs like a converted file.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..model import Model, Quantization, Tensor

#: Ops whose int8 kernels require the output to share the input's scale and zero point.
SAME_QUANT_OPS = frozenset({"RESHAPE", "SQUEEZE", "EXPAND_DIMS", "MAX_POOL_2D",
                            "AVERAGE_POOL_2D", "CONCATENATION", "PAD", "PADV2", "STRIDED_SLICE",
                            "TRANSPOSE", "MAXIMUM", "MINIMUM", "SPLIT", "GATHER"})
#: Ops whose int8 output quantization is fixed by the spec.
FIXED_QUANT_OPS = frozenset({"SOFTMAX", "LOGISTIC", "TANH"})
#: Weight ops: output-channel axis of the weight tensor.
WEIGHT_AXIS = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 0}
QMIN, QMAX = -128, 127


def range_to_quant(rmin: float, rmax: float) -> tuple[float, int]:
    """(scale, zero point) of asymmetric int8 for [rmin, rmax] as TensorFlow's quantizer
    computes it: the range widened to hold 0, scale = width / 255, zero point = qmin - rmin /
    scale rounded half away from zero and clamped (the "nudged" zero point)."""
    rmin, rmax = min(float(rmin), 0.0), max(float(rmax), 0.0)
    if rmax == rmin:
        return 1.0, 0
    scale = (rmax - rmin) / (QMAX - QMIN)
    zp = QMIN - rmin / scale
    zp = QMIN if zp < QMIN else QMAX if zp > QMAX else int(np.sign(zp) * np.floor(abs(zp) + 0.5))
    return float(np.float32(scale)), int(zp)


def tie_groups(model: Model) -> dict[int, int]:
    """Activation tensor -> group root: tensors joined by a SAME_QUANT op that (in this model)
    gives them one scale and zero point."""
    parent: dict[int, int] = {}

    def find(i: int) -> int:
        parent.setdefault(i, i)
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for op in model.operators:
        if op.opcode not in SAME_QUANT_OPS:
            continue
        out = model.tensors[op.outputs[0]]
        for i in op.inputs:
            if i < 0 or model.tensors[i].data is not None:
                continue
            t = model.tensors[i]
            if (t.quant is not None and out.quant is not None and t.scale == out.scale
                    and t.zero_point == out.zero_point):
                parent[find(out.index)] = find(i)
    return {t.index: find(t.index) for t in model.tensors if t.data is None}


def _with_quant(t: Tensor, scale, zero_point, axis: int = 0, data=None) -> Tensor:
    q = Quantization(scale=np.atleast_1d(np.asarray(scale, np.float32)),
                     zero_point=np.atleast_1d(np.asarray(zero_point, np.int64)), axis=axis)
    new = dataclasses.replace(t, quant=q)
    if data is not None:
        arr = np.ascontiguousarray(data).reshape(t.shape)
        arr.flags.writeable = False
        new.data = arr
    return new


def _edit(model: Model, changed: dict[int, Tensor]) -> Model:
    return dataclasses.replace(model, tensors=[changed.get(t.index, t) for t in model.tensors])


def _fixed_outputs(model: Model) -> set[int]:
    return {o for op in model.operators if op.opcode in FIXED_QUANT_OPS for o in op.outputs}


def recalibrated(model: Model, ranges: dict[int, tuple[float, float]],
                 float_bias: dict[int, np.ndarray]) -> tuple[Model, dict[int, tuple]]:
    """The model with activation tensors re-quantized from `ranges` (tensor -> (min, max) of its
    float values). Returns (model, {tensor: (old scale, old zp, new scale, new zp)})."""
    roots = tie_groups(model)
    fixed = _fixed_outputs(model)
    group: dict[int, list[float]] = {}
    for i, (lo, hi) in ranges.items():
        t = model.tensors[i]
        if t.type_name != "INT8" or t.quant is None or i in fixed or t.data is not None:
            continue
        g = group.setdefault(roots.get(i, i), [lo, hi])
        g[0], g[1] = min(g[0], lo), max(g[1], hi)
    if any(roots.get(i, i) in group for i in fixed):  # a fixed tensor pins its whole group
        for i in fixed:
            group.pop(roots.get(i, i), None)
    changed: dict[int, Tensor] = {}
    report: dict[int, tuple] = {}
    for t in model.tensors:
        r = roots.get(t.index)
        if r is None or r not in group or t.data is not None:
            continue
        scale, zp = range_to_quant(*group[r])
        changed[t.index] = _with_quant(t, scale, zp)
        report[t.index] = (t.scale, t.zero_point, scale, zp)
    edited = _edit(model, changed)
    return _requantize_biases(edited, float_bias), report


def per_channel_weights(model: Model, float_weights: dict[int, np.ndarray],
                        float_bias: dict[int, np.ndarray]) -> tuple[Model, list[int]]:
    """Every weight op in `float_weights` (op index -> float weights, the int8 weight tensor's
    layout) that has one weight scale gets one per output channel. Returns (model, op indices)."""
    changed: dict[int, Tensor] = {}
    done = []
    for op in model.operators:
        axis = WEIGHT_AXIS.get(op.opcode)
        w = float_weights.get(op.index)
        if axis is None or w is None or len(op.inputs) < 2:
            continue
        wt = model.tensors[op.inputs[1]]
        if wt.quant is None or wt.quant.per_channel or tuple(w.shape) != tuple(wt.shape):
            continue
        other = tuple(a for a in range(w.ndim) if a != axis)
        peak = np.max(np.abs(w.astype(np.float64)), axis=other)
        scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
        shape = [1] * w.ndim
        shape[axis] = -1
        q = np.clip(_round_away(w / scale.astype(np.float64).reshape(shape)), -127, 127)
        changed[wt.index] = _with_quant(wt, scale, np.zeros(scale.size, np.int64), axis,
                                        q.astype(np.int8))
        done.append(op.index)
    edited = _edit(model, changed)
    return _requantize_biases(edited, {k: v for k, v in float_bias.items() if k in done}), done


def _round_away(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def _requantize_biases(model: Model, float_bias: dict[int, np.ndarray]) -> Model:
    """int32 bias = round(b / (input scale × weight scale[c])) for the ops in `float_bias`."""
    changed: dict[int, Tensor] = {}
    for op in model.operators:
        b = float_bias.get(op.index)
        if b is None or op.opcode not in WEIGHT_AXIS or len(op.inputs) < 3 or op.inputs[2] < 0:
            continue
        x, w, bt = (model.tensors[op.inputs[k]] for k in range(3))
        if bt.type_name != "INT32" or w.quant is None or x.quant is None:
            continue
        ws = w.quant.scale.astype(np.float64)
        bscale = (np.float64(x.scale) * ws).astype(np.float32)
        q = np.clip(_round_away(b.astype(np.float64) / bscale.astype(np.float64)),
                    -2**31, 2**31 - 1).astype(np.int32)
        changed[bt.index] = _with_quant(bt, bscale, np.zeros(bscale.size, np.int64),
                                        0, q)
    return _edit(model, changed)


__all__ = ["range_to_quant", "tie_groups", "recalibrated", "per_channel_weights",
           "SAME_QUANT_OPS", "FIXED_QUANT_OPS", "WEIGHT_AXIS"]
