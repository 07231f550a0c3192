"""Load what `mcuq convert` starts from: a float Keras/TensorFlow model and calibration data.

Models: a `.keras` file (loaded with safe_mode on), a legacy `.h5` file, a SavedModel folder, or
an in-memory `keras.Model`. Calibration data: `.npy` (N samples, single-input models), `.npz`
(one array per input, matched by input name, else by order), a folder of `.npy`/`.npz` files
(one sample each), `package.module:function` returning an iterable of samples, or in-memory
arrays. Every problem with the data is found here, before any conversion, and reported as one
InputError naming the file, the input, what was expected and what was found.

TensorFlow is imported only inside the functions that load a model.
"""
from __future__ import annotations

import importlib
import os
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import InputError, UnsupportedModelError

#: Calibration samples used when --samples is not given (all of them, up to this many).
DEFAULT_MAX_SAMPLES = 500
#: Fewer samples than this gives a warning: the int8 ranges may not cover real inputs.
MIN_RECOMMENDED_SAMPLES = 50
#: A `module:function` source is read up to this many samples.
MAX_GENERATED_SAMPLES = 10_000

_FUNC_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class CalibrationWarning(UserWarning):
    """Calibration data that converts, but may cost accuracy (e.g. too few samples)."""


# --------------------------------------------------------------------------------------------
# TensorFlow, quietly
# --------------------------------------------------------------------------------------------

def import_tf():
    """Import TensorFlow with its C++ INFO/WARNING logging off (errors still print)."""
    if "tensorflow" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        from .conversion import quiet_native_output

        with quiet_native_output():
            import tensorflow

            # Device discovery logs (e.g. "failed call to cuInit") happen here, captured.
            tensorflow.config.list_physical_devices()
    import tensorflow as tf

    return tf


def import_keras():
    import_tf()
    import keras

    return keras


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelInput:
    name: str
    shape: tuple[int, ...]  # without the batch axis
    dtype: np.dtype


@dataclass
class ModelSource:
    """A loaded float model: its inputs and a way to trace it with a batch of 1."""

    source: str
    kind: str  # "keras", "h5", "saved_model", "in-memory"
    inputs: list[ModelInput]
    output_names: list[str]
    layer_names: frozenset[str]
    float_bytes: int | None
    _call: Callable = field(repr=False)  # (list of tf tensors) -> list of tf tensors

    def predict(self, xs: list[np.ndarray], chunk: int = 256) -> list[np.ndarray]:
        """Run the float model on arrays (B, *input_shape), one per input, in chunks."""
        tf = import_tf()
        parts = [self._call([tf.constant(x[i:i + chunk]) for x in xs])
                 for i in range(0, xs[0].shape[0], chunk)]
        return [np.concatenate([np.asarray(p[k]) for p in parts]) for k in range(len(parts[0]))]

    def concrete_function(self):
        """The model traced with a fixed batch of 1 (the converter freezes the variables)."""
        tf = import_tf()

        specs = [tf.TensorSpec((1, *i.shape), tf.as_dtype(i.dtype), name=_op_name(i.name, k))
                 for k, i in enumerate(self.inputs)]
        call = self._call

        @tf.function(input_signature=specs, autograph=False)
        def serve(*xs):
            return call(list(xs))

        return serve.get_concrete_function()


def _op_name(name: str, k: int) -> str:
    clean = re.sub(r"[^A-Za-z0-9_.\-]", "_", name)
    return clean if clean and clean[0].isalnum() else f"input_{k}{clean}"


def load_model_source(model: Any) -> ModelSource:
    """A path (.keras, .h5, SavedModel folder) or an in-memory keras.Model."""
    if isinstance(model, (str, os.PathLike)):
        return _load_path(Path(model))
    keras = import_keras()
    if isinstance(model, keras.Model):
        return _from_keras(model, "<keras.Model>", "in-memory")
    raise InputError(f"cannot convert a {type(model).__name__}",
                     "pass a .keras/.h5 path, a SavedModel folder or a keras.Model")


