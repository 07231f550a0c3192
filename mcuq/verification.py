"""`mcuq verify`: the same inputs through every runner, each compared with the int8 reference.

    report = verify_model("model.tflite", data="x.npy", float_model="model.keras",
                          runners=("reference", "tflm", "tflite"))
    report.exit_code  # 0: every runner that must be exact is; 1: a mismatch between runners
                      # that ran; 5: a runner refused or crashed (and no mismatch)

Inputs: the given data (float data quantized with the input's scale/zero point exactly as
TFLite's QUANTIZE does; int8 data used as is; .npz for several inputs, matched by input name
or order), or `samples` (default 100) random int8 inputs from `seed`.

Runners are names (`mcuq.runners.make_runner`, options per name from `runner_options`) or
Runner instances (tests pass e.g. a runner built on a tampered copy of the model; its tensors
are matched to the reference's by index). The reference always runs: it is the judge, in the
semantics profile of each runner (`runner.profile`, mcuq.reference.profiles: tflm for TFLite
Micro and the C target built with double rounding, litert for LiteRT's reference kernels,
single-rounding for the C target built with single rounding); each profile runs once. A
runner "must be exact" when its `.exact` flag says so (TFLite's optimized kernels are
reported, never failed on). On a mismatch, runners that give intermediates re-run the
differing samples keeping every tensor, and the first tensor (in op order) that differs from
the reference is named with example positions. explain=True also measures how far each
runner's profile is from tflm on the inputs (mcuq.explain: where the differences originate).

Runners whose interpreter is native code (LiteRT, TFLite Micro: `Runner.native`) run in a
child process (mcuq.runners.isolated). A runner that refuses the model or crashes on it
(RunnerError) is reported with status "refused" or "crashed" and its reason; every other
runner's result is still compared and printed.

A stateful model (resource variables, variable tensors: `Model.stateful`) is verified on a
sequence: the data's first axis is time (random data: one sequence of `samples` steps), every
runner runs the whole sequence in one call from a fresh state, every step's outputs are
compared, and a mismatch names the first diverging step (and, for runners that give
intermediates, the first tensor of that step that differs, from a re-run of the prefix).
With `windows` (--windows) each sample is an independent window instead: every runner resets
the state before each one (`Runner.windows`). By default (default_windows) that is chosen for a
model whose state lives only in sequence ops that take a whole window per invocation -- what
TFLiteConverter makes of a Keras LSTM that is not `stateful` -- whose variable tensors TFLite
keeps between invocations although the Keras model starts every window from zeros.
"""
from __future__ import annotations

import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from . import metrics
from .errors import (EXIT_MISMATCH, EXIT_OK, EXIT_RUNNER_FAILED, InputError, RunnerError,
                     UnsupportedModelError)
from .model import Model, Tensor, load_model
from .text import label
from .runners import Runner, make_runner

DEFAULT_RUNNERS = ("reference", "tflm", "tflite")
DEFAULT_SAMPLES = 100
#: Samples re-run with every intermediate kept when a runner's outputs differ.
WALK_SAMPLES = 16
#: Example positions listed for the first diverging tensor.
EXAMPLE_POSITIONS = 5
#: Samples per runner call (the progress bar advances per chunk); firmware runs in one go.
CHUNK = 64
#: Bytes of activations an in-process runner may hold at once (fewer samples per call when
#: a model's activations are large), and of inputs verify prepares.
MEMORY_BUDGET = 256 << 20
INPUT_BUDGET = 1 << 30


# -- result objects (field names are DESIGN.md's vocabulary) --------------------------------
@dataclass
class OutputComparison:
    output: str  # output tensor name
    index: int  # position among the model's outputs
    elements: int
    exact: float  # fraction of elements identical to the reference
    max_abs_lsb: int | None  # None when the shapes differ
    mismatched_elements: int
    note: str = ""


@dataclass
class Divergence:
    """The first tensor, in op order, where a runner differs from the reference."""

    tensor: str
    tensor_index: int
    op: str  # opcode of the op that writes the tensor
    op_index: int
    samples_checked: int
    mismatched_elements: int
    max_abs_lsb: int
    examples: list[dict] = field(default_factory=list)
    step: int | None = None  # stateful models: the first time step where this tensor differs

    def describe(self) -> str:
        return (f"'{self.tensor}' (tensor {self.tensor_index}, output of op #{self.op_index} "
                f"{self.op})")


@dataclass
class RunnerReport:
    runner: str
    must_be_exact: bool
    passed: bool
    #: "exact", "mismatch" (fails the run), "differs" (reported only), or "refused" /
    #: "crashed" (the runner could not run the model; `note` says why; no outputs)
    status: str
    seconds: float
    outputs: list[OutputComparison]
    first_diverging_tensor: Divergence | None = None
    note: str = ""
    profile: str = "tflm"  # the reference profile this runner is compared with
    #: with explain: how far `profile` is from tflm on these inputs (mcuq.explain.ProfileGap)
    profile_gap: object | None = None
    first_diverging_step: int | None = None  # stateful models: first step whose outputs differ
    first_diverging_output: str | None = None  # ... and the first output differing there

    @property
    def exact(self) -> bool:
        return all(o.mismatched_elements == 0 for o in self.outputs)


