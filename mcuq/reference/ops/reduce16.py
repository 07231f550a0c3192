"""MEAN on int16 (zero point 0): TFLite Micro's EvalIntegerMean<int16_t> is the int8 kernel's
QuantizedMeanOrSum (reduce.py) with int16 bounds: the int32 sum over the reduced axes
(at most 2, rank at most 5), MultiplyByQuantizedMultiplier with 1/n folded into the multiplier
of s_in / s_out, clamped to int16."""
from __future__ import annotations

import numpy as np

from .. import fixedpoint as fp
from ..registry import register, unsupported
from .linear16 import INT16_MAX, INT16_MIN, check_activation16, check_profile16
from .reduce import MeanParams, fold_count, mean_axes


@register("MEAN", activations="INT16")
class Mean16:
    @staticmethod
    def prepare(op, model, profile=None) -> MeanParams:
        check_profile16(op, model, profile)
        x, ax = model.op_inputs(op)[:2]
        (y,) = model.op_outputs(op)
        check_activation16(op, model, (x, y))
        axes, count = mean_axes(op, model, x, ax, y)
        if count == 0:
            raise unsupported(op, model, f"output {list(y.shape)} does not match input "
                              f"{list(x.shape)} reduced over {list(axes)}",
                              "re-convert the model")
        m, s = fp.quantize_multiplier(float(np.float64(np.float32(x.scale))
                                            / np.float64(np.float32(y.scale))))
        m, s = fold_count(m, s, count)
        return MeanParams(axes, count, 0, 0, int(m), int(s), tuple(x.shape), tuple(y.shape))

    @staticmethod
    def run(p: MeanParams, inputs):
        x = inputs[0]
        batch = x.shape[0]
        total = x.sum(axis=tuple(a + 1 for a in p.axes), dtype=np.int64)
        total = fp.wrap_int32(total).reshape(batch, -1)
        v = fp.multiply_by_quantized_multiplier(total, p.multiplier, p.shift)
        out = np.clip(v, INT16_MIN, INT16_MAX).astype(np.int16)
        return [out.reshape(batch, *p.output_shape)]
