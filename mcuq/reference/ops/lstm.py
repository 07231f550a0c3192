"""UNIDIRECTIONAL_SEQUENCE_LSTM, integer (TFLite Micro's unidirectional_sequence_lstm.cc with
lstm_eval.h / lstm_eval.cc / lstm_eval_common.cc): int8 activations and weights with an int16
cell state and int32 biases (what TFLiteConverter makes of a Keras LSTM), or 16x8 (int16
activations, int8 weights, int64 biases, int16 cell state).

Prepare (PrepareGateParametersInteger): each of the four gates has two fully connected parts,
input -> gate and hidden state -> gate, both requantized to int16 at the fixed scale 2^-12
(Q3.12) with QuantizeMultiplier(s_in * s_w / 2^-12) (no bias on the recurrent part); the
products between gates (all in Q0.15, 2^-15) take QuantizeMultiplier of
2^-15 * s_cell / s_cell (forget x cell), 2^-30 / s_cell (input x cell gate) and
2^-30 / s_hidden (tanh(cell) x output gate -> hidden state, with the hidden zero point and
its type's range). cell_state_scale_power = round(log2(s_cell)) (CheckedLog2, float32); the
cell clip becomes int16(clamp(double(clip) / double(s_cell))) when clip > 0.

Eval, per time step (batch rows independent, states updated in place):
  gate_g = act_g(sat16(FC(x_t, W_g, b_g) + FC(h, R_g)))   act: LOGISTIC (forget, input,
           output) or TANH (cell gate: the option's activation), as TFLite Micro's int16
           LOGISTIC/TANH with the power-of-two input scale 2^-12 (multiplier 3, no shift)
  c = sat16(MUL(f, c) + MUL(i, g)), clipped to +-quantized clip if clip > 0
  h = MUL(TANH_{2^power}(c), o)      (the output gate uses h before this update)
  y_t = h
where FC is reference_integer_ops::FullyConnected (acc = sum(w * (x - zp_x)) + bias, int32
or int64, MultiplyByQuantizedMultiplier, clamp to int16) and MUL is MulElementwise
(MultiplyByQuantizedMultiplier(a * b) + zp, clamp). The hidden state (input 18) and the cell
state (input 19) are variable tensors: they keep their values across invocations.

TFLite Micro refuses peephole, projection, layer-norm and CIFG (no input gate) variants at
Prepare; so does mcuq (exit 3, naming the op). The int16 TANH/LOGISTIC are
mcuq.reference.ops.sigmoid_tanh16's (TFLite Micro's LUT, measured).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import fixedpoint as fp
from ..registry import Signature, register, unsupported
from .linear16 import mbqm64
from .sigmoid_tanh16 import SigmoidTanh16Params, checked_log2, sigmoid_tanh16

INPUTS = ("input",
          "input_to_input_weights", "input_to_forget_weights", "input_to_cell_weights",
          "input_to_output_weights",
          "recurrent_to_input_weights", "recurrent_to_forget_weights",
          "recurrent_to_cell_weights", "recurrent_to_output_weights",
          "cell_to_input_weights", "cell_to_forget_weights", "cell_to_output_weights",
          "input_gate_bias", "forget_gate_bias", "cell_gate_bias", "output_gate_bias",
          "projection_weights", "projection_bias",
          "output_state", "cell_state",
          "input_layer_norm_coefficients", "forget_layer_norm_coefficients",
          "cell_layer_norm_coefficients", "output_layer_norm_coefficients")
#: TFLite Micro's gate order in LstmStep (forget, input, cell, output) as indices of the
#: input -> gate weights; recurrent weights are at +4, biases at +11 from those.
GATES = (("forget", 2), ("input", 1), ("cell", 3), ("output", 4))
HIDDEN, CELL = 18, 19
GATE_SCALE = 2.0 ** -12  # Q3.12: the fully connected parts' output scale
ACT_SCALE = 2.0 ** -15  # Q0.15: the gates' outputs

#: Why the reference has no litert profile for the LSTM (measured, tests/test_lstm.py).
LITERT_DIFFERENCE = (
    "LiteRT's integer LSTM (TFLite's lstm_eval.cc) computes the gates' sigmoid and tanh in "
    "gemmlowp fixed point, not with TFLite Micro's interpolated table (random LSTMs: up to 2 "
    "LSB apart), and leaves tanh(cell) uncomputed for a cell state scale below 2^-15 (a Keras "
    "LSTM whose cell stays under 0.5: saturated outputs); compare with tflm "
    "(verify --runners reference,tflm,host,cortex-m4)")

SIGNATURE = Signature(
    inputs=INPUTS,
    optional=("input_to_input_weights", "recurrent_to_input_weights",
              "cell_to_input_weights", "cell_to_forget_weights", "cell_to_output_weights",
              "input_gate_bias", "projection_weights", "projection_bias",
              "input_layer_norm_coefficients", "forget_layer_norm_coefficients",
              "cell_layer_norm_coefficients", "output_layer_norm_coefficients"),
    constant=INPUTS[1:9] + INPUTS[12:16], all_positions=True)


@dataclass
class GateParams:
    name: str
    in_weights: np.ndarray  # int8 (state, input)
    bias: np.ndarray  # int32 or int64 (state,)
    in_multiplier: int
    in_shift: int
    rec_weights: np.ndarray  # int8 (state, state)
    rec_multiplier: int
    rec_shift: int


@dataclass
class LstmParams:
    int16_activations: bool  # 16x8: int16 input/hidden/output, int64 biases
    time_major: bool
    batch: int
    steps: int
    n_input: int
    n_state: int
    input_offset: int  # -input zero point
    hidden_offset: int  # -hidden state zero point (the recurrent FC's input offset)
    hidden_zero_point: int
    hidden_min: int
    hidden_max: int
    gates: tuple[GateParams, ...]  # forget, input, cell, output
    cell_gate_tanh: bool  # the cell gate's activation: TANH (else LOGISTIC)
    cell_scale_power: int
    cell_clip: int  # quantized clip (0: no clipping)
    forget_mul: tuple[int, int]  # (multiplier, shift): forget gate x cell state
    input_mul: tuple[int, int]  # input gate x cell gate
    output_mul: tuple[int, int]  # tanh(cell) x output gate -> hidden
    output_shape: tuple[int, ...]

    def tanh_params(self) -> tuple[int, int]:
        """(multiplier, left_shift) of the int16 TANH of the cell state (lstm_eval.cc Tanh):
        input_left_shift = 15 + power - 3; negative: multiplier 3 and that right shift;
        else the power-of-two case, multiplier 3 << shift."""
        shift = 15 + self.cell_scale_power - 3
        return (3, -shift) if shift < 0 else (3 << shift, 0)


def _scale(t) -> float:
    return float(np.float32(t.scale))


def _per_tensor(op, model, t, what: str) -> None:
    if t.quant is None or t.quant.scale.size != 1:
        raise unsupported(op, model, f"{what} '{t.label}' is not quantized per tensor",
                          "TFLite Micro's integer LSTM takes one scale per tensor; convert "
                          "the Keras LSTM with mcuq convert")


def _prepare(op, model) -> LstmParams:
    from ..registry import check_signature

    ins = check_signature(op, model, SIGNATURE)
    (y,) = model.op_outputs(op)
    x = ins[0]
    absent = [INPUTS[k] for k in (1, 5, 12) if ins[k] is None]
    if absent:
        raise unsupported(op, model, "no input gate (CIFG: " + ", ".join(absent) + " omitted)",
                          "TFLite Micro's LSTM needs all four gates; use a standard Keras LSTM")
    variant = [INPUTS[k] for k in (9, 10, 11, 16, 17, 20, 21, 22, 23) if ins[k] is not None]
    if variant:
        raise unsupported(op, model, "peephole, projection or layer-norm inputs ("
                          + ", ".join(variant) + ")",
                          "TFLite Micro's LSTM supports only the standard (Keras) LSTM")
    hidden, cell = ins[HIDDEN], ins[CELL]
    for t, what in ((hidden, "output_state"), (cell, "cell_state")):
        if t is None or not t.is_variable or t.data is not None:
            raise unsupported(op, model, f"{what} is not a variable tensor",
                              "the LSTM's states must be variable tensors (TFLite Micro "
                              "checks is_variable); re-convert the model")
    act = x.type_name
    if act not in ("INT8", "INT16"):
        raise unsupported(op, model, f"input '{x.label}' is {act}",
                          "convert with int8 (or 16x8) activations: mcuq convert")
    for t, what in ((hidden, "output_state"), (y, "output")):
        if t.type_name != act:
            raise unsupported(op, model, f"{what} '{t.label}' is {t.type_name}, the input "
                              f"is {act}", "the model file is inconsistent; re-convert it")
    if cell.type_name != "INT16":
        raise unsupported(op, model, f"cell state '{cell.label}' is {cell.type_name}",
                          "TFLite Micro's quantized LSTM keeps an int16 cell state")
    for t, what in ((x, "input"), (hidden, "output_state"), (cell, "cell_state")):
        _per_tensor(op, model, t, what)
    if cell.zero_point != 0:
        raise unsupported(op, model, f"cell state zero point {cell.zero_point}",
                          "the int16 cell state is symmetric; re-convert the model")
    if act == "INT16" and (x.zero_point != 0 or hidden.zero_point != 0):
        raise unsupported(op, model, "int16 activations with a zero point",
                          "16x8 activations are symmetric; convert with --activations int16")
    opts = op.options
    time_major = bool(opts.get("time_major", False))
    if len(x.shape) != 3 or len(y.shape) != 3:
        raise unsupported(op, model, f"input shape {list(x.shape)}, output shape "
                          f"{list(y.shape)}", "the LSTM takes and gives 3-D tensors")
    batch, steps = (x.shape[1], x.shape[0]) if time_major else (x.shape[0], x.shape[1])
    n_input = x.shape[2]
    n_state = hidden.shape[-1] if hidden.shape else 0
    if len(hidden.shape) != 2:
        raise unsupported(op, model, f"output_state shape {list(hidden.shape)}",
                          "the hidden state is (batch, units)")
    if hidden.size != batch * n_state or cell.size != batch * n_state:
        raise unsupported(op, model, f"states of {hidden.size} and {cell.size} elements for "
                          f"batch {batch} x {n_state} units",
                          "the model file is inconsistent; re-convert it")
    if tuple(y.shape[:2]) != tuple(x.shape[:2]) or y.shape[2] != n_state:
        raise unsupported(op, model, f"output shape {list(y.shape)} for input "
                          f"{list(x.shape)} and {n_state} units",
                          "the model file is inconsistent; re-convert it")
    bias_type = "INT64" if act == "INT16" else "INT32"
    act_fn = opts.get("fused_activation_function", "TANH")
    if act_fn != "TANH":  # the file format has no SIGMOID; TFLite Micro asserts on others
        raise unsupported(op, model, f"cell gate activation {act_fn}",
                          "TFLite Micro's LSTM computes TANH cell gates only (Keras LSTM's "
                          "default activation='tanh')")
    clip = float(np.float32(opts.get("cell_clip", 0.0)))
    if clip < 0:
        raise unsupported(op, model, f"cell_clip {clip:g} < 0",
                          "the model file is inconsistent; re-convert it")
    gates = []
    s_x, s_h, s_c = _scale(x), _scale(hidden), _scale(cell)
    for name, k in GATES:
        w, r, b = ins[k], ins[k + 4], ins[k + 11]
        for t, shape in ((w, (n_state, n_input)), (r, (n_state, n_state)), (b, (n_state,))):
            if tuple(t.shape) != shape:
                raise unsupported(op, model, f"{name} gate tensor '{t.label}' has shape "
                                  f"{list(t.shape)}, expected {list(shape)}",
                                  "the model file is inconsistent; re-convert it")
        for t in (w, r):
            if t.type_name != "INT8":
                raise unsupported(op, model, f"weights '{t.label}' are {t.type_name}",
                                  "TFLite Micro's integer LSTM takes int8 weights")
            _per_tensor(op, model, t, "weights")
            if t.zero_point != 0:
                raise unsupported(op, model, f"weights '{t.label}' have zero point "
                                  f"{t.zero_point}", "LSTM weights are symmetric; re-convert")
        if b.type_name != bias_type:
            raise unsupported(op, model, f"bias '{b.label}' is {b.type_name}",
                              f"with {act.lower()} activations the LSTM's biases are "
                              f"{bias_type.lower()}")
        # CreateGateParams: QuantizeMultiplier(double(s_in) * double(s_w) / double(2^-12))
        mi, si = fp.quantize_multiplier(s_x * _scale(w) / GATE_SCALE)
        mr, sr = fp.quantize_multiplier(s_h * _scale(r) / GATE_SCALE)
        if act == "INT16" and max(si, sr) > 14:
            raise unsupported(op, model, f"{name} gate multiplier shift {max(si, sr)} > 14",
                              "TFLite Micro's 64-bit requantization takes shifts up to 14; "
                              "check the tensors' scales")
        gates.append(GateParams(name, w.data.astype(np.int8), b.data.copy(), mi, si,
                                r.data.astype(np.int8), mr, sr))
    ok, power = checked_log2(s_c)
    if not ok:
        raise unsupported(op, model, f"cell state scale {s_c:g} is not a power of two",
                          "TFLite Micro's LSTM assumes one (it rounds log2 and computes "
                          "tanh(cell) at the wrong scale otherwise); re-convert the model")
    qclip = 0
    if clip > 0:
        qclip = int(min(max(clip / s_c, -32768.0), 32767.0))  # static_cast<int16_t>: trunc
    lo, hi = (-32768, 32767) if act == "INT16" else (-128, 127)
    return LstmParams(
        int16_activations=act == "INT16", time_major=time_major, batch=batch, steps=steps,
        n_input=n_input, n_state=n_state, input_offset=-x.zero_point,
        hidden_offset=-hidden.zero_point, hidden_zero_point=hidden.zero_point,
        hidden_min=lo, hidden_max=hi, gates=tuple(gates), cell_gate_tanh=True,
        cell_scale_power=power, cell_clip=qclip,
        forget_mul=fp.quantize_multiplier(ACT_SCALE * s_c / s_c),
        input_mul=fp.quantize_multiplier(ACT_SCALE * ACT_SCALE / s_c),
        output_mul=fp.quantize_multiplier(ACT_SCALE * ACT_SCALE / s_h),
        output_shape=tuple(y.shape))


def _fc(x: np.ndarray, offset: int, w: np.ndarray, bias, mult: int, shift: int,
        wide: bool) -> np.ndarray:
    """reference_integer_ops::FullyConnected to int16: x (N, D) int, w (S, D) -> (N, S) int64
    values in int16 range. int8 inputs accumulate in int32 (wrapping), int16 in int64."""
    acc = exact_dot(x.astype(np.int64) + offset, w)
    if bias is not None:
        acc = acc + bias.astype(np.int64)
    if wide:
        out = mbqm64(acc, mult, shift)
    else:
        out = fp.multiply_by_quantized_multiplier(fp.wrap_int32(acc), mult, shift)
    return np.clip(out, -32768, 32767)


def exact_dot(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """x (N, D) int64 . w (S, D)^T in exact int64."""
    return np.einsum("nd,sd->ns", x, w.astype(np.int64), dtype=np.int64)


def _mul(a: np.ndarray, b: np.ndarray, mult_shift: tuple[int, int], offset: int, lo: int,
         hi: int) -> np.ndarray:
    """MulElementwise of two int16 arrays (offsets 0) -> clamp(MBQM(a * b) + offset)."""
    prod = a.astype(np.int64) * b.astype(np.int64)
    out = fp.multiply_by_quantized_multiplier(prod, *mult_shift) + offset
    return np.clip(out, lo, hi)


def _act(x: np.ndarray, tanh: bool, multiplier: int = 3, left_shift: int = 0) -> np.ndarray:
    p = SigmoidTanh16Params(tanh, multiplier, left_shift, x.shape)
    return sigmoid_tanh16(p, x.astype(np.int16)).astype(np.int64)


def lstm_steps(p: LstmParams, x: np.ndarray, hidden: np.ndarray, cell: np.ndarray
               ) -> np.ndarray:
    """Run every time step. x (T, N, I) (time first), hidden/cell (N, S) int64 arrays updated
    in place; returns (T, N, S) int64 outputs."""
    wide = p.int16_activations
    tanh_m, tanh_s = p.tanh_params()
    out = np.empty((x.shape[0], x.shape[1], p.n_state), np.int64)
    for t in range(x.shape[0]):
        xt = x[t]
        gate = {}
        for g in p.gates:
            a = _fc(xt, p.input_offset, g.in_weights, g.bias, g.in_multiplier, g.in_shift, wide)
            r = _fc(hidden, p.hidden_offset, g.rec_weights, None, g.rec_multiplier,
                    g.rec_shift, wide)
            s = np.clip(a + r, -32768, 32767)
            gate[g.name] = (s, _act(s, g.name == "cell" and p.cell_gate_tanh))
        f, i, c_gate, o = (gate[n][1] for n in ("forget", "input", "cell", "output"))
        c = _mul(f, cell, p.forget_mul, 0, -32768, 32767)
        c = np.clip(c + _mul(i, c_gate, p.input_mul, 0, -32768, 32767), -32768, 32767)
        if p.cell_clip > 0:
            c = np.clip(c, -p.cell_clip, p.cell_clip)
        cell[...] = c
        th = _act(c, True, tanh_m, tanh_s)
        hidden[...] = _mul(th, o, p.output_mul, p.hidden_zero_point, p.hidden_min,
                           p.hidden_max)
        out[t] = hidden
    return out


def run_lstm(p: LstmParams, x: np.ndarray, hidden_state: np.ndarray, cell_state: np.ndarray
             ) -> np.ndarray:
    """One invocation per leading batch element of x (shape (B, *input shape)); the state
    arrays (B, *state shape) are updated in place. Returns (B, *output shape)."""
    B = x.shape[0]
    dtype = np.int16 if p.int16_activations else np.int8
    # rows: (B * N) independent sequences; time first
    xs = x.astype(np.int64)
    if p.time_major:  # (B, T, N, I) -> (T, B*N, I)
        seq = xs.transpose(1, 0, 2, 3).reshape(p.steps, B * p.batch, p.n_input)
    else:  # (B, N, T, I) -> (T, B*N, I)
        seq = xs.transpose(2, 0, 1, 3).reshape(p.steps, B * p.batch, p.n_input)
    h = hidden_state.reshape(B * p.batch, p.n_state).astype(np.int64)
    c = cell_state.reshape(B * p.batch, p.n_state).astype(np.int64)
    out = lstm_steps(p, seq, h, c)
    hidden_state[...] = h.reshape(hidden_state.shape).astype(dtype)
    cell_state[...] = c.reshape(cell_state.shape).astype(np.int16)
    out = out.reshape(p.steps, B, p.batch, p.n_state)
    out = out.transpose(1, 0, 2, 3) if p.time_major else out.transpose(1, 2, 0, 3)
    return np.ascontiguousarray(out).astype(dtype).reshape(B, *p.output_shape)


@register("UNIDIRECTIONAL_SEQUENCE_LSTM")
@register("UNIDIRECTIONAL_SEQUENCE_LSTM", activations="INT16")
class UnidirectionalSequenceLstm:
    SIGNATURE = SIGNATURE

    @staticmethod
    def prepare(op, model, profile=None) -> LstmParams:
        if profile is not None and getattr(profile, "rounding", "double") != "double":
            raise unsupported(op, model, f"UNIDIRECTIONAL_SEQUENCE_LSTM in the {profile.name} "
                              "profile", "mcuq's LSTM follows TFLite Micro's default double "
                              "rounding: verify/generate with --rounding double")
        if profile is not None and getattr(profile, "name", "tflm") != "tflm":
            raise unsupported(op, model, f"UNIDIRECTIONAL_SEQUENCE_LSTM in the {profile.name} "
                              "profile", LITERT_DIFFERENCE)
        return _prepare(op, model)

    @staticmethod
    def run(p: LstmParams, inputs):
        x = inputs[0]
        hidden, cell = inputs[HIDDEN], inputs[CELL]
        if hidden.shape[0] != x.shape[0]:  # not stateful here: fresh zero-point states
            raise RuntimeError("the LSTM's states must be passed per invocation")
        return [run_lstm(p, x, hidden, cell)]
