"""Load what `mcuq convert` (and `verify --float`) starts from: a float model, through one loader
chain that decides from the file which Keras reads it.

    .keras        Keras 3, safe mode (a tf_keras-saved .keras whose Keras 2 config Keras 3
                  cannot read goes to tf_keras, .keras safe mode too)
    .h5/.hdf5     the file's `keras_version`/`backend` attributes first (h5py): a Keras 2 file
                  loads with tf_keras; a Keras 3 file with Keras 3 (and, if Keras 3 fails on a
                  Keras 2 config, with tf_keras); weights-only files are refused with the fix
    SavedModel    `keras_metadata.pb` (a Keras 2 SavedModel, optimizer slots and all) loads with
                  tf_keras; anything else through its serving signature (tf.saved_model.load)

`tf_keras` (Keras 2, pinned to the TensorFlow release) is imported only when a Keras 2 artifact
is loaded; `TF_USE_LEGACY_KERAS` is never set, so Keras 3 stays Keras 3. No Python code stored in
a file runs: Lambda layers with stored code are refused on every path (Keras 3's safe mode, and
mcuq's own check of the config before tf_keras, which has no safe mode for .h5). The user's layer
code comes in through `custom_objects` (mcuq.custom_objects). What the loaders warn about is
recorded: noise is dropped, the rest becomes a note of the Provenance.

    loaded = load_keras_model("kws.h5", custom_objects=["my_layers.py"])
    loaded.model        # a keras.Model (Keras 3) or tf_keras.Model (Keras 2)
    loaded.provenance   # which loader, why, the Keras that saved the file, custom objects

Calibration data lives in mcuq.calibration (re-exported here). TensorFlow is imported only
inside the functions that load a model.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .calibration import (DEFAULT_MAX_SAMPLES, MIN_RECOMMENDED_SAMPLES, Calibration,
                          CalibrationWarning, check_calibration_source, first_line,
                          load_calibration)
from .errors import InputError, ToolchainError, UnsupportedModelError

MODEL_HINT = "pass a .keras file, a legacy .h5 file or a SavedModel folder"
CUSTOM_HINT = ("pass the module that defines it: --custom-objects my_layers.py (repeatable; "
               "mcuq.convert(..., custom_objects=[...]) in Python) with the class registered by "
               "@keras.saving.register_keras_serializable() / "
               "@tf_keras.utils.register_keras_serializable() or listed in CUSTOM_OBJECTS")
SAFE_HINT = ("mcuq never runs code stored in a model file; replace Lambda layers with built-in "
             "layers or registered custom layers (--custom-objects) and save again")


# --------------------------------------------------------------------------------------------
# TensorFlow, quietly
# --------------------------------------------------------------------------------------------

def import_tf():
    """Import TensorFlow with its C++ INFO/WARNING logging off (errors still print)."""
    if "tensorflow" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        from .native import quiet_native_output

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


def import_tf_keras():
    """Keras 2 (tf_keras), only for Keras 2 artifacts. Importing it leaves Keras 3 as it is
    (TF_USE_LEGACY_KERAS is not set here)."""
    import_tf()
    from .native import quiet_native_output

    try:
        with quiet_native_output():
            import tf_keras
    except ImportError as e:
        raise ToolchainError(f"tf_keras (Keras 2) is needed for this Keras 2 model but "
                             f"cannot be imported ({e})",
                             "pip install tf_keras==2.21.0 (the release matching "
                             "TensorFlow 2.21)") from None
    return tf_keras


# --------------------------------------------------------------------------------------------
# What the file says about itself
# --------------------------------------------------------------------------------------------

@dataclass
class FileFacts:
    """Read from the file without building a model."""

    format: str  # "keras", "h5", "saved_model"
    keras_version: str | None = None  # the Keras that saved it
    backend: str | None = None
    config: Any = None  # the model config (dict), when the file has one
    keras_metadata: bool = False  # SavedModel written by Keras 2 (keras_metadata.pb)
    stored_code: list[str] = field(default_factory=list)  # Lambda layers with stored code

    @property
    def keras_major(self) -> int | None:
        m = re.match(r"\s*(\d+)\.", self.keras_version or "")
        return int(m.group(1)) if m else None

    @property
    def saved_by(self) -> str | None:
        if not self.keras_version:
            return None
        return f"Keras {self.keras_version}" + (f" ({self.backend} backend)"
                                                if self.backend else "")


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _text(value.item())
    return str(value)


def read_file_facts(path: Path) -> FileFacts:
    """Format, saving Keras version, backend and config of a model file or folder."""
    if path.is_dir():
        facts = FileFacts("saved_model")
        meta = path / "keras_metadata.pb"
        if meta.is_file():
            facts.keras_metadata = True
            raw = meta.read_bytes()
            facts.keras_version = _metadata_version(raw)
            facts.stored_code = _stored_code_in_metadata(raw)
        return facts
    suffix = path.suffix.lower()
    if suffix == ".keras":
        return _keras_zip_facts(path)
    return _h5_facts(path)


def _keras_zip_facts(path: Path) -> FileFacts:
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            meta = json.loads(z.read("metadata.json")) if "metadata.json" in names else {}
            config = json.loads(z.read("config.json")) if "config.json" in names else None
    except (zipfile.BadZipFile, OSError, ValueError, KeyError) as e:
        raise InputError(f"{path}: not a .keras file (a zip written by model.save): "
                         f"{first_line(str(e)) or type(e).__name__}",
                         "save the model with model.save('model.keras')") from None
    if config is None:
        raise InputError(f"{path}: the .keras file has no config.json (not a whole model)",
                         "save the whole model with model.save('model.keras')")
    return FileFacts("keras", _text(meta.get("keras_version")), None, config,
                     stored_code=_stored_code(config))


def _h5_facts(path: Path) -> FileFacts:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            attrs = dict(f.attrs)
            groups = list(f.keys())
    except OSError as e:
        raise InputError(f"{path}: not an HDF5 file ({first_line(str(e))})",
                         "pass a model saved with model.save('model.h5') (or a .keras file)"
                         ) from None
    version = _text(attrs.get("keras_version"))
    backend = _text(attrs.get("backend"))
    raw = _text(attrs.get("model_config"))
    if raw is None:
        weights_only = ("layer_names" in attrs or "vars" in groups
                        or "_layer_checkpoint_dependencies" in groups or "layers" in groups)
        what = ("holds weights only (saved with model.save_weights): there is no model "
                "architecture in it" if weights_only else
                "has no model_config attribute, so it is not a whole Keras model")
        raise InputError(f"{path}: {what}",
                         "build the model with the code that trained it, call "
                         "model.load_weights(file), then model.save('model.keras') and convert "
                         "that (or pass the model object to mcuq.convert)")
    try:
        config = json.loads(raw)
    except ValueError as e:
        raise InputError(f"{path}: its model_config is not valid JSON ({first_line(str(e))})",
                         "save the model again with model.save") from None
    return FileFacts("h5", version, backend, config, stored_code=_stored_code(config))


def _metadata_version(raw: bytes) -> str | None:
    for meta in _metadata_json(raw):
        if isinstance(meta.get("keras_version"), str):
            return meta["keras_version"]
    m = re.search(rb'"keras_version":\s*"([^"]+)"', raw)
    return m.group(1).decode() if m else None


def _stored_code_in_metadata(raw: bytes) -> list[str]:
    names: list[str] = []
    for meta in _metadata_json(raw):
        for n in _stored_code(meta):
            if n not in names:
                names.append(n)
    return names


def _metadata_json(raw: bytes) -> list[dict]:
    """The JSON metadata of every node in keras_metadata.pb (a SavedMetadata proto: repeated
    SavedObject nodes, each with a JSON string), read with a minimal protobuf wire walker."""
    out = []

    def varint(buf, i):
        shift = value = 0
        while True:
            b = buf[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value, i

    def fields(buf):
        i = 0
        while i < len(buf):
            key, i = varint(buf, i)
            wire = key & 7
            if wire == 0:
                _, i = varint(buf, i)
            elif wire == 1:
                i += 8
            elif wire == 5:
                i += 4
            elif wire == 2:
                n, i = varint(buf, i)
                yield buf[i:i + n]
                i += n
            else:
                raise ValueError(f"wire type {wire}")

    try:
        for node in fields(raw):
            for value in fields(node):
                if value[:1] == b"{":
                    try:
                        meta = json.loads(value)
                    except ValueError:
                        continue
                    if isinstance(meta, dict):
                        out.append(meta)
    except (ValueError, IndexError):
        pass  # not the layout we know: the caller's regexes still look at the raw bytes
    return out


def _stored_code(config) -> list[str]:
    """Names of Lambda layers whose Python code is stored in the config (Keras 2 marshal
    bytecode, function_type 'lambda'; Keras 3 '__lambda__' functions)."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("class_name") == "Lambda" and isinstance(node.get("config"), dict):
                cfg = node["config"]
                fn = cfg.get("function")
                if (cfg.get("function_type") == "lambda"
                        or cfg.get("output_shape_type") == "lambda"
                        or (isinstance(fn, dict) and fn.get("class_name") == "__lambda__")):
                    found.append(str(cfg.get("name", "?")))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(config)
    return found


