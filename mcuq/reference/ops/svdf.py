"""SVDF (int8 input/output, int8 feature weights, int16 or int8 time weights and activation
state), as TFLite Micro's svdf.cc / svdf_common.cc (PrepareSvdf, EvalIntegerSvdfReference).

Shapes: input [batch, input_size], weights_feature [num_filters, input_size], weights_time
[num_filters, memory_size], bias [num_units] (int32), activation_state [batch, memory_size *
num_filters] (a variable tensor: the op's memory, kept between invocations), output [batch,
num_units] with num_units = num_filters / rank.

One invocation:
1. the state of every (batch, filter) row moves one step left (the oldest value drops out);
2. feature step: the newest column is MBQM(sum_c wf[f, c] * (x[c] - x_zp), scale_1) clamped to
   the state type's range, plus state_zp, narrowed into the state type (scale_1 = s_x * s_wf /
   s_state, in float; state_zp is 0 for an int16 state);
3. time step: acc[f] = sum_m wt[f, m] * (state[f, m] - state_zp) (int32);
4. output[u] = clamp_int8(MBQM(bias[u] + sum_r acc[u * rank + r], scale_2) + y_zp)
   (scale_2 = s_state * s_wt / s_y, in float).
The int32 sums wrap as TFLite Micro's do when compiled (two's complement).

TFLite Micro's integer path ignores the fused activation (SVDFOptions.fused_activation_function)
and so does this. Not in TFLite Micro, refused here: int16 input (no 16x8 SVDF kernel), an
omitted bias on the integer path (its Prepare reads the bias' scale unconditionally),
per-channel weight scales (it reads one scale per tensor).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import fixedpoint as fp
from ..registry import Signature, check_signature, register, unsupported

_STATE_TYPES = {"INT16": np.int16, "INT8": np.int8}


@dataclass(frozen=True)
class SvdfParams:
    rank: int
    batch: int
    input_size: int
    num_filters: int
    num_units: int
    memory_size: int
    weights_feature: np.ndarray  # int8 [num_filters, input_size]
    weights_time: np.ndarray  # int16 or int8 [num_filters, memory_size]
    bias: np.ndarray  # int32 [num_units]
    input_zero_point: int
    output_zero_point: int
    state_zero_point: int
    state_type: str  # "INT16" or "INT8" (activation state and weights_time)
    multiplier_1: int
    shift_1: int
    multiplier_2: int
    shift_2: int
    rounding: str = "double"

    @property
    def state_range(self) -> tuple[int, int]:
        info = np.iinfo(_STATE_TYPES[self.state_type])
        return int(info.min), int(info.max)


def _float32_scale(a, b, c) -> float:
    """TFLite Micro's `input->params.scale * weights->params.scale / state->params.scale`: float
    arithmetic (each step rounded to float32), then widened to double."""
    return float(np.float32(np.float32(a) * np.float32(b)) / np.float32(c))


@register("SVDF")
class Svdf:
    SIGNATURE = Signature(
        inputs=("input", "weights_feature", "weights_time", "bias", "activation_state"),
        optional=("bias",), constant=("weights_feature", "weights_time", "bias"))

    @staticmethod
    def prepare(op, model, profile) -> SvdfParams:
        ins = check_signature(op, model, Svdf.SIGNATURE)
        if len(ins) != 5:
            raise unsupported(op, model, f"{len(ins)} inputs, TFLite Micro's SVDF takes 5 "
                              "(input, weights_feature, weights_time, bias, activation_state)",
                              "the model file is inconsistent; re-convert it")
        x, wf, wt, b, state = ins
        (y,) = model.op_outputs(op)
        rank = op.options.get("rank")
        if not isinstance(rank, int) or rank <= 0:
            raise unsupported(op, model, f"rank {rank!r} (SVDFOptions missing or not positive)",
                              "the model file is inconsistent; re-convert it")
        if x.type_name != "INT8":
            raise unsupported(op, model, f"input '{x.label}' is {x.type_name}",
                              "TFLite Micro's SVDF takes int8 input (or float32); it has no "
                              "16x8 SVDF: keep the SVDF layers in int8 (int16 state)")
        if wf.type_name != "INT8" or y.type_name != "INT8":
            bad = wf if wf.type_name != "INT8" else y
            raise unsupported(op, model, f"tensor '{bad.label}' is {bad.type_name}",
                              "TFLite Micro's integer SVDF takes int8 weights_feature and "
                              "int8 output")
        if wt.type_name not in _STATE_TYPES or state.type_name not in _STATE_TYPES:
            bad = wt if wt.type_name not in _STATE_TYPES else state
            raise unsupported(op, model, f"tensor '{bad.label}' is {bad.type_name}",
                              "TFLite Micro's integer SVDF takes int16 (or int8) "
                              "weights_time and activation state")
        if wt.type_name != state.type_name:
            raise unsupported(op, model, f"weights_time '{wt.label}' is {wt.type_name} but the "
                              f"activation state '{state.label}' is {state.type_name}",
                              "TFLite Micro reads the state with the time weights' type: "
                              "give both one type")
        if b is None:
            raise unsupported(op, model, "no bias (TFLite Micro's integer SVDF reads the "
                              "bias' scale in Prepare and crashes without one)",
                              "give the SVDF a zero int32 bias")
        if b.type_name != "INT32":
            raise unsupported(op, model, f"bias '{b.label}' is {b.type_name}",
                              "TFLite Micro's integer SVDF takes an int32 bias")
        if not state.is_variable:
            raise unsupported(op, model, f"activation state '{state.label}' is not a variable "
                              "tensor", "TFLite Micro requires SVDF's state (input 4) to be "
                              "a variable tensor; re-convert the model")
        for t in (x, wf, wt, b, state, y):
            if t.quant is None or t.quant.scale.size == 0:
                raise unsupported(op, model, f"tensor '{t.label}' has no quantization "
                                  "parameters", "convert with full-integer quantization")
            if t.quant.per_channel:
                raise unsupported(op, model, f"tensor '{t.label}' has {t.quant.scale.size} "
                                  "scales", "TFLite Micro's SVDF reads one scale per tensor")
        shapes = {t.label: list(t.shape) for t in (x, wf, wt, state, y)}
        if any(len(s) != 2 for s in shapes.values()) or len(b.shape) != 1:
            raise unsupported(op, model, f"shapes {shapes}, bias {list(b.shape)}",
                              "SVDF's input, weights, state and output are 2-D, its bias 1-D")
        batch, input_size = x.shape
        num_filters, memory_size = wt.shape
        if num_filters % rank:
            raise unsupported(op, model, f"{num_filters} filters is not a multiple of rank "
                              f"{rank}", "the model file is inconsistent; re-convert it")
        num_units = num_filters // rank
        want = {"weights_feature": (wf.shape, (num_filters, input_size)),
                "activation_state": (state.shape, (batch, memory_size * num_filters)),
                "output": (y.shape, (batch, num_units)), "bias": (b.shape, (num_units,))}
        for name, (got, need) in want.items():
            if tuple(got) != need:
                raise unsupported(op, model, f"{name} has shape {list(got)}, TFLite Micro "
                                  f"needs {list(need)}", "the model file is inconsistent; "
                                  "re-convert it")
        s_x, s_wf, s_wt, s_b, s_st, s_y = (np.float32(t.scale) for t in (x, wf, wt, b, state, y))
        if not abs(float(s_b) - float(np.float32(s_st * s_wt))) < 1e-5:
            raise unsupported(op, model, f"bias scale {float(s_b):.6g} is not state scale x "
                              f"time-weight scale {float(s_st * s_wt):.6g}",
                              "TFLite Micro's Prepare refuses it; re-convert the model")
        m1, sh1 = profile.quantize_multiplier(_float32_scale(s_x, s_wf, s_st))
        m2, sh2 = profile.quantize_multiplier(_float32_scale(s_st, s_wt, s_y))
        return SvdfParams(
            rank=rank, batch=batch, input_size=input_size, num_filters=num_filters,
            num_units=num_units, memory_size=memory_size, weights_feature=wf.data,
            weights_time=wt.data, bias=b.data.reshape(-1), input_zero_point=x.zero_point,
            output_zero_point=y.zero_point, state_zero_point=state.zero_point,
            state_type=state.type_name, multiplier_1=m1, shift_1=sh1, multiplier_2=m2,
            shift_2=sh2, rounding=profile.rounding)

    @staticmethod
    def run(p: SvdfParams, inputs):
        """inputs[4] is the state array (the interpreter's, shaped (1, batch, M * F)): updated
        in place. The leading axis of inputs[0] is time here (one invocation per row, in order;
        a stateful model runs one row at a time)."""
        x, state = inputs[0], inputs[4]
        steps = x.shape[0]
        out = np.empty((steps, p.batch, p.num_units), np.int8)
        for t in range(steps):
            out[t] = _invoke(p, x[t], state[min(t, state.shape[0] - 1)])
        return [out]


def _wrap(v: np.ndarray, dtype) -> np.ndarray:
    """Two's-complement narrowing of int64 values to int8/int16 (C's conversion on gcc)."""
    bits = np.iinfo(dtype).bits
    v = np.asarray(v, np.int64)
    return (((v + (1 << (bits - 1))) & ((1 << bits) - 1)) - (1 << (bits - 1))).astype(dtype)


def _invoke(p: SvdfParams, x: np.ndarray, state: np.ndarray) -> np.ndarray:
    """One invocation on x [batch, input_size]; updates state [batch, M * F] in place."""
    lo, hi = p.state_range
    if not (state.flags.c_contiguous and state.flags.writeable):
        raise RuntimeError("SVDF updates its state in place: pass the writable state array")
    st = state.reshape(p.batch, p.num_filters, p.memory_size)  # a view of the state
    st[..., :-1] = st[..., 1:].copy()
    xs = x.astype(np.int64) - np.int64(p.input_zero_point)
    dot = fp.wrap_int32(xs @ p.weights_feature.astype(np.int64).T)  # [batch, F]
    new = fp.multiply_by_quantized_multiplier(dot, p.multiplier_1, p.shift_1, p.rounding)
    # clamped to the state type's range, then the zero point added and narrowed (wrapping)
    # into the state, as the tflite-micro build computes it (measured on int8 states with a
    # zero point: later TFLite Micro sources add it before the clamp)
    new = np.clip(new, lo, hi) + np.int64(p.state_zero_point)
    st[..., -1] = _wrap(new, st.dtype)
    centred = st.astype(np.int64) - np.int64(p.state_zero_point)
    acc = np.einsum("bfm,fm->bf", centred, p.weights_time.astype(np.int64))  # [batch, F]
    acc = acc.reshape(p.batch, p.num_units, p.rank).sum(axis=-1, dtype=np.int64)
    acc = fp.wrap_int32(acc + p.bias.astype(np.int64))
    y = fp.multiply_by_quantized_multiplier(acc, p.multiplier_2, p.shift_2, p.rounding)
    return np.clip(y + np.int64(p.output_zero_point), -128, 127).astype(np.int8)
