"""What a test case exercises beyond the kernel path the emitter chose (CCall.paths): zero
point edges and whether an int32 accumulator actually wraps on the case's inputs.

The accumulators are recomputed here in int64 from the reference's prepared parameters
(sum of (x - input_zero_point) * w over the taps inside the image, plus the bias), so "wraps"
means: TFLite Micro's int32 accumulator leaves the int32 range on these very inputs.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from ..model import load_model
from ..reference import Interpreter

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def _conv_acc(p, x: np.ndarray) -> np.ndarray:
    from ..reference.ops.conv import windows

    x = x.reshape(-1, *p.input_shape[1:])  # (B * N, H, W, C)
    zp = -p.input_offset
    k_h, k_w = p.weights.shape[1], p.weights.shape[2]
    v = windows(x, zp, k_h, k_w, p.stride_h, p.stride_w, p.dilation_h, p.dilation_w,
                p.padding).astype(np.int64) - zp  # (N, oh, ow, C, kh, kw); padding -> 0
    w = p.weights.astype(np.int64)
    if p.depthwise:  # w: (1, kh, kw, C*M); output o reads input channel o // M
        src = np.arange(w.shape[3]) // p.depth_multiplier
        acc = np.einsum("nyxokl,klo->nyxo", v[:, :, :, src], w[0])
    else:  # w: (O, kh, kw, Ci); groups of Ci input channels
        fid = p.filter_input_depth
        per_group = w.shape[0] // (p.input_shape[3] // fid)
        parts = []
        for o0 in range(0, w.shape[0], per_group):
            c0 = (o0 // per_group) * fid
            parts.append(np.einsum("nyxckl,oklc->nyxo",
                                   v[:, :, :, c0:c0 + fid], w[o0:o0 + per_group]))
        acc = np.concatenate(parts, axis=-1)
    if p.bias is not None:
        acc = acc + p.bias.astype(np.int64)
    return acc


def _fc_acc(p, x: np.ndarray) -> np.ndarray:
    rows = x.reshape(-1, p.accum_depth).astype(np.int64) + p.input_offset
    acc = rows @ p.weights.astype(np.int64).T
    if p.bias is not None:
        acc = acc + p.bias.astype(np.int64)
    return acc


def case_features(model, inputs: list[np.ndarray]) -> set[str]:
    """Labels such as "conv/acc-wraps", "zero-point:-128" for one case (inputs (B, *shape))."""
    m = load_model(model)
    interp = Interpreter(m)
    values = interp.run(inputs, keep_intermediates=True).intermediates
    for i, x in zip(m.inputs, inputs):
        values[i] = x
    labels = set()
    for op in m.operators:
        for t in (m.tensors[i] for i in list(op.inputs[:1]) + list(op.outputs) if i >= 0):
            if t.quant is not None and t.zero_point in (-128, 127, 0):
                labels.add(f"zero-point:{t.zero_point}")
        p = interp.params(op.index)
        if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            acc = _conv_acc(p, values[op.inputs[0]])
            fam = "depthwise" if p.depthwise else "conv"
        elif op.opcode == "FULLY_CONNECTED":
            acc = _fc_acc(p, values[op.inputs[0]])
            fam = "fully_connected"
        else:
            continue
        if acc.size and (acc.min() < INT32_MIN or acc.max() > INT32_MAX):
            labels.add(f"{fam}/acc-wraps")
    return labels


def coverage_table(hits: Counter, required: set[str] | None = None) -> str:
    """A printable table: label, cases, and "MISSING" for required labels never hit."""
    labels = sorted(set(hits) | set(required or ()))
    width = max((len(label) for label in labels), default=10)
    lines = [f"{'path / feature':<{width}}  cases"]
    for label in labels:
        n = hits.get(label, 0)
        mark = "  MISSING" if required and label in required and not n else ""
        lines.append(f"{label:<{width}}  {n:5d}{mark}")
    return "\n".join(lines)
