"""The teacher model and the data `mcuq compress` trains on.

Models: compress needs the Keras layers (to slice and rebuild them), so it takes a `.keras`
file (Keras 3, loaded with safe_mode on: no stored code runs), a legacy `.h5` that Keras 3
loads, or an in-memory Keras 3 model. It refuses, with one error and a hint:
- a SavedModel folder (a traced graph, no layers to prune);
- a Keras 2 (tf_keras) model object, and an `.h5` that only tf_keras can load. Refusing is
  deliberate: tfmot-era files differ in details (DepthwiseConv2D `groups`, nested
  Sequentials) that a silent translation could get wrong; the hint says how to re-save.
`load_keras_model` is the one place to swap for sources.py's shared Keras loader when that
lands (it also loads tf_keras files and takes --custom-objects).

Data: read with sources.load_calibration (the same formats and checks as `--calibration`:
.npy, .npz, a folder of .npy, module:function, arrays), every sample kept. Labels: a .npy of
integer classes (N,) or one-hot rows (N, C), or targets shaped like the first output.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, UnsupportedModelError

#: load_calibration keeps every sample up to this many.
ALL_SAMPLES = 10 ** 12

_KERAS2_HINT = ("compress works on Keras 3 models: load it with tf_keras and save it as .h5 "
                "(model.save('model.h5')), which Keras 3 reads, or rebuild it with Keras 3")


def load_keras_model(model: Any):
    """(keras.Model, source label, kind) from a path or an in-memory Keras 3 model."""
    from ..sources import import_keras

    if isinstance(model, (str, os.PathLike)):
        return _load_path(Path(model))
    keras = import_keras()
    if isinstance(model, keras.Model):
        return model, "<keras.Model>", "in-memory"
    if type(model).__module__.startswith(("tf_keras", "keras.src.engine", "tensorflow.python.keras")):
        raise InputError(f"a Keras 2 (tf_keras) {type(model).__name__} cannot be compressed",
                         _KERAS2_HINT)
    raise InputError(f"cannot compress a {type(model).__name__}",
                     "pass a .keras/.h5 path or a keras.Model")


def _load_path(path: Path):
    from ..sources import import_keras

    if not path.exists():
        raise InputError(f"{path}: no such file or folder", "pass a .keras or .h5 model file")
    if path.is_dir():
        raise InputError(f"{path}: a SavedModel folder holds a traced graph, not Keras layers, "
                         "so its channels cannot be pruned or its weights re-trained",
                         "compress the .keras (or .h5) file the SavedModel was exported from")
    suffix = path.suffix.lower()
    if suffix == ".tflite":
        raise InputError(f"{path}: is already a .tflite model",
                         "compress the float .keras model, then convert it")
    if suffix not in (".keras", ".h5", ".hdf5"):
        raise InputError(f"{path}: unknown model format '{suffix or path.name}'",
                         "pass a .keras or .h5 model file")
    keras = import_keras()
    try:
        m = keras.models.load_model(path, compile=False, safe_mode=True)
    except ValueError as e:
        text = _first_line(str(e))
        if "safe_mode" in str(e) or "Lambda" in str(e):
            raise InputError(f"{path}: refused to load with safe_mode on: {text}",
                             "mcuq never runs code stored in a model file; replace Lambda "
                             "layers with built-in layers and save again") from None
        if suffix != ".keras":
            raise InputError(f"{path}: Keras 3 cannot load this .h5 model ({text})",
                             _KERAS2_HINT) from None
        raise InputError(f"{path}: cannot load the model: {text}",
                         "check that the file was saved by Keras 3 (model.save)") from None
    except Exception as e:  # noqa: BLE001 - h5py/zip/keras raise many types
        hint = _KERAS2_HINT if suffix != ".keras" else \
            "check that the file is a complete model saved by Keras 3 (model.save)"
        raise InputError(f"{path}: cannot load the model ({type(e).__name__}: "
                         f"{_first_line(str(e))})", hint) from None
    if not isinstance(m, keras.Model) or not getattr(m, "inputs", None):
        raise UnsupportedModelError(f"{path}: not a functional or Sequential model with inputs",
                                    "build it with keras.Input(shape) (functional or Sequential)")
    return m, str(path), "keras" if suffix == ".keras" else "h5"


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[0][:300] if lines else ""


def load_samples(source: Any, inputs, what: str) -> tuple[list[np.ndarray], str]:
    """Every sample of `source` (calibration formats), validated against the model's inputs."""
    from ..sources import load_calibration

    if source is None:
        raise InputError(f"no {what} given", "pass --data with real input samples (the same "
                                             "formats as --calibration)")
    cal = load_calibration(source, inputs, samples=ALL_SAMPLES)
    arrays = [np.ascontiguousarray(a, dtype=np.float32) if a.dtype.kind == "f" else a
              for a in cal.arrays]
    return arrays, cal.source


def load_labels(source: Any, n: int, what: str = "--labels") -> tuple[np.ndarray, str]:
    """(N,) integer classes (one-hot rows become classes) or real-valued targets."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = str(path)
        if not path.is_file():
            raise InputError(f"{path}: no such labels file", "pass a .npy file of labels")
        try:
            y = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise InputError(f"{path}: cannot read ({_first_line(str(e))})",
                             "save the labels with numpy.save") from None
        if not isinstance(y, np.ndarray):
            y.close()
            raise InputError(f"{path}: an .npz archive; labels are one array",
                             "save the labels with numpy.save (.npy)")
    else:
        y = np.asarray(source)
        label = "<labels>"
    if y.dtype == object or y.dtype.kind not in "iufb":
        raise InputError(f"{label}: labels have {y.dtype} data", "save integer class labels")
    if y.shape[:1] != (n,):
        raise InputError(f"{label}: {y.shape[0] if y.ndim else 0} labels for {n} samples",
                         f"pass exactly one label per sample of the {what.replace('labels', 'data')}")
    if y.ndim == 2 and y.shape[1] > 1 and np.all((y == 0) | (y == 1)) and np.all(y.sum(1) == 1):
        y = np.argmax(y, axis=1)
    elif y.ndim == 2 and y.shape[1] == 1 and y.dtype.kind in "iu":
        y = y[:, 0]
    if y.ndim == 1 and y.dtype.kind in "iub":
        return y.astype(np.int64), label
    if y.ndim == 1 and y.dtype.kind == "f" and np.all(y == np.round(y)):
        return y.astype(np.int64), label
    if not np.all(np.isfinite(y)):
        raise InputError(f"{label}: labels hold NaN or infinite values", "repair the labels")
    return y.astype(np.float32), label
