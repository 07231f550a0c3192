"""The teacher model and the data `mcuq compress` trains on.

Models: compress needs Keras 3 layers (to slice, rebuild and re-train them). Paths go through
sources.load_keras_model, the loader chain `convert` uses (.keras in safe mode, .h5, Keras 2
files through tf_keras, --custom-objects). A SavedModel folder is refused (a traced graph: no
layers to prune). A Keras 2 (tf_keras) model -- a file the chain loads with tf_keras, or an
in-memory tf_keras model -- is converted when that is safe: tf_keras writes it to a temporary
HDF5 file, Keras 3 reads it back (safe mode), and the two must give the same outputs on random
inputs; otherwise (e.g. DepthwiseConv2D `groups`, which Keras 3 cannot read) it is refused with
a hint to rebuild it in Keras 3.

Data: read with sources.load_calibration (the same formats and checks as `--calibration`:
.npy, .npz, FILE.npz:KEY, a folder of .npy, module:function, arrays), every sample kept.
Labels: a .npy of integer classes (N,) or one-hot rows (N, C), or targets shaped like the first
output.
"""
from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

#: load_calibration keeps every sample up to this many.
ALL_SAMPLES = 10 ** 12
#: Random inputs that a Keras 2 model and its Keras 3 copy must agree on.
CHECK_SAMPLES = 16

_KERAS2_HINT = ("rebuild the architecture with Keras 3 layers, copy the weights with "
                "new.set_weights(old.get_weights()) and save it with new.save('model.keras')")


def load_keras_model(model: Any, custom_objects=None) -> tuple[Any, str, str, list[str]]:
    """(Keras 3 model, source label, kind, notes) from a path or an in-memory model."""
    from ..sources import import_keras

    keras = import_keras()
    if isinstance(model, (str, os.PathLike)):
        from ..sources import load_keras_model as load_chain

        path = Path(model)
        if path.is_dir():
            raise InputError(f"{path}: a SavedModel folder holds a traced graph, not Keras "
                             "layers, so its channels cannot be pruned or its weights re-trained",
                             "compress the .keras (or .h5) file the SavedModel was exported from")
        loaded = load_chain(path, custom_objects)
        prov = loaded.provenance
        if prov.is_keras3:
            return loaded.model, str(path), prov.format, []
        copy, note = keras3_copy(loaded.model, str(path), prov.reason)
        return copy, str(path), prov.format, [note]
    if isinstance(model, keras.Model):
        return model, "<keras.Model>", "in-memory", []
    if type(model).__module__.startswith("tf_keras"):
        copy, note = keras3_copy(model, "<tf_keras.Model>", "in-memory tf_keras model")
        return copy, "<tf_keras.Model>", "in-memory", [note]
    raise InputError(f"cannot compress a {type(model).__name__}",
                     "pass a .keras/.h5 path or a keras.Model")


def keras3_copy(k2_model, label: str, why: str) -> tuple[Any, str]:
    """A Keras 3 copy of a tf_keras model through HDF5, checked output by output."""
    from ..sources import import_keras

    keras = import_keras()
    tf_log = logging.getLogger("tensorflow")
    level = tf_log.level
    with tempfile.TemporaryDirectory() as d:
        h5 = Path(d) / "model.h5"
        try:
            tf_log.setLevel(logging.ERROR)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                k2_model.save(h5)
                m = keras.models.load_model(h5, compile=False, safe_mode=True)
        except Exception as e:  # noqa: BLE001 - any failure means: not convertible
            raise InputError(f"{label}: a Keras 2 (tf_keras) model ({why}) that Keras 3 cannot "
                             f"rebuild ({type(e).__name__}: {_first_line(str(e))[:160]}); "
                             "compress works on Keras 3 models", _KERAS2_HINT) from None
        finally:
            tf_log.setLevel(level)
    rng = np.random.default_rng(0)
    xs = [rng.uniform(0, 1, (CHECK_SAMPLES, *[int(v) for v in t.shape[1:]])).astype(np.float32)
          for t in m.inputs]
    try:
        from .distill import call_model

        a = _flat(call_model(k2_model, xs, False))
        b = _flat(call_model(m, xs, False))
        worst = max(float(np.max(np.abs(p - q))) / max(1.0, float(np.max(np.abs(p))))
                    for p, q in zip(a, b))
        same = len(a) == len(b) and worst <= 1e-5
    except Exception:  # noqa: BLE001
        same, worst = False, float("nan")
    if not same:
        raise InputError(f"{label}: a Keras 2 (tf_keras) model whose Keras 3 copy computes "
                         f"something else (relative difference {worst:.3g}); compress works on "
                         "Keras 3 models", _KERAS2_HINT)
    return m, (f"Keras 2 model ({why}) converted to Keras 3 through HDF5: the same outputs on "
               f"{CHECK_SAMPLES} random inputs (largest relative difference {worst:.1e})")


def _flat(out) -> list[np.ndarray]:
    out = list(out.values()) if isinstance(out, dict) else out
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


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
