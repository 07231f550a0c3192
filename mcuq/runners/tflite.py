"""TensorFlow Lite's interpreter: LiteRT (ai-edge-litert), else tflite-runtime, else tf.lite.

kernels="ref" uses the reference op resolver: it must match mcuq's reference run in the
interpreter's own profile (`litert`, or `tflite-legacy` for tflite-runtime / TF < 2.20: see
tflite_profile) to the byte. kernels="default" uses the optimized kernels (XNNPACK off or on
as the package builds them); they are compared with the same profile and reported, never
failed on.
"""
from __future__ import annotations

import numpy as np

from ..errors import ToolchainError
from ..model import STATE_OPS
from .base import Runner, RunResult


def interpreter_module():
    """(Interpreter class, OpResolverType enum, package name) from whatever is installed."""
    try:
        from ai_edge_litert import interpreter as m
        return m.Interpreter, m.OpResolverType, "ai-edge-litert"
    except ImportError:
        pass
    try:
        from tflite_runtime import interpreter as m  # needs numpy<2
        return m.Interpreter, m.OpResolverType, "tflite-runtime"
    except ImportError:
        pass
    try:
        import tensorflow as tf
        return tf.lite.Interpreter, tf.lite.experimental.OpResolverType, "tensorflow"
    except ImportError:
        raise ToolchainError("no TFLite interpreter is installed",
                             "pip install ai-edge-litert") from None


#: Ops whose kernels in TFLite's interpreter (reference op resolver) compute differently from
#: TensorFlow Lite Micro's. The `litert` / `tflite-legacy` reference profiles
#: (mcuq.reference.profiles) reproduce each of them exactly, so the `tflite` runner is held to
#: the byte against its own profile; `verify --explain` measures how far that profile is from
#: TFLite Micro on the given inputs. Each entry is proved by
#: tests/reference/test_tflite_differences.py (TFLite == its profile != TFLite Micro).
KNOWN_DIFFERENCES = {
    "FULLY_CONNECTED": (
        "LiteRT (TF >= 2.20) rescales the int32 accumulator in double with one rounding, "
        "(int32)round(acc * s_in * s_w / s_out), ties away from zero, an out-of-range product "
        "becoming INT32_MIN; TFLite Micro rounds twice (SaturatingRoundingDoublingHighMul, "
        "then RoundingDivideByPOT: x.25 can round up). TFLite < 2.20 rounds twice but takes "
        "a per-tensor layer's s_in * s_w product in float (TFLite Micro: double)."),
    "LEAKY_RELU": (
        "TFLite computes the multipliers s_in / s_out and s_in * alpha / s_out in float "
        "(TFLite Micro: double). Where the float quotient lands on a rounding tie (scales "
        "0.25 and 0.1: exactly 2.5) the outputs differ by 1 LSB. TFLite < 2.20 also "
        "multiplies by a negative alpha multiplier directly (TFLite Micro and LiteRT: "
        "-MBQM(x, -M)), which rounds the other way on ties."),
    "LOGISTIC": (
        "TFLite's int8 LOGISTIC reads a 256-entry table filled in float at prepare "
        "(1 / (1 + expf(-x)), roundf); TFLite Micro evaluates gemmlowp's fixed-point logistic. "
        "They differ by 1 LSB on rare inputs, and for input scales >= 15/8 TFLite Micro "
        "saturates x == zero_point to -128."),
    "PRELU": (
        "TFLite computes the multipliers s_in / s_out and s_in * s_alpha / s_out in float32; "
        "TFLite Micro in double. Near a rounding tie they differ by 1 LSB (e.g. scales 0.05, "
        "0.05, 0.001: 2.49999996 in double, 2.5 in float)."),
    "RELU": (
        "TFLite computes the multiplier s_in / s_out in float (TFLite Micro: double): with "
        "scales 0.25 and 0.1 the float quotient is exactly 2.5 and x - zp = 1 gives 3, not 2."),
    "RELU6": (
        "TFLite Micro clamps RELU6 in the input's quantization and ignores the output's; "
        "TFLite requantizes like RELU and clamps to [zp_out, zp_out + roundf(6 / s_out)]. They "
        "differ whenever input and output quantization differ."),
    "SUM": (
        "TFLite's int8 SUM (LiteRT 2.3, tflite-runtime 2.14) runs its uint8 kernel on the int8 "
        "bytes: every value is read as uint8 (-100 as 156), summed and requantized as TFLite "
        "Micro's QuantizedMeanOrSum does, clamped to [0, 255] and stored as that byte "
        "(measured on 500 + 300 hypothesis cases); TFLite Micro sums the int8 values. Any "
        "negative input changes the result."),
    "TANH": (
        "TFLite's int8 TANH reads a 256-entry table filled in float at prepare (tanhf, roundf); "
        "TFLite Micro evaluates gemmlowp's fixed-point tanh. They differ by 1 LSB on rare "
        "inputs (and more for input scales where TFLite Micro's input radius becomes 0)."),
}


def litert_refusal(model) -> str | None:
    """Why LiteRT cannot be judged on `model` although it runs it, or None: an integer SVDF
    with an int8 activation state (LiteRT's integer SVDF takes an int16 state and does not
    check the type: measured up to 255 LSB from TFLite Micro, which runs int8 states)."""
    for op in model.operators:
        if op.opcode == "SVDF" and len(op.inputs) > 4 and op.inputs[4] >= 0 \
                and model.tensors[op.inputs[4]].type_name == "INT8" \
                and model.tensors[op.inputs[0]].type_name == "INT8":
            return (f"{op.describe()} has an int8 activation state; LiteRT's integer SVDF "
                    "handles only an int16 state (it computes wrong outputs, unchecked)")
    return None


