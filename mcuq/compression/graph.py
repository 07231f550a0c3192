"""Channel spaces of a Keras 3 model: which tensors' last axes index the same channels.

Structured pruning removes output channels of a layer, and every tensor and weight that is
indexed by those channels must drop the same indices. This module walks the model's graph
once and assigns each tensor's last axis a *space*:

- a **base space** is created by a layer that makes new channels (Conv1D/2D, Dense,
  SeparableConv1D/2D: the *producers*), by a model input, or by a layer mcuq cannot follow;
- layers that keep the channel axis pass their input's space on (activations, pooling,
  dropout, padding, GlobalAveragePooling, BatchNormalization and DepthwiseConv with a depth
  multiplier of 1, whose weights are indexed by it: *tied* layers; a Reshape that keeps the
  last dimension);
- element-wise merges (Add, Subtract, Multiply, Average, Maximum, Minimum) and a
  Concatenate on a non-channel axis **unite** their inputs' spaces (union-find): a residual
  group whose producers must keep the same channel indices;
- Concatenate on the channel axis and Flatten make a **derived** space whose kept indices
  follow from its parts (concatenated masks; the mask tiled over the flattened positions).

A base space is *frozen* (kept whole) when it is a model input or output, when a layer that
cannot be followed reads it, or when it is joined to a frozen space; each frozen group keeps
the reason, which the summary names. Pure graph bookkeeping: no TensorFlow calls, no weights.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import numpy as np

# Layer classes by role (matched by exact class name in keras.layers, so a user subclass with
# its own call() is "unknown" and kept whole).
PRODUCERS = {"Conv1D", "Conv2D", "Dense", "SeparableConv1D", "SeparableConv2D"}
DEPTHWISE = {"DepthwiseConv1D", "DepthwiseConv2D"}
PASS_THROUGH = {
    "ReLU", "LeakyReLU", "ELU", "Activation", "Identity", "Dropout", "SpatialDropout1D",
    "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
    "ActivityRegularization", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D",
    "AveragePooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "ZeroPadding1D", "ZeroPadding2D",
    "Cropping1D", "Cropping2D", "UpSampling1D", "UpSampling2D", "Rescaling",
}
MERGES = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"}


@dataclass(frozen=True)
class Concat:
    """The channel-axis concatenation of several spaces."""

    parts: tuple


@dataclass(frozen=True)
class Flat:
    """Flatten of a (..., C) tensor: flat index = position * C + channel."""

    base: "Ref"
    repeat: int


Ref = Union[int, Concat, Flat]  # an int is a base space id


@dataclass
class LayerInfo:
    name: str
    cls: str
    role: str  # "input", "producer", "tied", "pass", "merge", "concat", "flatten", "unknown"
    in_refs: list  # one Ref per input tensor
    in_tensors: list  # the KerasTensors themselves (for activation probes)
    out_ref: Ref | None
    out_shape: tuple
    reason: str = ""  # why an unknown layer could not be followed


@dataclass
class Group:
    """A set of united base spaces: the channels that must be pruned together."""

    root: int
    size: int
    spaces: list[int]
    producers: list[str]  # layers whose output channels these are (in graph order)
    tied: list[str]  # BatchNormalization / depthwise layers indexed by these channels
    frozen: list[str] = field(default_factory=list)  # reasons; empty = prunable

    @property
    def prunable(self) -> bool:
        return not self.frozen and bool(self.producers)


class ChannelGraph:
    """The result of `analyse(model)`: layers in graph order, their spaces, the groups."""

    def __init__(self):
        self.layers: dict[str, LayerInfo] = {}
        self.order: list[str] = []
        self._parent: list[int] = []
        self._size: list[int] = []
        self._producer: dict[int, str] = {}  # base space -> layer that created it
        self._frozen: dict[int, list[str]] = {}
        self.groups: dict[int, Group] = {}
        self.tensors: dict[int, Ref] = {}  # id(KerasTensor) -> Ref
        self.consumers: dict[int, list[str]] = {}  # id(KerasTensor) -> layer names
        self.tensor_of: dict[str, object] = {}  # layer name -> its output KerasTensor

    # -- union-find ------------------------------------------------------------------------
    def new_space(self, size: int, producer: str | None = None, frozen: str | None = None) -> int:
        sid = len(self._parent)
        self._parent.append(sid)
        self._size.append(int(size))
        if producer is not None:
            self._producer[sid] = producer
        if frozen:
            self._frozen.setdefault(sid, []).append(frozen)
        return sid

    def find(self, s: int) -> int:
        while self._parent[s] != s:
            self._parent[s] = self._parent[self._parent[s]]
            s = self._parent[s]
        return s

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self._parent[max(ra, rb)] = min(ra, rb)

    def freeze(self, ref: Ref, reason: str) -> None:
        for s in base_spaces(ref):
            self._frozen.setdefault(s, []).append(reason)

    def size_of(self, ref: Ref) -> int:
        if isinstance(ref, int):
            return self._size[ref]
        if isinstance(ref, Concat):
            return sum(self.size_of(p) for p in ref.parts)
        return self.size_of(ref.base) * ref.repeat

    # -- after the walk --------------------------------------------------------------------
    def finish(self) -> None:
        groups: dict[int, Group] = {}
        for s in range(len(self._parent)):
            r = self.find(s)
            g = groups.setdefault(r, Group(root=r, size=self._size[s], spaces=[], producers=[],
                                           tied=[]))
            g.spaces.append(s)
            for reason in self._frozen.get(s, []):
                if reason not in g.frozen:
                    g.frozen.append(reason)
        for name in self.order:
            info = self.layers[name]
            if info.role == "producer" and isinstance(info.out_ref, int):
                groups[self.find(info.out_ref)].producers.append(name)
            elif info.role == "tied" and isinstance(info.in_refs[0], int):
                groups[self.find(info.in_refs[0])].tied.append(name)
        self.groups = groups

    def group_of(self, layer: str) -> Group | None:
        """The group of a producer layer's output channels."""
        info = self.layers.get(layer)
        if info is None or not isinstance(info.out_ref, int):
            return None
        return self.groups[self.find(info.out_ref)]

    def mask(self, ref: Ref, keep: dict[int, np.ndarray]) -> np.ndarray:
        """The kept-channel mask of a space, given {group root: bool mask}."""
        if isinstance(ref, int):
            r = self.find(ref)
            return keep[r] if r in keep else np.ones(self._size[ref], bool)
        if isinstance(ref, Concat):
            return np.concatenate([self.mask(p, keep) for p in ref.parts])
        return np.tile(self.mask(ref.base, keep), ref.repeat)

    def unknown_layers(self) -> list[LayerInfo]:
        return [self.layers[n] for n in self.order if self.layers[n].role == "unknown"]


