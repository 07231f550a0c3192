"""Structured pruning: rank output channels, remove them physically, rebuild a smaller model.

    g = graph.analyse(model)
    plan = plan_pruning(model, g, ratio=0.5, importance="l1")
    small = apply_pruning(model, plan)      # same architecture, fewer channels, sliced weights

Channels are pruned per *group* (mcuq.compression.graph): the output channels of one producer
layer, or of all producers joined by residual Adds, which must keep the same indices. Each
group keeps round(C x (1 - ratio)) channels (at least one), chosen by an importance score:

- ``l1`` / ``l2``: the norm of each output channel's filter (the pointwise filter of a
  separable convolution), each producer's scores divided by their mean, summed over the group;
- ``bn``: |gamma| of the group's BatchNormalization layers (network slimming; groups without
  one fall back to l1);
- ``activation``: the mean |activation| of each channel on the data, read where the group's
  tensors leave it (the inputs of the next convolutions, Flatten, Concatenate, ...).

`DEFAULT_IMPORTANCE` is the one that measured best (README "mcuq compress", and
benchmarks/compress.py --importance prints the comparison).

The rebuild clones the model with `filters`/`units` of the producers changed, then copies every
layer's weights sliced on the input axis (by the kept channels of the space it reads) and the
output axis (by its own group): BatchNormalization and depthwise kernels follow their input
channels, a Dense after Flatten drops the rows of every position of a removed channel, a
Concatenate's consumer drops the rows of each part's removed channels. Layers the graph walk
cannot follow keep all their channels and are named in `PrunePlan.kept_whole`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from .graph import ChannelGraph, Group

IMPORTANCE = ("l1", "l2", "bn", "activation")
#: Chosen by measurement (see the module docstring).
DEFAULT_IMPORTANCE = "l1"
#: Samples used to measure activation-based importance.
ACTIVATION_SAMPLES = 512


@dataclass
class GroupPlan:
    producers: list[str]
    tied: list[str]
    channels: int
    kept: int
    ratio: float
    importance: str  # the criterion actually used (bn falls back to l1 without BatchNorm)
    indices: list[int] = field(repr=False)  # kept channel indices, ascending


@dataclass
class PrunePlan:
    graph: ChannelGraph = field(repr=False)
    groups: list[GroupPlan]
    keep: dict = field(repr=False)  # group root -> bool mask
    kept_whole: list[tuple[str, str]]  # (layer, why its channels were kept)
    importance: str


def parse_layer_ratios(text: str | None) -> dict[str, float]:
    """`name=ratio,name=ratio` -> {name: ratio}; each ratio in [0, 1)."""
    out: dict[str, float] = {}
    if not text:
        return out
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        try:
            ratio = float(value)
        except ValueError:
            ratio = None
        if not sep or not name or ratio is None:
            raise InputError(f"--prune-layers: cannot read '{part}'",
                             "write name=ratio pairs separated by commas, e.g. "
                             "conv1=0.5,conv2=0.25")
        check_ratio(ratio, f"--prune-layers {name}")
        out[name] = ratio
    return out


def check_ratio(ratio: float, what: str = "--prune") -> None:
    if not (0.0 <= ratio < 1.0) or ratio != ratio:
        raise InputError(f"{what}: pruning ratio {ratio} is outside [0, 1)",
                         "give the fraction of channels to remove, e.g. 0.5 (1 would remove "
                         "every channel)")


def prunable_layers(graph: ChannelGraph) -> list[str]:
    return [p for g in graph.groups.values() if g.prunable for p in g.producers]


def plan_pruning(model, graph: ChannelGraph, ratio: float = 0.0,
                 layer_ratios: dict[str, float] | None = None, importance: str | None = None,
                 data: list[np.ndarray] | None = None) -> PrunePlan:
    """Choose the channels to keep in every prunable group."""
    importance = importance or DEFAULT_IMPORTANCE
    if importance not in IMPORTANCE:
        raise InputError(f"unknown importance '{importance}'", f"choose from {', '.join(IMPORTANCE)}")
    check_ratio(ratio)
    layer_ratios = dict(layer_ratios or {})
    _check_layer_names(graph, layer_ratios)
    ratios = _group_ratios(graph, ratio, layer_ratios)
    activations = None
    if importance == "activation" and any(r > 0 for r in ratios.values()):
        if data is None:
            raise InputError("activation-based importance needs data",
                             "pass --data, or choose --importance l1")
        activations = _activation_scores(model, graph, [r for r, v in ratios.items() if v > 0],
                                         data)
    plans, keep = [], {}
    for root, r in ratios.items():
        group = graph.groups[root]
        kept = max(1, int(round(group.size * (1.0 - r))))
        used = importance
        if kept >= group.size:
            idx = np.arange(group.size)
        else:
            if importance == "activation":
                score = activations[root]
            else:
                score, used = _weight_scores(model, group, importance)
            order = np.argsort(-score, kind="stable")
            idx = np.sort(order[:kept])
        mask = np.zeros(group.size, bool)
        mask[idx] = True
        keep[root] = mask
        plans.append(GroupPlan(producers=list(group.producers), tied=list(group.tied),
                               channels=group.size, kept=int(mask.sum()), ratio=r,
                               importance=used, indices=[int(i) for i in idx]))
    kept_whole = [(i.name, f"{i.cls}: {i.reason}") for i in graph.unknown_layers()]
    for g in graph.groups.values():
        reasons = [r for r in g.frozen if not _expected(r, g)]
        if g.producers and reasons:
            for p in g.producers:
                kept_whole.append((p, "; ".join(reasons)))
    return PrunePlan(graph=graph, groups=plans, keep=keep, kept_whole=kept_whole,
                     importance=importance)


def _expected(reason: str, group: Group) -> bool:
    """Reasons that need no mention: a model output, softmax over an output layer's classes."""
    return reason == "model output" or (reason.endswith("applies softmax over its channels")
                                        and "model output" in group.frozen)