def _load_path(path: Path) -> ModelSource:
    if not path.exists():
        raise InputError(f"{path}: no such file or folder",
                         "pass a .keras file, a legacy .h5 file or a SavedModel folder")
    if path.is_dir():
        if not (path / "saved_model.pb").exists():
            raise InputError(f"{path}: folder has no saved_model.pb, so it is not a SavedModel",
                             "pass the SavedModel folder itself, or a .keras/.h5 file")
        return _load_saved_model(path)
    suffix = path.suffix.lower()
    if suffix == ".tflite":
        raise InputError(f"{path}: is already a .tflite model",
                         "convert the float .keras/.h5/SavedModel; inspect this one with "
                         "`mcuq inspect`")
    if suffix not in (".keras", ".h5", ".hdf5"):
        raise InputError(f"{path}: unknown model format '{suffix or path.name}'",
                         "pass a .keras file, a legacy .h5 file or a SavedModel folder")
    keras = import_keras()
    try:
        # compile=False: the optimizer and metrics are not needed (and warn when loaded).
        m = keras.models.load_model(path, compile=False, safe_mode=True)
    except ValueError as e:
        text = str(e)
        if "safe_mode" in text or "Lambda" in text:
            raise InputError(f"{path}: refused to load with safe_mode on: {_first_line(text)}",
                             "mcuq never runs code stored in a model file; replace Lambda "
                             "layers with built-in or registered layers and save again") from None
        raise InputError(f"{path}: cannot load the model: {_first_line(text)}",
                         "check that the file was saved by Keras (model.save)") from None
    except Exception as e:  # noqa: BLE001 - h5py/zip/keras raise many types
        raise InputError(f"{path}: cannot load the model ({type(e).__name__}: "
                         f"{_first_line(str(e))})",
                         "check that the file is a complete model saved by Keras (model.save)"
                         ) from None
    return _from_keras(m, str(path), "keras" if suffix == ".keras" else "h5")


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[0][:300] if lines else ""


def _keras_name(t, k: int) -> str:
    hist = getattr(t, "_keras_history", None)
    op = getattr(hist, "operation", None) if hist is not None else None
    return getattr(op, "name", None) or getattr(t, "name", None) or f"input_{k}"


def _from_keras(m, source: str, kind: str) -> ModelSource:
    try:
        tensors = list(m.inputs)
    except (AttributeError, ValueError, TypeError):
        tensors = []
    if not tensors:
        raise InputError(f"{source}: the model has no defined inputs (a subclassed model that "
                         "was never built?)",
                         "build it as a functional/Sequential model with keras.Input(shape)")
    inputs = []
    for k, t in enumerate(tensors):
        name = _keras_name(t, k)
        shape = tuple(t.shape[1:])
        if any(d is None for d in shape):
            raise UnsupportedModelError(
                f"{source}: input '{name}' has an unknown dimension {tuple(t.shape)}",
                "give keras.Input a fixed shape; microcontroller models need static shapes")
        inputs.append(ModelInput(name, tuple(int(d) for d in shape), np.dtype(str(t.dtype))))
    try:
        outputs = [_keras_name(t, k) for k, t in enumerate(m.outputs)]
    except (AttributeError, ValueError, TypeError):
        outputs = []
    layer_names = frozenset(_all_layer_names(m))
    float_bytes = int(sum(int(np.prod(w.shape)) * np.dtype(str(w.dtype)).itemsize
                          for w in m.weights))
    as_dict = isinstance(getattr(m, "input", None), dict)
    names = [i.name for i in inputs]

    def call(xs):
        import tensorflow as tf

        if as_dict:
            arg = dict(zip(names, xs))
        else:
            arg = xs[0] if len(xs) == 1 else list(xs)
        return tf.nest.flatten(m(arg, training=False))

    return ModelSource(source, kind, inputs, outputs, layer_names, float_bytes, call)


def _all_layer_names(m):
    for layer in getattr(m, "layers", []):
        yield layer.name
        yield from _all_layer_names(layer)