def base_spaces(ref: Ref) -> list[int]:
    if isinstance(ref, int):
        return [ref]
    if isinstance(ref, Concat):
        return [s for p in ref.parts for s in base_spaces(p)]
    return base_spaces(ref.base)


# --------------------------------------------------------------------------------------------
# The walk
# --------------------------------------------------------------------------------------------

def graph_nodes(model) -> list[tuple[object, object]]:
    """(operation, node) pairs of the model's graph in topological order, found by walking
    back from its outputs (so nodes a layer has in other models are ignored)."""
    seen: dict[int, tuple[object, object]] = {}
    order: list[tuple[object, object]] = []
    inputs = {id(t) for t in model.inputs}

    def visit(tensor):
        if id(tensor) in inputs:
            return
        hist = tensor._keras_history
        op, node_index = hist.operation, hist.node_index
        node = op._inbound_nodes[node_index]
        key = id(node)
        if key in seen:
            return
        seen[key] = (op, node)  # mark before recursing (graphs are acyclic)
        for t in node.input_tensors:
            visit(t)
        order.append((op, node))

    for t in model.outputs:
        visit(t)
    return order


def _last_dim(shape) -> int:
    return int(shape[-1]) if len(shape) and shape[-1] is not None else -1


def _channels_last(layer) -> bool:
    fmt = getattr(layer, "data_format", None)
    return fmt in (None, "channels_last")


def analyse(model) -> ChannelGraph:
    """Channel spaces and prunable groups of a functional or Sequential Keras 3 model."""
    g = ChannelGraph()
    for t in model.inputs:
        g.tensors[id(t)] = g.new_space(_last_dim(t.shape), frozen="model input")
    nodes = graph_nodes(model)
    calls: dict[str, int] = {}
    for op, _ in nodes:
        calls[op.name] = calls.get(op.name, 0) + 1
    for op, node in nodes:
        ins = list(node.input_tensors)
        outs = list(node.output_tensors)
        in_refs = [g.tensors.get(id(t)) for t in ins]
        for t in ins:
            g.consumers.setdefault(id(t), []).append(op.name)
        cls = type(op).__name__
        out_shape = tuple(outs[0].shape) if outs else ()
        info = LayerInfo(name=op.name, cls=cls, role="unknown", in_refs=in_refs,
                         in_tensors=ins, out_ref=None, out_shape=out_shape)
        reason = _classify(op, cls, ins, outs, calls[op.name])
        if reason:
            info.reason = reason
        else:
            _follow(g, op, cls, info, ins, outs)
        if info.role == "unknown":
            for r in in_refs:
                if r is not None:
                    g.freeze(r, f"read by '{op.name}' ({cls}: {info.reason})")
            info.out_ref = None
            for t in outs:
                g.tensors[id(t)] = g.new_space(_last_dim(t.shape),
                                               frozen=f"made by '{op.name}' ({cls})")
            if outs:
                info.out_ref = g.tensors[id(outs[0])]
        if op.name not in g.layers:
            g.order.append(op.name)
        g.layers[op.name] = info
        if outs:
            g.tensor_of[op.name] = outs[0]
    for t in model.outputs:
        g.freeze(g.tensors[id(t)], "model output")
    g.finish()
    return g