# --------------------------------------------------------------------------------------------
# Provenance and the loaded model
# --------------------------------------------------------------------------------------------

@dataclass
class Provenance:
    """How a model was loaded (shown in convert's summary and --json)."""

    source: str
    format: str  # "keras", "h5", "saved_model", "in-memory"
    loader: str  # "keras3", "tf_keras" or "saved_model_signature"
    loader_version: str  # Keras / tf_keras version, or the signature name
    saved_by: str | None = None  # "Keras 2.8.0 (tensorflow backend)"
    reason: str = ""  # why this loader
    fallback: str | None = None  # when another loader was tried first: what failed
    custom_objects: list[str] = field(default_factory=list)  # used by the loaded model
    custom_objects_unused: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # loader warnings that matter

    @property
    def loader_text(self) -> str:
        if self.loader == "keras3":
            return f"Keras {self.loader_version} (safe mode)"
        if self.loader == "tf_keras":
            return f"tf_keras {self.loader_version} (Keras 2)"
        if self.loader == "saved_model_signature":
            return f"SavedModel signature '{self.loader_version}'"
        return self.loader

    @property
    def is_keras3(self) -> bool:
        return self.loader == "keras3"


@dataclass
class LoadedKeras:
    model: Any  # keras.Model or tf_keras.Model
    provenance: Provenance


