"""SOFTMAX with int16 input and output (TFLM softmax_common.cc + reference_ops::SoftmaxInt16).

Prepare: input_multiplier/shift = QuantizeMultiplier(double(s_in) * double(beta) /
(10.0 / 65535.0)) (input differences [-65535, 0] map to [-10, 0]); the output must be
(1/32768, 0). Two 513-entry LUTs, the same for every model, built by LUTPopulate<int16_t> in
float32 arithmetic: exp on [-10, 0] and 1 / (1 + x) on [0, 1], both to the symmetric output
range [-1, 1]; each of the 512 steps stores round(f(x) * s) minus half the midpoint error of
linear interpolation.

Eval per row: max; exp_c = LUTLookup(clamp(MBQM(x_c - max) + 32767)) (9-bit index, 7-bit
interpolation); sum in int32; headroom = clz(sum); the sum normalized to
((sum << (headroom - 1)) + 2^13) >> 14, recentred by -(2^15 + 2^16), clamped, through the
1/(1+x) LUT; out_c = clamp((exp_c * recip + 2^(30 - headroom)) >> (31 - headroom), 0, 32767).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .. import fixedpoint as fp
from ..registry import register, unsupported
from .linear16 import check_activation16, check_profile16

F = np.float32


def _roundf(x):
    """roundf / round: half away from zero, in x's float type."""
    return type(x)(fp.round_away(float(x)))


def _expf(x: np.float32) -> np.float32:
    """expf of a float32, correctly rounded (exp in double, rounded once to float)."""
    return F(np.exp(np.float64(x)))


def _recipf(x: np.float32) -> np.float32:
    return F(F(1.0) / F(F(1.0) + x))


def lut_populate16(transform, input_scale: np.float32, input_zp: int,
                   output_scale: np.float32, output_zp: int, F=np.float32) -> np.ndarray:
    """LUTPopulateInt16<FloatT>: 513 int16 entries, every operation in F (float32 for TFLite
    Micro, float64 for LiteRT's double overload)."""
    input_min = F(input_scale * F(-32768 - input_zp))
    input_max = F(input_scale * F(32767 - input_zp))
    output_min = F(output_scale * F(-32768 - output_zp))
    output_max = F(output_scale * F(32767 - output_zp))
    steps = 512
    step = F(F(input_max - input_min) / F(steps))
    half = F(step / F(2))
    inv = F(F(65536) / F(output_max - output_min))
    lut = np.empty(steps + 1, np.int16)
    for i in range(steps):
        x = F(input_min + F(F(i) * step))
        val = transform(x)
        mid = transform(F(x + half))
        nxt = transform(F(input_min + F(F(i + 1) * step)))
        sample = _roundf(F(val * inv))
        interp = _roundf(F(F(F(nxt * inv) + _roundf(F(val * inv))) / F(2)))
        err = F(interp - _roundf(F(mid * inv)))
        bias = _roundf(F(err / F(2)))
        lut[i] = int(min(max(F(sample - bias), F(-32768)), F(32767)))
    lut[steps] = int(min(max(_roundf(F(transform(input_max) * inv)), F(-32768)), F(32767)))
    return lut


@functools.lru_cache(maxsize=None)
def softmax_luts(double: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(exp LUT, 1/(1+x) LUT) of TFLite Micro's int16 SOFTMAX (float32 LUTPopulate), or with
    double=True LiteRT's (LUTPopulate<int16_t> on double, std::exp in double)."""
    rng = 32767 - (-32768)
    if double:
        D = np.float64
        exp_lut = lut_populate16(lambda v: D(np.exp(v)), D(10.0 / rng), 32767, D(2.0 / rng), 0,
                                 D)
        rec_lut = lut_populate16(lambda v: D(1.0 / (1.0 + v)), D(1.0 / rng), -32768,
                                 D(2.0 / rng), 0, D)
        exp_lut.setflags(write=False)
        rec_lut.setflags(write=False)
        return exp_lut, rec_lut
    exp_lut = lut_populate16(_expf, F(F(10.0) / F(rng)), 32767, F(F(2.0) / F(rng)), 0)
    rec_lut = lut_populate16(_recipf, F(F(1.0) / F(rng)), -32768, F(F(2.0) / F(rng)), 0)
    exp_lut.setflags(write=False)
    rec_lut.setflags(write=False)
    return exp_lut, rec_lut


def lut_lookup16(value: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """LUTLookup(int16, lut): index 256 + (v >> 7), 7-bit linear interpolation (int)."""
    v = np.asarray(value, np.int64)
    index = 256 + (v >> 7)
    offset = v & 0x7F
    base = lut[index].astype(np.int64)
    slope = lut[index + 1].astype(np.int64) - base
    return ((base + ((slope * offset + 64) >> 7) + 32768) & 0xFFFF) - 32768  # int16 cast


@dataclass
class Softmax16Params:
    input_multiplier: int
    input_shift: int
    output_shape: tuple[int, ...]
    double_luts: bool = False  # LiteRT's tables (profile fc_double_rescale/tflite_activations)


@register("SOFTMAX", activations="INT16")
class Softmax16:
    @staticmethod
    def prepare(op, model, profile=None) -> Softmax16Params:
        check_profile16(op, model, profile)
        x = model.op_inputs(op)[0]
        (y,) = model.op_outputs(op)
        check_activation16(op, model, (x, y))
        if abs(float(F(y.scale)) - 1.0 / 32768) > 0.001 / 32768:
            raise unsupported(op, model, f"output scale {y.scale:g} is not 1/32768",
                              "TFLite Micro's int16 SOFTMAX needs output (1/32768, 0); "
                              "re-convert the model")
        if x.shape != y.shape or not x.shape:
            raise unsupported(op, model, f"input {list(x.shape)} / output {list(y.shape)}",
                              "SOFTMAX keeps its input's shape")
        beta = float(F(op.options.get("beta", 1.0)))
        real = float(np.float64(F(x.scale)) * np.float64(beta) / (10.0 / 65535.0))
        m, s = fp.quantize_multiplier(real)
        double = bool(getattr(profile, "tflite_activations", False))
        softmax_luts(double)
        return Softmax16Params(m, s, tuple(y.shape), double)

    @staticmethod
    def run(p: Softmax16Params, inputs):
        x = inputs[0]
        depth = p.output_shape[-1]
        rows = x.reshape(-1, depth).astype(np.int64)
        exp_lut, rec_lut = softmax_luts(p.double_luts)
        diff = rows - rows.max(axis=1, keepdims=True)
        scaled = fp.multiply_by_quantized_multiplier(diff, p.input_multiplier, p.input_shift)
        sym = np.clip(scaled + 32767, -32768, 32767)
        exps = lut_lookup16(sym, exp_lut)
        total = exps.sum(axis=1)  # int32, positive: at most depth * 32767
        total = fp.wrap_int32(total)
        clz = np.array([32 - int(v).bit_length() if v > 0 else 32 for v in
                        (total & 0xFFFFFFFF)], np.int64)
        shifted = ((total << (clz - 1)) + (1 << 13)) >> 14
        sym_sum = np.clip(shifted - ((1 << 15) + (1 << 16)), -32768, 32767)
        recip = lut_lookup16(sym_sum, rec_lut)
        right = (31 - clz)[:, None]
        out = (exps * recip[:, None] + (np.int64(1) << (right - 1))) >> right
        out = np.clip(fp.wrap_int32(out), 0, 32767).astype(np.int16)
        return [out.reshape(x.shape[0], *p.output_shape)]