def _classify(op, cls, ins, outs, calls) -> str:
    """'' if the layer can be followed, else why not."""
    from keras import layers as kl

    if not isinstance(op, kl.Layer):
        return "not a Keras layer"
    if calls > 1:
        return f"shared layer (called {calls} times)"
    if len(outs) != 1:
        return f"{len(outs)} outputs"
    if getattr(op, "_inbound_nodes", None) is None:
        return "no graph node"
    if type(op).__module__.split(".")[0] != "keras":
        return "custom layer class"
    if not _channels_last(op):
        return "channels_first data format"
    return ""


def _follow(g: ChannelGraph, op, cls: str, info: LayerInfo, ins, outs) -> None:
    """Set info.role and info.out_ref (and g.tensors of the output) for a known layer."""
    out = outs[0]
    refs = info.in_refs
    c_out = _last_dim(out.shape)

    def done(role, ref):
        info.role, info.out_ref = role, ref
        g.tensors[id(out)] = ref

    if cls in PRODUCERS:
        if len(ins) != 1 or refs[0] is None:
            info.reason = "more than one input"
            return
        if cls in ("Conv1D", "Conv2D") and getattr(op, "groups", 1) != 1:
            info.reason = f"grouped convolution (groups={op.groups})"
            return
        sid = g.new_space(c_out, producer=op.name)
        if _activation_name(op) == "softmax":
            g.freeze(sid, f"'{op.name}' applies softmax over its channels")
        done("producer", sid)
        return
    if cls in DEPTHWISE:
        if getattr(op, "depth_multiplier", 1) != 1:
            info.reason = f"depth_multiplier {op.depth_multiplier}"
            return
        done("tied", refs[0])
        return
    if cls == "BatchNormalization":
        axis = op.axis if isinstance(op.axis, int) else (op.axis[0] if len(op.axis) == 1 else None)
        rank = len(out.shape)
        if axis is None or axis not in (-1, rank - 1):
            info.reason = f"normalizes axis {op.axis}, not the channel axis"
            return
        done("tied", refs[0])
        return
    if cls in PASS_THROUGH:
        if cls == "Activation" and _activation_name(op) == "softmax":
            info.reason = "softmax over the channel axis"
            return
        if cls == "Rescaling" and (np.ndim(op.scale) > 0 or np.ndim(op.offset) > 0):
            info.reason = "per-channel scale"
            return
        if _last_dim(ins[0].shape) != c_out:
            info.reason = "changes the channel axis"
            return
        done("pass", refs[0])
        return
    if cls == "Reshape":
        if _last_dim(ins[0].shape) == c_out and c_out > 0:
            # channel = flat index mod C on both sides: the channel axis is unchanged
            done("pass", refs[0])
            return
        info.reason = "reshapes the channel axis"
        return
    if cls == "Flatten":
        shape = tuple(ins[0].shape)
        if len(shape) <= 2:
            done("pass", refs[0])
            return
        repeat = int(np.prod([int(d) for d in shape[1:-1]]))
        done("flatten", Flat(refs[0], repeat))
        return
    if cls in MERGES:
        same = [r for t, r in zip(ins, refs) if _last_dim(t.shape) == c_out]
        if not same or any(r is None for r in same):
            info.reason = "inputs without a channel axis"
            return
        if any(_last_dim(t.shape) not in (c_out, 1) for t in ins):
            info.reason = "inputs with different channel counts"
            return
        bases = [r for r in same if isinstance(r, int)]
        if len(bases) != len(same):
            # a derived space (Concatenate/Flatten output) merged element-wise: keep whole
            for r in same:
                g.freeze(r, f"'{op.name}' ({cls}) merges a concatenated/flattened tensor")
        for r in bases[1:]:
            g.union(bases[0], r)
        done("merge", same[0])
        return
    if cls == "Concatenate":
        rank = len(out.shape)
        axis = op.axis
        if axis in (-1, rank - 1):
            done("concat", Concat(tuple(refs)))
            return
        bases = [r for r in refs if isinstance(r, int)]
        if len(bases) != len(refs):
            for r in refs:
                g.freeze(r, f"'{op.name}' concatenates derived spaces on axis {axis}")
        for r in bases[1:]:
            g.union(bases[0], r)
        done("merge", refs[0])
        return
    info.reason = "not a layer mcuq can follow"


def _activation_name(op) -> str:
    act = getattr(op, "activation", None)
    return getattr(act, "__name__", str(act)) if act is not None else ""
