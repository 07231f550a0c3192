"""Calibration data as people have it, validated against the model's inputs before any conversion.

Sources: `.npy` (N samples for a single-input model; (N, *shape), (N, 1, *shape) when every
sample was saved with its batch axis, or one sample), `.npz` (arrays picked by input name, then by
`FILE.npz:KEY[,KEY2]`, then by order when there is exactly one array per input; anything else,
e.g. `specs` + `labels` for a one-input model, is an error listing the keys and the syntax), a
folder of `.npy`/`.npz` files (one sample each), `package.module:function` returning an iterable
of samples, or in-memory arrays (ndarray, list, dict).

Integer data (e.g. uint8 images) for a float input is refused unless a `scale` is given
(`--scale 1/255`): it is never rescaled silently. With a scale, every array is multiplied by it
and becomes float32. Samples whose shape differs from the input only by size-1 axes (a missing
channel axis) are reshaped, with a note. Every problem is one InputError naming the file, the
input, what was expected and what was found.

`read_arrays` and `pick_arrays` are shared with `mcuq verify --data` (mcuq.verification).
"""
from __future__ import annotations

import importlib
import os
import re
import sys
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError

#: Calibration samples used when --samples is not given (all of them, up to this many).
DEFAULT_MAX_SAMPLES = 500
#: Fewer samples than this gives a warning: the int8 ranges may not cover real inputs.
MIN_RECOMMENDED_SAMPLES = 50
#: A `module:function` source is read up to this many samples.
MAX_GENERATED_SAMPLES = 10_000

_FUNC_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
KEY_SYNTAX = "FILE.npz:KEY (or FILE.npz:KEY1,KEY2 for several inputs, in input order)"


class CalibrationWarning(UserWarning):
    """Calibration data that converts, but may cost accuracy (e.g. too few samples)."""


def first_line(text: str, limit: int = 300) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[0][:limit] if lines else ""


@dataclass
class Calibration:
    """Validated calibration samples: one (N, *shape) array per model input."""

    arrays: list[np.ndarray]
    total: int  # samples available
    source: str
    matched_by: str  # "name", "key", "order" or "single"
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was done to the data (scaling...)
    scale: float | None = None

    @property
    def count(self) -> int:
        return int(self.arrays[0].shape[0])

    def sample(self, i: int) -> list[np.ndarray]:
        """Sample i as the converter wants it: one (1, *shape) array per input."""
        return [a[i:i + 1] for a in self.arrays]


# --------------------------------------------------------------------------------------------
# --scale
# --------------------------------------------------------------------------------------------

def parse_scale(value: Any) -> float | None:
    """'1/255', '0.00392', 1/255 -> a positive finite float; None stays None."""
    if value is None:
        return None
    if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
        x = float(value)
    else:
        text = str(value).strip()
        try:
            x = float(Fraction(text)) if "/" in text else float(text)
        except (ValueError, ZeroDivisionError):
            raise InputError(f"--scale {value}: not a number",
                             "pass a factor such as --scale 1/255 or --scale 0.5") from None
    if not np.isfinite(x) or x <= 0:
        raise InputError(f"--scale {value}: must be a positive number",
                         "pass the factor the training data was multiplied by, e.g. 1/255")
    return x


def describe_scale(x: float) -> str:
    frac = Fraction(x).limit_denominator(100_000)
    if frac.numerator == 1 and abs(float(frac) - x) <= 1e-12 * abs(x):
        return f"1/{frac.denominator}"
    return f"{x:g}"


# --------------------------------------------------------------------------------------------
# Files: FILE.npz:KEY syntax, picking arrays
# --------------------------------------------------------------------------------------------

def split_keys(spec: str) -> tuple[str, list[str] | None]:
    """'data.npz:specs,aux' -> ('data.npz', ['specs', 'aux']); anything else unchanged."""
    if os.path.exists(spec) or ":" not in spec:
        return spec, None
    path, _, keys = spec.rpartition(":")
    if not path.lower().endswith(".npz"):
        return spec, None
    names = [k.strip() for k in keys.split(",")]
    if not all(names):
        raise InputError(f"{spec}: empty array name after ':'", f"write {KEY_SYNTAX}")
    return path, names


