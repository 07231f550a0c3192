"""Which layer lost the accuracy: per-tensor quantization error of the int8 model against its
float graph, the error each layer adds, a ranking, and remedies measured before they are applied.

    d = diagnose_model("model.tflite", "model.keras", data="x.npy", labels="y.npy")
    d.layers[...]   # per tensor, in op order; d.ranking: tensor names, worst first
    d.remedies      # what to run, each with the number it is predicted to change

Three runs share the same samples, in chunks (nothing keeps every sample's tensors at once):
1. the float graph: a float .tflite converted from the same Keras model by
   `conversion.convert_float`, run by LiteRT with every tensor preserved;
2. the int8 model through mcuq's reference interpreter, keeping every intermediate;
3. every int8 op alone, fed its float inputs quantized with its input tensors' parameters
   (the reference kernel with the op's prepared parameters), and the float op alone on the same
   (dequantized) inputs (`graphs.FloatOp`).

Per int8 tensor: `sqnr_db` and `rmse_over_scale` (QuantizationDebugger's ratio; flagged above
0.7) and `max_abs_error_lsb` of the int8 model against the float graph (errors of every layer
before it included); `saturation`, the share of float values outside the tensor's int8 range;
`sqnr_float_inputs_db`, the op alone on quantized float inputs against the float graph; and
`added_sqnr_db`, the op alone against the float op on the same inputs: the error this layer adds
(weight rounding, output rounding and clipping), without what its inputs carry. Layers are ranked
by `score_db`: the added SQNR, for weight ops the lower of it and the SQNR with every output
channel weighted alike (one loud channel cannot hide the others' noise).

Remedies are simulated with the reference on an edited copy of the int8 model
(`diagnosis.edits`): the activation ranges this data gives (what re-calibrating with it
makes the converter choose), per-channel weights; the predicted SQNRs are measured, not guessed.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import metrics
from ..errors import InputError
from ..model import Model, Tensor, load_model
from .edits import FIXED_QUANT_OPS, WEIGHT_AXIS, per_channel_weights, recalibrated
from .graphs import EDGE_OPS, FloatGraph, FloatOp, Match, match_tensors
from .stats import TensorStats

#: QuantizationDebugger's rule of thumb for RMSE / scale.
FLAG_RMSE_OVER_SCALE = 0.7
#: Samples diagnosed when --samples is not given (the first ones of the data).
DEFAULT_SAMPLES = 256
CHUNK = 64
#: A remedy is listed when it moves a number by at least this much (dB).
MIN_GAIN_DB = 0.5
#: A channel whose peak is this many times the median channel's "owns" the tensor's range.
OUTLIER_RATIO = 8.0
#: Share of a tensor's int8 range below which the range counts as wasted.
WASTED_RANGE = 0.25
#: Share of saturated values above which a tensor counts as clipped.
CLIPPED = 1e-3


# -- results ----------------------------------------------------------------------------------
@dataclass
class WeightRanges:
    """Per output channel of a weight op: float weight range and int8 scale."""

    axis: int
    per_channel: bool
    float_min: list[float]
    float_max: list[float]
    scale: list[float]


@dataclass
class LayerReport:
    op_index: int | None  # None: a model input
    op: str
    layer: str
    tensor: str
    tensor_index: int
    float_tensor: str
    shape: list[int]
    scale: float
    zero_point: int
    int8_range: list[float]
    float_range: list[float]
    range_used: float
    sqnr_db: float
    rmse_over_scale: float
    flagged: bool
    max_abs_error_lsb: float
    saturation: float
    saturated_low: float
    saturated_high: float
    clipped: bool = False  # saturation above CLIPPED
    sqnr_float_inputs_db: float | None = None
    added_sqnr_db: float | None = None
    added_channel_sqnr_db: float | None = None
    added_rmse_over_scale: float | None = None
    score_db: float | None = None
    rank: int | None = None
    channel_ranges: dict | None = None  # {"min": [...], "max": [...]} of the float output
    weights: WeightRanges | None = None


@dataclass
class Remedy:
    kind: str  # calibration, per_channel, outlier_channel, activation, int16
    layer: str
    tensor: str
    summary: str
    details: list[str] = field(default_factory=list)
    command: str | None = None
    predicted: dict = field(default_factory=dict)
    simulated: bool = False


@dataclass
class OutputReport:
    output: str
    index: int
    sqnr_db: float
    top1_agreement: float | None = None
    accuracy: dict | None = None  # {"int8": .., "float": ..} with labels
    #: {"int8": .., "float": ..}: RMSE against regression targets (--labels of a regression)
    rmse_targets: dict | None = None
    confusion: dict | None = None  # {"classes": n, "int8": [[..]], "float": [[..]]} (rows: label)


@dataclass
class Diagnosis:
    model: str
    float_model: str
    inputs: str
    samples: int
    labels: str | None
    float_ops: int
    matched_tensors: int
    unmatched: list[dict]
    layers: list[LayerReport]
    ranking: list[str]  # tensor names, the layer that adds the most error first
    outputs: list[OutputReport]
    remedies: list[Remedy]
    seconds: float
    notes: list[str] = field(default_factory=list)

    def layer(self, tensor: str) -> LayerReport:
        return next(lr for lr in self.layers if lr.tensor == tensor)

    @property
    def culprit(self) -> LayerReport | None:
        return self.layer(self.ranking[0]) if self.ranking else None


# -- passes ---------------------------------------------------------------------------------
def _quantized(t: Tensor) -> bool:
    return t.type_name == "INT8" and t.quant is not None and t.data is None


def _deq(q: np.ndarray, t: Tensor) -> np.ndarray:
    if t.quant is None or np.issubdtype(t.dtype, np.floating):
        return q.astype(np.float64)
    return metrics.dequantize(q, t.scale, t.zero_point)


def _q(x: np.ndarray, t: Tensor) -> np.ndarray:
    if t.quant is None or np.issubdtype(t.dtype, np.floating):
        return x.astype(t.dtype)
    return metrics.quantize(x, t.scale, t.zero_point, t.dtype)


def _channels(m: Model, op, t: Tensor) -> int:
    return int(t.shape[-1]) if op is not None and op.opcode in WEIGHT_AXIS and t.shape else 0


@dataclass
class _LocalOp:
    op: Any
    kernel: Any
    params: Any
    float_op: FloatOp | None
    float_inputs: list[int]  # int8 tensor per FloatOp input, in its order


@dataclass
class PassResult:
    stats: dict[int, TensorStats]
    outputs_int8: list[np.ndarray]  # dequantized, (N, ...)
    outputs_float: list[np.ndarray]


class _Run:
    """One int8 model next to the float graph (the diagnosed model, or an edited copy)."""

    def __init__(self, m: Model, graph: FloatGraph, match: Match,
                 float_ops: dict[int, FloatOp] | None, local_outputs: set[int] | None = None):
        from ..reference.interpreter import Interpreter

        self.m, self.graph, self.match = m, graph, match
        self.interp = Interpreter(m)
        self.targets = [i for i in match.tensors if _quantized(m.tensors[i])]
        self.keep = {match.tensors[i] for i in self.targets}
        self.keep |= {match.tensors.get(o, fo) for o, fo in zip(m.outputs, graph.model.outputs)}
        producers = m.producers()
        self.producer = {i: producers.get(i) for i in self.targets}
        self.local: list[_LocalOp] = []
        if float_ops is None:
            return
        for op, kernel, params in self.interp.plan:
            if op.opcode in EDGE_OPS or op.index not in match.ops:
                continue
            if local_outputs is not None and not set(op.outputs) & local_outputs:
                continue
            ins = [i for i in op.inputs if i >= 0 and m.tensors[i].data is None]
            if not ins or not all(i in match.tensors and _quantized(m.tensors[i]) for i in ins):
                continue
            if not all(o in self.targets for o in op.outputs):
                continue
            fop = float_ops.get(op.index)
            order = []
            if fop is not None:
                f = graph.model
                fins = list(dict.fromkeys(i for i in f.operators[match.ops[op.index]].inputs
                                          if i >= 0 and f.tensors[i].data is None))
                back = {match.tensors[i]: i for i in ins}
                order = [back.get(fi) for fi in fins]
                if None in order:
                    fop, order = None, []
            self.local.append(_LocalOp(op, kernel, params, fop, order))

    def new_stats(self) -> dict[int, TensorStats]:
        out = {}
        for i in self.targets:
            t = self.m.tensors[i]
            out[i] = TensorStats(t.scale, t.zero_point, -128, 127,
                                 _channels(self.m, self.producer.get(i), t))
        return out

    def run(self, real: list[np.ndarray], bar=None) -> PassResult:
        m, tmap = self.m, self.match.tensors
        stats = self.new_stats()
        outs_q: list[list] = [[] for _ in m.outputs]
        outs_f: list[list] = [[] for _ in m.outputs]
        n = real[0].shape[0]
        for start in range(0, n, CHUNK):
            xr = [r[start:start + CHUNK] for r in real]
            batch = xr[0].shape[0]
            fv = self.graph.run(xr, self.keep)
            xq = [_q(x, t) for x, t in zip(xr, m.input_tensors())]
            vals = self.interp.run(xq, keep_intermediates=True).intermediates
            for i in self.targets:
                t = m.tensors[i]
                f = fv[tmap[i]].reshape(batch, *t.shape)
                st = stats[i]
                st.add_float(f)
                st.total.add(f, _deq(vals[i], t))
            for lo in self.local:
                self._local(lo, fv, stats, batch)
            for k, (o, fo) in enumerate(zip(m.outputs, self.graph.model.outputs)):
                t = m.tensors[o]
                outs_q[k].append(_deq(vals[o], t).reshape(batch, -1))
                outs_f[k].append(fv[tmap.get(o, fo)].astype(np.float64).reshape(batch, -1))
            if bar is not None:
                bar.update(batch)
        return PassResult(stats, [np.concatenate(p) for p in outs_q],
                          [np.concatenate(p) for p in outs_f])

    def _local(self, lo: _LocalOp, fv: dict, stats: dict, batch: int) -> None:
        m, tmap = self.m, self.match.tensors
        args = []
        for i in lo.op.inputs:
            if i < 0:
                args.append(None)
                continue
            t = m.tensors[i]
            if t.data is not None:
                args.append(np.broadcast_to(t.data, (batch, *t.shape)))
            else:
                args.append(_q(fv[tmap[i]].reshape(batch, *t.shape), t))
        outs = lo.kernel.run(lo.params, args)
        fouts = None
        if lo.float_op is not None:
            fin = []
            for i in lo.float_inputs:
                t = m.tensors[i]
                fin.append(_deq(_q(fv[tmap[i]].reshape(batch, *t.shape), t), t)
                           .astype(np.float32))
            fouts = lo.float_op.run(fin)
        for j, o in enumerate(lo.op.outputs):
            t = m.tensors[o]
            d = _deq(outs[j], t)
            st = stats[o]
            st.float_inputs.add(fv[tmap[o]].reshape(d.shape), d)
            if fouts is not None:
                st.added.add(fouts[j].reshape(d.shape), d)


# -- the verb -------------------------------------------------------------------------------
def _float_source(float_model, custom_objects=None):
    from ..sources import ModelSource, load_model_source

    return float_model if isinstance(float_model, ModelSource) else \
        load_model_source(float_model, custom_objects=custom_objects)


def diagnose_model(model, float_model, data=None, labels=None, samples: int | None = None,
                   seed: int = 0, progress: bool = False, simulate: bool = True,
                   float_tflite: bytes | None = None, custom_objects=None,
                   scale=None) -> Diagnosis:
    """See the module docstring. `float_model`: path, keras.Model or ModelSource;
    `float_tflite`: the float .tflite bytes if already converted (tests); `custom_objects`
    and `scale` as for convert (the float model's custom layers; a factor for `data`)."""
    from tqdm import tqdm

    from ..conversion import convert_float
    from ..verification import class_labels_or_targets, prepare_inputs

    start = time.perf_counter()
    m = load_model(model)
    class_labels, targets = class_labels_or_targets(m, labels, data)
    inputs = prepare_inputs(m, data, samples if samples is not None else
                            (DEFAULT_SAMPLES if data is not None else None), seed, class_labels,
                            scale)
    inputs.fit_targets(targets, m, labels)
    n = inputs.arrays[0].shape[0]
    bar = tqdm(total=n, file=sys.stderr, disable=not progress,
               unit="sample", desc="diagnose", leave=False, delay=0.5)
    with bar:
        bar.set_postfix_str("float model", refresh=False)
        src = _float_source(float_model, custom_objects)
        fdata = float_tflite if float_tflite is not None else convert_float(src)
        graph = FloatGraph(fdata, f"{src.source} (float .tflite)")
        if len(graph.model.inputs) != len(m.inputs) or len(graph.model.outputs) != len(m.outputs):
            raise InputError(
                f"{src.source}: {len(graph.model.inputs)} inputs / {len(graph.model.outputs)} "
                f"outputs, {m.source} has {len(m.inputs)} / {len(m.outputs)}",
                "pass the float model the .tflite was converted from")
        for qt, ft in zip(m.input_tensors(), graph.model.input_tensors()):
            if qt.size != ft.size:
                raise InputError(
                    f"{src.source}: input '{ft.name}' has shape {list(ft.shape)}, "
                    f"{m.source}'s '{qt.name}' {list(qt.shape)}",
                    "pass the float model the .tflite was converted from")
        match = _checked(match_tensors(m, graph.model), m, graph.model)
        float_ops = {}
        for qi, fi in match.ops.items():
            if qi in match.same_op and m.operators[qi].opcode not in EDGE_OPS:
                float_ops[qi] = FloatOp(graph, fi)
        bar.set_postfix_str("float graph + int8 reference", refresh=False)
        run = _Run(m, graph, match, float_ops)
        base = run.run(inputs.real, bar)
        layers = _layers(m, run, base, graph, src.layer_names)
        ranking = _rank(layers)
        outputs = _outputs(m, base, inputs)
        remedies = _remedies(m, graph, match, float_ops, inputs, base, layers, ranking,
                             simulate, bar, data)
    notes = []
    if data is None:
        notes.append("no --data: random int8 inputs; pass real samples for ranges and "
                     "saturation that mean something")
    return Diagnosis(
        model=m.source, float_model=src.source, inputs=inputs.source, samples=n,
        labels=str(labels) if labels is not None else None, float_ops=len(graph.model.operators),
        matched_tensors=len(run.targets), unmatched=match.unmatched, layers=layers,
        ranking=ranking, outputs=outputs, remedies=remedies,
        seconds=round(time.perf_counter() - start, 3), notes=notes)


def _checked(match: Match, m: Model, f: Model) -> Match:
    """Drop pairs whose element counts differ (listed as unmatched)."""
    for qi, fi in list(match.tensors.items()):
        if m.tensors[qi].size != f.tensors[fi].size:
            del match.tensors[qi]
            match.unmatched.append({"tensor": m.tensors[qi].name, "tensor_index": qi, "op": "",
                                    "reason": f"shape {list(m.tensors[qi].shape)} vs float "
                                              f"{list(f.tensors[fi].shape)}"})
    return match


def _finite(x: float | None) -> float | None:
    return None if x is None else float(x)


def _layers(m: Model, run: _Run, base: PassResult, graph: FloatGraph,
            layer_names) -> list[LayerReport]:
    from ..conversion import layer_of

    out = []
    order = [(None, i) for i in m.inputs if i in base.stats]
    order += [(op, o) for op in m.operators for o in op.outputs if o in base.stats]
    for op, i in order:
        t, st = m.tensors[i], base.stats[i]
        names = _names_for_layer(m, op, t)
        lr = LayerReport(
            op_index=op.index if op else None, op=op.opcode if op else "input",
            layer=layer_of(names, layer_names) if op else t.name, tensor=t.name,
            tensor_index=i, float_tensor=graph.model.tensors[run.match.tensors[i]].name,
            shape=list(t.shape), scale=t.scale, zero_point=t.zero_point,
            int8_range=[st.lo, st.hi], float_range=[st.fmin, st.fmax],
            range_used=st.range_used, sqnr_db=st.total.sqnr_db,
            rmse_over_scale=st.total.rmse / t.scale if t.scale else float("nan"),
            flagged=False, max_abs_error_lsb=st.total.max_abs / t.scale if t.scale else 0.0,
            saturation=st.saturation, saturated_low=st.below / max(st.count, 1),
            saturated_high=st.above / max(st.count, 1))
        lr.flagged = bool(lr.rmse_over_scale > FLAG_RMSE_OVER_SCALE)
        lr.clipped = bool(lr.saturation > CLIPPED)
        if op is None:  # a model input: its quantization is all the error it has
            lr.added_sqnr_db = lr.sqnr_float_inputs_db = lr.sqnr_db
            lr.added_rmse_over_scale = lr.rmse_over_scale
        if st.float_inputs.n:
            lr.sqnr_float_inputs_db = st.float_inputs.sqnr_db
        if st.added.n:
            lr.added_sqnr_db = st.added.sqnr_db
            lr.added_channel_sqnr_db = st.added.channel_sqnr_db()
            lr.added_rmse_over_scale = st.added.rmse / t.scale if t.scale else None
        scores = [s for s in (lr.added_sqnr_db, lr.added_channel_sqnr_db) if s is not None]
        lr.score_db = min(scores) if scores else None
        if st.channels:
            lr.channel_ranges = {"min": st.ch_min.tolist(), "max": st.ch_max.tolist()}
        if op is not None and op.opcode in WEIGHT_AXIS:
            lr.weights = _weight_ranges(m, op, graph, run.match)
        out.append(lr)
    return out


#: Last name components TensorFlow gives the conv / matmul of a Keras layer (BatchNorm folding
#: prepends the BN layer's name to the same tensor).
_WEIGHT_OP_PARTS = frozenset({"convolution", "depthwise", "MatMul", "Conv2D",
                              "DepthwiseConv2dNative", "Tensordot", "BiasAdd", "conv1d"})


def _names_for_layer(m: Model, op, t: Tensor) -> list[str]:
    """Tensor names that tell the op's Keras layer, most telling first: its constants (weights
    carry the layer's name even when the output is the model's 'Identity'), its output, then
    its inputs."""
    if op is None:
        return [t.name]
    consts = [m.tensors[j].name for j in op.inputs if j >= 0 and m.tensors[j].data is not None]
    acts = [m.tensors[j].name for j in op.inputs if j >= 0 and m.tensors[j].data is None]
    names = consts + [t.name] + acts
    if op.opcode in WEIGHT_AXIS:  # the part TensorFlow named after the conv/matmul itself
        parts = [p for n in names for p in n.split(";")
                 if p.rsplit("/", 1)[-1] in _WEIGHT_OP_PARTS]
        names = parts + names
    return names


def _weight_ranges(m: Model, op, graph: FloatGraph, match: Match) -> WeightRanges | None:
    axis = WEIGHT_AXIS[op.opcode]
    wt = m.tensors[op.inputs[1]]
    if wt.data is None or wt.quant is None:
        return None
    fw = _float_param(graph, match, op, 1)
    if fw is None or fw.shape != wt.data.shape:
        scale = wt.quant.scale.astype(np.float64)
        shape = [1] * wt.data.ndim
        shape[axis] = -1
        fw = wt.data.astype(np.float64) * (scale.reshape(shape) if scale.size > 1 else scale[0])
    other = tuple(a for a in range(fw.ndim) if a != axis)
    return WeightRanges(axis=axis, per_channel=bool(wt.quant.per_channel),
                        float_min=np.min(fw, axis=other).astype(float).tolist(),
                        float_max=np.max(fw, axis=other).astype(float).tolist(),
                        scale=[float(s) for s in wt.quant.scale])


def _float_param(graph: FloatGraph, match: Match, op, k: int) -> np.ndarray | None:
    fi = match.ops.get(op.index)
    if fi is None:
        return None
    fop = graph.model.operators[fi]
    if len(fop.inputs) <= k or fop.inputs[k] < 0:
        return None
    t = graph.model.tensors[fop.inputs[k]]
    return None if t.data is None else np.asarray(t.data, np.float64)


def _rank(layers: list[LayerReport]) -> list[str]:
    scored = [lr for lr in layers if lr.score_db is not None and np.isfinite(lr.score_db)]
    scored.sort(key=lambda lr: lr.score_db)
    for k, lr in enumerate(scored):
        lr.rank = k + 1
    return [lr.tensor for lr in scored]


def _outputs(m: Model, res: PassResult, inputs) -> list[OutputReport]:
    labels, targets = inputs.labels, inputs.targets
    out = []
    for k, o in enumerate(m.outputs):
        q, f = res.outputs_int8[k], res.outputs_float[k]
        r = OutputReport(output=m.tensors[o].name, index=k, sqnr_db=metrics.sqnr_db(f, q))
        if q.shape[1] > 1:
            r.top1_agreement = metrics.top1_agreement(q, f)
        if labels is not None and k == 0:
            r.accuracy = {"int8": metrics.accuracy(q, labels), "float": metrics.accuracy(f, labels)}
            n = max(q.shape[1], int(np.max(labels)) + 1)
            r.confusion = {"classes": n, "int8": confusion(labels, metrics.top1(q), n),
                           "float": confusion(labels, metrics.top1(f), n)}
        if targets is not None and k == 0:
            r.rmse_targets = {"int8": _rmse_targets(q, targets),
                              "float": _rmse_targets(f, targets)}
        out.append(r)
    return out


def _rmse_targets(out0: np.ndarray, targets: np.ndarray) -> float:
    """RMSE of the first output (samples first) against the fitted targets (n, values)."""
    return metrics.rmse(targets, out0.reshape(out0.shape[0], -1))


def confusion(labels: np.ndarray, predicted: np.ndarray, n: int) -> list[list[int]]:
    """Rows: true label, columns: predicted class."""
    cm = np.zeros((n, n), np.int64)
    np.add.at(cm, (np.asarray(labels, np.int64), np.asarray(predicted, np.int64)), 1)
    return cm.tolist()


# -- remedies ------------------------------------------------------------------------------
def _float_weights_and_biases(m: Model, graph: FloatGraph, match: Match):
    weights, biases = {}, {}
    for op in m.operators:
        if op.opcode not in WEIGHT_AXIS:
            continue
        w = _float_param(graph, match, op, 1)
        b = _float_param(graph, match, op, 2)
        if w is not None:
            weights[op.index] = w
        if b is not None:
            biases[op.index] = b
    return weights, biases


def _fmt_db(x: float | None) -> str:
    if x is None:
        return "-"
    return "inf" if x == float("inf") else f"{x:.1f}"


def _simulate(edited: Model, graph: FloatGraph, match: Match, float_ops, inputs, bar,
              tensors: list[str]):
    """Every tensor's error in the edited model; the added error only for `tensors`."""
    bar.total += inputs.arrays[0].shape[0]
    bar.refresh()
    wanted = {t.index for t in edited.tensors if t.name in set(tensors)}
    run = _Run(edited, graph, match, float_ops, wanted)
    res = run.run(inputs.real, bar)
    layers = _layers(edited, run, res, graph, frozenset())
    return res, {lr.tensor: lr for lr in layers}


def _predicted(m: Model, base: PassResult, layers: list[LayerReport], res: PassResult,
               after: dict[str, LayerReport], tensors: list[str], inputs) -> dict:
    labels, targets = inputs.labels, inputs.targets
    before = {lr.tensor: lr for lr in layers}
    k0 = m.outputs[0]
    out = {"output": m.tensors[k0].name,
           "output_sqnr_db": [metrics.sqnr_db(base.outputs_float[0], base.outputs_int8[0]),
                              metrics.sqnr_db(res.outputs_float[0], res.outputs_int8[0])],
           "tensors": {}}
    if labels is not None:
        out["accuracy_int8"] = [metrics.accuracy(base.outputs_int8[0], labels),
                                metrics.accuracy(res.outputs_int8[0], labels)]
    if targets is not None:
        out["rmse_targets_int8"] = [_rmse_targets(base.outputs_int8[0], targets),
                                    _rmse_targets(res.outputs_int8[0], targets)]
    for name in tensors:
        if name in before and name in after:
            b, a = before[name], after[name]
            out["tensors"][name] = {"sqnr_db": [b.sqnr_db, a.sqnr_db],
                                    "added_sqnr_db": [b.added_sqnr_db, a.added_sqnr_db],
                                    "score_db": [b.score_db, a.score_db]}
    return out


def _gain(pred: dict, name: str | None = None) -> float:
    if name is not None:
        s = pred["tensors"].get(name, {}).get("score_db")
        if s and s[0] is not None and s[1] is not None:
            return float(s[1] - s[0]) if np.isfinite(s[1]) else 99.0
        return 0.0
    a, b = pred["output_sqnr_db"]
    return float(b - a) if np.isfinite(b) else 99.0


def _remedies(m, graph, match, float_ops, inputs, base, layers, ranking, simulate, bar,
              data) -> list[Remedy]:
    by_name = {lr.tensor: lr for lr in layers}
    top = [by_name[t] for t in ranking[:3]]
    weights, biases = _float_weights_and_biases(m, graph, match)
    remedies: list[Remedy] = []
    data_name = str(data) if isinstance(data, (str,)) or hasattr(data, "__fspath__") else "DATA"

    # 1. calibration: the ranges this data gives
    clipped = [lr for lr in layers if lr.clipped and lr.op not in FIXED_QUANT_OPS]
    wasted = [lr for lr in layers if lr.op_index is not None and lr.range_used < WASTED_RANGE
              and lr.op not in FIXED_QUANT_OPS and lr.float_range[1] > lr.float_range[0]]
    if simulate and (clipped or wasted):
        bar.set_postfix_str("simulating re-calibration", refresh=False)
        ranges = {lr.tensor_index: (lr.float_range[0], lr.float_range[1]) for lr in layers}
        edited, changes = recalibrated(m, ranges, biases)
        names = [lr.tensor for lr in sorted(clipped + wasted, key=lambda x: x.score_db or 0)]
        names = list(dict.fromkeys(names))
        res, after = _simulate(edited, graph, match, float_ops, inputs, bar, names)
        pred = _predicted(m, base, layers, res, after, names, inputs)
        worst = names[0]
        if _gain(pred) >= MIN_GAIN_DB or _gain(pred, worst) >= 3.0:
            lr = by_name[worst]
            details = []
            for lr2 in clipped[:5]:
                details.append(
                    f"'{lr2.tensor}' clips {lr2.saturation:.2%} of its values: int8 range "
                    f"[{lr2.int8_range[0]:.4g}, {lr2.int8_range[1]:.4g}], the data reaches "
                    f"[{lr2.float_range[0]:.4g}, {lr2.float_range[1]:.4g}]")
            for lr2 in sorted(wasted, key=lambda x: x.range_used)[:5]:
                details.append(
                    f"'{lr2.tensor}' uses {lr2.range_used:.1%} of its int8 range "
                    f"[{lr2.int8_range[0]:.4g}, {lr2.int8_range[1]:.4g}]: the data reaches "
                    f"[{lr2.float_range[0]:.4g}, {lr2.float_range[1]:.4g}] (a calibration "
                    "sample far outside the data widened it)")
            t = pred["tensors"].get(worst, {})
            a, b = pred["output_sqnr_db"]
            summary = (f"re-calibrate with data like this ({inputs.arrays[0].shape[0]} samples): "
                       f"output SQNR {_fmt_db(a)} -> {_fmt_db(b)} dB")
            if t:
                summary += (f"; '{lr.layer}' adds {_fmt_db(t['score_db'][0])} -> "
                            f"{_fmt_db(t['score_db'][1])} dB")
            remedies.append(Remedy(
                kind="calibration", layer=lr.layer, tensor=worst, summary=summary,
                details=details, simulated=True, predicted=pred,
                command=f"mcuq convert FLOAT_MODEL --calibration {data_name} -o OUT.tflite"))

    # 2. per-channel weights (the model was converted with --per-tensor)
    per_tensor = [op.index for op in m.operators if op.opcode in WEIGHT_AXIS
                  and m.tensors[op.inputs[1]].quant is not None
                  and not m.tensors[op.inputs[1]].quant.per_channel
                  and op.index in weights]
    if simulate and per_tensor:
        bar.set_postfix_str("simulating per-channel weights", refresh=False)
        edited, done = per_channel_weights(m, weights, biases)
        changed = [lr for lr in layers if lr.op_index in done]
        res, after = _simulate(edited, graph, match, float_ops, inputs, bar,
                               [lr.tensor for lr in changed])
        changed.sort(key=lambda lr: lr.score_db if lr.score_db is not None else 1e9)
        pred = _predicted(m, base, layers, res, after, [lr.tensor for lr in changed],
                          inputs)
        if changed and (_gain(pred) >= MIN_GAIN_DB or _gain(pred, changed[0].tensor) >= 3.0):
            lr = changed[0]
            details = []
            for c in changed[:5]:
                w = c.weights
                if w is None:
                    continue
                peak = np.maximum(np.abs(w.float_min), np.abs(w.float_max))
                med = float(np.median(peak)) or 1e-30
                t = pred["tensors"].get(c.tensor, {})
                details.append(
                    f"'{c.layer}': one weight scale for {len(peak)} channels whose peaks span "
                    f"{float(np.min(peak)):.3g}..{float(np.max(peak)):.3g} "
                    f"({float(np.max(peak)) / med:.0f}x the median channel); adds "
                    f"{_fmt_db(t.get('score_db', [None])[0])} -> "
                    f"{_fmt_db(t.get('score_db', [None, None])[1])} dB")
            a, b = pred["output_sqnr_db"]
            t = pred["tensors"].get(lr.tensor, {})
            remedies.append(Remedy(
                kind="per_channel", layer=lr.layer, tensor=lr.tensor,
                summary=(f"per-channel weights (convert without --per-tensor): '{lr.layer}' adds "
                         f"{_fmt_db(t['score_db'][0])} -> {_fmt_db(t['score_db'][1])} dB; "
                         f"output SQNR {_fmt_db(a)} -> {_fmt_db(b)} dB"),
                details=details, simulated=True, predicted=pred,
                command="mcuq convert FLOAT_MODEL --calibration CALIB -o OUT.tflite  "
                        "(without --per-tensor)"))

    # 3. one channel owns the range of a weight op's output
    for lr in top:
        cr = lr.channel_ranges
        if not cr or len(cr["max"]) < 4:
            continue
        peak = np.maximum(np.abs(cr["min"]), np.abs(cr["max"]))
        med = float(np.median(peak))
        c = int(np.argmax(peak))
        if med <= 0 or peak[c] < OUTLIER_RATIO * med:
            continue
        ratio = float(peak[c] / med)
        levels = med / lr.scale if lr.scale else 0.0
        wnote = ""
        if lr.weights is not None:
            wp = np.maximum(np.abs(lr.weights.float_min), np.abs(lr.weights.float_max))
            wnote = (f"; its weights peak at {float(wp[c]):.3g} "
                     f"(median channel {float(np.median(wp)):.3g})")
        remedies.append(Remedy(
            kind="outlier_channel", layer=lr.layer, tensor=lr.tensor,
            summary=(f"channel {c} of '{lr.layer}' reaches {float(peak[c]):.3g}, {ratio:.0f}x the "
                     f"median channel ({med:.3g}): the other channels get ~{levels:.0f} of the "
                     f"255 int8 steps ({np.log2(ratio):.1f} bits lost)"),
            details=[f"prune channel {c} or shrink it (scale its weights down and the next "
                     f"layer's inputs up) in the Keras model, then convert again{wnote}"],
            predicted={"channel": c, "ratio": ratio, "levels": levels}))

    # 4. activations
    for lr in top:
        op = m.operators[lr.op_index] if lr.op_index is not None else None
        if op is None:
            continue
        act = str(op.options.get("fused_activation_function", "NONE"))
        if (op.opcode == "RELU" or act == "RELU") and lr.int8_range[1] > 6.0 \
                and lr.float_range[1] > 6.0:
            ratio = lr.int8_range[1] / 6.0
            remedies.append(Remedy(
                kind="activation", layer=lr.layer, tensor=lr.tensor,
                summary=(f"ReLU -> ReLU6 in '{lr.layer}': its int8 range reaches "
                         f"{lr.int8_range[1]:.3g}; bounded at 6 the steps are {ratio:.1f}x finer "
                         f"(+{20 * np.log10(ratio):.1f} dB rounding SQNR on values below 6)"),
                details=["retrain (or fine-tune) with ReLU6, then convert again"],
                predicted={"range_ratio": ratio}))
        if op.opcode == "RELU6":
            x = m.tensors[op.inputs[0]]
            y = m.tensors[op.outputs[0]]
            if (x.scale, x.zero_point) != (y.scale, y.zero_point):
                remedies.append(Remedy(
                    kind="activation", layer=lr.layer, tensor=lr.tensor,
                    summary=(f"ReLU6 -> ReLU in '{lr.layer}': TFLite Micro's RELU6 clamps in "
                             f"the input's quantization (s={x.scale:.3g}) and ignores the output's "
                             f"(s={y.scale:.3g}); this layer adds {_fmt_db(lr.score_db)} dB"),
                    details=["use ReLU (or let the converter fuse ReLU6 into the previous op)"],
                    predicted={"score_db": lr.score_db}))

    # 5. int16 activations: only when every op of the model has a 16x8 kernel; the gain is an
    #    upper bound (activation rounding only: weights stay int8), measured by --compare-int16
    if top and _has_int16_activations() and not _ops_without_int16(m):
        lr = top[0]
        remedies.append(Remedy(
            kind="int16", layer=lr.layer, tensor=lr.tensor,
            summary=(f"--activations int16: 256x finer activation steps (at most +48.2 dB on "
                     f"activation rounding; int8 weights keep their error) where '{lr.layer}' "
                     f"adds {_fmt_db(lr.score_db)} dB"),
            details=["measure what it buys on your data before you switch: mcuq verify MODEL "
                     "--float FLOAT_MODEL --data DATA --compare-int16"],
            predicted={"upper_bound_db": 48.2},
            command="mcuq convert FLOAT_MODEL --calibration CALIB --activations int16 -o OUT.tflite"))
    rank = {t: k for k, t in enumerate(ranking)}
    remedies.sort(key=lambda r: (rank.get(r.tensor, len(rank)), not r.simulated))
    return remedies


def _ops_without_int16(m: Model) -> list[str]:
    """The model's op types mcuq has no 16x8 (int16 activation) kernel for."""
    from ..reference.registry import supported_ops_for

    have = set(supported_ops_for("INT16"))
    return sorted({op.opcode for op in m.operators} - have)


def _has_int16_activations() -> bool:
    import inspect as _inspect

    from ..conversion import convert_model

    return "activations" in _inspect.signature(convert_model).parameters


__all__ = ["diagnose_model", "Diagnosis", "LayerReport", "Remedy", "OutputReport",
           "WeightRanges", "FLAG_RMSE_OVER_SCALE", "confusion"]
