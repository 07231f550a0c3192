"""`verify --compare-int16`: what 16-bit activations buy on this model and these inputs.

The float model is converted twice in memory with mcuq's converter (mcuq.conversion.convert_model):
full int8 and 16x8 (int16 activations, int8 weights, int64 bias), both calibrated on the same
samples (the verify inputs' float values, up to the converter's default 500, chosen by the seed).
Each conversion runs on mcuq's reference (profile tflm: what TFLite Micro computes, bit-exact) over
the same inputs, and its dequantized outputs are compared with the float model's: SQNR, RMSE, top-1
agreement per output, accuracy of the first output with class labels (RMSE against the labels
when they are regression targets: non-integer values, or any labels of a model whose first output
is one value per sample); plus its cost: .tflite
bytes, mcuq's C target arena and the TFLite Micro-style planned arena (TFLite Micro's measured
arena with measure_tflm=True).

A conversion that cannot be measured is reported, never raised: status "refused" with the reason
(TFLiteConverter's error naming the ops without a 16-bit kernel, or the ops mcuq's reference has no
kernel for at those types). The comparison is information: it never changes verify's exit code.

    cmp = compare_int16(model, float_source, inputs)   # model: the verified mcuq.model.Model
    cmp.by_activations["int16"].outputs[0].sqnr_db
"""
from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import metrics
from .errors import InputError, UnsupportedModelError
from .model import Model, parse_model

ACTIVATIONS = ("int8", "int16")
LABELS = {"int8": "int8", "int16": "16x8"}


@dataclass
class OutputFigures:
    """One output of one conversion against the float model (DESIGN.md's vocabulary)."""

    output: str
    index: int
    sqnr_db: float | None = None
    rmse: float | None = None
    top1_agreement: float | None = None  # outputs with more than one element per sample
    accuracy: float | None = None  # the first output, with class labels
    rmse_targets: float | None = None  # the first output, with regression targets as labels


@dataclass
class ConversionFigures:
    """One of the two conversions: its status, outputs' error and cost."""

    activations: str  # "int8" or "int16" (16x8)
    status: str  # "ok" or "refused"
    reason: str | None = None  # why refused (ops named)
    io_type: str | None = None
    tflite_bytes: int | None = None
    c_arena_bytes: int | None = None  # mcuq's C target arena (I/O inside)
    tflm_plan_bytes: int | None = None  # TFLite Micro-style planned head
    tflm_total_bytes: int | None = None  # measured by TFLite Micro (measure_tflm=True)
    outputs: list[OutputFigures] = field(default_factory=list)
    seconds: float = 0.0
    #: the converted .tflite and its dequantized reference outputs (N, elements) per output
    #: (for callers such as benchmarks/int16.py; not in the JSON view)
    _data: bytes | None = field(default=None, repr=False)
    _outputs: list | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return LABELS[self.activations]


@dataclass
class Int16Comparison:
    float_model: str
    calibration: str  # what both conversions were calibrated on
    samples: int  # inputs evaluated
    labels: str | None
    float_accuracy: float | None  # the float model's, first output, with labels
    conversions: list[ConversionFigures]
    float_rmse_targets: float | None = None  # the float model's, with regression targets
    _float_outputs: list | None = field(default=None, repr=False)  # (N, elements) per output

    @property
    def by_activations(self) -> dict[str, ConversionFigures]:
        return {c.activations: c for c in self.conversions}

    def sqnr_gain_db(self) -> list[float | None]:
        """16x8 SQNR minus int8 SQNR per output (None where either is missing)."""
        a, b = self.by_activations.get("int8"), self.by_activations.get("int16")
        if a is None or b is None or a.status != "ok" or b.status != "ok":
            return []
        return [None if x.sqnr_db is None or y.sqnr_db is None else y.sqnr_db - x.sqnr_db
                for x, y in zip(a.outputs, b.outputs)]


def check_request(model: Model, float_model, data) -> None:
    """The errors a user gets before anything runs: --compare-int16 needs the float model and
    real data, and a model that runs single invocations."""
    if float_model is None:
        raise InputError("--compare-int16 given without --float: the comparison converts the "
                         "float model to int8 and 16x8",
                         "pass the float model MODEL.tflite came from with --float MODEL.keras")
    if data is None:
        raise InputError("--compare-int16 given without --data: both conversions are "
                         "calibrated and measured on real samples",
                         "pass real input samples with --data X.npy (random inputs would "
                         "calibrate meaningless ranges)")
    if model.stateful:
        raise UnsupportedModelError(
            f"{model.source}: keeps state between invocations; --compare-int16 converts and "
            "measures single-invocation models",
            "verify without --compare-int16")