def known_differences(model) -> dict[str, str]:
    """The KNOWN_DIFFERENCES entries that apply to `model`'s ops."""
    return {op: why for op, why in KNOWN_DIFFERENCES.items()
            if any(o.opcode == op for o in model.operators)}


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for p in str(version).split(".")[:3]:
        digits = "".join(ch for ch in p if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
        if digits != p:
            break
    return tuple(parts)


def tflite_profile(package: str, version: str) -> str:
    """The reference profile of TFLite's reference kernels in `package` (as named by
    interpreter_module) at `version`: the float FULLY_CONNECTED rescale arrived in TensorFlow
    2.20 (ai-edge-litert 2.x ships it: measured on 2.3), so TensorFlow >= 2.20 and
    ai-edge-litert >= 2 are `litert`; tflite-runtime (last release 2.14, numpy < 2 only; its
    kernels measured) and older TensorFlow / ai-edge-litert are `tflite-legacy`."""
    v = _version_tuple(version)
    if package == "ai-edge-litert":
        return "litert" if v >= (2,) else "tflite-legacy"
    if package == "tensorflow":
        return "litert" if v >= (2, 20) else "tflite-legacy"
    return "tflite-legacy"  # tflite-runtime


def interpreter_package() -> str:
    """The package interpreter_module() takes, found without importing it (verify decides
    the tflite runner's profile in the parent; the native interpreter loads in a child only).
    A package that is found but fails to import is caught when the runner runs."""
    from importlib.util import find_spec

    for module, package in (("ai_edge_litert", "ai-edge-litert"),
                            ("tflite_runtime", "tflite-runtime"), ("tensorflow", "tensorflow")):
        if find_spec(module) is not None:
            return package
    raise ToolchainError("no TFLite interpreter is installed", "pip install ai-edge-litert")


def interpreter_version(package: str) -> str:
    """The installed version of `package` ("0" when unknown)."""
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        if package == "tensorflow":
            import tensorflow as tf
            return tf.__version__
        return "0"


class TfliteRunner(Runner):
    gives_intermediates = True
    native = True

    def __init__(self, model, kernels: str = "ref", data: bytes | None = None):
        """data: the bytes LiteRT loads when they are not `model`'s own (a TFLite
        Micro-compressed .tflite given to verify, `model` being its decompressed form): LiteRT
        has no TFLM_DECODE op, so it refuses them (verify reports the runner "refused")."""
        super().__init__(model)
        if kernels not in ("ref", "default"):
            raise ValueError(kernels)
        self.data = data if data is not None else self.model.data
        self.kernels = kernels
        self.name = "tflite" if kernels == "ref" else "tflite-default"
        self.package = interpreter_package()
        self.version = interpreter_version(self.package)
        #: The reference kernels are exact against their own profile; the optimized ones
        #: (XNNPACK, ruy) are compared with it and reported, never failed on.
        self.profile = tflite_profile(self.package, self.version)
        self.exact = kernels == "ref"
        #: KNOWN_DIFFERENCES entries of this model's ops (what separates it from TFLite Micro)
        self.differences = known_differences(self.model)

    def spawn_args(self) -> dict:
        return {"kernels": self.kernels,
                "data": self.data if self.data != self.model.data else None}

    def _interpreter(self, preserve: bool):
        Interpreter, OpResolverType, package = interpreter_module()
        if package != self.package:  # found by interpreter_package but does not import
            raise ToolchainError(
                f"{self.package} is installed but does not import (mcuq would judge "
                f"{package}'s interpreter in the {self.profile} profile)",
                f"repair or uninstall {self.package} (tflite-runtime needs numpy < 2)")
        resolver = (OpResolverType.BUILTIN_REF if self.kernels == "ref"
                    else OpResolverType.AUTO)
        it = Interpreter(model_content=self.data,
                         experimental_op_resolver_type=resolver,
                         experimental_preserve_all_tensors=preserve)
        return it

    def run(self, inputs, keep_intermediates=False):
        why = litert_refusal(self.model)
        if why is not None:
            from ..errors import RunnerError

            raise RunnerError(f"{self.name}: LiteRT refused the model: {why}",
                              "LiteRT cannot run this model correctly; the other runners' "
                              "results stand")
        it = self._interpreter(keep_intermediates)
        batch = inputs[0].shape[0]
        in_idx = [d["index"] for d in it.get_input_details()]
        out_idx = [d["index"] for d in it.get_output_details()]
        # Run the whole batch at once when the model's batch axis can be resized.
        outs = [np.empty((batch, *t.shape), t.dtype) for t in self.model.output_tensors()]
        inter_ids = [t.index for t in self.model.tensors
                     if t.data is None and t.type_name != "RESOURCE"]
        inter = {i: np.empty((batch, *self.model.tensors[i].shape), self.model.tensors[i].dtype)
                 for i in inter_ids} if keep_intermediates else {}
        it.allocate_tensors()
        fresh_each = self.windows and any(op.opcode in STATE_OPS for op in self.model.operators)
        for b in range(batch):
            if self.windows and b:  # each sample from the start (verify --windows)
                if fresh_each:  # resource variables: LiteRT resets only variable tensors
                    it = self._interpreter(keep_intermediates)
                    it.allocate_tensors()
                else:
                    it.reset_all_variables()
            for k, x in zip(in_idx, inputs):
                it.set_tensor(k, np.array(x[b], dtype=x.dtype, order="C"))
            it.invoke()
            for k, o in zip(out_idx, outs):
                o[b] = it.get_tensor(k).reshape(o.shape[1:])
            for i in inter:
                inter[i][b] = it.get_tensor(i).reshape(inter[i].shape[1:])
        return RunResult(outs, inter)