def _keras_version() -> str:
    return import_keras().__version__


def load_keras_model(path, custom_objects=None) -> LoadedKeras:
    """The loader chain for Keras artifacts: `path` (.keras, .h5/.hdf5, or a Keras 2 SavedModel
    folder) -> LoadedKeras(model, provenance). `custom_objects`: module names, .py paths,
    modules or {name: object} dicts (mcuq.custom_objects). A SavedModel without Keras metadata
    is not a Keras model: InputError (load_model_source reads it through its signature)."""
    from .custom_objects import load_custom_objects

    path = _check_path(Path(os.fspath(path)))
    custom = load_custom_objects(custom_objects)
    facts = read_file_facts(path)
    if facts.format == "saved_model" and not facts.keras_metadata:
        raise InputError(f"{path}: SavedModel without keras_metadata.pb is not a Keras model",
                         "load it as a Keras model by saving it with model.save('model.keras'); "
                         "mcuq convert reads it through its serving signature")
    return _load_keras(path, facts, custom)


def _check_path(path: Path) -> Path:
    if not path.exists():
        raise InputError(f"{path}: no such file or folder", MODEL_HINT)
    if path.is_dir():
        if not (path / "saved_model.pb").exists():
            raise InputError(f"{path}: folder has no saved_model.pb, so it is not a SavedModel",
                             "pass the SavedModel folder itself, or a .keras/.h5 file")
        return path
    suffix = path.suffix.lower()
    if suffix == ".tflite":
        raise InputError(f"{path}: is already a .tflite model",
                         "convert the float .keras/.h5/SavedModel; inspect this one with "
                         "`mcuq inspect`")
    if suffix not in (".keras", ".h5", ".hdf5"):
        raise InputError(f"{path}: unknown model format '{suffix or path.name}'", MODEL_HINT)
    return path


def _refuse_stored_code(path: Path, facts: FileFacts) -> None:
    if facts.stored_code:
        names = ", ".join(f"'{n}'" for n in facts.stored_code)
        raise InputError(f"{path}: refused to load with safe_mode on: Lambda layer {names} "
                         "stores Python code in the file", SAFE_HINT)