def read_arrays(spec: str, what: str = "file") -> tuple[Any, str, list[str] | None]:
    """Read a .npy/.npz (optionally `FILE.npz:KEY,...`) -> (ndarray or {key: array}, the file
    name for messages, the requested keys or None)."""
    path_text, keys = split_keys(os.fspath(spec))
    path = Path(path_text)
    if not path.is_file():
        raise InputError(f"{path}: no such {what}" if not path.exists() else
                         f"{path}: is not a file", "pass a .npy file, or .npz for several arrays")
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise InputError(f"{path}: cannot read ({first_line(str(e))})",
                         "save plain numeric arrays with numpy.save/numpy.savez "
                         "(object arrays are refused)") from None
    except (OSError, EOFError) as e:
        raise InputError(f"{path}: not a valid {path.suffix or 'numpy'} file "
                         f"({first_line(str(e))})",
                         "re-create it with numpy.save or numpy.savez") from None
    if isinstance(loaded, np.ndarray):
        if keys is not None:
            raise InputError(f"{path}: ':{','.join(keys)}' picks arrays from an .npz; this is "
                             "one array", "drop the ':KEY' part for a .npy file")
        return loaded, str(path), None
    try:
        with loaded:
            data = {k: loaded[k] for k in loaded.files}
    except ValueError as e:
        raise InputError(f"{path}: cannot read ({first_line(str(e))})",
                         "save plain numeric arrays with numpy.savez "
                         "(object arrays are refused)") from None
    return data, str(path), keys


def _listing(data: dict) -> str:
    return ", ".join(f"'{k}' {tuple(np.shape(v))} {np.asarray(v).dtype}" for k, v in data.items())


def pick_arrays(data: dict, names: list[str], label: str, keys: list[str] | None,
                shapes: list[tuple] | None = None, notes: list[str] | None = None,
                option: str = "--calibration") -> tuple[list[Any], str]:
    """One array per input from an .npz's arrays: by `keys` when given, else by input name,
    else by order when there is exactly one array per input; else an InputError that lists
    the arrays and the FILE.npz:KEY syntax (suggesting the keys whose shapes fit)."""
    notes = notes if notes is not None else []
    if not data:
        raise InputError(f"{label}: no arrays in the file (empty data)",
                         "save one array per input with numpy.savez")
    if keys is not None:
        missing = [k for k in keys if k not in data]
        if missing:
            raise InputError(f"{label}: no array named {', '.join(repr(k) for k in missing)}; "
                             f"it holds {_listing(data)}", f"write {KEY_SYNTAX}")
        if len(keys) != len(names):
            raise InputError(f"{label}: {len(keys)} array(s) picked ({', '.join(keys)}) for "
                             f"{len(names)} model input(s) ({', '.join(names)})",
                             f"pick one array per input, in input order: {KEY_SYNTAX}")
        return [data[k] for k in keys], "key"
    if all(n in data for n in names):
        extra = [k for k in data if k not in names]
        if extra:
            notes.append(f"{label}: ignored arrays {extra} (model inputs are {names})")
        return [data[n] for n in names], "name"
    if len(data) == len(names):
        if list(data) != names:
            notes.append(f"{label}: array names {list(data)} do not match the model's inputs "
                         f"{names}; matched by order")
        return list(data.values()), "order"
    n = len(data)
    arrays = f"{n} array{'s' if n != 1 else ''} ({_listing(data)})"
    if n < len(names):
        raise InputError(f"{label}: holds {arrays}; the model has {len(names)} inputs: "
                         f"{', '.join(names)}",
                         "save one array per input, named after the inputs: numpy.savez(path, "
                         + ", ".join(f"{nm}=..." for nm in names) + ")")
    suggestion = ""
    if shapes is not None:
        fits = [[k for k, v in data.items() if _fits(np.shape(v), s)] for s in shapes]
        if all(len(f) == 1 for f in fits):
            suggestion = f"{label}:{','.join(f[0] for f in fits)}"
    which = (f"is the model's input '{names[0]}'" if len(names) == 1 else
             f"are the model's inputs {', '.join(repr(nm) for nm in names)}")
    raise InputError(
        f"{label}: holds {arrays}; cannot tell which {which}",
        (f"pick it: {option} {suggestion} ({KEY_SYNTAX})" if suggestion else
         f"pick the array(s): {KEY_SYNTAX}, or name the arrays after the inputs"))


