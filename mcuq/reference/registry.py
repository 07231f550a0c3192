"""The op registry shared by the reference interpreter and the C code generator.

A kernel is a pair of functions registered under one or more TFLite builtin names:

    prepare(op: Operator, model: Model[, profile: Profile]) -> params
        Reads the op's tensors and options once, checks what is supported (raising
        UnsupportedModelError naming the op, its index and the tensor), and computes every
        integer parameter (multipliers, shifts, offsets, activation bounds, padding) exactly
        as TFLite Micro's Prepare does. `params` is a dataclass; the C code generator emits
        the same values, so the reference and the firmware cannot drift apart.
        An op whose arithmetic differs by semantics profile (mcuq.reference.profiles: tflm,
        litert, single-rounding) declares a third parameter named `profile` and decides
        there, once, what its params hold (e.g. `rounding=profile.rounding` for the
        requantization, a LiteRT table); ops without it are the same in every profile.

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
from ..text import label


@dataclass(frozen=True)
class Kernel:
    name: str
    prepare: Callable[..., Any]
    run: Callable[[Any, list], list]
    #: prepare takes the semantics profile as its third argument
    takes_profile: bool = False

    def prepare_op(self, op: Operator, model: Model, profile):
        """prepare(op, model[, profile]): the profile is passed to kernels that declare it."""
        if self.takes_profile:
            return self.prepare(op, model, profile)
        return self.prepare(op, model)


def _takes_profile(fn) -> bool:
    import inspect

    return "profile" in inspect.signature(fn).parameters


KERNELS: dict[str, Kernel] = {}


@dataclass(frozen=True)
class Signature:
    """What an op's kernel requires of its operands, as data (for prepare's checks and for a
    model validator): input/output names in order, which inputs may be omitted (index -1 or
    absent at the end), which must be constant tensors, and whether the last input/output
    repeats (PACK's values, SPLIT's outputs). A kernel class declares it as `SIGNATURE`
    (or `SIGNATURES = {op name: Signature}` when one class serves several ops)."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...] = ("output",)
    optional: tuple[str, ...] = ()
    constant: tuple[str, ...] = ()
    variadic_inputs: bool = False  # the last input repeats: 1..max_inputs of it
    variadic_outputs: bool = False  # the last output repeats: 1 or more
    max_inputs: int | None = None  # total inputs when variadic (None: no limit)
    #: every position present, -1 for an omitted optional one (the kernel reads inputs by
    #: index: UNIDIRECTIONAL_SEQUENCE_LSTM's 24)
    all_positions: bool = False

    def as_dict(self) -> dict:
        return {"inputs": list(self.inputs), "outputs": list(self.outputs),
                "optional": list(self.optional), "constant": list(self.constant),
                "variadic_inputs": self.variadic_inputs,
                "variadic_outputs": self.variadic_outputs, "max_inputs": self.max_inputs,
                "all_positions": self.all_positions}


#: op name -> Signature, for the kernels that declare one.
SIGNATURES: dict[str, Signature] = {}


#: Activation types with their own kernels (16x8: int16 activations, int8 weights), keyed
#: "OPCODE:TYPE" in KERNELS; the plain opcode key is the int8 kernel.
VARIANT_TYPES = ("INT16",)


def register(*names: str, activations: str | None = None):
    """Class decorator: the class provides static `prepare` and `run` (and optionally a
    `SIGNATURE` or `SIGNATURES` mapping, see Signature). `activations="INT16"` registers the
    kernel for ops whose non-constant tensors include that type (see `variant_of`)."""
    def wrap(cls):
        for name in names:
            key = f"{name}:{activations}" if activations else name
            KERNELS[key] = Kernel(name, cls.prepare, cls.run, _takes_profile(cls.prepare))
            sig = getattr(cls, "SIGNATURES", {}).get(name) or getattr(cls, "SIGNATURE", None)
            if sig is not None and name not in SIGNATURES:
                SIGNATURES[name] = sig
        return cls
    return wrap


def variant_of(op: Operator, model: Model) -> str | None:
    """The activation type variant an op needs: "INT16" when one of its non-constant
    input/output tensors is int16 (16x8 models), else None (the int8 kernel)."""
    for i in list(op.inputs) + list(op.outputs):
        if i >= 0:
            t = model.tensors[i]
            if t.data is None and t.type_name in VARIANT_TYPES:
                return t.type_name
    return None


def kernel_key(op: Operator, model: Model) -> str:
    """The KERNELS key that runs `op` (also the C emitters' key): "OPCODE:INT16" when the op
    has int16 activations and such a kernel is registered; else the opcode (kernels that move
    or index any element type, e.g. GATHER or RESIZE_NEAREST_NEIGHBOR, take int16 there, and
    the others refuse it in prepare, naming the tensor)."""
    _load_all()
    v = variant_of(op, model)
    return f"{op.opcode}:{v}" if v and f"{op.opcode}:{v}" in KERNELS else op.opcode