def _load_keras(path: Path, facts: FileFacts, custom) -> LoadedKeras:
    """Pick the loader from the file (and the Keras of the custom objects it needs), load,
    explain why."""
    _refuse_stored_code(path, facts)
    saved = f"saved by {facts.saved_by}" if facts.saved_by else "no Keras version recorded"
    if facts.format == "saved_model":
        return _with_tf_keras(path, facts, custom,
                              f"Keras 2 SavedModel (keras_metadata.pb; {saved})")
    kind = ".keras file" if facts.format == "keras" else "HDF5 file"
    if facts.keras_major is not None and facts.keras_major < 3:
        # A Keras 2 file (tf_keras 2.13+ writes .keras zips too: their configs are Keras 2 ones).
        what = f"a Keras 2 {kind} ({saved})"
        needed = _needed(custom, facts.config)
        if needed and {o.flavor for o in needed} - {"any"} == {"keras3"}:
            # The user's layers are Keras 3 classes: tf_keras cannot host them; Keras 3 reads
            # many Keras 2 files (not those with Keras 2-only config keys).
            names = ", ".join(o.name for o in needed)
            return _with_keras3(path, facts, custom, f"{what}, but its custom layers ({names}) "
                                "are Keras 3 classes", keras2_file=True)
        return _with_tf_keras(path, facts, custom, what)
    return _with_keras3(path, facts, custom, f"{kind} {saved}", keras2_file=False)


def _needed(custom, config) -> list:
    """The custom objects the model config refers to (by class or registered name)."""
    if not custom or config is None:
        return []
    names: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for key in ("class_name", "registered_name"):
                if isinstance(node.get(key), str):
                    names.add(node[key])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(config)
    return [o for o in custom.objects if any(k in names for k in o.keys)]


def _with_keras3(path, facts, custom, reason, keras2_file) -> LoadedKeras:
    keras = import_keras()
    objs = {k: v for k, v in custom.for_loader().items()
            if _flavor(v) in ("keras3", "any")}
    notes: list[str] = []
    try:
        with _recorded(notes):
            model = keras.saving.load_model(path, compile=False, safe_mode=True,
                                            custom_objects=objs or None)
    except Exception as e:  # noqa: BLE001 - translated below; never swallowed
        key = key_sentence(e)
        if _is_keras2_config_error(key) and not keras2_file:
            # Decided by the error's content: Keras 3 read a Keras 2 config. tf_keras reads it.
            loaded = _with_tf_keras(path, facts, custom,
                                    f"{reason}, but its model config is Keras 2")
            loaded.provenance.fallback = f"Keras {keras.__version__} failed first: {key}"
            return loaded
        raise _load_error(path, "keras3", e, facts, custom, keras2_file) from None
    prov = Provenance(str(path), facts.format, "keras3", keras.__version__, facts.saved_by,
                      reason, notes=notes)
    _custom_used(model, custom, prov)
    return LoadedKeras(model, prov)


def _with_tf_keras(path, facts, custom, reason) -> LoadedKeras:
    tf_keras = import_tf_keras()
    objs = {k: v for k, v in custom.for_loader().items()
            if _flavor(v) in ("tf_keras", "any")}
    notes: list[str] = []
    kwargs = {"safe_mode": True} if facts.format == "keras" else {}
    try:
        with _recorded(notes):
            model = tf_keras.models.load_model(str(path), compile=False,
                                               custom_objects=objs or None, **kwargs)
    except Exception as e:  # noqa: BLE001 - translated below; never swallowed
        raise _load_error(path, "tf_keras", e, facts, custom, True) from None
    prov = Provenance(str(path), facts.format, "tf_keras", tf_keras.__version__, facts.saved_by,
                      reason, notes=notes)
    _custom_used(model, custom, prov)
    _revived_layers(model, prov)
    return LoadedKeras(model, prov)


def _flavor(obj) -> str:
    from .custom_objects import flavor_of

    return flavor_of(obj)


def _custom_used(model, custom, prov: Provenance) -> None:
    if not custom:
        return
    used = {id(type(layer)) for layer in _all_layers(model)}
    objs = [o.obj for o in custom.objects if id(o.obj) in used]
    prov.custom_objects = custom.names_of(objs)
    prov.custom_objects_unused = [d for d in custom.names_of([o.obj for o in custom.objects])
                                  if d not in prov.custom_objects]


