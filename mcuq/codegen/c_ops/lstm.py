"""UNIDIRECTIONAL_SEQUENCE_LSTM -> firmware/kernels/lstm.c (int8 with an int16 cell state, or
16x8). The hidden and cell states are the model's variable tensors (static state buffers);
the gates' four int16 vectors live in the shared kernel scratch (EmitContext.scratch)."""
from __future__ import annotations

import numpy as np

from ..climits import c_multiplier
from ..cmodel import c_emitter


@c_emitter("UNIDIRECTIONAL_SEQUENCE_LSTM", "UNIDIRECTIONAL_SEQUENCE_LSTM:INT16")
def emit_lstm(ctx, op, p):
    from ...reference.ops.sigmoid_tanh16 import SIGMOID_TABLE_U16

    ctx.use("lstm", "sigmoid_tanh16", "linear16")
    table = ctx.array("sigmoid", (SIGMOID_TABLE_U16 - 32768).astype(np.int16),
                      comment="TFLite Micro's sigmoid table (0.16) minus 32768")
    wide = p.int16_activations

    def gate(g) -> str:
        w = ctx.array(f"{g.name}_w", g.in_weights.reshape(-1).astype(np.int8),
                      comment=f"{g.name} gate: input weights")
        r = ctx.array(f"{g.name}_r", g.rec_weights.reshape(-1).astype(np.int8),
                      comment=f"{g.name} gate: recurrent weights")
        b = ctx.array(f"{g.name}_b", g.bias.astype(np.int64 if wide else np.int32))
        mi, si = c_multiplier(g.in_multiplier, g.in_shift)
        mr, sr = c_multiplier(g.rec_multiplier, g.rec_shift)
        b32, b64 = ("NULL", b) if wide else (b, "NULL")
        return f"{{{w}, {r}, {b32}, {b64}, {mi}, {si}, {mr}, {sr}}}"

    fields = {"time_major": int(p.time_major), "batch": p.batch, "steps": p.steps,
              "n_input": p.n_input, "n_state": p.n_state, "input_offset": p.input_offset,
              "hidden_offset": p.hidden_offset, "hidden_zero_point": p.hidden_zero_point,
              "hidden_min": p.hidden_min, "hidden_max": p.hidden_max}
    for g in p.gates:
        fields[g.name] = gate(g)
    for name, (m, s) in (("forget", p.forget_mul), ("input", p.input_mul),
                         ("output", p.output_mul)):
        fields[f"{name}_multiplier"], fields[f"{name}_shift"] = c_multiplier(m, s)
    tm, ts = p.tanh_params()
    fields.update({"cell_clip": p.cell_clip, "tanh_multiplier": tm, "tanh_left_shift": ts,
                   "table": table})
    # struct field order as in lstm.h
    order = ["time_major", "batch", "steps", "n_input", "n_state", "input_offset",
             "hidden_offset", "hidden_zero_point", "hidden_min", "hidden_max", "forget",
             "input", "cell", "output", "cell_clip", "forget_multiplier", "forget_shift",
             "input_multiplier", "input_shift", "output_multiplier", "output_shift",
             "tanh_multiplier", "tanh_left_shift", "table"]
    params = ctx.params("mcuq_lstm_params_t", {k: fields[k] for k in order})
    scratch = f"(int16_t *){ctx.scratch(4 * p.n_state * 2)}"
    fn = "mcuq_lstm_s16" if wide else "mcuq_lstm_s8"
    ctx.path("lstm/s16" if wide else "lstm/s8")
    hidden, cell = op.inputs[18], op.inputs[19]
    return [f"{fn}({params}, {ctx.ptr(op.inputs[0])}, {ctx.ptr(hidden, True)}, "
            f"{ctx.ptr(cell, True)}, {ctx.ptr(op.outputs[0], True)}, {scratch});"]
