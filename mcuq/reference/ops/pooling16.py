"""AVERAGE_POOL_2D and MAX_POOL_2D on int16 (TFLM reference_integer_ops::AveragePool /
MaxPool, int16 overloads): the int8 kernels' arithmetic with int16 bounds. Average: the int32
sum of the taps inside the image divided by their count, rounded half away from zero; max:
the largest tap inside the image (padding never wins: it starts at -32768); then the fused
activation's int16 range."""
from __future__ import annotations

import numpy as np

from .. import fixedpoint as fp
from ..registry import register, unsupported
from .linear16 import INT16_MAX, INT16_MIN, check_activation16, check_profile16
from .pooling import PoolParams, _valid_counts, _windows, pool_geometry, round_div_away


def _prepare16(op, model) -> PoolParams:
    x = model.op_inputs(op)[0]
    (y,) = model.op_outputs(op)
    check_activation16(op, model, (x, y))
    if abs(float(np.float32(x.scale)) - float(np.float32(y.scale))) > 1e-6:
        raise unsupported(op, model, f"input scale {x.scale} differs from the output's "
                          f"{y.scale}", "TFLite Micro requires equal input and output "
                          "quantization for pooling; re-convert the model")
    fh, fw, sh, sw, pad = pool_geometry(op, model, x, y)
    lo, hi = fp.activation_range(op.options.get("fused_activation_function", "NONE"),
                                 y.scale, 0, INT16_MIN, INT16_MAX)
    return PoolParams(fh, fw, sh, sw, pad, lo, hi, tuple(x.shape), tuple(y.shape))


@register("AVERAGE_POOL_2D", activations="INT16")
class AveragePool2D16:
    @staticmethod
    def prepare(op, model, profile=None) -> PoolParams:
        check_profile16(op, model, profile)
        return _prepare16(op, model)

    @staticmethod
    def run(p: PoolParams, inputs):
        x = inputs[0]
        acc = _windows(p, x, 0).sum(axis=(4, 5), dtype=np.int64)
        h, w = p.input_shape[1:3]
        ch = _valid_counts(h, p.padding.out_h, p.stride_h, p.padding.pad_h, p.filter_h)
        cw = _valid_counts(w, p.padding.out_w, p.stride_w, p.padding.pad_w, p.filter_w)
        count = (ch[:, None] * cw[None, :])[None, :, :, None]
        out = np.clip(round_div_away(acc, count), p.act_min, p.act_max).astype(np.int16)
        return [out.reshape(x.shape[0], *p.output_shape)]


@register("MAX_POOL_2D", activations="INT16")
class MaxPool2D16:
    @staticmethod
    def prepare(op, model, profile=None) -> PoolParams:
        check_profile16(op, model, profile)
        return _prepare16(op, model)

    @staticmethod
    def run(p: PoolParams, inputs):
        x = inputs[0]
        out = np.clip(_windows(p, x, INT16_MIN).max(axis=(4, 5)), p.act_min, p.act_max)
        return [out.astype(np.int16).reshape(x.shape[0], *p.output_shape)]