def _revived_layers(model, prov: Provenance) -> None:
    """tf_keras revives a SavedModel's unknown custom layers from their traced functions."""
    revived = [f"'{layer.name}' ({type(layer).__name__})" for layer in _all_layers(model)
               if any(c.__name__.startswith("Revived") for c in type(layer).__mro__)]
    if revived:
        prov.notes.append(f"layer(s) {', '.join(revived)} revived from the SavedModel's traced "
                          "functions (their Python class was not given; --custom-objects "
                          "passes it)")


def _all_layers(m):
    for layer in getattr(m, "layers", []) or []:
        yield layer
        yield from _all_layers(layer)


# -- what loaders say ------------------------------------------------------------------------

#: Loader warnings that say nothing about the float model mcuq converts (dropped).
_NOISE = [re.compile(p) for p in (
    r"input_shape.*/.*input_dim|Do not pass an `input_shape`",
    r"No training configuration found",
    r"[Cc]ompiled the loaded model",
    r"compile_metrics|compiled metrics",
    r"HDF5 file.*legacy|legacy.*HDF5|considered legacy",
    r"[Oo]ptimizer",  # optimizer state / slots are never needed for inference
    r"Unresolved object in checkpoint",
    r"^A checkpoint was restored",
    r"expect_partial",
    r"Skipping full serialization of Keras layer",
    r"Model's `__init__\(\)` arguments contain non-serializable",
    r"is deprecated|will be removed in a future",
    r"Importing a function \(__inference",
)]


def _is_noise(text: str) -> bool:
    return any(p.search(text) for p in _NOISE)


class _LogRecorder(logging.Filter):
    def __init__(self, sink: list[str]):
        super().__init__()
        self.sink = sink

    def filter(self, record) -> bool:
        if record.levelno >= logging.WARNING:
            self.sink.append(record.getMessage())
        return False  # nothing reaches stderr while loading


@contextlib.contextmanager
def _recorded(notes: list[str]):
    """Python warnings and TensorFlow/absl log records -> `notes` (minus known noise); native
    output captured (quiet_native_output passes real errors on)."""
    from .native import quiet_native_output

    raw: list[str] = []
    printed: list[str] = []
    rec = _LogRecorder(raw)
    loggers = [logging.getLogger(n) for n in ("tensorflow", "absl", "keras", "tf_keras")]
    for lg in loggers:
        lg.addFilter(rec)
    try:
        with warnings.catch_warnings(record=True) as caught, quiet_native_output(keep=printed):
            warnings.simplefilter("always")
            yield
    except BaseException:
        if printed:  # what the model's code printed may explain the failure: never hidden
            sys.stderr.write("\n".join(printed) + "\n")
        raise
    finally:
        for lg in loggers:
            lg.removeFilter(rec)
    raw.extend(printed)
    raw.extend(str(w.message) for w in caught)
    for text in raw:
        line = first_line(text, 400)
        if line and not _is_noise(text) and line not in notes:
            notes.append(line)


# -- errors ----------------------------------------------------------------------------------

_KERAS2_CONFIG = [re.compile(p) for p in (
    r"Unrecognized keyword arguments? passed to",
    r"nodes failed to be resolved",
    r"Invalid Functional model configuration",
    r"Keyword argument not understood",
)]

_UNKNOWN = [re.compile(p) for p in (
    r"Unknown (?:layer|object|activation|initializer|regularizer|constraint|loss|metric)"
    r"(?: class)?:\s*'?([\w.>-]+)'?",
    r"Could not locate (?:class|function) '([\w.>-]+)'",
    r"Could not interpret .*? identifier:\s*'?([\w.>-]+)'?",
)]


def _is_keras2_config_error(text: str) -> bool:
    return any(p.search(text) for p in _KERAS2_CONFIG)


def key_sentence(e: BaseException, limit: int = 400) -> str:
    """The sentence of a loader's error that says what is wrong. Keras wraps the real cause
    after a dump of the layer config ("Error when deserializing class 'X' using config={...}.
    Exception encountered: <cause>"): the cause is what counts, never cut before it."""
    text = str(e).strip()
    m = re.search(r"Exception encountered:\s*(.+)", text, re.S)
    if m:
        text = m.group(1).strip()
    for p in _KERAS2_CONFIG + _UNKNOWN:  # a known cause anywhere in the text wins
        hit = p.search(text)
        if hit:
            start = text.rfind("\n", 0, hit.start()) + 1
            end = text.find("\n", hit.end())
            text = text[start:end if end >= 0 else len(text)]
            break
    line = first_line(text, 10 ** 6) or type(e).__name__
    line = re.sub(r"config=\{.*\}", "config={...}", line)
    if len(line) > limit:
        line = line[:limit - 3] + "..."
    return line