def signature_for(opcode: str) -> Signature | None:
    """The declared operand signature of an op mcuq implements (None if undeclared)."""
    _load_all()
    return SIGNATURES.get(opcode)


def check_signature(op: Operator, model: Model, sig: Signature) -> list:
    """Raise UnsupportedModelError unless op's operands fit `sig`; returns the op's input
    tensors (None for omitted optional inputs)."""
    n_in, n_out = len(op.inputs), len(op.outputs)
    required = [n for n in sig.inputs if n not in sig.optional]
    if sig.variadic_inputs:
        lo, hi = len(sig.inputs), sig.max_inputs
    else:
        lo, hi = len(sig.inputs) if sig.all_positions else len(required), len(sig.inputs)
    if n_in < lo or (hi is not None and n_in > hi):
        want = (f"{lo} to {hi}" if hi is not None and hi != lo else
                f"at least {lo}" if hi is None else str(lo))
        raise unsupported(op, model, f"{n_in} inputs, {op.opcode} takes {want} "
                          f"({', '.join(sig.inputs)}{'...' if sig.variadic_inputs else ''})",
                          "the model file is inconsistent; re-convert it")
    lo_out = len(sig.outputs)
    if n_out < lo_out or (not sig.variadic_outputs and n_out > lo_out):
        raise unsupported(op, model, f"{n_out} outputs, {op.opcode} produces "
                          f"{'at least ' if sig.variadic_outputs else ''}{lo_out}",
                          "the model file is inconsistent; re-convert it")
    ins = model.op_inputs(op)
    for k, t in enumerate(ins):
        name = sig.inputs[min(k, len(sig.inputs) - 1)]
        if t is None and name not in sig.optional:
            raise unsupported(op, model, f"required input {k} ({name}) is omitted",
                              "the model file is inconsistent; re-convert it")
        if t is not None and name in sig.constant and t.data is None:
            raise unsupported(op, model, f"input {k} ({name}) '{t.name}' is not constant",
                              f"mcuq needs a constant {name} tensor for {op.opcode} (output "
                              "shapes are fixed before running); fold it at conversion")
    for t in model.op_outputs(op):
        if t.data is not None:
            raise unsupported(op, model, f"output '{t.name}' is a constant tensor",
                              "the model file is inconsistent; re-convert it")
    return ins


def kernel_for(op: Operator, model: Model) -> Kernel:
    _load_all()
    k = KERNELS.get(kernel_key(op, model))
    if k is None:
        out = model.tensors[op.outputs[0]].label if op.outputs else "?"
        raise UnsupportedModelError(
            f"{model.source}: {op.describe()} (output tensor '{out}') is not implemented by "
            f"mcuq's reference",
            f"supported ops: {', '.join(sorted(supported_ops()))}")
    return k


@dataclass(frozen=True)
class Refusal:
    """Why the reference cannot run one op (or the model as a whole when op is None)."""
    op: Operator | None
    kind: str  # what is refused, grouped in summaries: "SVDF", "QUANTIZE int16->int8"
    reason: str  # the detail for this op
    hint: str


def _signature(op: Operator, model: Model) -> str:
    """'int16->int8': the types of the op's first input and first output."""
    def first(idx):
        return next((model.tensors[i].type_name.lower() for i in idx if i >= 0), "none")
    return f"{first(op.inputs)}->{first(op.outputs)}"


#: TFLite Micro's RuntimeShape stores at most 6 dimensions and copies a larger rank past its end
#: (undefined behaviour): a FULLY_CONNECTED with a rank-8 input or bias gave wrong outputs in the
#: tflite-micro package (benchmarks/fuzz.py --adversary, mutator explode_rank). Every op's
#: tensors are held to it.
TFLM_MAX_RANK = 6


def _over_max_rank(op: Operator, model: Model):
    """The first tensor of `op` whose rank is above TFLM_MAX_RANK, or None."""
    for i in list(op.inputs) + list(op.outputs):
        if i >= 0 and len(model.tensors[i].shape) > TFLM_MAX_RANK:
            return model.tensors[i]
    return None