def _load_saved_model(path: Path) -> ModelSource:
    tf = import_tf()
    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as e:  # noqa: BLE001
        raise InputError(f"{path}: cannot load the SavedModel ({type(e).__name__}: "
                         f"{_first_line(str(e))})",
                         "re-export it with model.export(path) or tf.saved_model.save") from None
    sigs = dict(getattr(loaded, "signatures", {}) or {})
    if not sigs:
        raise InputError(f"{path}: the SavedModel has no serving signature",
                         "export it with model.export(path) (Keras 3) or a signature")
    sig = sigs.get("serving_default") or sigs[sorted(sigs)[0]]
    args, kwargs = sig.structured_input_signature
    if args:
        raise UnsupportedModelError(f"{path}: signature takes positional inputs",
                                    "export with named inputs (model.export)")
    names = sorted(kwargs)
    inputs = []
    for name in names:
        spec = kwargs[name]
        shape = tuple(spec.shape)[1:]
        if any(d is None for d in shape):
            raise UnsupportedModelError(
                f"{path}: input '{name}' has an unknown dimension {tuple(spec.shape)}",
                "export with a fixed input shape; microcontroller models need static shapes")
        inputs.append(ModelInput(name, tuple(int(d) for d in shape),
                                 np.dtype(spec.dtype.as_numpy_dtype)))
    out_struct = sig.structured_outputs
    out_names = sorted(out_struct) if isinstance(out_struct, dict) else \
        [f"output_{k}" for k in range(len(tf.nest.flatten(out_struct)))]
    variables = list(getattr(loaded, "variables", []) or [])
    float_bytes = int(sum(int(np.prod(v.shape)) * v.dtype.size for v in variables)) or None

    def call(xs):
        out = sig(**dict(zip(names, xs)))
        if isinstance(out, dict):
            return [out[k] for k in out_names]
        return tf.nest.flatten(out)

    # Keep `loaded` alive as long as the function that uses its signature.
    call.loaded = loaded
    return ModelSource(str(path), "saved_model", inputs, out_names, frozenset(), float_bytes, call)


# --------------------------------------------------------------------------------------------
# Calibration data
# --------------------------------------------------------------------------------------------

@dataclass
class Calibration:
    """Validated calibration samples: one (N, *shape) array per model input."""

    arrays: list[np.ndarray]
    total: int  # samples available
    source: str
    matched_by: str  # "name", "order" or "single"
    warnings: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return int(self.arrays[0].shape[0])

    def sample(self, i: int) -> list[np.ndarray]:
        """Sample i as the converter wants it: one (1, *shape) array per input."""
        return [a[i:i + 1] for a in self.arrays]


def check_calibration_source(source: Any) -> None:
    """Cheap checks that need no model (so they fail before TensorFlow is loaded)."""
    if not isinstance(source, (str, os.PathLike)):
        return
    text = os.fspath(source)
    if not os.path.exists(text) and _FUNC_RE.match(text):
        return
    path = Path(text)
    if not path.exists():
        raise InputError(f"{path}: no such calibration file or folder",
                         "pass a .npy, .npz, a folder of .npy files, or package.module:function")
    if path.is_file() and path.suffix.lower() not in (".npy", ".npz"):
        raise InputError(f"{path}: unknown calibration format '{path.suffix or path.name}'",
                         "save the samples with numpy.save (.npy) or numpy.savez (.npz)")


def load_calibration(source: Any, inputs: list[ModelInput], samples: int | None = None,
                     seed: int = 0) -> Calibration:
    """Read, validate and (if there are more than `samples`, default 500) sub-sample."""
    check_calibration_source(source)
    arrays, total_label, matched, notes = _read(source, inputs)
    label = total_label
    arrays = [_check_dtype(a, inp, label) for a, inp in zip(arrays, inputs)]
    counts = {inp.name: int(a.shape[0]) for a, inp in zip(arrays, inputs)}
    if len(set(counts.values())) > 1:
        raise InputError(f"{label}: inputs have different sample counts: "
                         + ", ".join(f"'{k}' {v}" for k, v in counts.items()),
                         "give every input the same number of samples, in the same order")
    total = next(iter(counts.values()))
    if total == 0:
        raise InputError(f"{label}: no calibration samples (empty data)",
                         "pass 100-500 real input samples, e.g. from the training set")
    for a, inp in zip(arrays, inputs):
        _check_finite(a, inp, label)
    limit = samples if samples is not None else DEFAULT_MAX_SAMPLES
    if total > limit:
        idx = np.sort(np.random.default_rng(seed).choice(total, size=limit, replace=False))
        arrays = [np.ascontiguousarray(a[idx]) for a in arrays]
    if arrays[0].shape[0] < MIN_RECOMMENDED_SAMPLES:
        notes.append(
            f"{label}: only {arrays[0].shape[0]} calibration sample(s); with fewer than "
            f"{MIN_RECOMMENDED_SAMPLES} the int8 ranges may miss real inputs and accuracy can "
            "drop: use 100-500 representative samples")
    return Calibration(arrays, total, label, matched, notes)


