"""`--custom-objects MODULE`: the user's own layer code, gathered for whichever Keras loads a model.

A MODULE is a dotted module name (importable from the current folder) or a path to a `.py` file.
What it offers: classes and functions registered with `keras.saving.register_keras_serializable`
(Keras 3) or `tf_keras.utils.register_keras_serializable` (Keras 2) that are defined in it, plus a
module-level `CUSTOM_OBJECTS = {"Name": obj}` dict. Each object is offered under its registered
name ("package>Name") and its bare name, so files saved with or without registration find it.

Objects are sorted by the Keras they belong to ("keras3", "tf_keras" or "any" for plain
functions): a Keras 3 layer cannot live in a tf_keras model and the reverse, so the loader chain
(mcuq.sources) picks its loader with this in mind and names the mismatch when there is one.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import InputError

HINT = ("register the classes with @keras.saving.register_keras_serializable() (Keras 3) or "
        "@tf_keras.utils.register_keras_serializable() (Keras 2), or list them in a module-level "
        "CUSTOM_OBJECTS = {'Name': Class} dict")


@dataclass
class CustomObject:
    name: str  # the bare name (class or function __name__, or the CUSTOM_OBJECTS key)
    obj: Any = field(repr=False)
    origin: str  # the module (or file) it came from
    flavor: str  # "keras3", "tf_keras" or "any"
    registered_name: str | None = None  # "package>Name"

    @property
    def keys(self) -> list[str]:
        return [k for k in (self.registered_name, self.name) if k]


@dataclass
class CustomObjects:
    """Everything the given modules offer, in order."""

    objects: list[CustomObject] = field(default_factory=list)
    modules: list[tuple[str, ModuleType]] = field(default_factory=list, repr=False)

    def __bool__(self) -> bool:
        return bool(self.objects)

    def for_loader(self) -> dict[str, Any]:
        """{name: object} as keras/tf_keras `load_model(custom_objects=...)` takes it."""
        out: dict[str, Any] = {}
        for o in self.objects:
            for k in o.keys:
                out.setdefault(k, o.obj)
        return out

    @property
    def flavors(self) -> set[str]:
        return {o.flavor for o in self.objects if o.flavor != "any"}

    def find(self, name: str) -> CustomObject | None:
        """The object a loader would look up as `name` ("pkg>Name" or "Name")."""
        bare = name.split(">")[-1]
        for o in self.objects:
            if name in o.keys or bare == o.name:
                return o
        return None

    def portable(self) -> list[Any]:
        """Specs that load_custom_objects turns back into these objects in another Python
        process (mcuq.native.call_in_child): each module loaded from a .py file as its absolute
        path, any other by its name, the {name: object} dicts as dicts (pickled by reference)."""
        specs: list[Any] = []
        for _label, module in self.modules:
            path = getattr(module, "__file__", None)
            if path and module.__name__ == _module_name(Path(path)):
                specs.append(path)  # loaded from its file by mcuq: no import finds that name
            else:
                specs.append(module.__name__)
        by_dict = {o.name: o.obj for o in self.objects if o.origin == "<dict>"}
        if by_dict:
            specs.append(by_dict)
        return specs

    def names_of(self, objs) -> list[str]:
        """Descriptions ("Scale (my_layers.py)") of the given objects that came from here."""
        ids = {id(x) for x in objs}
        return [f"{o.name} ({o.origin})" for o in self.objects if id(o.obj) in ids]

    def defined_not_offered(self, name: str) -> str | None:
        """The module (label) that defines `name` without registering or listing it."""
        bare = name.split(">")[-1]
        for label, module in self.modules:
            if isinstance(getattr(module, bare, None), type) and self.find(name) is None:
                return label
        return None

    def describe(self) -> list[str]:
        return [f"{o.name} ({o.origin}, {_FLAVOR_TEXT[o.flavor]})" for o in self.objects]


_FLAVOR_TEXT = {"keras3": "Keras 3", "tf_keras": "tf_keras", "any": "function"}


def flavor_of(obj) -> str:
    """"keras3" for Keras 3 classes, "tf_keras" for Keras 2 ones, "any" for everything else."""
    if not isinstance(obj, type):
        return "any"
    for base in obj.__mro__[1:]:
        mod = getattr(base, "__module__", "") or ""
        if mod == "tf_keras" or mod.startswith("tf_keras."):
            return "tf_keras"
        if mod == "keras" or mod.startswith("keras."):
            return "keras3"
    return "any"


def load_custom_objects(specs: Any) -> CustomObjects:
    """Gather custom objects from `specs`: a module name, a .py path, a module object, a
    {name: object} dict, a CustomObjects, or a list of these. None gives an empty set."""
    if specs is None:
        return CustomObjects()
    if isinstance(specs, CustomObjects):
        return specs
    if isinstance(specs, (str, os.PathLike, ModuleType, dict)):
        specs = [specs]
    found = CustomObjects()
    for spec in specs:
        if isinstance(spec, CustomObjects):
            found.objects.extend(spec.objects)
            found.modules.extend(spec.modules)
        elif isinstance(spec, dict):
            for k, v in spec.items():
                found.objects.append(CustomObject(str(k), v, "<dict>", flavor_of(v),
                                                  _registered_name(v)))
        elif isinstance(spec, ModuleType):
            found.modules.append((spec.__name__, spec))
            found.objects.extend(_from_module(spec, spec.__name__, str(spec.__name__)))
        elif isinstance(spec, (str, os.PathLike)):
            module, label = _import(os.fspath(spec))
            found.modules.append((label, module))
            objs = _from_module(module, module.__name__, label)
            if not objs:
                defined = [k for k, v in vars(module).items() if isinstance(v, type)
                           and v.__module__ == module.__name__ and flavor_of(v) != "any"]
                what = (f"defines {', '.join(defined)} but registers none of them"
                        if defined else "offers no custom objects")
                raise InputError(f"{label}: the --custom-objects module {what}", HINT)
            found.objects.extend(objs)
        else:
            raise InputError(f"custom objects: cannot use a {type(spec).__name__}",
                             "pass module names, .py paths, modules or {name: class} dicts")
    return found


def _import(spec: str) -> tuple[ModuleType, str]:
    """Import a dotted module (from the current folder too) or a .py file."""
    from .sources import import_tf

    path = Path(spec)
    is_file = spec.endswith(".py") or os.sep in spec or (os.altsep and os.altsep in spec)
    if is_file and not path.is_file():
        raise InputError(f"{spec}: no such file (--custom-objects)",
                         "pass a path to a .py file or an importable module name")
    import_tf()  # TensorFlow's import noise stays captured, whatever the module imports
    if is_file:
        name = _module_name(path)
        if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(
                path.resolve()):
            return sys.modules[name], str(path)
        loader_spec = importlib.util.spec_from_file_location(name, path.resolve())
        if loader_spec is None or loader_spec.loader is None:
            raise InputError(f"{spec}: cannot import this file (--custom-objects)",
                             "pass a Python source file (.py)")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[name] = module
        folder = str(path.resolve().parent)  # its sibling modules import as they do at home
        added = folder not in sys.path
        if added:
            sys.path.insert(0, folder)
        try:
            with _quiet():
                loader_spec.loader.exec_module(module)
        except Exception as e:  # noqa: BLE001 - user code failing at import
            sys.modules.pop(name, None)
            raise InputError(f"{spec}: importing it failed ({type(e).__name__}: {e}) "
                             "(--custom-objects)",
                             "fix the module so that it imports cleanly") from None
        finally:
            if added and folder in sys.path:
                sys.path.remove(folder)
        return module, str(path)
    added = os.getcwd() not in sys.path
    if added:
        sys.path.insert(0, os.getcwd())
    try:
        with _quiet():
            return importlib.import_module(spec), spec
    except ImportError as e:
        raise InputError(f"{spec}: cannot import module '{spec}' ({e}) (--custom-objects)",
                         "pass an importable module name (from the current folder) or a path "
                         "to a .py file") from None
    except Exception as e:  # noqa: BLE001 - user code failing at import
        raise InputError(f"{spec}: importing it failed ({type(e).__name__}: {e}) "
                         "(--custom-objects)", "fix the module so that it imports cleanly"
                         ) from None
    finally:
        if added:
            try:
                sys.path.remove(os.getcwd())
            except ValueError:
                pass


def _quiet():
    """Importing the user's module (and the Keras it imports): native log noise captured, real
    output passed on to stderr."""
    from .native import quiet_native_output

    return quiet_native_output()


def _module_name(path: Path) -> str:
    """A module name for a .py file: its stem, made unique per file."""
    stem = "".join(c if c.isalnum() or c == "_" else "_" for c in path.stem) or "custom"
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
    return f"mcuq_custom_{stem}_{digest}"


def _kerases() -> list:
    """The Keras modules loaded in this process: keras (3) and, if something imported it,
    tf_keras (mcuq never imports it just to look)."""
    return [sys.modules[n] for n in ("keras", "tf_keras") if n in sys.modules]


def _registered_name(obj) -> str | None:
    """"package>Name" when `obj` was registered with either Keras, else None."""
    for k in _kerases():
        try:
            name = k.saving.get_registered_name(obj)
        except Exception:  # noqa: BLE001 - objects Keras cannot name are simply not registered
            continue
        if isinstance(name, str) and ">" in name:
            return name
    return None


def _from_module(module: ModuleType, name: str, label: str) -> list[CustomObject]:
    out: list[CustomObject] = []
    seen: set[int] = set()
    candidates = [obj for obj in vars(module).values()
                  if getattr(obj, "__module__", None) == name and callable(obj)]
    for k in _kerases():  # registered objects of this module that are not attributes
        candidates += [obj for obj in k.saving.get_custom_objects().values()
                       if getattr(obj, "__module__", None) == name]
    for obj in candidates:
        reg = _registered_name(obj)
        if reg is None or id(obj) in seen:
            continue
        seen.add(id(obj))
        out.append(CustomObject(getattr(obj, "__name__", reg.split(">")[-1]), obj, label,
                                flavor_of(obj), reg))
    table = getattr(module, "CUSTOM_OBJECTS", None)
    if table is not None and not isinstance(table, dict):
        raise InputError(f"{label}: CUSTOM_OBJECTS is a {type(table).__name__}, not a dict",
                         "define CUSTOM_OBJECTS = {'Name': Class, ...}")
    for key, obj in (table or {}).items():
        if id(obj) in seen and str(key) == getattr(obj, "__name__", None):
            continue
        seen.add(id(obj))
        out.append(CustomObject(str(key), obj, label, flavor_of(obj), _registered_name(obj)))
    return out


__all__ = ["CustomObject", "CustomObjects", "load_custom_objects", "flavor_of", "HINT"]