@dataclass
class OutputMetrics:
    """Dequantized int8 reference outputs vs the float model's (and vs labels)."""

    output: str
    index: int
    top1_agreement: float | None = None
    accuracy: dict | None = None  # {"int8": ..., "float": ...} (first output, with labels)
    #: {"int8": ..., "float": ...}: RMSE of the first output vs regression targets (--labels
    #: with non-integer values, or any labels of a model with one output value per sample)
    rmse_targets: dict | None = None
    sqnr_db: float | None = None
    cosine: float | None = None
    rmse: float | None = None
    mae: float | None = None


@dataclass
class VerifyReport:
    model: str
    samples: int
    inputs: str  # where the inputs came from
    judge: str
    reference_seconds: float  # all profiles the runners needed
    runners: list[RunnerReport]
    float_model: str | None = None
    labels: str | None = None
    metrics: list[OutputMetrics] | None = None
    passed: bool = True
    exit_code: int = 0
    diagnosis: object | None = None  # mcuq.diagnosis.Diagnosis, with --float (per-layer error)
    diagnosis_error: str | None = None
    profiles: list[str] = field(default_factory=lambda: ["tflm"])  # the reference ran in these
    sequence: bool = False  # a stateful model: the samples are the steps of one sequence
    windows: bool = False  # a stateful model run window by window (state reset before each)
    #: compare_int16=True: int8 vs 16x8 conversions of the float model
    #: (mcuq.int16_comparison.Int16Comparison)
    int16_comparison: object | None = None


# -- inputs --------------------------------------------------------------------------------
@dataclass
class Inputs:
    arrays: list[np.ndarray]  # per model input, (N, *tensor.shape), tensor dtype
    real: list[np.ndarray]  # the same samples as float values (for the float model)
    source: str
    labels: np.ndarray | None = None
    targets: np.ndarray | None = None  # regression targets (float64, first axis: samples)

    def fit_targets(self, targets: np.ndarray | None, model: Model, labels) -> None:
        """Keep the regression targets of these samples (checked against the model's first
        output before any runner runs); None: no targets."""
        if targets is not None:
            self.targets = _fit_targets(targets, self.arrays[0].shape[0], model, str(labels))


def class_labels_or_targets(model: Model, labels, data) -> tuple:
    """(the --labels path as class labels, None) or (None, regression targets): --labels of a
    regression (non-integer values, or one output value per sample) are targets to measure
    RMSE against (mcuq.int16_comparison.regression_targets)."""
    if labels is None or data is None:
        return labels, None
    from .int16_comparison import regression_targets

    targets = regression_targets(labels, model)
    return (labels, None) if targets is None else (None, targets)


def _read_array_file(path: str):
    """ndarray, or {key: array} for an .npz (only the picked keys with FILE.npz:KEY,...);
    the same reader as calibration data (mcuq.calibration)."""
    from .calibration import pick_arrays, read_arrays

    obj, label, keys = read_arrays(path)
    if keys is not None:
        return dict(zip(keys, pick_arrays(obj, keys, label, keys)[0]))
    return obj


def _data_arrays(path: str, model: Model) -> list[np.ndarray]:
    """One array per model input from a .npy (one input) or .npz (by FILE.npz:KEY, by name,
    else by order when there is one array per input; else an error listing the arrays)."""
    from .calibration import pick_arrays, read_arrays

    obj, label, keys = read_arrays(path)
    tensors = model.input_tensors()
    names = [t.name for t in tensors]
    if not isinstance(obj, dict):
        if len(tensors) != 1:
            raise InputError(f"{path}: one array for a model with {len(tensors)} inputs "
                             f"({', '.join(names)})",
                             "pass an .npz with one array per input, named after the inputs "
                             "or in their order")
        return [obj]
    arrays, _ = pick_arrays(obj, names, label, keys, [tuple(t.shape[1:]) for t in tensors],
                            option="--data")
    return list(arrays)


def _fit_shape(x: np.ndarray, t: Tensor, path: str) -> np.ndarray:
    """(N, *t.shape) from data shaped that way, or (N, *t.shape[1:]) when the model's batch
    axis is 1 (the usual Keras layout)."""
    shape = tuple(t.shape)
    if x.ndim >= 1 and x.shape[1:] == shape:
        return x
    if shape and shape[0] == 1 and x.ndim >= 1 and x.shape[1:] == shape[1:]:
        return x[:, None]
    want = f"(N, {', '.join(map(str, shape[1:]))})" if shape and shape[0] == 1 else ""
    full = f"(N, {', '.join(map(str, shape))})"
    raise InputError(f"{path}: input '{t.label}' expects samples shaped "
                     f"{want + ' or ' if want else ''}{full}, got an array of shape {x.shape}",
                     "reshape the data to the model's input shape (first axis: samples)")


