"""TANH and LOGISTIC on int16 (TFLM tanh.cc / logistic_common.cc Prepare +
reference_integer_ops::Tanh / Logistic int16): a 256-entry table of sigmoid in 0.16 fixed point
at steps of 1/24, linearly interpolated (tanh(x) = 2 sigmoid(2x) - 1).

Prepare: zero points 0; the output scale must be 2^-15 (CheckedLog2 in float32). A power-of-two
input scale with input_left_shift = 12 + log2(scale) of 0 (TANH: 0 or 1) takes multiplier
3 << shift; any other scale takes multiplier = int(s * 4096 * 3 * 2^L) with L the doublings
that bring it above 16383.5 (at most 31).
Eval: v = (x * multiplier + round) >> L; TANH looks up |v| >> 8 with 8 fraction bits, LOGISTIC
|v| >> 9 with 9; the sign folds the result around 0 (TANH) or 1/2 (LOGISTIC).

The table itself is data, not a formula (no rounding of sigmoid(k/24) reproduces all 256
entries): SIGMOID_TABLE_U16 below was MEASURED from the tflite-micro package's int16 TANH
(mcuq.testing.tflm_probe.measure_sigmoid_table; tests/reference/test_int16_ops.py re-measures
it and compares).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..registry import register, unsupported
from .linear16 import check_activation16, check_profile16

SIGMOID_TABLE_U16 = np.array([
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149,
    40794, 41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369,
    47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169,
    53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370,
    60565, 60753, 60935, 61110, 61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302,
    62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186, 63279, 63368, 63454, 63536,
    63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786,
    64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079,
    65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258,
    65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474,
    65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498,
    65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522,
    65523, 65523, 65524, 65524, 65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528,
    65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530, 65530, 65530, 65531, 65531,
    65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65534, 65534, 65534, 65535,
], np.int64)
SIGMOID_TABLE_U16.setflags(write=False)


def checked_log2(x: float) -> tuple[bool, int]:
    """CheckedLog2(float): log2 in float32, rounded; (fraction below 1e-3, rounded value)."""
    f = np.float32
    lg = f(f(np.log(np.float64(f(x)))) * f(f(1.0) / f(np.log(np.float64(f(2.0))))))
    r = f(np.trunc(lg) + np.sign(lg) * (abs(lg - np.trunc(lg)) >= 0.5))
    return bool(abs(f(lg - r)) < f(1e-3)), int(r)


@dataclass
class SigmoidTanh16Params:
    tanh: bool
    multiplier: int
    left_shift: int
    output_shape: tuple[int, ...]


def _prepare(op, model) -> SigmoidTanh16Params:
    x = model.op_inputs(op)[0]
    (y,) = model.op_outputs(op)
    check_activation16(op, model, (x, y))
    if x.size != y.size:
        raise unsupported(op, model, f"input has {x.size} elements, output {y.size}",
                          "the op is elementwise: input and output shapes must match")
    tanh = op.opcode == "TANH"
    pot, log2_in = checked_log2(float(x.scale))
    shift = 12 + log2_in
    pot = pot and (shift in ((0, 1) if tanh else (0,)))
    if pot:
        multiplier = 0
    else:
        m = float(np.float64(np.float32(x.scale))) * 4096.0 * 3.0
        shift = 0
        while m <= 32767.0 / 2.0 and shift <= 30:
            shift += 1
            m *= 2.0
        multiplier = int(m)
        if multiplier > 32767:
            raise unsupported(op, model, f"input scale {x.scale:g} is too large",
                              f"TFLite Micro's int16 {op.opcode} takes input scales up to "
                              "about 2.7 (multiplier <= 32767); re-convert the model")
    ok, log2_out = checked_log2(float(y.scale))
    if not ok or log2_out != -15:
        raise unsupported(op, model, f"output scale {y.scale:g} is not 2^-15",
                          f"TFLite Micro's int16 {op.opcode} needs output (1/32768, 0)")
    if multiplier == 0:  # the power-of-two case (Eval rewrites it)
        multiplier, shift = 3 << shift, 0
    return SigmoidTanh16Params(tanh, multiplier, shift, tuple(y.shape))


def sigmoid_tanh16(p: SigmoidTanh16Params, x: np.ndarray) -> np.ndarray:
    v = x.astype(np.int64)
    rnd = (1 << (p.left_shift - 1)) if p.left_shift > 0 else 0
    d = (v * p.multiplier + rnd) >> p.left_shift
    a = np.abs(d)
    table = SIGMOID_TABLE_U16
    bits = 8 if p.tanh else 9
    uh = a >> bits
    sat = uh >= 255
    idx = np.minimum(uh, 254)
    ua, ub = table[idx], table[idx + 1]
    ut = a & ((1 << bits) - 1)
    if p.tanh:
        r = np.where(sat, 0xFFFF << 8, (ua << 8) + ut * (ub - ua))
        r = np.where(d >= 0, r - (1 << 23) + (1 << 7), -r + (1 << 23) + (1 << 7) - 1)
        out = r >> 8  # arithmetic shift of int32
    else:
        r = np.where(sat, 0x7FFF << 10, (ua << 9) + ut * (ub - ua))
        r = np.where(d >= 0, r + (1 << 9), (1 << 25) - r + (1 << 9) - 1)
        out = (r & 0xFFFFFFFF) >> 10  # uint32
    return (((out + 32768) & 0xFFFF) - 32768).astype(np.int16)  # int16 cast


@register("TANH", "LOGISTIC", activations="INT16")
class SigmoidTanh16:
    @staticmethod
    def prepare(op, model, profile=None) -> SigmoidTanh16Params:
        check_profile16(op, model, profile)
        return _prepare(op, model)

    @staticmethod
    def run(p: SigmoidTanh16Params, inputs):
        x = inputs[0]
        return [sigmoid_tanh16(p, x).reshape(x.shape[0], *p.output_shape)]