def _fits(shape, want) -> bool:
    """Could `shape` hold samples of `want` (any sample count)?"""
    shape = tuple(shape)
    return (shape[1:] == tuple(want) or shape == tuple(want)
            or (len(shape) >= 1 and _squeezed(shape[1:]) == _squeezed(want)))


def _squeezed(shape) -> tuple:
    return tuple(d for d in shape if d != 1)


# --------------------------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------------------------

def _is_function_spec(text: str) -> bool:
    """`package.module:function` (not an existing path, not `data.npz:KEY`)."""
    return (not os.path.exists(text) and bool(_FUNC_RE.match(text))
            and not text.rpartition(":")[0].lower().endswith(".npz"))


def check_calibration_source(source: Any) -> None:
    """Cheap checks that need no model (so they fail before TensorFlow is loaded)."""
    if not isinstance(source, (str, os.PathLike)):
        return
    text = os.fspath(source)
    if _is_function_spec(text):
        return
    text, keys = split_keys(text)
    path = Path(text)
    if not path.exists():
        raise InputError(f"{path}: no such calibration file or folder",
                         "pass a .npy, .npz, a folder of .npy files, or package.module:function")
    if path.is_file() and path.suffix.lower() not in (".npy", ".npz"):
        raise InputError(f"{path}: unknown calibration format '{path.suffix or path.name}'",
                         "save the samples with numpy.save (.npy) or numpy.savez (.npz)")


def load_calibration(source: Any, inputs: list, samples: int | None = None, seed: int = 0,
                     scale: Any = None) -> Calibration:
    """Read, validate and (if there are more than `samples`, default 500) sub-sample.
    `inputs`: the model's inputs (objects with name, shape, dtype)."""
    check_calibration_source(source)
    factor = parse_scale(scale)
    arrays, label, matched, notes = _read(source, inputs)
    done: list[str] = []
    if factor is not None:
        kinds = sorted({a.dtype.name for a in arrays})
        arrays = [np.asarray(a, np.float64) * factor for a in arrays]
        arrays = [a.astype(np.float32) for a in arrays]
        done.append(f"{'/'.join(kinds)} data multiplied by {describe_scale(factor)} "
                    "(--scale) to float32")
    shaped = []
    for a, inp in zip(arrays, inputs):
        b = _batched(inp, a, label, done)
        shaped.append(_check_dtype(b, inp, label))
    arrays = shaped
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
    return Calibration(arrays, total, label, matched, notes, done, factor)


def _read(source, inputs):
    """-> (arrays one per input, each (N, *shape) or one sample, label, matched_by, notes)."""
    notes: list[str] = []
    if isinstance(source, np.ndarray):
        _single(inputs, "<array>")
        return [source], "<array>", "single", notes
    if isinstance(source, dict):
        arrays, matched = pick_arrays(dict(source), [i.name for i in inputs], "<dict>", None,
                                      [i.shape for i in inputs], notes)
        return [np.asarray(a) for a in arrays], "<dict>", matched, notes
    if isinstance(source, (list, tuple)):
        return _from_sequence(list(source), inputs, "<list>"), "<list>", "order", notes
    text = os.fspath(source)
    if _is_function_spec(text):
        return _from_function(text, inputs), text, "order", notes
    if Path(text).is_dir():
        return _from_folder(Path(text), inputs), text, "order", notes
    data, label, keys = read_arrays(text, "calibration file")
    if isinstance(data, np.ndarray):
        _single(inputs, label)
        return [data], label, "single", notes
    arrays, matched = pick_arrays(data, [i.name for i in inputs], label, keys,
                                  [i.shape for i in inputs], notes)
    if keys is not None:
        label = f"{label}:{','.join(keys)}"
    return [np.asarray(a) for a in arrays], label, matched, notes


def _single(inputs, label):
    if len(inputs) != 1:
        names = ", ".join(f"'{i.name}'" for i in inputs)
        raise InputError(f"{label}: one array for a model with {len(inputs)} inputs ({names})",
                         "save one array per input with numpy.savez(path, "
                         + ", ".join(f"{i.name}=..." for i in inputs) + ")")
    return inputs[0]


