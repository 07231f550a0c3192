"""Which of a model's ops TensorFlow Lite Micro runs with Arm's CMSIS-NN kernels when it is
built with `OPTIMIZED_KERNEL_DIR=cmsis_nn`, and which fall back to its reference kernels.

The table follows TFLite Micro's `tensorflow/lite/micro/kernels/cmsis_nn/*.cc` (the revision
of ../shared/third_party/tflm, VERSIONS.txt): each op there replaces the reference kernel and
calls one CMSIS-NN function per activation type. tests/test_tflm_build.py checks it against the
symbols of the prebuilt CMSIS-NN library (`arm-none-eabi-nm`): every function listed is
referenced by the op's object, and every CMSIS-NN kernel an object references is listed.
"""
from __future__ import annotations

from dataclasses import dataclass

#: op -> (TFLite Micro's kernel object in the cmsis_nn build, {activation type: CMSIS-NN
#: function}). "INT8/INT4" means int8 activations with packed int4 weights.
CMSIS_NN_KERNELS: dict[str, tuple[str, dict[str, str]]] = {
    "CONV_2D": ("conv", {"INT8": "arm_convolve_wrapper_s8", "INT16": "arm_convolve_wrapper_s16",
                         "INT8/INT4": "arm_convolve_wrapper_s4"}),
    "DEPTHWISE_CONV_2D": ("depthwise_conv", {"INT8": "arm_depthwise_conv_wrapper_s8",
                                             "INT16": "arm_depthwise_conv_s16",
                                             "INT8/INT4": "arm_depthwise_conv_wrapper_s4"}),
    "FULLY_CONNECTED": ("fully_connected", {"INT8": "arm_fully_connected_wrapper_s8",
                                            "INT16": "arm_fully_connected_s16",
                                            "INT8/INT4": "arm_fully_connected_s4"}),
    "AVERAGE_POOL_2D": ("pooling", {"INT8": "arm_avgpool_s8", "INT16": "arm_avgpool_s16"}),
    "MAX_POOL_2D": ("pooling", {"INT8": "arm_max_pool_s8", "INT16": "arm_max_pool_s16"}),
    "SOFTMAX": ("softmax", {"INT8": "arm_softmax_s8", "INT16": "arm_softmax_s16",
                            "INT8->INT16": "arm_softmax_s8_s16"}),
    "ADD": ("add", {"INT8": "arm_elementwise_add_s8", "INT16": "arm_elementwise_add_s16"}),
    "MUL": ("mul", {"INT8": "arm_elementwise_mul_s8", "INT16": "arm_elementwise_mul_s16"}),
    "MAXIMUM": ("maximum_minimum", {"INT8": "arm_maximum_s8"}),
    "MINIMUM": ("maximum_minimum", {"INT8": "arm_minimum_s8"}),
    "PAD": ("pad", {"INT8": "arm_pad_s8"}),
    "PADV2": ("pad", {"INT8": "arm_pad_s8"}),
    "TRANSPOSE": ("transpose", {"INT8": "arm_transpose_s8"}),
    "TRANSPOSE_CONV": ("transpose_conv", {"INT8": "arm_transpose_conv_wrapper_s8"}),
    "BATCH_MATMUL": ("batch_matmul", {"INT8": "arm_batch_matmul_s8",
                                      "INT16": "arm_batch_matmul_s16"}),
    "SVDF": ("svdf", {"INT8": "arm_svdf_s8"}),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": ("unidirectional_sequence_lstm",
                                     {"INT8": "arm_lstm_unidirectional_s8",
                                      "INT16": "arm_lstm_unidirectional_s16"}),
}

#: Ops whose CMSIS-NN path applies only when both inputs have the same shape: TFLite Micro
#: calls its reference broadcast kernel otherwise (cmsis_nn/add.cc, mul.cc).
SAME_SHAPE_ONLY = frozenset({"ADD", "MUL"})
#: TRANSPOSE's int8 CMSIS-NN path handles rank <= 4 and fails (kTfLiteError) above it.
MAX_TRANSPOSE_RANK = 4


@dataclass(frozen=True)
class KernelChoice:
    op: str
    types: str           # "INT8", "INT8/INT4", "INT8->INT16", ...
    function: str | None  # the CMSIS-NN function, None: TFLite Micro's reference kernel
    count: int            # operators of the model with this (op, types, function)
    note: str = ""

    def as_dict(self) -> dict:
        return {"op": self.op, "types": self.types, "kernel": self.function or "reference",
                "count": self.count, "note": self.note}


def _types(model, op) -> str:
    ins = [t for t in model.op_inputs(op) if t is not None]
    outs = model.op_outputs(op)
    act = ins[0].type_name if ins else "?"
    if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") and len(ins) > 1 \
            and ins[1].type_name == "INT4":
        return f"{act}/INT4"
    if op.opcode == "SOFTMAX" and outs and outs[0].type_name != act:
        return f"{act}->{outs[0].type_name}"
    return act


def _choice(model, op) -> tuple[str, str | None, str]:
    types = _types(model, op)
    entry = CMSIS_NN_KERNELS.get(op.opcode)
    if entry is None:
        return types, None, ""
    function = entry[1].get(types)
    if function is None:
        return types, None, f"no CMSIS-NN kernel for {types}"
    ins = [t for t in model.op_inputs(op) if t is not None]
    if op.opcode in SAME_SHAPE_ONLY and len(ins) > 1 and ins[0].shape != ins[1].shape:
        return types, None, "inputs broadcast: reference kernel"
    if op.opcode == "TRANSPOSE" and ins and len(ins[0].shape) > MAX_TRANSPOSE_RANK:
        return types, None, (f"rank {len(ins[0].shape)} > {MAX_TRANSPOSE_RANK}: TFLite Micro's "
                             "CMSIS-NN TRANSPOSE fails at Invoke")
    return types, function, ""


def kernel_choices(model) -> list[KernelChoice]:
    """One entry per distinct (op, types, kernel) of `model`, in order of first use."""
    counts: dict[tuple, int] = {}
    for op in model.operators:
        key = (op.opcode, *_choice(model, op))
        counts[key] = counts.get(key, 0) + 1
    return [KernelChoice(op, types, fn, n, note) for (op, types, fn, note), n in counts.items()]


def summary(choices: list[KernelChoice]) -> tuple[str, str]:
    """('CONV_2D int8 x2, ...', 'RESHAPE int8 x1, ...'): CMSIS-NN ops and reference ops."""
    def fmt(c: KernelChoice) -> str:
        note = f" ({c.note})" if c.note else ""
        return f"{c.op} {c.types.lower()} x{c.count}{note}"
    fast = ", ".join(fmt(c) for c in choices if c.function) or "none"
    ref = ", ".join(fmt(c) for c in choices if not c.function) or "none"
    return fast, ref
