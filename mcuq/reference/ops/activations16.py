"""RELU, RELU6, LEAKY_RELU on int16 (zero point 0): the int8 kernels' arithmetic
(activations.py) with int16 bounds, as TFLite Micro's ReluQuantized<int16_t> /
Relu6Quantized<int16_t> / QuantizeLeakyRelu<int16_t> templates compute it.

RELU       clamp(MBQM(x, double(s_in) / double(s_out), ...), 0, 32767)
RELU6      clamp(x, 0, round(6.0f / s_in)) in the input's quantization (the output's ignored)
LEAKY_RELU x >= 0 ? MBQM(x, identity) : MBQM(x, alpha) (negated product for alpha < 0)
"""
from __future__ import annotations

import numpy as np

from .. import fixedpoint as fp
from ..registry import register, unsupported
from .activations import LeakyReluParams, Relu6Params, ReluParams
from .linear16 import INT16_MAX, INT16_MIN, check_activation16, check_profile16


def _pair16(op, model):
    x = model.op_inputs(op)[0]
    (y,) = model.op_outputs(op)
    check_activation16(op, model, (x, y))
    if x.size != y.size:
        raise unsupported(op, model, f"input has {x.size} elements, output {y.size}",
                          "the op is elementwise: input and output shapes must match")
    return x, y


@register("RELU", activations="INT16")
class Relu16:
    @staticmethod
    def prepare(op, model, profile=None) -> ReluParams:
        check_profile16(op, model, profile)
        x, y = _pair16(op, model)
        real = float(np.float64(np.float32(x.scale)) / np.float64(np.float32(y.scale)))
        mult, shift = fp.quantize_multiplier(real)
        return ReluParams(input_offset=0, output_offset=0, multiplier=mult, shift=shift,
                          act_min=0, act_max=INT16_MAX, output_shape=tuple(y.shape))

    @staticmethod
    def run(p: ReluParams, inputs):
        x = inputs[0].astype(np.int64)
        v = fp.multiply_by_quantized_multiplier(x, p.multiplier, p.shift)
        out = np.clip(v, p.act_min, p.act_max).astype(np.int16)
        return [out.reshape(x.shape[0], *p.output_shape)]


@register("RELU6", activations="INT16")
class Relu616:
    @staticmethod
    def prepare(op, model, profile=None) -> Relu6Params:
        check_profile16(op, model, profile)
        x, y = _pair16(op, model)
        q = float(np.float32(6.0) / np.float32(x.scale))
        upper = int(np.clip(int(fp.round_away(q)), INT16_MIN, INT16_MAX))
        return Relu6Params(lower=0, upper=upper, output_shape=tuple(y.shape))

    @staticmethod
    def run(p: Relu6Params, inputs):
        x = inputs[0]
        out = np.clip(x.astype(np.int64), p.lower, p.upper).astype(np.int16)
        return [out.reshape(x.shape[0], *p.output_shape)]


@register("LEAKY_RELU", activations="INT16")
class LeakyRelu16:
    @staticmethod
    def prepare(op, model, profile=None) -> LeakyReluParams:
        check_profile16(op, model, profile)
        x, y = _pair16(op, model)
        alpha = np.float64(np.float32(op.options.get("alpha", 0.0)))
        s_in, s_out = np.float64(np.float32(x.scale)), np.float64(np.float32(y.scale))
        m_a, s_a = fp.quantize_multiplier(float(s_in * alpha / s_out))
        m_i, s_i = fp.quantize_multiplier(float(s_in / s_out))
        return LeakyReluParams(input_offset=0, output_offset=0, multiplier_identity=m_i,
                               shift_identity=s_i, multiplier_alpha=m_a, shift_alpha=s_a,
                               output_shape=tuple(y.shape))

    @staticmethod
    def run(p: LeakyReluParams, inputs):
        x = inputs[0]
        v = x.astype(np.int64)
        pos = fp.multiply_by_quantized_multiplier(v, p.multiplier_identity, p.shift_identity)
        negative = p.multiplier_alpha < 0
        safe = int(fp.wrap_int32(-p.multiplier_alpha)) if negative else p.multiplier_alpha
        neg = fp.multiply_by_quantized_multiplier(v, safe, p.shift_alpha)
        if negative:
            neg = fp.wrap_int32(-neg)
        out = np.clip(fp.wrap_int32(np.where(v >= 0, pos, neg)), INT16_MIN, INT16_MAX)
        return [out.astype(np.int16).reshape(x.shape[0], *p.output_shape)]
