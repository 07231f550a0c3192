"""The op registry shared by the reference interpreter and the C code generator.

A kernel is a pair of functions registered under one or more TFLite builtin names:

    prepare(op: Operator, model: Model) -> params
        Reads the op's tensors and options once, checks what is supported (raising
        UnsupportedModelError naming the op, its index and the tensor), and computes every
        integer parameter (multipliers, shifts, offsets, activation bounds, padding) exactly
        as TFLite Micro's Prepare does. `params` is a dataclass; the C code generator emits
        the same values, so the reference and the firmware cannot drift apart.

    run(params, inputs: list[np.ndarray | None]) -> list[np.ndarray]
        inputs[i] is the value of op input i with a leading batch axis: shape
        (B, *tensor.shape). Constant inputs are passed the same way (a read-only broadcast
        view); kernels usually read weights from params instead. Omitted optional inputs are
        None. Returns one array per op output, shape (B, *tensor.shape), in the tensor's dtype.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..errors import UnsupportedModelError
from ..model import Model, Operator


@dataclass(frozen=True)
class Kernel:
    name: str
    prepare: Callable[[Operator, Model], Any]
    run: Callable[[Any, list], list]


KERNELS: dict[str, Kernel] = {}


def register(*names: str):
    """Class decorator: the class provides static `prepare` and `run`."""
    def wrap(cls):
        for name in names:
            KERNELS[name] = Kernel(name, cls.prepare, cls.run)
        return cls
    return wrap


def kernel_for(op: Operator, model: Model) -> Kernel:
    _load_all()
    k = KERNELS.get(op.opcode)
    if k is None:
        out = model.tensors[op.outputs[0]].name if op.outputs else "?"
        raise UnsupportedModelError(
            f"{model.source}: {op.describe()} (output tensor '{out}') is not implemented by "
            f"mcuq's int8 reference",
            f"supported ops: {', '.join(sorted(supported_ops()))}")
    return k


def supported_ops() -> list[str]:
    _load_all()
    return sorted(KERNELS)


def unsupported(op: Operator, model: Model, what: str, hint: str) -> UnsupportedModelError:
    """Error for an op whose type/option/shape the kernel cannot handle."""
    out = model.tensors[op.outputs[0]].name if op.outputs else "?"
    return UnsupportedModelError(f"{model.source}: {op.describe()} (output '{out}'): {what}", hint)


def require_int8(op: Operator, model: Model, tensors) -> None:
    """Every tensor int8 and quantized, or an UnsupportedModelError naming the first that is not."""
    for t in tensors:
        if t.type_name != "INT8":
            raise unsupported(op, model, f"tensor '{t.name}' is {t.type_name}",
                              "convert with int8 activations and weights (mcuq convert)")
        if t.quant is None or t.quant.scale.size == 0:
            raise unsupported(op, model, f"tensor '{t.name}' has no quantization parameters",
                              "convert with full-integer quantization (mcuq convert)")


_LOADED = False


def _load_all() -> None:
    """Import every op-family module so its kernels register themselves."""
    global _LOADED
    if _LOADED:
        return
    import importlib
    import pkgutil

    from . import ops

    for info in pkgutil.iter_modules(ops.__path__):
        importlib.import_module(f"{ops.__name__}.{info.name}")
    _LOADED = True