def _check_layer_names(graph: ChannelGraph, layer_ratios: dict[str, float]) -> None:
    prunable = prunable_layers(graph)
    for name in layer_ratios:
        info = graph.layers.get(name)
        if info is None:
            raise InputError(f"--prune-layers: the model has no layer '{name}'",
                             "prunable layers: " + (", ".join(prunable) or "none"))
        if info.role != "producer":
            raise InputError(f"--prune-layers: layer '{name}' ({info.cls}) has no output channels "
                             "of its own to prune",
                             "name Conv/Dense/SeparableConv layers; prunable: "
                             + (", ".join(prunable) or "none"))
        group = graph.group_of(name)
        if group is None or not group.prunable:
            why = "; ".join(group.frozen) if group is not None else "unknown"
            raise InputError(f"--prune-layers: layer '{name}' cannot be pruned ({why})",
                             "prunable layers: " + (", ".join(prunable) or "none"))


def _group_ratios(graph: ChannelGraph, ratio: float, layer_ratios: dict[str, float]) -> dict:
    out = {}
    for root, g in graph.groups.items():
        if not g.prunable:
            continue
        named = {p: layer_ratios[p] for p in g.producers if p in layer_ratios}
        if len(set(named.values())) > 1:
            pairs = ", ".join(f"{k}={v}" for k, v in named.items())
            raise InputError(f"--prune-layers: {pairs} share their output channels (a residual "
                             "Add joins them) and must keep the same channels",
                             "give the layers of one residual group the same ratio")
        r = next(iter(named.values())) if named else ratio
        if r > 0:
            out[root] = r
    return out


# --------------------------------------------------------------------------------------------
# Importance
# --------------------------------------------------------------------------------------------

def _named_weights(layer) -> dict[str, np.ndarray]:
    return {w.name: np.asarray(v) for w, v in zip(layer.weights, layer.get_weights())}


def _filter_norms(layer, order: int) -> np.ndarray:
    w = _named_weights(layer)
    kernel = w.get("pointwise_kernel", w.get("kernel"))
    flat = np.abs(kernel.reshape(-1, kernel.shape[-1]).astype(np.float64))
    return flat.sum(0) if order == 1 else np.sqrt((flat ** 2).sum(0))


def _normalized(score: np.ndarray) -> np.ndarray:
    m = float(np.mean(score))
    return score / m if m > 0 else score


def _weight_scores(model, group: Group, importance: str) -> tuple[np.ndarray, str]:
    if importance == "bn":
        bns = [model.get_layer(n) for n in group.tied
               if type(model.get_layer(n)).__name__ == "BatchNormalization"]
        if bns:
            score = np.zeros(group.size)
            for bn in bns:
                w = _named_weights(bn)
                gamma = w.get("gamma")
                if gamma is None:  # scale=False: every channel scaled by 1
                    gamma = np.ones(group.size)
                score += _normalized(np.abs(gamma.astype(np.float64)))
            return score, "bn"
        importance = "l1"
    order = 1 if importance == "l1" else 2
    score = np.zeros(group.size)
    for p in group.producers:
        score += _normalized(_filter_norms(model.get_layer(p), order))
    return score, importance