def _read(source, inputs):
    """-> (arrays one per input with a leading sample axis, label, matched_by, notes)."""
    notes: list[str] = []
    if isinstance(source, np.ndarray):
        return [_batched(_single(inputs, "<array>"), source, "<array>")], "<array>", "single", notes
    if isinstance(source, dict):
        arrays, matched = _by_name_or_order(dict(source), inputs, "<dict>", notes)
        return arrays, "<dict>", matched, notes
    if isinstance(source, (list, tuple)):
        return _from_sequence(list(source), inputs, "<list>"), "<list>", "order", notes
    text = os.fspath(source)
    path = Path(text)
    if not path.exists() and _FUNC_RE.match(text):
        return _from_function(text, inputs), text, "order", notes
    if path.is_dir():
        return _from_folder(path, inputs), str(path), "order", notes
    label = str(path)
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise InputError(f"{path}: cannot read ({_first_line(str(e))})",
                         "save plain numeric arrays with numpy.save/numpy.savez "
                         "(object arrays are refused)") from None
    except (OSError, EOFError) as e:
        raise InputError(f"{path}: not a valid {path.suffix} file ({_first_line(str(e))})",
                         "re-create it with numpy.save or numpy.savez") from None
    if isinstance(loaded, np.ndarray):
        return [_batched(_single(inputs, label), loaded, label)], label, "single", notes
    with loaded:
        data = {k: loaded[k] for k in loaded.files}
    arrays, matched = _by_name_or_order(data, inputs, label, notes)
    return arrays, label, matched, notes


def _single(inputs, label) -> ModelInput:
    if len(inputs) != 1:
        names = ", ".join(f"'{i.name}'" for i in inputs)
        raise InputError(f"{label}: one array for a model with {len(inputs)} inputs ({names})",
                         "save one array per input with numpy.savez(path, "
                         + ", ".join(f"{i.name}=..." for i in inputs) + ")")
    return inputs[0]


def _by_name_or_order(data: dict, inputs, label, notes) -> tuple[list[np.ndarray], str]:
    names = [i.name for i in inputs]
    if not data:
        raise InputError(f"{label}: no arrays in the file (empty data)",
                         "save one array per input with numpy.savez")
    if all(n in data for n in names):
        extra = [k for k in data if k not in names]
        if extra:
            notes.append(f"{label}: ignored arrays {extra} (model inputs are {names})")
        return [_batched(i, np.asarray(data[i.name]), label) for i in inputs], "name"
    if len(data) != len(inputs):
        raise InputError(f"{label}: holds {len(data)} array(s) {list(data)}, the model has "
                         f"{len(inputs)} input(s) {names}",
                         "save exactly one array per model input, named like the inputs")
    notes.append(f"{label}: array names {list(data)} do not match the model's inputs "
                 f"{names}; matched by order")
    return [_batched(i, np.asarray(a), label) for i, a in zip(inputs, data.values())], "order"


def _batched(inp: ModelInput, a: np.ndarray, label: str) -> np.ndarray:
    """Accept (N, *shape) or a single sample (*shape); return (N, *shape)."""
    a = np.asarray(a)
    if a.dtype == object or a.dtype.kind in "USV":
        raise InputError(f"{label}: input '{inp.name}' has {a.dtype} data",
                         "save plain numeric arrays")
    if a.ndim == len(inp.shape) + 1 and tuple(a.shape[1:]) == inp.shape:
        return a
    if tuple(a.shape) == inp.shape:
        return a[None]
    raise InputError(
        f"{label}: input '{inp.name}' expects shape (N, {_dims(inp.shape)}) (or one sample "
        f"{inp.shape}); got {tuple(a.shape)}",
        "reshape the data to the model's input shape (the same preprocessing as in training)")


