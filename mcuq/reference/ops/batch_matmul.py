"""BATCH_MATMUL, int8 x int8 -> int8 (attention-style products, Keras Dot/einsum exports).

TFLite Micro semantics (kernels/batch_matmul.cc, reference_ops::BatchMatMul<int8_t, int32_t>):
ranks 2..5, one type for both operands and the output, per-tensor quantization;
multiplier = QuantizeMultiplier(double(float(s_lhs * s_rhs)) / double(s_out))
(GetQuantizedConvolutionMultipler: the scale product is a float); adj_x / adj_y transpose
the last two dims of LHS / RHS; leading (batch) dims broadcast (equal or 1);
out[..., i, j] = clamp(MBQM(sum_k (lhs[..., i, k] - zp_lhs) * (rhs[..., k, j] - zp_rhs),
multiplier, shift) + zp_out, -128, 127) with the sum in int32 (no fused activation).
Either operand may be a constant tensor.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import fixedpoint as fp
from ..registry import Signature, check_signature, register, require_int8, unsupported


@dataclass
class BatchMatMulParams:
    lhs_shape: tuple[int, ...]
    rhs_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    adj_x: bool
    adj_y: bool
    lhs_offset: int
    rhs_offset: int
    output_offset: int
    multiplier: int
    shift: int
    rows: int
    cols: int
    depth: int
    rounding: str = "double"  # MultiplyByQuantizedMultiplier's (profiles.Profile.rounding)


@register("BATCH_MATMUL")
class BatchMatMul:
    SIGNATURE = Signature(inputs=("lhs", "rhs"))

    @staticmethod
    def prepare(op, model, profile) -> BatchMatMulParams:
        lhs, rhs = check_signature(op, model, BatchMatMul.SIGNATURE)
        (y,) = model.op_outputs(op)
        require_int8(op, model, (lhs, rhs, y))
        for t in (lhs, rhs, y):
            if t.quant.per_channel:
                raise unsupported(op, model, f"'{t.name}' is quantized per channel",
                                  "TFLite Micro's BATCH_MATMUL reads one scale per tensor")
        lr, rr = len(lhs.shape), len(rhs.shape)
        if not (2 <= lr <= 5 and 2 <= rr <= 5):
            raise unsupported(op, model, f"operand ranks {lr} and {rr}",
                              "TFLite Micro's BATCH_MATMUL handles ranks 2 to 5")
        rank = max(lr, rr)
        ls = (1,) * (rank - lr) + tuple(lhs.shape)
        rs = (1,) * (rank - rr) + tuple(rhs.shape)
        batch = []
        for a, c in zip(ls[:-2], rs[:-2]):
            if a != c and a != 1 and c != 1:
                raise unsupported(op, model, f"batch dims of {list(lhs.shape)} and "
                                  f"{list(rhs.shape)} do not broadcast", "re-convert the model")
            batch.append(max(a, c))
        adj_x = bool(op.options.get("adj_x", False))
        adj_y = bool(op.options.get("adj_y", False))
        rows, depth = (ls[-1], ls[-2]) if adj_x else (ls[-2], ls[-1])
        depth_r, cols = (rs[-1], rs[-2]) if adj_y else (rs[-2], rs[-1])
        if depth != depth_r:
            raise unsupported(op, model, f"inner dims {depth} and {depth_r} differ",
                              "re-convert the model")
        out = tuple(batch) + (rows, cols)
        if tuple(y.shape) != out:
            raise unsupported(op, model, f"output {list(y.shape)}, expected {list(out)}",
                              "the model file is inconsistent; re-convert it")
        product = float(np.float64(np.float32(lhs.scale) * np.float32(rhs.scale)))
        m, s = profile.quantize_multiplier(product / float(np.float64(np.float32(y.scale))))
        return BatchMatMulParams(tuple(lhs.shape), tuple(rhs.shape), out, adj_x, adj_y,
                                 -lhs.zero_point, -rhs.zero_point, y.zero_point, int(m),
                                 int(s), rows, cols, depth, profile.rounding)

    @staticmethod
    def run(p: BatchMatMulParams, inputs):
        b = inputs[0].shape[0]
        rank = len(p.output_shape)
        lhs = inputs[0].reshape(b, *(1,) * (rank - len(p.lhs_shape)), *p.lhs_shape)
        rhs = inputs[1].reshape(b, *(1,) * (rank - len(p.rhs_shape)), *p.rhs_shape)
        lhs = lhs.astype(np.int64) + p.lhs_offset
        rhs = rhs.astype(np.int64) + p.rhs_offset
        if p.adj_x:
            lhs = np.swapaxes(lhs, -1, -2)
        if p.adj_y:
            rhs = np.swapaxes(rhs, -1, -2)
        acc = fp.wrap_int32(fp.exact_matmul(lhs, rhs))  # (b, *batch, rows, cols)
        acc = np.broadcast_to(acc, (b, *p.output_shape))
        out = fp.multiply_by_quantized_multiplier(acc, p.multiplier, p.shift,
                                                  p.rounding) + p.output_offset
        return [np.ascontiguousarray(np.clip(out, -128, 127).astype(np.int8))]
