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
    "SVDF": ("svdf", {"INT8": "arm_svdf_s8", "INT8/INT16 state": "arm_svdf_state_s16_s8"}),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": ("unidirectional_sequence_lstm",
                                     {"INT8": "arm_lstm_unidirectional_s8",
                                      "INT16": "arm_lstm_unidirectional_s16"}),
}

#: Ops whose CMSIS-NN path applies only when both inputs have the same shape: TFLite Micro
#: calls its reference 4-D broadcast kernel otherwise (cmsis_nn/add.cc, mul.cc).
SAME_SHAPE_ONLY = frozenset({"ADD", "MUL"})
#: The CMSIS-NN paths take 4-D shapes (cmsis_nn_dims).
MAX_RANK = 4
#: Ends the reason of a limitation that loops forever rather than computing a wrong answer.
HANGS = "it hangs under QEMU"


def limitation(model, op) -> str | None:
    """Why TensorFlow Lite Micro's CMSIS-NN build does not compute `op` as its reference
    kernels do, or None. Each was found by running the op test batches on Cortex-M4 under QEMU
    (tests/test_tflm_build.py keeps them measured) and traced to the source."""
    ins = [t for t in model.op_inputs(op) if t is not None]
    if (op.opcode == "FULLY_CONNECTED" and ins and ins[0].type_name == "INT16" and len(ins) > 1
            and ins[1].quant is not None and ins[1].quant.scale.size > 1):
        return ("per-channel int16 weights: TFLite Micro's CMSIS-NN FULLY_CONNECTED refuses "
                "them at Prepare (per-channel only for int8); mcuq convert --activations int16 "
                "quantizes Dense layers per tensor")
    if op.opcode == "SVDF" and len(op.inputs) > 4 and op.inputs[4] >= 0 \
            and model.tensors[op.inputs[4]].type_name == "INT8":
        return ("int8 activation state: TFLite Micro's CMSIS-NN SVDF clamps the feature step "
                "to the int16 range before arm_svdf_s8 stores it in the int8 state and takes no "
                "state zero point (measured on Cortex-M4: wrong outputs; int16 state is exact)")
    if not ins or ins[0].type_name != "INT8":
        return None
    rank = max(len(t.shape) for t in ins if op.opcode != "TRANSPOSE" or t is ins[0])
    broadcast = len(ins) > 1 and ins[0].shape != ins[1].shape
    if op.opcode in ("MAXIMUM", "MINIMUM") and rank > MAX_RANK:
        return (f"rank {rank} > {MAX_RANK}: the CMSIS-NN path extends shapes to 4-D "
                f"(undefined behaviour; {HANGS})")
    if op.opcode in SAME_SHAPE_ONLY and broadcast and rank > MAX_RANK:
        return (f"broadcast with rank {rank} > {MAX_RANK}: the 4-D reference broadcast "
                "fallback of the CMSIS-NN build faults")
    if op.opcode == "CONV_2D" and len(ins) > 1 and len(ins[1].shape) == 4 \
            and ins[1].shape[3] != ins[0].shape[-1]:
        return (f"grouped convolution ({ins[0].shape[-1] // max(ins[1].shape[3], 1)} groups): "
                "the CMSIS-NN CONV_2D path computes it wrongly (measured on Cortex-M4; "
                "TFLite Micro's reference kernel computes it)")
    if op.opcode in ("PAD", "PADV2") and rank > MAX_RANK:
        return f"rank {rank} > {MAX_RANK}: arm_pad_s8 pads only the last 4 dimensions (wrong)"
    if op.opcode == "TRANSPOSE":
        if rank > MAX_RANK:
            return f"rank {rank} > {MAX_RANK}: TFLite Micro's CMSIS-NN TRANSPOSE fails at Invoke"
        perm = ins[1].data if len(ins) > 1 and ins[1].data is not None else None
        if rank == 2 and perm is not None and [int(v) for v in perm.ravel()] == [0, 1] \
                and min(ins[0].shape) > 1:
            return ("2-D identity permutation: arm_transpose_s8 swaps the two axes whatever "
                    "the permutation (wrong)")
    return None


@dataclass(frozen=True)
class KernelChoice:
    op: str
    types: str           # "INT8", "INT8/INT4", "INT8->INT16", ...
    function: str | None  # the CMSIS-NN function, None: TFLite Micro's reference kernel
    count: int            # operators of the model with this (op, types, function)
    note: str = ""
    problem: str = ""     # set when TFLite Micro + CMSIS-NN computes the op wrongly or not

    def as_dict(self) -> dict:
        return {"op": self.op, "types": self.types, "kernel": self.function or "reference",
                "count": self.count, "note": self.note, "problem": self.problem}


def _types(model, op) -> str:
    ins = [t for t in model.op_inputs(op) if t is not None]
    outs = model.op_outputs(op)
    act = ins[0].type_name if ins else "?"
    if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") and len(ins) > 1 \
            and ins[1].type_name == "INT4":
        return f"{act}/INT4"
    if op.opcode == "SOFTMAX" and outs and outs[0].type_name != act:
        return f"{act}->{outs[0].type_name}"
    if op.opcode == "SVDF" and len(op.inputs) > 4 and op.inputs[4] >= 0 \
            and model.tensors[op.inputs[4]].type_name == "INT16":
        return f"{act}/INT16 state"
    return act


def _choice(model, op) -> tuple[str, str | None, str, str]:
    types = _types(model, op)
    problem = limitation(model, op) or ""
    entry = CMSIS_NN_KERNELS.get(op.opcode)
    if entry is None:
        return types, None, "", problem
    function = entry[1].get(types)
    if function is None:
        return types, None, f"no CMSIS-NN kernel for {types}", problem
    ins = [t for t in model.op_inputs(op) if t is not None]
    if op.opcode in SAME_SHAPE_ONLY and len(ins) > 1 and ins[0].shape != ins[1].shape:
        return types, None, "inputs broadcast: reference kernel", problem
    return types, function, "", problem


def kernel_choices(model) -> list[KernelChoice]:
    """One entry per distinct (op, types, kernel, problem) of `model`, in order of first use."""
    counts: dict[tuple, int] = {}
    for op in model.operators:
        key = (op.opcode, *_choice(model, op))
        counts[key] = counts.get(key, 0) + 1
    return [KernelChoice(op, types, fn, n, note, problem)
            for (op, types, fn, note, problem), n in counts.items()]


def problems(model) -> list[str]:
    """'op #i OPCODE: why' for each operator TFLite Micro + CMSIS-NN gets wrong."""
    return [f"op #{op.index} {op.opcode}: {why}" for op in model.operators
            if (why := limitation(model, op))]


def summary(choices: list[KernelChoice]) -> tuple[str, str]:
    """('CONV_2D int8 x2, ...', 'RESHAPE int8 x1, ...'): CMSIS-NN ops and reference ops."""
    def fmt(c: KernelChoice) -> str:
        note = f" ({c.note})" if c.note else ""
        return f"{c.op} {c.types.lower()} x{c.count}{note}"
    fast = ", ".join(fmt(c) for c in choices if c.function) or "none"
    ref = ", ".join(fmt(c) for c in choices if not c.function) or "none"
    return fast, ref