def _dims(shape) -> str:
    return ", ".join(str(d) for d in shape)


def _sample(inp: ModelInput, a, label: str) -> np.ndarray:
    """One sample: (*shape) or (1, *shape) -> (*shape)."""
    a = np.asarray(a)
    if tuple(a.shape) == inp.shape:
        return a
    if tuple(a.shape) == (1, *inp.shape):
        return a[0]
    raise InputError(f"{label}: input '{inp.name}' expects one sample of shape {inp.shape} "
                     f"(or (1, {_dims(inp.shape)})); got {tuple(a.shape)}",
                     "each sample must have the model's input shape")


def _stack(samples_per_input: list[list[np.ndarray]], inputs, label) -> list[np.ndarray]:
    out = []
    for inp, rows in zip(inputs, samples_per_input):
        if not rows:
            out.append(np.zeros((0, *inp.shape), np.float32))
            continue
        kinds = {r.dtype for r in rows}
        if len(kinds) > 1:
            raise InputError(f"{label}: input '{inp.name}' samples mix dtypes {sorted(map(str, kinds))}",
                             "give every sample the same dtype")
        out.append(np.stack(rows))
    return out


def _split_sample(s, inputs, label) -> list[np.ndarray]:
    """A sample for a multi-input model: list/tuple in input order or dict by name."""
    if isinstance(s, dict):
        missing = [i.name for i in inputs if i.name not in s]
        if missing:
            if len(s) != len(inputs):
                raise InputError(f"{label}: sample has keys {list(s)}, model inputs are "
                                 f"{[i.name for i in inputs]}",
                                 "key each sample by the model's input names")
            s = list(s.values())
        else:
            s = [s[i.name] for i in inputs]
    if len(inputs) == 1 and not isinstance(s, (list, tuple)):
        s = [s]
    if not isinstance(s, (list, tuple)) or len(s) != len(inputs):
        raise InputError(f"{label}: each sample must give {len(inputs)} arrays (one per input "
                         f"{[i.name for i in inputs]})",
                         "yield a tuple or dict of arrays per sample")
    return [_sample(i, a, label) for i, a in zip(inputs, s)]


def _from_sequence(items: list, inputs, label) -> list[np.ndarray]:
    """A list of per-input arrays (N, *shape), or a list of samples."""
    if len(items) == len(inputs) and all(
            isinstance(a, np.ndarray) and a.ndim == len(i.shape) + 1
            and tuple(a.shape[1:]) == i.shape for a, i in zip(items, inputs)):
        return [np.asarray(a) for a in items]
    if not items:
        return [np.zeros((0, *i.shape), np.float32) for i in inputs]
    rows = [_split_sample(s, inputs, f"{label} sample {k}") for k, s in enumerate(items)]
    return _stack([list(col) for col in zip(*rows)], inputs, label)