def _to_model_dtype(x: np.ndarray, t: Tensor, path: str) -> tuple[np.ndarray, np.ndarray]:
    """(values for the runners, float values for the float model)."""
    if np.issubdtype(x.dtype, np.floating):
        if not np.all(np.isfinite(x)):
            raise InputError(f"{path}: input '{t.label}' holds NaN or infinite values",
                             "clean the data before verifying")
        if np.issubdtype(t.dtype, np.floating):
            return x.astype(t.dtype), x.astype(np.float32)
        if t.quant is None:
            raise InputError(f"{path}: input '{t.label}' is {t.type_name} without quantization "
                             "parameters; float data cannot be quantized for it",
                             f"pass {t.type_name} data")
        return metrics.quantize(x, t.scale, t.zero_point, t.dtype), x.astype(np.float32)
    if x.dtype == t.dtype and t.quant is not None:
        return x, metrics.dequantize(x, t.scale, t.zero_point).astype(np.float32)
    if x.dtype == t.dtype:
        return x, x.astype(np.float32)
    expect = (f"{t.type_name.lower()} (used as is) or float (quantized with the input's scale "
              f"and zero point)") if not np.issubdtype(t.dtype, np.floating) else "float"
    raise InputError(f"{path}: input '{t.label}' expects {expect}, got {x.dtype}",
                     "convert the array (e.g. x.astype(np.float32) for real values), or pass "
                     "--scale 1/255 for 8-bit images of a model trained on x / 255")


def _labels(path: str, n: int) -> np.ndarray:
    y = _read_array_file(path)
    if isinstance(y, dict):
        if len(y) != 1:
            raise InputError(f"{path}: holds {len(y)} arrays; labels are one array",
                             "save the labels with numpy.save")
        y = next(iter(y.values()))
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot
        y = np.argmax(y, axis=1)
    elif y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise InputError(f"{path}: labels must be shaped (N,) or one-hot (N, classes), got "
                         f"{y.shape}", "pass integer class labels")
    if not (np.issubdtype(y.dtype, np.integer) or (
            np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)))):
        raise InputError(f"{path}: labels are {y.dtype}, expected integer class indices",
                         "pass integer class labels (or one-hot rows)")
    if y.shape[0] < n:
        raise InputError(f"{path}: {y.shape[0]} labels for {n} samples",
                         "pass one label per data sample")
    return y[:n].astype(np.int64)


def _fit_targets(targets: np.ndarray, n: int, model: Model, path: str) -> np.ndarray:
    """Regression targets for the n samples, one row per sample shaped like the first output
    (checked before any runner runs), (n, values) float64."""
    per = int(np.prod(model.output_tensors()[0].shape[1:], dtype=np.int64))
    if targets.shape[0] < n or targets[:n].size != n * per:
        raise InputError(f"{path}: {targets.shape} regression targets for {n} samples of an "
                         f"output with {per} value(s) each",
                         "pass one target row per data sample, shaped like the first output")
    return targets[:n].reshape(n, per)


def prepare_inputs(model: Model, data=None, samples: int | None = None, seed: int = 0,
                   labels=None, scale=None, sequence: bool | None = None) -> Inputs:
    """The runners' inputs and their float values. `data` is a path or a list of arrays;
    `scale` (e.g. "1/255") multiplies it first, making it float (then quantized). sequence:
    the samples are the steps of one sequence (default: model.stateful)."""
    sequence = model.stateful if sequence is None else sequence
    from .vectors import random_inputs

    tensors = model.input_tensors()
    if data is None:
        if labels is not None:
            raise InputError(f"{labels}: labels given without --data",
                             "pass the data the labels belong to with --data")
        if scale is not None:
            raise InputError(f"--scale {scale} given without --data",
                             "pass the data to scale with --data")
        n = samples or DEFAULT_SAMPLES
        need = n * sum(t.nbytes for t in tensors)
        if need > INPUT_BUDGET:
            raise InputError(f"{model.source}: {n} random samples of this model's inputs "
                             f"need {need:,} bytes", "pass fewer with --samples")
        arrays = random_inputs(model, n, seed)
        real = [metrics.dequantize(x, t.scale, t.zero_point).astype(np.float32)
                if t.quant is not None and not np.issubdtype(t.dtype, np.floating)
                else x.astype(np.float32) for x, t in zip(arrays, tensors)]
        kind = ", ".join(sorted({t.type_name.lower() for t in tensors}))
        what = "steps of one sequence" if sequence else "samples"
        return Inputs(arrays, real, f"{n} random {kind} {what} (seed {seed})")
    if isinstance(data, (str, Path)):
        path = str(data)
        raw = _data_arrays(path, model)
    else:
        path = "<data>"
        raw = [np.asarray(x) for x in (data if isinstance(data, (list, tuple)) else [data])]
        if len(raw) != len(tensors):
            raise InputError(f"{path}: {len(raw)} arrays for {len(tensors)} model inputs",
                             "pass one array per model input")
    if scale is not None:
        from .calibration import parse_scale

        factor = parse_scale(scale)
        raw = [(np.asarray(x, np.float64) * factor).astype(np.float32) for x in raw]
    shaped = [_fit_shape(np.asarray(x), t, path) for x, t in zip(raw, tensors)]
    counts = {a.shape[0] for a in shaped}
    if len(counts) != 1:
        counted = ", ".join(f"{t.label}: {a.shape[0]}" for t, a in zip(tensors, shaped))
        raise InputError(f"{path}: inputs hold different sample counts ({counted})",
                         "give every input the same number of samples")
    n = counts.pop()
    if n == 0:
        raise InputError(f"{path}: no samples", "pass at least one sample")
    if samples is not None and samples < n:
        shaped = [a[:samples] for a in shaped]
        n = samples
    arrays, real = [], []
    for x, t in zip(shaped, tensors):
        q, r = _to_model_dtype(x, t, path)
        arrays.append(q)
        real.append(r)
    y = _labels(str(labels), n) if labels is not None else None
    quantized = any(np.issubdtype(np.asarray(x).dtype, np.floating)
                    and not np.issubdtype(t.dtype, np.floating) for x, t in zip(raw, tensors))
    return Inputs(arrays, real, f"{path}: {n} " + (
        "steps of one sequence (first axis: time)" if sequence else "samples") + (
        " (float, quantized with the "
                  "input scale/zero point)" if quantized else ""), y)