def _load_error(path, loader, e, facts, custom, keras2_file) -> InputError:
    key = key_sentence(e)
    where = {"keras3": f"Keras {_keras_version()}", "tf_keras": "tf_keras"}[loader]
    for p in _UNKNOWN:
        m = p.search(key) or p.search(str(e))
        if not m:
            continue
        name = m.group(1)
        given = custom.find(name)
        if given is not None and given.flavor not in (loader, "any"):
            other = "Keras 3" if given.flavor == "keras3" else "tf_keras (Keras 2)"
            need = "tf_keras.layers.Layer" if loader == "tf_keras" else "keras.layers.Layer"
            return InputError(
                f"{path}: custom object '{name}' from {given.origin} is a {other} class; this "
                f"file loads with {where} ({facts.saved_by or facts.format}): {key}",
                f"write the class for {where} (subclass {need}, register it with "
                f"{'@tf_keras.utils' if loader == 'tf_keras' else '@keras.saving'}"
                ".register_keras_serializable()) and pass it with --custom-objects")
        defined = custom.defined_not_offered(name) if custom else None
        hint = (f"{defined} defines '{name.split('>')[-1]}' but does not register it: decorate "
                "it with @keras.saving.register_keras_serializable() (or the tf_keras one), or "
                "list it in CUSTOM_OBJECTS" if defined else CUSTOM_HINT)
        return InputError(f"{path}: unknown layer class '{name}': {where} has no such layer "
                          "built in; give its code with --custom-objects MODULE", hint)
    if "safe_mode" in str(e) or ("Lambda" in str(e) and "lambda" in str(e)):
        return InputError(f"{path}: refused to load with safe_mode on: {key}", SAFE_HINT)
    if loader == "keras3" and keras2_file and _is_keras2_config_error(key):
        names = ", ".join(f"{o.name} ({o.origin})" for o in custom.objects
                          if o.flavor == "keras3")
        return InputError(
            f"{path}: Keras 3 cannot read this Keras 2 file ({facts.saved_by}): {key}; and the "
            f"custom objects {names} are Keras 3 classes, which tf_keras cannot use",
            "write the custom layers for tf_keras (subclass tf_keras.layers.Layer, register with "
            "@tf_keras.utils.register_keras_serializable()); mcuq then loads the file with "
            "tf_keras")
    if facts.format == "saved_model":
        hint = ("re-export it from the training code with model.export(path) (Keras 3) or "
                "tf.saved_model.save, or save a .keras file")
    elif loader == "tf_keras":
        hint = ("load and re-save it in the environment that trained it "
                "(model.save('model.keras')), or pass --custom-objects if it has custom layers")
    else:
        hint = "check that the file is a complete model saved by Keras (model.save)"
    return InputError(f"{path}: cannot load the model with {where}: {key}", hint)


# --------------------------------------------------------------------------------------------
# ModelSource: what convert and verify --float use
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
    provenance: Provenance | None = None
    #: recurrent Keras layers ("'lstm' (LSTM)"): convert runs TFLiteConverter in a child
    #: process for them (mcuq.conversion), since it can crash on them
    recurrent_layers: tuple[str, ...] = ()
    #: the Keras model object (the converter's trackable_obj for recurrent layers)
    keras_model: Any = field(default=None, repr=False)

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