def _from_folder(path: Path, inputs) -> list[np.ndarray]:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".npy", ".npz"))
    if not files:
        raise InputError(f"{path}: no .npy files in the folder (empty data)",
                         "save one sample per file with numpy.save(folder/'0001.npy', x)")
    rows = []
    for f in files:
        try:
            loaded = np.load(f, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise InputError(f"{f}: cannot read ({_first_line(str(e))})",
                             "every file in the folder must be a numpy .npy/.npz sample") from None
        if isinstance(loaded, np.ndarray):
            sample = loaded if len(inputs) == 1 else None
            if sample is None:
                _single(inputs, str(f))
        else:
            with loaded:
                sample = {k: loaded[k] for k in loaded.files}
        rows.append(_split_sample(sample, inputs, str(f)))
    return _stack([list(col) for col in zip(*rows)], inputs, str(path))


def _from_function(spec: str, inputs) -> list[np.ndarray]:
    mod_name, func_name = spec.split(":")
    hint = "pass package.module:function where the module is importable (from the current folder)"
    added = os.getcwd() not in sys.path
    if added:
        sys.path.insert(0, os.getcwd())
    try:
        try:
            module = importlib.import_module(mod_name)
        except ImportError as e:
            raise InputError(f"{spec}: cannot import module '{mod_name}' ({e})", hint) from None
        except Exception as e:  # noqa: BLE001 - user code failing at import
            raise InputError(f"{spec}: importing '{mod_name}' failed ({type(e).__name__}: {e})",
                             "fix the module so that it imports cleanly") from None
    finally:
        if added:
            try:
                sys.path.remove(os.getcwd())
            except ValueError:
                pass
    func = getattr(module, func_name, None)
    if func is None:
        raise InputError(f"{spec}: module '{mod_name}' has no '{func_name}'", hint)
    if not callable(func):
        raise InputError(f"{spec}: '{func_name}' is not a function", hint)
    label = spec
    try:
        items = func()
        rows = []
        for k, s in enumerate(items):
            if k >= MAX_GENERATED_SAMPLES:
                warnings.warn(f"{spec}: read the first {MAX_GENERATED_SAMPLES} samples only",
                              CalibrationWarning, stacklevel=2)
                break
            rows.append(_split_sample(s, inputs, f"{label} sample {k}"))
    except InputError:
        raise
    except TypeError as e:
        raise InputError(f"{spec}: did not return an iterable of samples ({e})",
                         "return a list or a generator of arrays (one per sample)") from None
    except Exception as e:  # noqa: BLE001
        raise InputError(f"{spec}: failed ({type(e).__name__}: {e})",
                         "fix the function; it must return an iterable of samples") from None
    if not rows:
        return [np.zeros((0, *i.shape), np.float32) for i in inputs]
    return _stack([list(col) for col in zip(*rows)], inputs, label)


def _check_dtype(a: np.ndarray, inp: ModelInput, label: str) -> np.ndarray:
    want = inp.dtype
    kind = a.dtype.kind
    if want.kind == "f":
        if kind != "f":
            raise InputError(
                f"{label}: input '{inp.name}' expects {want.name} data; got {a.dtype.name}",
                "convert with x.astype(np.float32), scaled like the training data "
                "(e.g. x / 255.0 for 8-bit images)")
        return np.ascontiguousarray(a, dtype=want)
    if want.kind in "iu":
        if kind not in "iu":
            raise InputError(
                f"{label}: input '{inp.name}' expects integer ({want.name}) data; got {a.dtype.name}",
                f"convert with x.astype(np.{want.name})")
        info = np.iinfo(want)
        if a.size and (a.min() < info.min or a.max() > info.max):
            raise InputError(f"{label}: input '{inp.name}' values outside {want.name} range",
                             f"pass values in [{info.min}, {info.max}]")
        return np.ascontiguousarray(a, dtype=want)
    if kind != want.kind:
        raise InputError(f"{label}: input '{inp.name}' expects {want.name} data; got {a.dtype.name}",
                         f"convert with x.astype(np.{want.name})")
    return np.ascontiguousarray(a, dtype=want)


def _check_finite(a: np.ndarray, inp: ModelInput, label: str) -> None:
    if a.dtype.kind != "f":
        return
    bad = ~np.isfinite(a.reshape(a.shape[0], -1))
    if not bad.any():
        return
    rows = np.flatnonzero(bad.any(axis=1))
    flat = a.reshape(a.shape[0], -1)[rows[0]]
    what = "NaN" if np.isnan(flat).any() else "Inf"
    raise InputError(
        f"{label}: input '{inp.name}' has {what} values in {len(rows)} sample(s) "
        f"(first: sample {int(rows[0])})",
        "remove or repair those samples; calibration needs finite values")


__all__ = ["ModelInput", "ModelSource", "Calibration", "CalibrationWarning", "load_model_source",
           "load_calibration", "check_calibration_source", "import_tf", "import_keras",
           "DEFAULT_MAX_SAMPLES", "MIN_RECOMMENDED_SAMPLES"]