def regression_targets(labels, model: Model | None = None) -> np.ndarray | None:
    """The --labels file as regression targets (float64, (N,) or (N, k)) when it holds
    non-integer values or `model`'s first output has one value per sample (no class to pick),
    else None (class labels: verify reads them as usual)."""
    from .verification import _read_array_file

    y = _read_array_file(str(labels))
    if isinstance(y, dict):
        if len(y) != 1:
            return None
        y = next(iter(y.values()))
    y = np.asarray(y)
    if not (np.issubdtype(y.dtype, np.floating) or np.issubdtype(y.dtype, np.integer)):
        return None
    single = model is not None and model.outputs and \
        int(np.prod(model.output_tensors()[0].shape[1:], dtype=np.int64)) == 1
    fractional = np.issubdtype(y.dtype, np.floating) and not np.all(y == np.round(y))
    if not (single or fractional):
        return None
    if not np.all(np.isfinite(y)):
        raise InputError(f"{labels}: regression targets hold NaN or infinite values",
                         "clean the labels before verifying")
    return y.astype(np.float64)


def rmse_targets(out0: np.ndarray, targets: np.ndarray, where: str) -> float:
    n = out0.shape[0]
    if targets.shape[0] < n or targets[:n].reshape(n, -1).shape[1] != out0.shape[1]:
        raise InputError(f"{where}: {targets.shape} regression targets for {n} samples of an "
                         f"output with {out0.shape[1]} value(s) each",
                         "pass one target row per data sample, shaped like the first output")
    return metrics.rmse(targets[:n].reshape(n, -1), out0)


def _io_type(model: Model | None, activations: str) -> str:
    """float32 I/O when the verified model has float inputs, else the activation type."""
    floating = model is not None and any(np.issubdtype(t.dtype, np.floating)
                                         for t in model.input_tensors())
    return "float32" if floating else activations


def _per_channel(model: Model | None) -> bool:
    """Per-channel weights unless every conv/depthwise weight of the verified model has one
    scale (it was converted with --per-tensor)."""
    for op in (model.operators if model is not None else []):
        if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D") and len(op.inputs) > 1:
            w = model.tensors[op.inputs[1]]
            if w.quant is not None and w.quant.scale.size > 1:
                return True
            if w.quant is not None:
                return False
    return True


def _float_outputs(predict, real: list[np.ndarray]) -> list[np.ndarray]:
    from .verification import _float_inputs

    raw = predict(_float_inputs(real, predict.inputs))
    return [np.asarray(o, np.float64).reshape(real[0].shape[0], -1) for o in raw]


def _dequantized(model: Model, outputs: list[np.ndarray]) -> list[np.ndarray]:
    out = []
    for o, t in zip(outputs, model.output_tensors()):
        if t.quant is not None and not np.issubdtype(t.dtype, np.floating):
            o = metrics.dequantize(o, t.scale, t.zero_point)
        out.append(np.asarray(o, np.float64).reshape(o.shape[0], -1))
    return out


def _arena(m: Model, measure_tflm: bool) -> dict:
    from .costs import inspect_model

    info = inspect_model(m, measure_tflm=measure_tflm)
    return {"c_arena_bytes": info.arena.c_arena_bytes,
            "tflm_plan_bytes": info.arena.plan_bytes,
            "tflm_total_bytes": info.arena.tflm_total_bytes}


