"""TensorFlow Lite's interpreter: LiteRT (ai-edge-litert), else tflite-runtime, else tf.lite.

kernels="ref" uses the reference op resolver (must match mcuq's reference to the byte);
kernels="default" uses the optimized kernels (XNNPACK off or on as the package builds them);
they may differ by an LSB and are reported, never failed on.
"""
from __future__ import annotations

import numpy as np

from ..errors import ToolchainError
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


#: Ops whose kernels in TFLite's interpreter (LiteRT 2.3, reference op resolver) are known to
#: round differently from TensorFlow Lite Micro. mcuq follows TFLite Micro; on models with these
#: ops the `tflite` runner is reported with its LSB differences instead of failing the run.
#: Each entry is proved by a test (named in the entry or in tests/reference/test_tflite_differences.py).
KNOWN_DIFFERENCES = {
    "FULLY_CONNECTED": (
        "LiteRT's reference FULLY_CONNECTED rescales with a single rounding (ties toward +inf "
        "on the full product); TFLite Micro rounds twice (SaturatingRoundingDoublingHighMul, "
        "then RoundingDivideByPOT). Results differ by 1 LSB where the product lies within "
        "half an LSB of the first rounding step of a tie. LiteRT also takes a per-tensor "
        "layer's input * filter scale product in float (TFLite Micro: double), which moves "
        "the multiplier by up to 2^-24 relative (1 LSB on rare values), and where the "
        "requantization leaves int32 (a wrapping accumulator, acc * 2^shift overflowing) "
        "its int64 path gives unrelated values (tests/exactness.py: "
        "fc_requantization_overflows)."),
    "LEAKY_RELU": (
        "LiteRT computes LEAKY_RELU's multipliers (input_scale / output_scale and "
        "input_scale * alpha / output_scale) in float; TFLite Micro in double. Where the "
        "float quotient lands on a rounding tie (e.g. scales 0.25 and 0.1: exactly 2.5) "
        "the outputs differ by 1 LSB. Proved by tests/reference/test_tflite_differences.py::"
        "test_leaky_relu_multiplier_differs_in_tflite_and_reference_follows_tflm."),
    "LOGISTIC": (
        "LiteRT's int8 LOGISTIC reads a float-filled 256-entry table (1/(1+exp(-x))); "
        "TFLite Micro evaluates gemmlowp's fixed-point logistic. They differ by 1 LSB on rare "
        "inputs, and for input scales >= 15/8 TFLite Micro saturates x == zero_point to -128. "
        "Proved by tests/reference/test_sigmoid_tanh.py::test_tflite_float_table_differs_from_tflm."),
    "PRELU": (
        "LiteRT's int8 PRELU computes the negative-side multiplier s_in * s_alpha / s_out in "
        "float32; TFLite Micro in double. Near a rounding tie they differ by 1 LSB (e.g. "
        "scales 0.05, 0.05, 0.001: 2.49999996 in double, 2.5 in float). Proved by "
        "tests/reference/test_arith.py::test_tflite_prelu_multiplier_differs_from_tflm."),
    "RELU6": (
        "TFLite Micro clamps RELU6 in the input's quantization and ignores the output's; "
        "LiteRT requantizes to the output scale. They differ whenever input and output "
        "quantization differ (converted models fuse RELU6 or give both the same quantization). "
        "Proved by tests/reference/test_activations.py::"
        "test_relu6_tflm_ignores_output_quantization_tflite_does_not."),
    "SUM": (
        "LiteRT's int8 SUM (reference kernels) rescales the int32 sum differently from TFLite "
        "Micro's QuantizedMeanOrSum (integer multiplier, no 1/n fold); the results differ by "
        "many LSB. Proved by tests/reference/test_reductions.py::test_tflite_sum_differs_from_tflm."),
    "TANH": (
        "LiteRT's int8 TANH reads a float-filled 256-entry table (tanh(x)); TFLite Micro "
        "evaluates gemmlowp's fixed-point tanh. They differ by 1 LSB on rare inputs (and more "
        "for input scales where TFLite Micro's input radius becomes 0). Proved by "
        "tests/reference/test_sigmoid_tanh.py::test_tflite_float_table_differs_from_tflm."),
}


def known_differences(model) -> dict[str, str]:
    """The KNOWN_DIFFERENCES entries that apply to `model`'s ops."""
    return {op: why for op, why in KNOWN_DIFFERENCES.items()
            if any(o.opcode == op for o in model.operators)}


class TfliteRunner(Runner):
    gives_intermediates = True
    native = True

    def __init__(self, model, kernels: str = "ref"):
        super().__init__(model)
        if kernels not in ("ref", "default"):
            raise ValueError(kernels)
        self.kernels = kernels
        self.name = "tflite" if kernels == "ref" else "tflite-default"
        #: Exact unless the model has an op whose TFLite kernel is known to round differently.
        self.differences = known_differences(self.model) if kernels == "ref" else {}
        self.exact = kernels == "ref" and not self.differences

    def spawn_args(self) -> dict:
        return {"kernels": self.kernels}

    def _interpreter(self, preserve: bool):
        Interpreter, OpResolverType, _ = interpreter_module()
        resolver = (OpResolverType.BUILTIN_REF if self.kernels == "ref"
                    else OpResolverType.AUTO)
        it = Interpreter(model_content=self.model.data,
                         experimental_op_resolver_type=resolver,
                         experimental_preserve_all_tensors=preserve)
        return it

    def run(self, inputs, keep_intermediates=False):
        it = self._interpreter(keep_intermediates)
        batch = inputs[0].shape[0]
        in_idx = [d["index"] for d in it.get_input_details()]
        out_idx = [d["index"] for d in it.get_output_details()]
        # Run the whole batch at once when the model's batch axis can be resized.
        outs = [np.empty((batch, *t.shape), t.dtype) for t in self.model.output_tensors()]
        inter_ids = [t.index for t in self.model.tensors if t.data is None]
        inter = {i: np.empty((batch, *self.model.tensors[i].shape), self.model.tensors[i].dtype)
                 for i in inter_ids} if keep_intermediates else {}
        it.allocate_tensors()
        for b in range(batch):
            for k, x in zip(in_idx, inputs):
                it.set_tensor(k, np.array(x[b], dtype=x.dtype, order="C"))
            it.invoke()
            for k, o in zip(out_idx, outs):
                o[b] = it.get_tensor(k).reshape(o.shape[1:])
            for i in inter:
                inter[i][b] = it.get_tensor(i).reshape(inter[i].shape[1:])
        return RunResult(outs, inter)