def _activation_scores(model, graph: ChannelGraph, roots: list[int],
                       data: list[np.ndarray]) -> dict[int, np.ndarray]:
    """Mean |activation| per channel of each group's tensors where they leave the group."""
    import keras

    wanted: dict[int, list] = {r: [] for r in roots}
    seen = set()
    for name in graph.order:
        info = graph.layers[name]
        if info.role not in ("producer", "flatten", "concat", "unknown"):
            continue
        for t, ref in zip(info.in_tensors, info.in_refs):
            parts = ref.parts if hasattr(ref, "parts") else (ref,)
            for r in parts:
                if isinstance(r, int) and graph.find(r) in wanted and id(t) not in seen:
                    seen.add(id(t))
                    wanted[graph.find(r)].append(t)
    tensors = [t for ts in wanted.values() for t in ts]
    if not tensors:  # every group ends at a model output: measure the producers' outputs
        for r in roots:
            for p in graph.groups[r].producers:
                wanted[r].append(graph.tensor_of[p])
        tensors = [t for ts in wanted.values() for t in ts]
    probe = keras.Model(model.inputs, tensors)
    n = min(ACTIVATION_SAMPLES, data[0].shape[0])
    sums = [np.zeros(int(t.shape[-1])) for t in tensors]
    count = 0
    for start in range(0, n, 128):
        xs = [x[start:min(n, start + 128)] for x in data]
        outs = probe(xs, training=False)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        for k, o in enumerate(outs):
            a = np.abs(np.asarray(o, np.float64))
            sums[k] += a.reshape(a.shape[0], -1, a.shape[-1]).mean(axis=1).sum(axis=0)
        count += xs[0].shape[0]
    means = {id(t): s / count for t, s in zip(tensors, sums)}
    out = {}
    for r, ts in wanted.items():
        score = np.zeros(graph.groups[r].size)
        for t in ts:
            score += _normalized(means[id(t)])
        out[r] = score
    return out


# --------------------------------------------------------------------------------------------
# Rebuild
# --------------------------------------------------------------------------------------------

def apply_pruning(model, plan: PrunePlan):
    """A new model of the same architecture with the planned channels removed."""
    import keras

    g = plan.graph
    counts = {}
    for name in g.order:
        info = g.layers[name]
        if info.role == "producer":
            m = g.mask(info.out_ref, plan.keep)
            if not m.all():
                counts[name] = int(m.sum())

    def clone(layer):
        cfg = layer.get_config()
        if layer.name in counts:
            cfg["units" if "units" in cfg else "filters"] = counts[layer.name]
        return layer.__class__.from_config(cfg)

    try:
        small = keras.models.clone_model(model, clone_function=clone)
    except Exception as e:  # noqa: BLE001 - keras raises many types for unclonable models
        raise InputError(f"cannot rebuild the model with fewer channels ({type(e).__name__}: "
                         f"{str(e).splitlines()[0][:200] if str(e) else ''})",
                         "pruning needs a functional or Sequential model of built-in layers; "
                         "pass --prune 0 to cluster only") from None
    for layer in model.layers:
        if not layer.weights:
            continue
        new = small.get_layer(layer.name)
        info = g.layers.get(layer.name)
        values = layer.get_weights()
        if info is not None and info.role in ("producer", "tied"):
            values = _sliced(layer, info, g, plan.keep, values)
        new.set_weights(values)
    return small


def _sliced(layer, info, g: ChannelGraph, keep, values) -> list[np.ndarray]:
    names = [w.name for w in layer.weights]
    in_mask = g.mask(info.in_refs[0], keep)
    out = []
    if info.role == "tied":  # BatchNormalization, depthwise (multiplier 1)
        for name, v in zip(names, values):
            if name in ("kernel", "depthwise_kernel"):
                out.append(v[..., in_mask, :])
            elif v.ndim == 1 and v.shape[0] == in_mask.size:
                out.append(v[in_mask])
            else:
                out.append(v)
        return out
    out_mask = g.mask(info.out_ref, keep)
    for name, v in zip(names, values):
        if name == "kernel":
            out.append(v[..., in_mask, :][..., out_mask])
        elif name == "depthwise_kernel":
            out.append(v[..., in_mask, :])
        elif name == "pointwise_kernel":
            dm = v.shape[-2] // in_mask.size
            out.append(v[..., np.repeat(in_mask, dm), :][..., out_mask])
        elif name == "bias":
            out.append(v[out_mask])
        else:
            out.append(v)
    return out
