"""Full-int8 post-training quantization with TensorFlow's TFLiteConverter.

The model is traced with a fixed batch of 1 (so Keras Flatten becomes one RESHAPE), variables
are frozen, and the converter runs with Optimize.DEFAULT, a representative dataset from the
validated calibration data, TFLITE_BUILTINS_INT8 only and int8 (or uint8/float32) I/O. The
result must be fully integer: TensorFlow Lite Micro cannot run float or hybrid ops, so any op
left with a float tensor is an UnsupportedModelError naming the op and its Keras layer.

TensorFlow is imported inside the functions only.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError, UnsupportedModelError
from .model import Model, parse_model
from .files import require_writable, write_error
from .native import quiet_native_output

IO_TYPES = ("int8", "uint8", "float32", "int16")
ACTIVATION_TYPES = ("int8", "int16")
#: I/O types each activation type converts with (TFLiteConverter's 16x8 mode takes int16 or
#: float32 I/O only).
IO_FOR_ACTIVATIONS = {"int8": ("int8", "uint8", "float32"), "int16": ("int16", "float32")}
BATCH_NOTE = ("batch axis fixed to 1 (traced with a batch-1 input signature: Flatten is one "
              "RESHAPE; run the model one sample at a time)")
_FLOAT_TYPES = {"FLOAT32", "FLOAT16", "FLOAT64", "BFLOAT16", "COMPLEX64", "COMPLEX128"}
#: Non-constant tensors of these types are integer index/shape paths (e.g. Embedding), allowed.
_INDEX_TYPES = {"INT32", "BOOL"}


@dataclass
class TensorInfo:
    name: str
    shape: list[int]
    dtype: str
    scale: float | None
    zero_point: int | None


@dataclass
class ConvertResult:
    data: bytes = field(repr=False)
    source: str
    model_kind: str
    output: str | None
    io_type: str
    per_channel: bool
    float_bytes: int | None  # float32 weights of the source model
    tflite_bytes: int  # the whole .tflite file
    weight_bytes: int  # constant tensors inside it
    op_counts: dict[str, int]
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    samples_used: int
    samples_total: int
    calibration: str
    matched_by: str
    seed: int
    batch: str
    seconds: float
    tensorflow: str
    warnings: list[str] = field(default_factory=list)
    #: How the float model was loaded (mcuq.sources.Provenance: loader, why, the Keras that
    #: saved the file, custom objects used, loader notes).
    loader: Any = None
    #: What was done to the calibration data (--scale, reshaped size-1 axes).
    calibration_notes: list[str] = field(default_factory=list)
    #: Lines TensorFlow's converter (or the model's own code) printed that are not log noise.
    converter_output: list[str] = field(default_factory=list)
    #: "int8", or "int16" (16x8: int16 activations, int8 weights, int64 bias).
    activations: str = "int8"
    #: Ops of the model that mcuq's reference has no kernel for at these activations (the
    #: model is valid for TFLite Micro; verify/generate --target c refuse it).
    missing_kernels: list[str] = field(default_factory=list)

    @property
    def size_ratio(self) -> float | None:
        return self.float_bytes / self.tflite_bytes if self.float_bytes else None


# --------------------------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------------------------

def convert_model(model: Any, calibration: Any, samples: int | None = None, seed: int = 0,
                  io_type: str | None = None, per_channel: bool = True,
                  progress: bool = False, custom_objects: Any = None,
                  scale: Any = None, activations: str = "int8") -> ConvertResult:
    """Convert `model` (path, keras/tf_keras Model or loaded mcuq.sources.ModelSource) to
    full-int8 .tflite bytes (in the result). `custom_objects`: module names, .py paths,
    modules or {name: class} dicts with the model's custom layers; `scale`: factor applied
    to the calibration data (e.g. "1/255" for uint8 images; integer data for a float input
    is refused without it). `activations`:
    "int8" (full int8) or "int16" (16x8: TFLiteConverter's
    EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8, int16 or float32 I/O;
    io_type defaults to the activation type)."""
    from .calibration import parse_scale
    from .custom_objects import load_custom_objects
    from .sources import (CalibrationWarning, ModelSource, check_calibration_source,
                          load_calibration, load_model_source)

    start = time.perf_counter()
    if activations not in ACTIVATION_TYPES:
        raise InputError(f"unknown activation type '{activations}'",
                         f"choose from {', '.join(ACTIVATION_TYPES)}")
    io_type = io_type or activations
    if io_type not in IO_TYPES:
        raise InputError(f"unknown I/O type '{io_type}'", f"choose from {', '.join(IO_TYPES)}")
    if io_type not in IO_FOR_ACTIVATIONS[activations]:
        raise InputError(f"--io {io_type} does not go with --activations {activations}",
                         f"with {activations} activations choose --io "
                         f"{' or '.join(IO_FOR_ACTIVATIONS[activations])}")
    if samples is not None and samples < 1:
        raise InputError(f"samples must be at least 1 (got {samples})", "pass --samples N >= 1")
    check_calibration_source(calibration)
    parse_scale(scale)
    custom = load_custom_objects(custom_objects)
    src = model if isinstance(model, ModelSource) else \
        load_model_source(model, custom_objects=custom)
    calib = load_calibration(calibration, src.inputs, samples=samples, seed=seed, scale=scale)
    for w in calib.warnings:
        warnings.warn(w, CalibrationWarning, stacklevel=2)
    printed: list[str] = []
    data = _run_converter(src, calib, io_type, per_channel, progress, printed, activations,
                          custom)
    parsed = parse_model(data, src.source)
    check_fully_integer(parsed, io_type, src.layer_names, activations)
    import tensorflow as tf

    return ConvertResult(
        data=data, source=src.source, model_kind=src.kind, output=None, io_type=io_type,
        per_channel=per_channel, float_bytes=src.float_bytes, tflite_bytes=len(data),
        weight_bytes=int(sum(t.nbytes for t in parsed.tensors if t.is_constant)),
        op_counts=dict(Counter(op.opcode for op in parsed.operators)),
        inputs=[_info(t, n) for t, n in zip(parsed.input_tensors(),
                                            [i.name for i in src.inputs])],
        outputs=[_info(t, n) for t, n in zip(parsed.output_tensors(),
                                             src.output_names or [None] * len(parsed.outputs))],
        samples_used=calib.count, samples_total=calib.total, calibration=calib.source,
        matched_by=calib.matched_by, seed=seed, batch=BATCH_NOTE,
        seconds=round(time.perf_counter() - start, 3), tensorflow=tf.__version__,
        warnings=list(calib.warnings), loader=src.provenance,
        calibration_notes=list(calib.notes), converter_output=printed,
        activations=activations, missing_kernels=_missing_kernels(parsed))


def _missing_kernels(model: Model) -> list[str]:
    """Ops (by name, once each) that mcuq's reference does not run as converted (no kernel,
    or none for these types)."""
    from .reference.registry import prepare_ops

    return sorted({r.op.opcode for r in prepare_ops(model)[1] if r.op is not None})


def _info(t, name: str | None) -> TensorInfo:
    return TensorInfo(name=name or t.name, shape=list(t.shape), dtype=t.type_name.lower(),
                      scale=float(t.scale) if t.quant is not None else None,
                      zero_point=int(t.zero_point) if t.quant is not None else None)


def build_converter(concrete_function, representative_dataset, io_type: str = "int8",
                    per_channel: bool = True, activations: str = "int8", trackable_obj=None):
    """The TFLiteConverter exactly as mcuq configures it (also used by the benchmark).
    trackable_obj: the Keras model, given only for recurrent models (see _convert_recurrent)."""
    from .sources import import_tf

    tf = import_tf()
    # No trackable_obj on purpose: with one, TF 2.21 round-trips through a SavedModel, which
    # reverses the order of a multi-output model's outputs, renames every input
    # ("serving_default_x:0") and is 4x slower on small models. Without one, the converter
    # freezes the function itself and keeps the model's input and output order and names.
    import logging

    absl = logging.getLogger("absl")
    quiet = _DropMessage("trackable_obj")
    absl.addFilter(quiet)
    try:
        conv = tf.lite.TFLiteConverter.from_concrete_functions(
            [concrete_function], *([trackable_obj] if trackable_obj is not None else []))
    finally:
        absl.removeFilter(quiet)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative_dataset
    # 16x8 alone (no TFLITE_BUILTINS beside it): an op without a 16-bit kernel is a
    # converter error naming it, never a float fallback.
    conv.target_spec.supported_ops = (
        [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        if activations == "int16" else [tf.lite.OpsSet.TFLITE_BUILTINS_INT8])
    io = {"int8": tf.int8, "uint8": tf.uint8, "float32": tf.float32,
          "int16": tf.int16}[io_type]
    conv.inference_input_type = io
    conv.inference_output_type = io
    # The converter's own switch for per-tensor weight scales (lite.py passes it to the
    # calibration quantizer as disable_per_channel).
    conv._experimental_disable_per_channel = not per_channel
    if activations == "int16":
        # 16x8 FULLY_CONNECTED per tensor: TFLite Micro's CMSIS-NN build refuses per-channel
        # int16 FULLY_CONNECTED at Prepare (cmsis_nn/fully_connected.cc allows per-channel
        # only for int8), so a per-channel 16x8 Dense would not run on Cortex-M with CMSIS-NN.
        conv._experimental_disable_per_channel_quantization_for_dense_layers = True
    return conv


class _DropMessage:
    def __init__(self, text: str):
        self.text = text

    def filter(self, record) -> bool:
        return self.text not in record.getMessage()


def _run_converter(src, calib, io_type: str, per_channel: bool, progress: bool,
                   printed: list[str] | None = None, activations: str = "int8",
                   custom=None) -> bytes:
    """The converter run; what it prints that is not log noise goes to `printed` (and into
    the error message when it fails). custom: the CustomObjects the model was loaded with
    (recurrent models are loaded again in a child process)."""
    from tqdm import tqdm

    printed = printed if printed is not None else []
    if src.recurrent_layers:
        return _convert_recurrent(src, calib, io_type, per_channel, printed, activations,
                                  custom)

    sinks: list = []

    def representative_dataset():
        bar = tqdm(total=calib.count, desc="calibrating", unit="sample", file=sinks[0],
                   disable=None if progress else True,  # None: off when not a terminal
                   leave=False, dynamic_ncols=True)
        with bar:
            for i in range(calib.count):
                yield calib.sample(i)
                bar.update(1)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
        try:
            with quiet_native_output(sinks, keep=printed):
                if not sinks:
                    sinks.append(sys.stderr)
                cf = src.concrete_function()
                conv = build_converter(cf, representative_dataset, io_type, per_channel,
                                       activations)
                data = conv.convert()
        except Exception as e:  # noqa: BLE001 - ConverterError, RuntimeError, ValueError...
            raise _converter_error(src, e, printed, activations) from None
    # Python warnings while tracing and converting (Keras UserWarnings...): shown in the
    # summary with the converter's output, never as raw warning noise on stderr.
    for w in caught:
        line = str(w.message).strip().splitlines()[0] if str(w.message).strip() else ""
        if line and not issubclass(w.category, DeprecationWarning) and line not in printed:
            printed.append(line)
    return bytes(data)


def _convert_recurrent(src, calib, io_type: str, per_channel: bool, printed: list[str],
                       activations: str, custom=None) -> bytes:
    """Recurrent Keras layers: TFLiteConverter fuses a tf_keras (Keras 2) LSTM into one
    UNIDIRECTIONAL_SEQUENCE_LSTM only when given the model as its trackable object (it then
    converts through a SavedModel), and crashes (SIGSEGV) on a Keras 3 LSTM or on the traced
    function alone. So the conversion runs in a child process: a crash is an error naming the
    layers (exit 3), not a dead mcuq."""
    from .native import call_in_child

    samples = [calib.sample(i) for i in range(calib.count)]
    with tempfile.TemporaryDirectory(prefix="mcuq-recurrent-") as tmp:
        path = src.source
        if src.kind == "in-memory":  # the child loads it from a file
            legacy = type(src.keras_model).__module__.startswith("tf_keras")
            path = os.path.join(tmp, "model.h5" if legacy else "model.keras")
            src.keras_model.save(path)
        specs = custom.portable() if custom else []
        out = call_in_child("mcuq.conversion:_convert_recurrent_child", path, samples,
                            io_type, per_channel, activations, specs)
    printed.extend(ln for ln in out.stdout.splitlines() if ln.strip())
    if out.ok:
        return out.value
    if out.error is not None:
        raise out.error
    layers = ", ".join(src.recurrent_layers)
    hint = ("Keras 3's LSTM/GRU do not convert to TFLite's fused ops: build the model with "
            "tf_keras (Keras 2) and save it as .h5 (mcuq reads it with tf_keras), or unroll "
            "the layer (unroll=True)")
    if out.exception is not None:
        err = _converter_error(src, RuntimeError(out.exception[1]), printed, activations)
        legacy = type(src.keras_model).__module__.startswith("tf_keras")
        raise UnsupportedModelError(f"{err.message} (recurrent layer(s) {layers})",
                                    err.hint if legacy else hint)
    raise UnsupportedModelError(
        f"{src.source}: TFLiteConverter {out.describe()} converting the recurrent layer(s) "
        f"{layers}", hint)


def _convert_recurrent_child(path: str, samples: list, io_type: str, per_channel: bool,
                             activations: str, custom_specs: list | None = None) -> bytes:
    """The child side of _convert_recurrent: load, trace, convert with the trackable model."""
    from .sources import load_model_source

    src = load_model_source(path, custom_objects=custom_specs or None)
    # tf_keras's LSTM fuses when the converter gets the model (through a SavedModel); Keras 3
    # gets the traced function alone, as every other model (with the model it fails later)
    legacy = type(src.keras_model).__module__.startswith("tf_keras")

    def representative_dataset():
        yield from samples

    with quiet_native_output():
        conv = build_converter(src.concrete_function(), representative_dataset, io_type,
                               per_channel, activations,
                               trackable_obj=src.keras_model if legacy else None)
        return bytes(conv.convert())


def convert_float(model: Any) -> bytes:
    """The float .tflite of `model` (path, keras.Model or loaded ModelSource) made exactly like convert_model's
    int8 one (same loading, the same batch-1 trace, the same converter entry point) but with
    no quantization: every tensor float32. `mcuq diagnose` runs it as the float graph whose
    intermediate tensors the int8 ones are compared with."""
    from .sources import ModelSource, import_tf, load_model_source

    src = model if isinstance(model, ModelSource) else load_model_source(model)
    tf = import_tf()
    import logging

    absl = logging.getLogger("absl")
    quiet = _DropMessage("trackable_obj")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with quiet_native_output():
                absl.addFilter(quiet)
                try:
                    conv = tf.lite.TFLiteConverter.from_concrete_functions(
                        [src.concrete_function()])
                finally:
                    absl.removeFilter(quiet)
                data = conv.convert()
        except Exception as e:  # noqa: BLE001 - ConverterError, RuntimeError, ValueError...
            raise _converter_error(src, e) from None
    return bytes(data)


def _converter_error(src, e: Exception, printed: list[str] = (),
                     activations: str = "int8") -> UnsupportedModelError:
    text = str(e)
    ops = sorted(set(re.findall(r"'(tf\.\w+|tfl\.\w+)'", text)))
    lines = [ln.strip() for ln in text.splitlines() if "error" in ln.lower()] or \
        [ln.strip() for ln in text.splitlines() if ln.strip()]
    detail = lines[0][:400] if lines else type(e).__name__
    what = "16x8 (int16 activations)" if activations == "int16" else "full int8"
    msg = f"{src.source}: TFLiteConverter cannot make this model {what}: {detail}"
    if ops:
        msg += f" (ops: {', '.join(ops)})"
    said = [ln.strip() for ln in printed if ln.strip() and ln.strip() not in text]
    errs = [ln for ln in said if "error" in ln.lower()] or said
    if errs:
        msg += f" (converter output: {errs[0][:300]})"
    if activations == "int16":
        return UnsupportedModelError(
            msg, "these ops have no 16-bit (16x8) TFLite kernel: replace their layers, or "
                 "convert with --activations int8")
    return UnsupportedModelError(
        msg, "replace the layers behind these ops with ones that have int8 TFLite kernels "
             "(Dense, Conv2D, DepthwiseConv2D, pooling, ReLU/ReLU6, Add, Concatenate, Softmax...)")


# --------------------------------------------------------------------------------------------
# All-integer check
# --------------------------------------------------------------------------------------------

def layer_of(names: list[str], layer_names=frozenset()) -> str:
    """The Keras layer an op came from, read from its tensors' names
    ("model_1/conv2d_3_1/Relu;model_1/conv2d_3_1/BiasAdd" -> "conv2d_3")."""
    found = None
    for full in names:
        for part in full.split(";"):
            comps = [c for c in part.split("/") if c]
            for c in comps:
                base = re.sub(r"_\d+$", "", c)
                if c in layer_names:
                    found = c
                elif base in layer_names:
                    found = base
            if found:
                return found
    for full in names:
        comps = [c for c in full.split(";")[0].split("/") if c]
        if len(comps) >= 2:
            return re.sub(r"_\d+$", "", comps[-2]) if len(comps) > 2 else comps[0]
        if comps:
            return comps[0]
    return "?"


#: ops whose integer kernels keep an int16 state tensor (op input index) beside int8
#: activations: the LSTM's cell state
INT16_STATE_OPS = {"UNIDIRECTIONAL_SEQUENCE_LSTM": 19}


def integer_problems(model: Model, io_type: str = "int8",
                     activations: str = "int8") -> list[tuple[Any, str]]:
    """(operator, what is wrong) for every op that is not pure integer. With int16
    activations (16x8), non-constant int16 tensors with zero point 0 are allowed too (weights
    stay int8, biases int32/int64 constants)."""
    inputs, outputs = set(model.inputs), set(model.outputs)
    edge_in = {"int8": "INT8", "uint8": "UINT8", "float32": "FLOAT32", "int16": "INT16"}[io_type]
    act = {"int8": "INT8", "int16": "INT16"}[activations]
    problems = []
    for op in model.operators:
        if io_type != act.lower():
            # The converter's own edge ops: QUANTIZE after a float32/uint8 input,
            # DEQUANTIZE (float32) or QUANTIZE (uint8) before an output.
            if op.opcode == "QUANTIZE" and any(i in inputs for i in op.inputs):
                if all(model.tensors[i].type_name == edge_in for i in op.inputs if i >= 0):
                    continue
            if op.opcode in ("DEQUANTIZE", "QUANTIZE") and any(o in outputs for o in op.outputs):
                if all(model.tensors[o].type_name == edge_in for o in op.outputs):
                    continue
        bad = []
        for role, idxs in (("input", op.inputs), ("output", op.outputs)):
            for k, i in enumerate(idxs):
                if i < 0:
                    continue
                t = model.tensors[i]
                ty = t.type_name
                if ty in _FLOAT_TYPES:
                    bad.append(f"{role} {k} '{t.name}' is {ty}")
                elif ty == "INT8" or ty in _INDEX_TYPES:
                    continue
                elif (ty == "INT16" and op.opcode in INT16_STATE_OPS and t.is_variable
                      and role == "input" and k == INT16_STATE_OPS[op.opcode]):
                    continue  # the integer LSTM's int16 cell state (int8 or 16x8)
                elif ty == "INT16" and act == "INT16" and not t.is_constant:
                    if t.quant is not None and t.quant.scale.size and t.zero_point != 0:
                        bad.append(f"{role} {k} '{t.name}' is INT16 with zero point "
                                   f"{t.zero_point} (16x8 needs 0)")
                elif not t.is_constant:
                    bad.append(f"{role} {k} '{t.name}' is {ty}")
        if bad:
            kinds = {model.tensors[i].type_name for i in op.inputs if i >= 0}
            hybrid = ("FLOAT32" in kinds and "INT8" in kinds and
                      any(model.tensors[i].is_constant and model.tensors[i].type_name == "INT8"
                          for i in op.inputs if i >= 0))
            what = "; ".join(bad[:3]) + ("; ..." if len(bad) > 3 else "")
            if hybrid:
                what += " (hybrid: float activations with int8 weights)"
            problems.append((op, what))
    for t in model.input_tensors() + model.output_tensors():
        if t.type_name != edge_in:
            problems.append((None, f"model {'input' if t.index in inputs else 'output'} "
                                   f"'{t.name}' is {t.type_name}, expected {edge_in}"))
    return problems


def check_fully_integer(model: Model, io_type: str = "int8", layer_names=frozenset(),
                        activations: str = "int8") -> None:
    """Raise UnsupportedModelError naming every op (and its layer) that is not pure integer."""
    problems = integer_problems(model, io_type, activations)
    if not problems:
        return
    parts = []
    for op, what in problems:
        if op is None:
            parts.append(what)
            continue
        names = [model.tensors[i].name for i in op.outputs] + \
                [model.tensors[i].name for i in op.inputs if i >= 0]
        parts.append(f"{op.describe()} (layer '{layer_of(names, layer_names)}'): {what}")
    n = sum(1 for op, _ in problems if op is not None)
    if activations == "int16":
        raise UnsupportedModelError(
            f"{model.source}: not fully 16x8: {n} op(s) keep float tensors, which TensorFlow "
            "Lite Micro cannot run: " + " | ".join(parts),
            "replace those layers with ones that have 16x8 kernels, or convert with "
            "--activations int8")
    raise UnsupportedModelError(
        f"{model.source}: not fully int8: {n} op(s) keep float tensors, which TensorFlow Lite "
        "Micro cannot run: " + " | ".join(parts),
        "replace those layers with ones that have int8 kernels (e.g. LayerNormalization -> "
        "BatchNormalization, GRU/LSTM -> Conv1D/Dense), or run them outside the model")


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------

def check_output(output, force: bool) -> Path:
    out = Path(output)
    if out.is_dir():
        raise InputError(f"{out}: is a folder", "pass a file name such as model.tflite")
    if out.exists() and not force:
        raise InputError(f"{out}: already exists", "pass --force to overwrite it, or choose "
                                                   "another -o/--output")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{out}: folder {parent} does not exist", "create it first")
    require_writable(parent, out)  # before converting, not after
    return out


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary sibling, then rename into place: never a half-written file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".",
                               prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def convert_to_file(model, calibration, output, samples=None, seed=0, io_type=None,
                    per_channel=True, force=False, progress=False, custom_objects=None,
                    scale=None, activations="int8") -> ConvertResult:
    """convert_model, then write the .tflite atomically. Refuses to overwrite without force.
    Calibration warnings are printed to stderr as they happen (and kept in the result)."""
    from .sources import CalibrationWarning

    out = check_output(output, force)
    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, CalibrationWarning):
            sys.stderr.write(f"warning: {message}\n")
        else:
            previous(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        warnings.simplefilter("always", CalibrationWarning)
        warnings.showwarning = show
        result = convert_model(model, calibration, samples=samples, seed=seed, io_type=io_type,
                               per_channel=per_channel, progress=progress,
                               custom_objects=custom_objects, scale=scale,
                               activations=activations)
    out = check_output(output, force)  # again: it may have appeared meanwhile
    try:
        write_atomic(out, result.data)
    except OSError as e:
        raise write_error(out, e) from None
    result.output = str(out)
    return result


__all__ = ["ConvertResult", "TensorInfo", "convert_model", "convert_to_file", "build_converter",
           "convert_float", "check_fully_integer", "integer_problems", "layer_of",
           "write_atomic", "IO_TYPES", "BATCH_NOTE"]