# -- runners -------------------------------------------------------------------------------
def _build_runners(model: Model, runners, runner_options, isolate: bool = True) -> list[Runner]:
    """Runner instances for `runners`; native ones wrapped to run in a child process."""
    from .runners.isolated import IsolatedRunner

    options = runner_options or {}
    out = []
    wrap = (lambda r: IsolatedRunner(r) if r.native and isolate else r)  # noqa: E731
    for r in runners:
        if isinstance(r, Runner):
            out.append(wrap(r))
        elif r == "reference":
            continue  # the judge: always runs
        elif isinstance(r, str):
            out.append(wrap(make_runner(r, model, **options.get(r, {}))))
        else:
            raise TypeError(f"runner must be a name or a Runner, got {r!r}")
    names = [r.name for r in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise InputError(f"runner {', '.join(sorted(dup))} given twice",
                         "list each runner once")
    return out


def _chunk(runner: Runner) -> int:
    from .runners.firmware import FirmwareRunner
    from .runners.isolated import IsolatedRunner

    if runner.model.stateful:
        return 1 << 30  # one sequence: one call, the state kept between the steps
    # a firmware binary and a child process take the whole batch in one run
    if isinstance(runner, (FirmwareRunner, IsolatedRunner)):
        return 1 << 30
    per_sample = sum(t.nbytes for t in runner.model.tensors if t.data is None)
    return max(1, min(CHUNK, MEMORY_BUDGET // max(per_sample, 1)))


def _run_all(runner: Runner, arrays: list[np.ndarray], bar) -> tuple[list[np.ndarray], float]:
    n = arrays[0].shape[0]
    step = _chunk(runner)
    parts = []
    t0 = time.perf_counter()
    for start in range(0, n, step):
        part = runner.run([a[start:start + step] for a in arrays]).outputs
        parts.append(part)
        bar.update(min(step, n - start))
    seconds = time.perf_counter() - t0
    outs = [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]
    return outs, seconds


def _lsb(model: Model, t: Tensor) -> float:
    """One LSB of an output tensor in its own units (1 for integer tensors)."""
    if not np.issubdtype(t.dtype, np.floating):
        return 1.0
    for op in model.operators:
        if t.index in op.outputs and op.opcode == "DEQUANTIZE":
            src = model.tensors[op.inputs[0]]
            return src.scale if src.quant is not None else 0.0
    return 0.0


def _same_graph(a: Model, b: Model) -> bool:
    if a is b:
        return True
    return (len(a.tensors) == len(b.tensors)
            and all(x.shape == y.shape and x.dtype == y.dtype for x, y in zip(a.tensors, b.tensors))
            and [(o.opcode, o.inputs, o.outputs) for o in a.operators]
            == [(o.opcode, o.inputs, o.outputs) for o in b.operators])


class InconsistentRerun(Exception):
    """The runner computed other outputs when asked to keep its intermediates."""


def first_diverging_tensor(model: Model, reference: Runner, runner: Runner,
                           arrays: list[np.ndarray], sample_ids: np.ndarray,
                           outputs: list[np.ndarray] | None = None,
                           sequence: bool | None = None) -> Divergence | None:
    """Re-run `sample_ids` keeping every tensor; the first op output (in op order) where the
    runner differs from the reference. With `outputs` (the runner's outputs for all samples
    from the normal run) raise InconsistentRerun if the re-run's outputs are not the same:
    its intermediates would then not explain the mismatch. sequence: the samples are the
    steps of one sequence (default: model.stateful)."""
    sequence = model.stateful if sequence is None else sequence
    sub = [a[sample_ids] for a in arrays]
    ref = reference.run(sub, keep_intermediates=True).intermediates
    with warnings.catch_warnings():  # LiteRT warns that keeping every tensor costs memory
        warnings.simplefilter("ignore", UserWarning)
        rerun = runner.run(sub, keep_intermediates=True)
    if outputs is not None and not all(
            np.array_equal(o[sample_ids], g) for o, g in zip(outputs, rerun.outputs)):
        raise InconsistentRerun(runner.name)
    got = rerun.intermediates
    best = None  # (step, op order, ...) of the first difference; steps count for sequences
    for order, op in enumerate(model.operators):
        for ti in op.outputs:
            a, b = ref.get(ti), got.get(ti)
            if a is None or b is None or a.shape != b.shape:
                continue
            if np.array_equal(a, b):
                continue
            step = int(np.flatnonzero(np.any((a != b).reshape(a.shape[0], -1), axis=1))[0]) \
                if sequence else 0
            if best is None or step < best[0]:
                best = (step, order, op, ti, a, b)
            if not sequence:
                break
        if best is not None and not sequence:
            break
    if best is None:
        return None
    step, _, op, ti, a, b = best
    t = model.tensors[ti]
    cmp = metrics.compare_exact(a, b, _lsb(model, t))
    return Divergence(
        tensor=t.label, tensor_index=ti, op=label(op.opcode), op_index=op.index,
        samples_checked=len(sample_ids), mismatched_elements=cmp.mismatched_elements,
        max_abs_lsb=cmp.max_abs_lsb,
        examples=metrics.first_differences(a, b, EXAMPLE_POSITIONS, sample_ids),
        step=int(sample_ids[step]) if sequence else None)


def _runner_note(runner: Runner) -> str:
    if not runner.exact:
        return ("optimized kernels: LSB differences from the reference in profile "
                f"{runner.profile} are reported, never failed on")
    return ""


def compare_runner(model: Model, reference: Runner, ref_outputs: list[np.ndarray],
                   runner: Runner, outputs: list[np.ndarray], arrays: list[np.ndarray],
                   seconds: float, sequence: bool | None = None) -> RunnerReport:
    """sequence: the samples are the steps of one sequence (default: model.stateful)."""
    sequence = model.stateful if sequence is None else sequence
    comps = []
    differing = np.zeros(arrays[0].shape[0], bool)
    for k, t in enumerate(model.output_tensors()):
        r = ref_outputs[k]
        g = outputs[k] if k < len(outputs) else None
        if g is None or g.shape != r.shape:
            got = "nothing" if g is None else f"shape {g.shape}"
            comps.append(OutputComparison(t.label, k, int(r.size), 0.0, None, int(r.size),
                                          f"runner gave {got}, expected {r.shape}"))
            differing[:] = True
            continue
        c = metrics.compare_exact(r, g, _lsb(model, t))
        comps.append(OutputComparison(t.label, k, c.elements, c.exact, c.max_abs_lsb,
                                      c.mismatched_elements))
        if c.mismatched_elements:
            differing |= np.any((r != g).reshape(r.shape[0], -1), axis=1)
    exact = all(c.mismatched_elements == 0 for c in comps)
    must = bool(runner.exact)
    note = _runner_note(runner)
    div = None
    step, step_output = None, None
    if not exact and sequence:
        step = int(np.flatnonzero(differing)[0])
        for k, c in enumerate(comps):
            g = outputs[k] if k < len(outputs) else None
            if g is None or g.shape != ref_outputs[k].shape or \
                    not np.array_equal(g[step], ref_outputs[k][step]):
                step_output = c.output
                break
    if not exact:
        if runner.gives_intermediates and _same_graph(model, runner.model):
            # a sequence is re-run from its start up to the first differing step
            ids = (np.arange(step + 1) if sequence
                   else np.flatnonzero(differing)[:WALK_SAMPLES])
            try:
                div = first_diverging_tensor(model, reference, runner, arrays, ids, outputs,
                                             sequence)
            except InconsistentRerun:
                note = (note + "; " if note else "") + (
                    f"{runner.name} computed other outputs with its intermediates kept: "
                    "no diverging tensor named")
            except RunnerError as e:
                note = (note + "; " if note else "") + (
                    f"{runner.name} could not re-run keeping its intermediates ({e.status}: "
                    f"{e.message}): no diverging tensor named")
        elif not runner.gives_intermediates:
            note = (note + "; " if note else "") + (
                f"{runner.name} cannot give intermediate tensors: only outputs are compared")
    status = "exact" if exact else ("mismatch" if must else "differs")
    return RunnerReport(runner.name, must, exact or not must, status, seconds, comps, div, note,
                        profile=getattr(reference, "profile", "tflm"),
                        first_diverging_step=step, first_diverging_output=step_output)


# -- float model ---------------------------------------------------------------------------
def _load_float_model(path, custom_objects=None, sequence: bool = False):
    """A callable list[np.ndarray] -> list[np.ndarray] running the float model (a path, a
    model, or a loaded mcuq.sources.ModelSource), with `.inputs`: its per-sample input shapes.
    sequence=True (a stateful model): one step per call, in order, so a float model that keeps
    its own state (tf.Variables) runs the same sequence."""
    from .sources import ModelSource, load_model_source

    source = path if isinstance(path, ModelSource) else \
        load_model_source(path, custom_objects=custom_objects)
    chunk = 1 if sequence else CHUNK
    predict = lambda xs: source.predict(xs, chunk)  # noqa: E731
    predict.inputs = [(None, *i.shape) for i in source.inputs]
    return predict

def _float_inputs(real: list[np.ndarray], shapes: list) -> list[np.ndarray]:
    out = []
    for k, x in enumerate(real):
        shape = shapes[k] if k < len(shapes) else None
        n = x.shape[0]
        if shape is not None and all(d is not None for d in shape[1:]) and \
                int(np.prod(shape[1:], dtype=np.int64)) == x[0].size:
            out.append(x.reshape(n, *shape[1:]))
        elif x.ndim >= 2 and x.shape[1] == 1:
            out.append(x.reshape(n, *x.shape[2:]))  # drop the model's batch-of-1 axis
        else:
            out.append(x)
    return out


def float_metrics(model: Model, ref_outputs: list[np.ndarray], inputs: Inputs,
                  float_model: str | None, custom_objects=None,
                  source=None, sequence: bool | None = None) -> list[OutputMetrics]:
    """`source`: the float model already loaded (mcuq.sources.ModelSource), else `float_model`
    is loaded (with `custom_objects`). sequence: the samples are one sequence (default:
    model.stateful): the float model runs them one call each, in order."""
    sequence = model.stateful if sequence is None else sequence
    tensors = model.output_tensors()
    deq = [metrics.dequantize(o, t.scale, t.zero_point)
           if t.quant is not None and not np.issubdtype(t.dtype, np.floating)
           else o.astype(np.float64) for o, t in zip(ref_outputs, tensors)]
    fouts = None
    if float_model is not None:
        predict = _load_float_model(source if source is not None else float_model,
                                    custom_objects, sequence=sequence)
        raw = predict(_float_inputs(inputs.real, predict.inputs))
        if len(raw) != len(tensors):
            raise InputError(f"{float_model}: {len(raw)} outputs, the .tflite model has "
                             f"{len(tensors)}", "pass the float model the .tflite came from")
        fouts = []
        for o, t, d in zip(raw, tensors, deq):
            if o.size != d.size:
                raise InputError(f"{float_model}: output of shape {o.shape} does not match "
                                 f"'{t.label}' {t.shape} for {d.shape[0]} samples",
                                 "pass the float model the .tflite came from")
            fouts.append(o.reshape(d.shape).astype(np.float64))
    result = []
    for k, (t, d) in enumerate(zip(tensors, deq)):
        m = OutputMetrics(t.label, k)
        if fouts is not None:
            f = fouts[k]
            if d[0].size > 1:  # one value per sample (a regression) has no arg-max class
                m.top1_agreement = metrics.top1_agreement(d, f)
            m.sqnr_db = metrics.sqnr_db(f, d)
            m.cosine = metrics.cosine(f, d)
            m.rmse = metrics.rmse(f, d)
            m.mae = metrics.mae(f, d)
        if inputs.labels is not None and k == 0:
            m.accuracy = {"int8": metrics.accuracy(d, inputs.labels),
                          "float": metrics.accuracy(fouts[0], inputs.labels)
                          if fouts is not None else None}
        if inputs.targets is not None and k == 0:
            from .int16_comparison import rmse_targets

            n = d.shape[0]
            m.rmse_targets = {"int8": rmse_targets(d.reshape(n, -1), inputs.targets, "--labels"),
                              "float": rmse_targets(fouts[0].reshape(n, -1), inputs.targets,
                                                    "--labels") if fouts is not None else None}
        result.append(m)
    return result


# -- the verb ------------------------------------------------------------------------------
class _References:
    """The reference in every profile a runner needs: each prepared once, run once."""

    def __init__(self, model: Model, windows: bool = False):
        self.model = model
        self.windows = windows
        self.runners: dict[str, Runner] = {}
        self.outputs: dict[str, list[np.ndarray]] = {}
        self.seconds = 0.0
        self.get("tflm")  # prepares every op: unsupported ops fail here, before any runner

    def get(self, profile: str) -> Runner:
        if profile not in self.runners:
            r = make_runner("reference", self.model, profile=profile)
            r.windows = r.interpreter.windows = self.windows
            self.runners[profile] = r
        return self.runners[profile]

    def run(self, profile: str, arrays: list[np.ndarray], bar) -> list[np.ndarray]:
        if profile not in self.outputs:
            bar.set_postfix_str(f"reference ({profile})", refresh=False)
            self.outputs[profile], seconds = _run_all(self.get(profile), arrays, bar)
            self.seconds += seconds
        return self.outputs[profile]

    def interpreters(self) -> dict:
        return {p: r.interpreter for p, r in self.runners.items()}


def packed_runner_options(model: Model, runner_options: dict | None, pack="off",
                          compress: bool = False) -> tuple[Model, dict]:
    """(the model the reference runs, runner options) for packed/compressed projects:
    pack (generate --target c --pack) goes to host, host-sanitize and cortex-m4; compress
    (generate --target tflm --compress) to tflm. A TFLite Micro-compressed .tflite (TFLM_DECODE
    ops) is read as the plain model it stands for (mcuq.tflm_compression): TFLite Micro and
    LiteRT are given its own bytes (LiteRT refuses them: reported as "refused")."""
    from .packing import parse_pack
    from .tflm_compression import decompress_tflm, is_tflm_compressed

    options = {k: dict(v) for k, v in (runner_options or {}).items()}
    pack = parse_pack(pack)
    if pack != "off":
        for name in ("host", "host-sanitize", "cortex-m4"):
            options.setdefault(name, {})["pack"] = pack
    if is_tflm_compressed(model):
        if compress:
            raise InputError(f"{model.source}: is already compressed for TFLite Micro",
                             "verify it without --compress")
        plain = decompress_tflm(model)
        for name in ("tflm", "tflite", "tflite-default"):
            options.setdefault(name, {})["data"] = model.data
        return plain, options
    if compress:
        options.setdefault("tflm", {})["compress"] = True
    return model, options


def verify_model(model, data=None, labels=None, float_model=None,
                 runners: Sequence = DEFAULT_RUNNERS, samples: int | None = None, seed: int = 0,
                 progress: bool = False, runner_options: dict | None = None,
                 diagnose: bool = True, scale=None, custom_objects=None,
                 isolate: bool = True, explain: bool = False, pack="off",
                 compress: bool = False, compare_int16: bool = False,
                 calibration=None, windows: bool | None = None) -> VerifyReport:
    """Run `model` through `runners` and compare each with the reference in the runner's
    profile. See the module doc. `scale` multiplies `data` first; `custom_objects` are the
    float model's custom layers; `explain` measures each runner's profile against tflm.
    isolate=False runs native runners in this process (benchmarks/verify_isolation.py
    measures what the isolation costs; never use it on a model from an untrusted source).
    `pack` / `compress`: run the C target packed and TFLite Micro on the compressed model
    (packed_runner_options); a TFLite Micro-compressed `model` is verified as its plain form.
    `compare_int16`: also convert `float_model` to int8 and to 16x8 and compare their error
    and arena on the data (mcuq.int16_comparison; needs float_model and data), calibrated on
    `calibration` (convert's formats; default: the data). `windows` (stateful models): each
    sample an independent window (True), the samples one sequence (False), or as
    default_windows decides (None)."""
    m, runner_options = packed_runner_options(load_model(model), runner_options, pack,
                                              compress)
    if compare_int16:
        from .int16_comparison import check_request

        check_request(m, float_model, data)
    elif calibration is not None:
        raise InputError("--calibration given without --compare-int16: verify calibrates "
                         "nothing else", "add --compare-int16, or leave --calibration out")
    class_labels, targets = class_labels_or_targets(m, labels, data)
    source = None
    if float_model is not None:  # loaded once (loader chain, custom objects) for every use
        from .sources import ModelSource, load_model_source

        source = float_model if isinstance(float_model, ModelSource) else \
            load_model_source(float_model, custom_objects=custom_objects)
    windows = m.stateful and (default_windows(m, source) if windows is None else bool(windows))
    sequence = m.stateful and not windows
    inputs = prepare_inputs(m, data, samples, seed, class_labels, scale, sequence)
    if windows:
        inputs.source = inputs.source.replace(" samples", " windows (state reset before each)", 1)
    inputs.fit_targets(targets, m, labels)
    refs = _References(m, windows)  # prepares every op in tflm: unsupported ops fail here
    others = _build_runners(m, runners, runner_options, isolate)
    for r in others:
        r.windows = windows
    refused: dict[str, str] = {}  # runner name -> why the reference has no such profile here
    for r in others:
        try:
            refs.get(r.profile)  # an unknown profile fails here, before anything runs
        except UnsupportedModelError as e:
            if r.profile == "tflm":
                raise
            # an op whose arithmetic in that runtime mcuq does not reproduce (the LSTM in
            # LiteRT): that runner is refused, the others still run
            refused[r.name] = f"{e.message} ({e.hint})"
    n = inputs.arrays[0].shape[0]

    from tqdm import tqdm

    reports = []
    with tqdm(total=n * (len(refs.runners) + len(others)), file=sys.stderr,
              disable=not progress, delay=1.0, unit="inference", desc="verify",
              leave=False) as bar:
        ref_outputs = refs.run("tflm", inputs.arrays, bar)
        for r in others:
            bar.set_postfix_str(r.name, refresh=False)
            t0 = time.perf_counter()
            if r.name in refused:
                reports.append(RunnerReport(r.name, bool(r.exact), False, "refused", 0.0, [],
                                            None, refused[r.name], profile=r.profile))
                continue
            try:
                outs, seconds = _run_all(r, inputs.arrays, bar)
            except RunnerError as e:
                reports.append(RunnerReport(r.name, bool(r.exact), False, e.status,
                                            time.perf_counter() - t0, [], None,
                                            e.message.removeprefix(f"{r.name}: "),
                                            profile=r.profile))
                continue
            reports.append(compare_runner(m, refs.get(r.profile),
                                          refs.run(r.profile, inputs.arrays, bar), r, outs,
                                          inputs.arrays, seconds, sequence))
            if getattr(r, "note", ""):
                reports[-1].note = "; ".join(x for x in (r.note, reports[-1].note) if x)
    ref_seconds = refs.seconds
    if explain:
        from .explain import profile_gap

        gaps = {p: profile_gap(m, inputs.arrays, p, "tflm", refs.interpreters(), windows)
                for p in dict.fromkeys(r.profile for r in reports) if p != "tflm"}
        for r in reports:
            r.profile_gap = gaps.get(r.profile)
    fm = None
    if float_model is not None or inputs.labels is not None or inputs.targets is not None:
        fm = float_metrics(m, ref_outputs, inputs,
                           str(float_model) if float_model is not None else None, custom_objects,
                           source, sequence)
    diagnosis, diagnosis_error = None, None
    if float_model is not None and diagnose and m.stateful:
        diagnosis_error = ("the per-layer diagnosis runs single invocations; this model keeps "
                           "state between invocations (a sequence, or windows after resets)")
    elif float_model is not None and diagnose:
        diagnosis, diagnosis_error = _diagnose(m, source, data, class_labels, n, seed, progress,
                                               scale)
    comparison = None
    if compare_int16:
        from .int16_comparison import compare_int16 as compare

        comparison = compare(m, source, inputs, seed=seed, measure_tflm=True,
                             labels_source=str(labels) if labels is not None else None,
                             targets=targets, calibration=calibration)
    code = exit_code(reports)
    return VerifyReport(
        model=m.source, samples=n, inputs=inputs.source, judge="reference",
        reference_seconds=ref_seconds, runners=reports,
        float_model=str(float_model) if float_model is not None else None,
        labels=str(labels) if labels is not None else None, metrics=fm,
        passed=code == EXIT_OK, exit_code=code, diagnosis=diagnosis,
        diagnosis_error=diagnosis_error, profiles=list(refs.runners), sequence=sequence,
        windows=windows, int16_comparison=comparison)


def default_windows(model: Model, source=None) -> bool:
    """Whether verify runs a stateful model window by window by default: its state lives only
    in the variable tensors of sequence ops that take more than one time step per invocation
    (what TFLiteConverter makes of a Keras LSTM/RNN that is not `stateful`: Keras starts every
    window from zeros, TFLite keeps the tensors between invocations), and the float model, if
    given (`source`), has no `stateful` layer. Anything else -- resource variables, SVDF,
    one-step sequence ops (streaming) -- is one sequence."""
    if not model.windowed:
        return False
    keras_model = getattr(source, "keras_model", None)
    if keras_model is not None:
        stack = list(getattr(keras_model, "layers", []))
        while stack:  # nested models too
            layer = stack.pop()
            if getattr(layer, "stateful", False) is True:
                return False
            stack.extend(getattr(layer, "layers", None) or [])
    return True


def exit_code(reports: list[RunnerReport]) -> int:
    """1 for a mismatch between runners that ran (whatever else happened), else 5 when a
    runner refused or crashed, else 0."""
    if any(r.status == "mismatch" for r in reports):
        return EXIT_MISMATCH
    if any(r.status in ("refused", "crashed") for r in reports):
        return EXIT_RUNNER_FAILED
    return EXIT_OK


def _diagnose(m: Model, float_model, data, labels, samples, seed, progress, scale=None):
    """verify --float's per-layer section (mcuq.diagnosis); a model it cannot pair with the
    float graph is a note, never a verify failure."""
    from .diagnosis import diagnose_model
    from .errors import McuqError

    try:
        return diagnose_model(m, float_model, data=data, labels=labels, samples=samples,
                              seed=seed, progress=progress, scale=scale), None
    except McuqError as e:
        return None, e.message


__all__ = ["verify_model", "VerifyReport", "RunnerReport", "OutputComparison", "Divergence",
           "OutputMetrics", "prepare_inputs", "first_diverging_tensor", "DEFAULT_RUNNERS"]