def load_model_source(model: Any, custom_objects=None) -> ModelSource:
    """A path (.keras, .h5, SavedModel folder) or an in-memory keras/tf_keras Model, through
    the loader chain (module doc)."""
    if isinstance(model, (str, os.PathLike)):
        from .custom_objects import load_custom_objects

        path = _check_path(Path(os.fspath(model)))
        custom = load_custom_objects(custom_objects)
        facts = read_file_facts(path)
        if facts.format == "saved_model" and (not facts.keras_metadata or facts.stored_code):
            reason = ("no keras_metadata.pb: not saved by Keras 2's model.save"
                      if not facts.keras_metadata else
                      f"Lambda layer(s) {', '.join(facts.stored_code)} store Python code that "
                      "tf_keras would run; the traced signature runs none")
            return _load_saved_model(path, reason, facts)
        loaded = _load_keras(path, facts, custom)
        return _from_keras(loaded.model, str(path), facts.format, loaded.provenance)
    keras = import_keras()
    if isinstance(model, keras.Model):
        prov = Provenance("<keras.Model>", "in-memory", "keras3", keras.__version__,
                          reason="in-memory Keras 3 model")
        return _from_keras(model, "<keras.Model>", "in-memory", prov)
    if "tf_keras" in sys.modules and isinstance(model, sys.modules["tf_keras"].Model):
        prov = Provenance("<tf_keras.Model>", "in-memory", "tf_keras",
                          sys.modules["tf_keras"].__version__, reason="in-memory tf_keras model")
        return _from_keras(model, "<tf_keras.Model>", "in-memory", prov)
    raise InputError(f"cannot convert a {type(model).__name__}",
                     "pass a .keras/.h5 path, a SavedModel folder or a keras.Model")


def _keras_name(t, k: int) -> str:
    hist = getattr(t, "_keras_history", None)
    if hist is not None:
        op = getattr(hist, "operation", None) or getattr(hist, "layer", None)
        if getattr(op, "name", None):
            return op.name
    name = getattr(t, "name", None)
    return name.split(":")[0] if name else f"input_{k}"


def _np_dtype(d) -> np.dtype:
    as_np = getattr(d, "as_numpy_dtype", None)  # tf.DType (tf_keras tensors and weights)
    return np.dtype(as_np if as_np is not None else str(d))


def _from_keras(m, source: str, kind: str, provenance: Provenance | None = None) -> ModelSource:
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
        inputs.append(ModelInput(name, tuple(int(d) for d in shape), _np_dtype(t.dtype)))
    try:
        outputs = [_keras_name(t, k) for k, t in enumerate(m.outputs)]
    except (AttributeError, ValueError, TypeError):
        outputs = []
    layer_names = frozenset(layer.name for layer in _all_layers(m))
    float_bytes = int(sum(int(np.prod(w.shape)) * _np_dtype(w.dtype).itemsize
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

    recurrent = tuple(f"'{layer.name}' ({type(layer).__name__})" for layer in _all_layers(m)
                      if type(layer).__name__ in RECURRENT_LAYERS)
    return ModelSource(source, kind, inputs, outputs, layer_names, float_bytes, call, provenance,
                       recurrent_layers=recurrent, keras_model=m)


#: Keras layer classes that TFLiteConverter turns into fused recurrent ops (or crashes on).
RECURRENT_LAYERS = frozenset({"LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional",
                              "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"})


def _load_saved_model(path: Path, reason: str, facts: FileFacts) -> ModelSource:
    tf = import_tf()
    notes: list[str] = []
    try:
        with _recorded(notes):
            loaded = tf.saved_model.load(str(path))
    except Exception as e:  # noqa: BLE001 - translated, never swallowed
        raise InputError(f"{path}: cannot load the SavedModel: {key_sentence(e)}",
                         "re-export it with model.export(path) or tf.saved_model.save"
                         ) from None
    sigs = dict(getattr(loaded, "signatures", {}) or {})
    if not sigs:
        raise InputError(f"{path}: the SavedModel has no serving signature",
                         "export it with model.export(path) (Keras 3) or a signature")
    sig_name = "serving_default" if "serving_default" in sigs else sorted(sigs)[0]
    sig = sigs[sig_name]
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
    if len(sigs) > 1:
        notes.append(f"signatures {sorted(sigs)}: used '{sig_name}'")
    prov = Provenance(str(path), "saved_model", "saved_model_signature", sig_name,
                      facts.saved_by, reason, notes=notes)
    return ModelSource(str(path), "saved_model", inputs, out_names, frozenset(), float_bytes,
                       call, prov)


__all__ = ["ModelInput", "ModelSource", "Provenance", "LoadedKeras", "FileFacts",
           "Calibration", "CalibrationWarning", "load_model_source", "load_keras_model",
           "read_file_facts", "key_sentence", "load_calibration", "check_calibration_source",
           "import_tf", "import_keras", "import_tf_keras", "DEFAULT_MAX_SAMPLES",
           "MIN_RECOMMENDED_SAMPLES"]