def _batched(inp, a: np.ndarray, label: str, done: list[str] | None = None) -> np.ndarray:
    """Accept (N, *shape), (N, 1, *shape) (each sample saved with its batch axis), one sample
    (*shape), or samples that differ from the shape only by size-1 axes (reshaped, noted);
    return (N, *shape)."""
    a = np.asarray(a)
    shape = tuple(inp.shape)
    if a.dtype == object or a.dtype.kind in "USV":
        raise InputError(f"{label}: input '{inp.name}' has {a.dtype} data",
                         "save plain numeric arrays")
    if a.ndim == len(shape) + 1 and tuple(a.shape[1:]) == shape:
        return a
    if tuple(a.shape) == shape:
        return a[None]
    if a.ndim == len(shape) + 2 and a.shape[1] == 1 and tuple(a.shape[2:]) == shape:
        return a[:, 0]
    if a.ndim >= 1 and a.shape[0] > 0 and _squeezed(a.shape[1:]) == _squeezed(shape) \
            and int(np.prod(a.shape[1:], dtype=np.int64)) == int(np.prod(shape, dtype=np.int64)):
        if done is not None:
            done.append(f"input '{inp.name}': samples shaped {tuple(a.shape[1:])} reshaped to "
                        f"{shape} (size-1 axes only)")
        return a.reshape(a.shape[0], *shape)
    raise InputError(
        f"{label}: input '{inp.name}' expects shape (N, {_dims(shape)}) (or one sample "
        f"{shape}); got {tuple(a.shape)}",
        "reshape the data to the model's input shape (the same preprocessing as in training)")


def _dims(shape) -> str:
    return ", ".join(str(d) for d in shape)


def _sample(inp, a, label: str) -> np.ndarray:
    """One sample: (*shape) or (1, *shape) -> (*shape)."""
    a = np.asarray(a)
    if tuple(a.shape) == tuple(inp.shape):
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
            raise InputError(f"{label}: input '{inp.name}' samples mix dtypes "
                             f"{sorted(map(str, kinds))}", "give every sample the same dtype")
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
            raise InputError(f"{f}: cannot read ({first_line(str(e))})",
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


def _check_dtype(a: np.ndarray, inp, label: str) -> np.ndarray:
    want = np.dtype(inp.dtype)
    kind = a.dtype.kind
    if want.kind == "f":
        if kind != "f":
            image = kind == "u" and a.dtype.itemsize == 1
            raise InputError(
                f"{label}: input '{inp.name}' expects {want.name} data; got {a.dtype.name}"
                + (" (8-bit images?)" if image else ""),
                "scale it like the training data: --scale 1/255 (mcuq.convert(..., "
                "scale=1/255)) if the model was trained on x / 255, or save x.astype("
                "np.float32) preprocessed as in training")
        return np.ascontiguousarray(a, dtype=want)
    if want.kind in "iu":
        if kind not in "iu":
            raise InputError(
                f"{label}: input '{inp.name}' expects integer ({want.name}) data; got "
                f"{a.dtype.name}", f"convert with x.astype(np.{want.name})")
        info = np.iinfo(want)
        if a.size and (a.min() < info.min or a.max() > info.max):
            raise InputError(f"{label}: input '{inp.name}' values outside {want.name} range",
                             f"pass values in [{info.min}, {info.max}]")
        return np.ascontiguousarray(a, dtype=want)
    if kind != want.kind:
        raise InputError(f"{label}: input '{inp.name}' expects {want.name} data; got "
                         f"{a.dtype.name}", f"convert with x.astype(np.{want.name})")
    return np.ascontiguousarray(a, dtype=want)


def _check_finite(a: np.ndarray, inp, label: str) -> None:
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


__all__ = ["Calibration", "CalibrationWarning", "load_calibration", "check_calibration_source",
           "read_arrays", "pick_arrays", "split_keys", "parse_scale", "describe_scale",
           "DEFAULT_MAX_SAMPLES", "MIN_RECOMMENDED_SAMPLES", "KEY_SYNTAX"]