def _one(source, calibration, activations: str, io_type: str, per_channel: bool, seed: int,
         real: list[np.ndarray], fouts: list[np.ndarray], labels, measure_tflm: bool,
         targets=None, targets_source: str = "") -> ConversionFigures:
    from .calibration import CalibrationWarning
    from .conversion import convert_model
    from .runners import make_runner
    from .verification import prepare_inputs

    t0 = time.perf_counter()
    fig = ConversionFigures(activations, "ok", io_type=io_type)
    try:
        with warnings.catch_warnings():  # few samples: verify's own inputs, said in the report
            warnings.simplefilter("ignore", CalibrationWarning)
            result = convert_model(source, calibration, seed=seed, io_type=io_type,
                                   per_channel=per_channel, activations=activations)
    except UnsupportedModelError as e:
        fig.status, fig.reason = "refused", e.message
        fig.seconds = time.perf_counter() - t0
        return fig
    fig.tflite_bytes = len(result.data)
    if result.missing_kernels:
        fig.status = "refused"
        fig.reason = (f"mcuq's reference has no {LABELS[activations]} kernel for "
                      f"{', '.join(result.missing_kernels)} (the converter made the model; "
                      "its error cannot be measured here)")
        fig.seconds = time.perf_counter() - t0
        return fig
    m = parse_model(result.data, f"<{LABELS[activations]} conversion of {result.source}>")
    inputs = prepare_inputs(m, data=list(real))
    runner = make_runner("reference", m, profile="tflm")
    outs = [np.concatenate(parts) for parts in zip(*(
        runner.run([a[i:i + 256] for a in inputs.arrays]).outputs
        for i in range(0, inputs.arrays[0].shape[0], 256)))]
    deq = _dequantized(m, outs)
    fig._data, fig._outputs = result.data, deq
    for k, (t, d) in enumerate(zip(m.output_tensors(), deq)):
        f = fouts[k]
        o = OutputFigures(t.label, k, sqnr_db=metrics.sqnr_db(f, d), rmse=metrics.rmse(f, d))
        if d.shape[1] > 1:
            o.top1_agreement = metrics.top1_agreement(d, f)
        if labels is not None and k == 0 and d.shape[1] > 1:
            o.accuracy = metrics.accuracy(d, labels)
        if targets is not None and k == 0:
            o.rmse_targets = rmse_targets(d, targets, targets_source)
        fig.outputs.append(o)
    fig.__dict__.update(_arena(m, measure_tflm))
    fig.seconds = time.perf_counter() - t0
    return fig


def compare_int16(model: Model | None, float_model, inputs, custom_objects=None, seed: int = 0,
                  measure_tflm: bool = False, labels_source: str | None = None,
                  calibration=None, targets: np.ndarray | None = None) -> Int16Comparison:
    """Convert `float_model` (path, keras.Model or loaded mcuq.sources.ModelSource) to int8 and
    to 16x8 on `inputs` (mcuq.verification.Inputs of the verified `model`: their float values
    calibrate both and are measured), and compare each with the float model (module doc).
    `model` (the verified one) picks float32 I/O and per-tensor weights when it has them
    (None: the activation type's I/O, per-channel). `calibration`: other float samples to
    calibrate on (as convert_model takes them; e.g. training data), else the inputs.
    `targets`: regression targets (regression_targets) for RMSE of the first output."""
    from .sources import ModelSource, load_model_source
    from .verification import _float_inputs, _load_float_model

    source = float_model if isinstance(float_model, ModelSource) else \
        load_model_source(float_model, custom_objects=custom_objects)
    predict = _load_float_model(source)
    fouts = _float_outputs(predict, inputs.real)
    if model is not None and len(fouts) != len(model.outputs):
        raise InputError(f"{source.source}: {len(fouts)} outputs, the .tflite model has "
                         f"{len(model.outputs)}", "pass the float model the .tflite came from")
    calib_label = None
    if calibration is None:
        calib_arrays = _float_inputs(inputs.real, predict.inputs)
        calibration = (calib_arrays[0] if len(calib_arrays) == 1 else
                       {i.name: a for i, a in zip(source.inputs, calib_arrays)})
    else:
        from .calibration import check_calibration_source

        check_calibration_source(calibration)
        calib_label = (str(calibration) if isinstance(calibration, (str, os.PathLike))
                       else "the given calibration samples")
    labels = inputs.labels
    where = labels_source or "targets"
    float_rmse = rmse_targets(fouts[0], targets, where) if targets is not None else None
    figures = [_one(source, calibration, a, _io_type(model, a), _per_channel(model), seed,
                    inputs.real, fouts, labels, measure_tflm, targets, where)
               for a in ACTIVATIONS]
    float_acc = (metrics.accuracy(fouts[0], labels)
                 if labels is not None and fouts and fouts[0].shape[1] > 1 else None)
    n = inputs.arrays[0].shape[0]
    from .calibration import DEFAULT_MAX_SAMPLES

    used = min(n, DEFAULT_MAX_SAMPLES)
    return Int16Comparison(
        float_model=source.source,
        calibration=calib_label or (f"{used} of the {n} --data samples (seed {seed})"
                                    if used < n else f"the {n} --data samples"),
        samples=n, labels=labels_source, float_accuracy=float_acc, conversions=figures,
        float_rmse_targets=float_rmse, _float_outputs=fouts)


__all__ = ["compare_int16", "check_request", "Int16Comparison", "ConversionFigures",
           "OutputFigures"]