def prepare_ops(model: Model, profile=None) -> tuple[list, list[Refusal]]:
    """Prepare every op of `model`'s main subgraph (a `subgraph_view` for another one) in
    semantics `profile` (mcuq.reference.profiles; default tflm): ([(op, kernel, params)],
    refusals). Refusals cover ops with no kernel and ops whose prepare step refuses a type,
    option or shape; every one is listed, not just the first. Variable tensors are state the
    interpreter keeps (mcuq.reference.interpreter)."""
    from .profiles import get_profile

    _load_all()
    profile = get_profile(profile)
    plan, refusals = [], []
    for op in model.operators:
        k = KERNELS.get(kernel_key(op, model))
        if k is None:
            refusals.append(Refusal(op, op.opcode, "no reference kernel",
                                    f"mcuq implements: {', '.join(sorted(KERNELS))}"))
            continue
        deep = _over_max_rank(op, model)
        if deep is not None:
            refusals.append(Refusal(
                op, f"{op.opcode} rank {len(deep.shape)}",
                f"tensor '{deep.label}' has rank {len(deep.shape)}: TFLite Micro's RuntimeShape "
                f"holds at most {TFLM_MAX_RANK} dimensions (a larger rank overruns it; measured: "
                "wrong outputs)", "drop the size-1 dimensions (Reshape) and re-convert"))
            continue
        try:
            plan.append((op, k, k.prepare_op(op, model, profile)))
        except UnsupportedModelError as e:
            refusals.append(Refusal(op, f"{op.opcode} {_signature(op, model)}",
                                    getattr(e, "what", e.message), e.hint))
    return plan, refusals


def prepare_subgraphs(model: Model, profile=None) -> tuple[list[list], list[Refusal]]:
    """Prepare every subgraph, as TFLite Micro does (the main one first, then the others in
    file order, e.g. CALL_ONCE's init subgraph): ([plan per subgraph], refusals). A refusal in
    subgraph k > 0 names the subgraph in its kind."""
    from dataclasses import replace

    plans, refusals = [], []
    for k in range(len(model.subgraphs) or 1):
        plan, refs = prepare_ops(model.subgraph_view(k), profile)
        plans.append(plan)
        refusals += refs if k == 0 else [
            replace(r, kind=f"{r.kind} (subgraph {k})",
                    reason=f"subgraph {k}: {r.reason}") for r in refs]
    return plans, refusals


def summarize(names) -> str:
    """'SVDF x7, QUANTIZE int16->int8 x2' (in order of first appearance)."""
    counts: dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    return ", ".join(f"{label(n)} x{c}" for n, c in counts.items())


def refusal_summary(model: Model, refusals: list[Refusal]) -> str:
    """'2 subgraphs (...); 9 of 12 ops: SVDF x7, QUANTIZE int16->int8 x2'."""
    ops = [r for r in refusals if r.op is not None]
    parts = [r.reason for r in refusals if r.op is None]
    if ops:
        parts.append(f"{len(ops)} of {len(model.operators)} ops: "
                     f"{summarize(r.kind for r in ops)}")
    return "; ".join(parts)


def refusal_error(model: Model, refusals: list[Refusal]) -> UnsupportedModelError:
    """One error listing every refused op kind, with the first op's detail."""
    ops = [r for r in refusals if r.op is not None]
    whole = [r for r in refusals if r.op is None]
    first = ops[0] if ops else None
    detail = (f" (first: {first.op.describe()}: {first.reason})" if first is not None
              else "")
    err = UnsupportedModelError(
        f"{model.source}: mcuq's reference cannot run "
        f"{refusal_summary(model, refusals)}{detail}",
        (whole[0] if whole else first).hint
        + "; `mcuq inspect` shows every op's support")
    err.refusals = refusals
    return err


def supported_ops() -> list[str]:
    _load_all()
    return sorted(n for n in KERNELS if ":" not in n)


def supported_ops_for(activations: str) -> list[str]:
    """Ops with a kernel for `activations` ("INT16") activations."""
    _load_all()
    return sorted(n.split(":")[0] for n in KERNELS if n.endswith(f":{activations}"))


def unsupported(op: Operator, model: Model, what: str, hint: str) -> UnsupportedModelError:
    """Error for an op whose type/option/shape the kernel cannot handle."""
    out = model.tensors[op.outputs[0]].label if op.outputs else "?"
    err = UnsupportedModelError(f"{model.source}: {op.describe()} (output '{out}'): {what}",
                                hint)
    err.what = what
    return err


def require_int8(op: Operator, model: Model, tensors) -> None:
    """Every tensor int8 and quantized, or an UnsupportedModelError naming the first that is not."""
    for t in tensors:
        if t.type_name != "INT8":
            raise unsupported(op, model, f"tensor '{t.label}' is {t.type_name}",
                              "convert with int8 activations and weights (mcuq convert)")
        if t.quant is None or t.quant.scale.size == 0:
            raise unsupported(op, model, f"tensor '{t.label}' has no quantization parameters",
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
