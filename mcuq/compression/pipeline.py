"""`mcuq compress`: prune, fine-tune, cluster, fine-tune, measure, (convert), write.

    result = compress_model("model.keras", data="x.npy", prune=0.5, cluster=16, epochs=3)
    result.student            # the smaller keras.Model
    compress_to_file("model.keras", "x.npy", "small.keras", calibration="calib.npy", ...)

Steps: load the teacher (compression.loading) and the data (calibration formats); split off
validation data when none is given; the teacher's outputs once; structured pruning
(compression.pruning) and distillation (compression.distill) when --prune/--prune-layers;
weight sharing (compression.clustering) and tied distillation when --cluster; the summary
(params, MACs, sizes, per layer; teacher vs student on the validation data). With a
calibration set the student and the teacher are converted by mcuq's conversion code
(conversion.convert_model) and the int8 figures come from the .tflite files: MACs and arena
(costs), distinct values per channel and packed sizes (packing), agreement and accuracy of the
int8 models run by LiteRT's reference kernels (runners.tflite) -- the only step that reaches
past convert, and only with --calibration.

Every argument is checked before TensorFlow is imported; files are written to temporary
siblings and renamed into place only when everything succeeded.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from . import clustering, pruning
from .distill import FitHistory

DEFAULT_EPOCHS = 3
#: Adam step after pruning (recovers from large damage).
PRUNE_LEARNING_RATE = 1e-3
#: With tied weights one step moves a centroid and every weight that shares it, so the step
#: shrinks with the number of steps: CLUSTER_STEP_BUDGET / steps, within the bounds. Measured:
#: Fashion-MNIST K=16 per layer, 3 epochs of 430 steps: 1e-3 lost 1.3 points of int8 accuracy,
#: 1e-4 gained 0.3; digits with 21 steps per epoch (K=8 per channel, 50% sparsity, 2 epochs):
#: 1e-4 left 72% agreement, 1e-3 gave 94%.
CLUSTER_STEP_BUDGET = 0.1
CLUSTER_LEARNING_RATES = (1e-4, 1e-3)


def cluster_learning_rate(samples: int, batch_size: int, epochs: int) -> float:
    steps = -(-samples // batch_size) * max(1, epochs)
    lo, hi = CLUSTER_LEARNING_RATES
    return float(min(hi, max(lo, CLUSTER_STEP_BUDGET / steps)))
DEFAULT_VAL_FRACTION = 0.1
#: Below this many samples, validation reuses the training data (noted in the summary).
MIN_SPLIT_SAMPLES = 20


@dataclass
class Evaluation:
    """One model on the validation data, against the float teacher."""

    model: str  # "teacher float", "student float", "teacher int8", "student int8"
    agreement: float | None  # top-1 agreement with the float teacher (classifiers)
    sqnr_db: float | None  # of the first output, against the float teacher
    accuracy: float | None  # with labels


@dataclass
class LayerRow:
    name: str
    cls: str
    channels_before: int | None
    channels_after: int | None
    params_before: int
    params_after: int
    macs_before: int
    macs_after: int
    distinct: int | None  # most distinct float kernel values per output channel (student)
    distinct_int8: int | None = None  # the same in the converted student (with --calibration)
    note: str = ""


@dataclass
class Int8Figures:
    """A converted model, measured from its .tflite."""

    tflite_bytes: int
    weight_bytes: int
    packed_weight_bytes: int
    packed_flash_bytes: int
    macs: int
    arena_bytes: int  # mcuq's TFLite Micro-like plan of the activation arena
    max_distinct: int  # most distinct int8 values in one output channel of any weight tensor


@dataclass
class CompressResult:
    source: str
    model_kind: str
    output: str | None
    tflite_output: str | None
    data: str
    samples: int
    val_data: str
    val_samples: int
    labels: str | None
    prune: float
    prune_layers: dict
    importance: str | None
    cluster: int | None
    cluster_per_channel: bool
    sparsity: float
    epochs: int
    seed: int
    temperature: float
    alpha: float | None
    outputs: list[str]  # "softmax" (KL) or "mse" per model output
    layers: list[LayerRow]
    kept_whole: list[dict]
    totals: dict  # {"teacher": Totals, "student": Totals, "ratio": {...}}
    evaluation: list[Evaluation]
    fine_tuning: list[FitHistory]
    int8: dict | None = None  # {"teacher": Int8Figures, "student": Int8Figures, "ratio": ...}
    k_holds: bool | None = None  # every converted channel has <= K distinct values
    seconds: float = 0.0
    tensorflow: str = ""
    notes: list[str] = field(default_factory=list)
    student: Any = field(default=None, repr=False)
    tflite: bytes | None = field(default=None, repr=False)


# --------------------------------------------------------------------------------------------
# Argument checks (no TensorFlow)
# --------------------------------------------------------------------------------------------

def check_arguments(data, prune, prune_layers, cluster, sparsity, epochs, batch_size,
                    temperature, alpha, patience, learning_rate, labels, val_data,
                    val_labels, calibration) -> dict[str, float]:
    from ..sources import check_calibration_source

    if data is None:
        raise InputError("no training data: compress fine-tunes on real input samples",
                         "pass --data with a few hundred or more samples (.npy, .npz, a folder "
                         "of .npy, module:function)")
    pruning.check_ratio(prune)
    layer_ratios = (pruning.parse_layer_ratios(prune_layers) if isinstance(prune_layers, str)
                    or prune_layers is None else dict(prune_layers))
    for name, r in layer_ratios.items():
        pruning.check_ratio(r, f"--prune-layers {name}")
    if cluster is not None:
        clustering.check_k(cluster)
    clustering.check_sparsity(sparsity, cluster)
    if prune == 0 and not any(r > 0 for r in layer_ratios.values()) and cluster is None:
        raise InputError("nothing to compress: no --prune, --prune-layers or --cluster given",
                         "pass e.g. --prune 0.5 (remove half the channels) and/or --cluster 16 "
                         "(16 shared values per layer)")
    for value, name, ok in ((epochs, "--epochs", epochs >= 0), (batch_size, "--batch-size",
                            batch_size >= 1), (temperature, "--temperature", temperature > 0),
                            (patience, "--patience", patience >= 1),
                            (learning_rate, "--learning-rate",
                             learning_rate is None or learning_rate > 0)):
        if not ok:
            raise InputError(f"{name} {value} is out of range",
                             f"see `mcuq compress --help` for {name}")
    if alpha is not None and not 0.0 <= alpha <= 1.0:
        raise InputError(f"--alpha {alpha} is outside [0, 1]",
                         "alpha weighs the label loss against distillation, e.g. 0.5")
    for src in (data, val_data, calibration):
        if src is not None:
            check_calibration_source(src)
    for src, name in ((labels, "--labels"), (val_labels, "--val-labels")):
        if isinstance(src, (str, os.PathLike)) and not Path(src).is_file():
            raise InputError(f"{src}: no such labels file", f"pass {name} as a .npy file")
    if val_labels is not None and val_data is None:
        raise InputError("--val-labels without --val-data",
                         "pass the validation samples the labels belong to with --val-data")
    if val_data is not None and labels is not None and val_labels is None:
        raise InputError("--labels given but --val-data has no --val-labels",
                         "pass --val-labels too (accuracy is measured on the validation data)")
    return layer_ratios


# --------------------------------------------------------------------------------------------
# The pipeline
# --------------------------------------------------------------------------------------------

def compress_model(model, data, *, labels=None, val_data=None, val_labels=None,
                   prune: float = 0.0, prune_layers=None, importance: str | None = None,
                   cluster: int | None = None, cluster_per_channel: bool = False,
                   sparsity: float = 0.0, epochs: int = DEFAULT_EPOCHS, batch_size: int = 64,
                   learning_rate: float | None = None, temperature: float = 4.0,
                   alpha: float | None = None, patience: int = 2,
                   val_fraction: float = DEFAULT_VAL_FRACTION, seed: int = 0,
                   calibration=None, teacher=None, custom_objects=None,
                   progress: bool = False) -> CompressResult:
    """Compress `model` (path or keras.Model); the student is in `result.student`.
    `teacher` (default: `model` itself) is the model whose outputs the student learns, e.g.
    the original float model when `model` was already pruned by an earlier run."""
    start = time.perf_counter()
    layer_ratios = check_arguments(data, prune, prune_layers, cluster, sparsity, epochs,
                                   batch_size, temperature, alpha, patience, learning_rate,
                                   labels, val_data, val_labels, calibration)
    if importance is not None and importance not in pruning.IMPORTANCE:
        raise InputError(f"unknown importance '{importance}'",
                         f"choose from {', '.join(pruning.IMPORTANCE)}")
    from ..sources import import_keras, import_tf, load_model_source
    from . import distill, stats
    from .graph import analyse
    from .loading import load_keras_model, load_labels, load_samples

    tf = import_tf()
    keras = import_keras()
    notes: list[str] = []
    original, source, kind, loaded_notes = load_keras_model(model, custom_objects)
    notes += loaded_notes
    inputs = load_model_source(original).inputs
    if teacher is not None:
        teacher, _, _, loaded_notes = load_keras_model(teacher, custom_objects)
        notes += loaded_notes
        other = load_model_source(teacher).inputs
        if [i.shape for i in other] != [i.shape for i in inputs]:
            raise InputError(f"the teacher's inputs {[i.shape for i in other]} differ from the "
                             f"model's {[i.shape for i in inputs]}",
                             "pass the original model the student was made from as teacher")
    else:
        teacher = original
    x, data_label = load_samples(data, inputs, "training data")
    y = load_labels(labels, x[0].shape[0])[0] if labels is not None else None
    if val_data is not None:
        xv, val_label = load_samples(val_data, inputs, "validation data")
        val_label = f"from {val_label}"
        yv = load_labels(val_labels, xv[0].shape[0], "--val-labels")[0] \
            if val_labels is not None else None
    else:
        x, y, xv, yv, val_label = _split(x, y, val_fraction, seed, data_label, notes)
    if alpha is None:
        alpha = 0.5 if y is not None else None

    with _seeded(keras, seed):
        teacher_x = distill.predict(teacher, x)
        teacher_v = distill.predict(teacher, xv)
        kinds = distill.output_kinds(teacher_x)
        graph = analyse(original)
        if layer_ratios or prune > 0:
            plan = pruning.plan_pruning(original, graph, prune, layer_ratios, importance, data=x)
        else:
            plan = None
        fits: list[FitHistory] = []
        common = dict(labels=y, val_labels=yv, batch_size=batch_size, temperature=temperature,
                      alpha=alpha if alpha is not None else 0.0, patience=patience, seed=seed,
                      progress=progress)
        if plan is not None and plan.groups:
            student = pruning.apply_pruning(original, plan)
            fits.append(distill.fine_tune(student, x, teacher_x, xv, teacher_v, epochs=epochs,
                                          stage="prune", learning_rate=learning_rate
                                          or PRUNE_LEARNING_RATE, **common))
        else:
            if plan is not None:
                notes.append("no layer could be pruned (see 'kept whole')")
            student = keras.models.clone_model(original)
            student.set_weights(original.get_weights())
        tied = []
        if cluster is not None:
            tied = clustering.cluster_model(student, cluster, cluster_per_channel, sparsity)
            fits.append(distill.fine_tune(student, x, teacher_x, xv, teacher_v, epochs=epochs,
                                          tied=tied, stage="cluster", learning_rate=learning_rate
                                          or cluster_learning_rate(x[0].shape[0], batch_size,
                                                                   epochs), **common))
            for cw in tied:  # exact: the kernel is its centroid table read by its labels
                cw.variable.assign(cw.values())
        student_v = distill.predict(student, xv)

    evaluation = [_evaluation("teacher float", teacher_v, teacher_v, yv),
                  _evaluation("student float", teacher_v, student_v, yv)]
    before, after = stats.layer_costs(original), stats.layer_costs(student)
    t_tot, s_tot = stats.totals(original, before), stats.totals(student, after)
    result = CompressResult(
        source=source, model_kind=kind, output=None, tflite_output=None, data=data_label,
        samples=int(x[0].shape[0]), val_data=val_label, val_samples=int(xv[0].shape[0]),
        labels=str(labels) if isinstance(labels, (str, os.PathLike)) else
        (None if labels is None else "<labels>"),
        prune=float(prune), prune_layers=layer_ratios,
        importance=plan.importance if plan is not None else None, cluster=cluster,
        cluster_per_channel=bool(cluster_per_channel), sparsity=float(sparsity),
        epochs=int(epochs), seed=int(seed), temperature=float(temperature), alpha=alpha,
        outputs=kinds, layers=_layer_rows(before, after, plan, tied),
        kept_whole=[{"layer": n, "reason": r} for n, r in (plan.kept_whole if plan else [])],
        totals={"teacher": t_tot, "student": s_tot, "ratio": s_tot.ratio(t_tot)},
        evaluation=evaluation, fine_tuning=fits, tensorflow=tf.__version__, notes=notes,
        student=student)
    if calibration is not None:
        _int8(result, original, student, calibration, xv, teacher_v, yv, seed,
              "teacher" if teacher is original else "input model")
    result.seconds = round(time.perf_counter() - start, 3)
    return result


def _split(x, y, fraction, seed, label, notes):
    n = x[0].shape[0]
    if n < MIN_SPLIT_SAMPLES:
        notes.append(f"only {n} samples: validation uses the training data (pass --val-data)")
        return x, y, x, y, f"= the training samples from {label}"
    n_val = min(n - 1, max(1, int(round(n * fraction))))
    order = np.random.default_rng(seed).permutation(n)
    val, train = np.sort(order[:n_val]), np.sort(order[n_val:])
    xv = [a[val] for a in x]
    yv = y[val] if y is not None else None
    return ([a[train] for a in x], y[train] if y is not None else None, xv, yv,
            f"held out from {label} (seed {seed})")


@contextlib.contextmanager
def _seeded(keras, seed: int):
    """Python, numpy and TensorFlow/Keras random state seeded (shuffling uses its own
    numpy generator from the same seed). The same seed gives the same student on the same
    machine: the tests compare the weights of two runs."""
    keras.utils.set_random_seed(seed)
    yield


def _evaluation(name, teacher_v, outs, yv) -> Evaluation:
    from .distill import evaluate

    m = evaluate(teacher_v, outs, yv)
    return Evaluation(name, m["agreement"], m["sqnr_db"], m["accuracy"])


def _layer_rows(before, after, plan, tied) -> list[LayerRow]:
    pruned = {}
    if plan is not None:
        for gp in plan.groups:
            for p in gp.producers:
                pruned[p] = gp
    whole = dict(plan.kept_whole) if plan is not None else {}
    clustered = {cw.layer for cw in tied}
    rows = []
    for name, b in before.items():
        a = after.get(name, b)
        note = []
        if name in pruned:
            gp = pruned[name]
            note.append(f"pruned {gp.channels}->{gp.kept} ({gp.importance}"
                        + (f", group of {len(gp.producers)}" if len(gp.producers) > 1 else "")
                        + ")")
        elif b.channels != a.channels:
            note.append("follows its input channels")
        if name in whole:
            note.append(f"kept whole: {whole[name]}")
        if name in clustered:
            note.append("clustered")
        rows.append(LayerRow(name=name, cls=b.cls, channels_before=b.channels,
                             channels_after=a.channels, params_before=b.params,
                             params_after=a.params, macs_before=b.macs, macs_after=a.macs,
                             distinct=a.distinct if name in clustered else None,
                             note="; ".join(note)))
    return rows


def _int8(result: CompressResult, teacher, student, calibration, xv, teacher_v, yv,
          seed: int, label: str) -> None:
    """Convert teacher and student; figures from the .tflite files; int8 evaluation."""
    from ..conversion import convert_model, layer_of
    from ..model import parse_model

    figures = {}
    for name, m in (("teacher", teacher), ("student", student)):
        conv = convert_model(m, calibration, seed=seed)
        parsed = parse_model(conv.data, f"<{name}.tflite>")
        figures[name] = (_figures(parsed), parsed)
        shown = label if name == "teacher" else name
        result.evaluation.append(_evaluation(f"{shown} int8", teacher_v,
                                             _run_int8(parsed, xv), yv))
        if name == "student":
            result.tflite = conv.data
    fig_t, fig_s = figures["teacher"][0], figures["student"][0]
    result.int8 = {"teacher": fig_t, "student": fig_s, "ratio": {
        "tflite_bytes": _ratio(fig_s.tflite_bytes, fig_t.tflite_bytes),
        "weight_bytes": _ratio(fig_s.weight_bytes, fig_t.weight_bytes),
        "packed_weight_bytes": _ratio(fig_s.packed_weight_bytes, fig_t.weight_bytes),
        "macs": _ratio(fig_s.macs, fig_t.macs),
        "arena_bytes": _ratio(fig_s.arena_bytes, fig_t.arena_bytes)}}
    parsed = figures["student"][1]
    from ..packing import pack_model
    from .stats import MAC_LAYERS

    names = frozenset(r.name for r in result.layers if r.cls in MAC_LAYERS)
    per_layer: dict[str, int] = {}
    for t in pack_model(parsed).tensors:
        op = parsed.operators[t.op_index]
        layer = layer_of([t.name] + [parsed.tensors[i].name for i in op.outputs], names)
        if layer in names:
            per_layer[layer] = max(per_layer.get(layer, 0), t.distinct_max)
    for row in result.layers:
        row.distinct_int8 = per_layer.get(row.name)
    if result.cluster is not None:
        clustered = [r.distinct_int8 for r in result.layers if "clustered" in r.note]
        result.k_holds = bool(clustered) and all(
            d is not None and d <= result.cluster for d in clustered)


def _ratio(small, big):
    return round(big / small, 3) if small else None


def _figures(parsed) -> "Int8Figures":
    from ..costs import inspect_model
    from ..packing import pack_model

    info = inspect_model(parsed, measure_tflm=False)
    pk = pack_model(parsed)
    return Int8Figures(tflite_bytes=parsed.size, weight_bytes=pk.weight_bytes,
                       packed_weight_bytes=pk.packed_weight_bytes,
                       packed_flash_bytes=pk.packed_flash_bytes, macs=info.macs,
                       arena_bytes=info.arena.plan_bytes, max_distinct=pk.max_distinct)


def _run_int8(parsed, xv) -> list[np.ndarray]:
    """The int8 model on float inputs (quantized as TFLite's QUANTIZE does), dequantized."""
    from .. import metrics
    from ..runners import make_runner

    ins = [metrics.quantize(x, t.scale, t.zero_point, t.dtype) if t.quant is not None and
           t.dtype.kind in "iu" else x.astype(t.dtype)
           for x, t in zip(xv, parsed.input_tensors())]
    ins = [a.reshape(a.shape[0], *t.shape) for a, t in zip(ins, parsed.input_tensors())]
    outs = make_runner("tflite", parsed).run(ins).outputs
    real = []
    for o, t in zip(outs, parsed.output_tensors()):
        o = o.reshape(o.shape[0], *t.shape[1:]) if len(t.shape) and t.shape[0] == 1 else o
        real.append(metrics.dequantize(o, t.scale, t.zero_point).astype(np.float32)
                    if t.quant is not None and t.dtype.kind in "iu" else o.astype(np.float32))
    return real


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------

def check_outputs(output, tflite_output, force: bool) -> tuple[Path, Path | None]:
    from ..conversion import check_output

    out = check_output(output, force)
    if out.suffix.lower() != ".keras":
        raise InputError(f"{out}: the compressed model is written as a .keras file",
                         "name the output like small.keras")
    tfl = check_output(tflite_output, force) if tflite_output is not None else None
    if tfl is not None and tfl.resolve() == out.resolve():
        raise InputError(f"{tfl}: the .tflite and the .keras output are the same file",
                         "give the .tflite another name")
    return out, tfl


def compress_to_file(model, data, output, *, tflite_output=None, force: bool = False,
                     calibration=None, **options) -> CompressResult:
    """compress_model, then write the .keras (and, with a calibration set, the .tflite next
    to it or at tflite_output) atomically. Refuses to overwrite without force."""
    if calibration is not None and tflite_output is None:
        tflite_output = Path(output).with_suffix(".tflite")
    check_outputs(output, tflite_output, force)  # before the work...
    result = compress_model(model, data, calibration=calibration, **options)
    out, tfl = check_outputs(output, tflite_output, force)  # ...and again: files may appear
    from ..conversion import write_atomic

    tmp = _save_keras_tmp(result.student, out)
    try:
        if tfl is not None:
            write_atomic(tfl, result.tflite)
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    result.output = str(out)
    result.tflite_output = str(tfl) if tfl is not None else None
    return result


def _save_keras_tmp(model, out: Path) -> str:
    fd, tmp = tempfile.mkstemp(dir=out.parent if str(out.parent) else ".",
                               prefix=f".{out.stem}.", suffix=".tmp.keras")
    os.close(fd)
    try:
        model.save(tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp
