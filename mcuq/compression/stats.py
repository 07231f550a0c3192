"""What a Keras model costs before conversion: params, MACs, and estimated int8/packed bytes.

MACs count like `mcuq inspect` counts the converted ops: output positions x the kernel's
elements for Conv/Depthwise/Separable/Dense (CONV_2D: out elements x KH.KW.Cin; DEPTHWISE:
out elements x KH.KW; FULLY_CONNECTED: out elements x input depth).
Estimated bytes after conversion (the real figures come from the .tflite with --calibration):
int8 = 1 byte per kernel element + a 4-byte int32 bias per output channel (BatchNorm folds
into the kernel; other weights 1 byte each); packed = the same with each kernel stored as
k-bit indices and per-channel K-entry tables (mcuq.packing.packed_bytes), K = the most distinct
values one output channel holds.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..packing import distinct_per_row, packed_bytes
from .clustering import CLUSTERED, channel_rows
from .graph import graph_nodes

MAC_LAYERS = set(CLUSTERED)


@dataclass
class LayerCost:
    name: str
    cls: str
    channels: int | None  # output channels (last axis of the output)
    params: int
    macs: int
    int8_bytes: int
    packed_bytes: int
    distinct: int | None  # most distinct kernel values in one output channel (clustered layers)


@dataclass
class Totals:
    params: int
    macs: int
    float_bytes: int
    int8_bytes: int  # estimated
    packed_bytes: int  # estimated

    def ratio(self, other: "Totals") -> dict:
        """How many times smaller/faster `self` is than `other` (other / self)."""
        def r(a, b):
            return round(b / a, 3) if a else None
        return {"params": r(self.params, other.params), "macs": r(self.macs, other.macs),
                "float_bytes": r(self.float_bytes, other.float_bytes),
                "int8_bytes": r(self.int8_bytes, other.int8_bytes),
                "packed_bytes": r(self.packed_bytes, other.packed_bytes)}


def _named(layer) -> dict[str, np.ndarray]:
    return {w.name: np.asarray(v) for w, v in zip(layer.weights, layer.get_weights())}


def layer_costs(model) -> dict[str, LayerCost]:
    """{layer name: cost} for every layer with weights or MACs, in graph order."""
    out: dict[str, LayerCost] = {}
    for op, node in graph_nodes(model):
        cls = type(op).__name__
        weights = {k: v for k, v in (_named(op) if hasattr(op, "weights") else {}).items()
                   if v.dtype.kind == "f"}
        outs = list(node.output_tensors)
        shape = tuple(outs[0].shape) if outs else ()
        channels = int(shape[-1]) if shape and shape[-1] is not None else None
        params = int(sum(v.size for v in weights.values()))
        macs = int8 = packed = 0
        distinct = None
        if cls in MAC_LAYERS and type(op).__module__.split(".")[0] == "keras":
            positions = int(np.prod([int(d) for d in shape[1:-1]])) if len(shape) > 2 else 1
            kernels = [n for n in CLUSTERED[cls] if n in weights]
            most = []
            for n in kernels:
                w = weights[n]
                macs += positions * int(w.size)
                rows = channel_rows(cls, n, w)
                k = int(distinct_per_row(rows).max())
                most.append(k)
                int8 += int(w.size)
                packed += packed_bytes(w.size, rows.shape[0], k) if k <= 256 else int(w.size)
            distinct = max(most) if most else None
            bias_channels = channels or 0
            if cls.startswith("Separable"):
                dw = weights.get("depthwise_kernel")
                bias_channels += int(dw.shape[-2] * dw.shape[-1]) if dw is not None else 0
            int8 += 4 * bias_channels
            packed += 4 * bias_channels
        elif cls == "BatchNormalization":
            pass  # folded into the kernel before it
        else:
            int8 = packed = params
        if params or macs:
            prev = out.get(op.name)
            if prev is not None:  # a shared layer: MACs add up, weights count once
                prev.macs += macs
                continue
            out[op.name] = LayerCost(op.name, cls, channels, params, macs, int8, packed,
                                     distinct)
    return out


def totals(model, costs: dict[str, LayerCost] | None = None) -> Totals:
    costs = layer_costs(model) if costs is None else costs
    # float variables only (Dropout's seed generator state is an integer variable)
    weights = [w for w in model.weights if np.dtype(str(w.dtype)).kind == "f"]
    float_bytes = int(sum(int(np.prod(w.shape)) * np.dtype(str(w.dtype)).itemsize
                          for w in weights))
    return Totals(params=int(sum(int(np.prod(w.shape)) for w in weights)),
                  macs=sum(c.macs for c in costs.values()), float_bytes=float_bytes,
                  int8_bytes=sum(c.int8_bytes for c in costs.values()),
                  packed_bytes=sum(c.packed_bytes for c in costs.values()))
