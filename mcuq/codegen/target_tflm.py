"""The TensorFlow Lite Micro target: the model as a C array, a MicroMutableOpResolver with
exactly the model's ops, an arena sized from TFLM's own measurement, test vectors with the
reference's outputs, a self-test main.cc, a Makefile (make layout), a CMakeLists.txt with an
arm-none-eabi toolchain file, the mps2-an386 start-up for the QEMU self-test, and a README
saying which ops run on CMSIS-NN kernels (mcuq.codegen.cmsis_nn)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import UnsupportedModelError
from ..model import Model
from ..text import safe_text
from ..reference import Interpreter
from ..tflm_arena import TflmArena, measure_tflm_arena
from ..vectors import random_inputs
from .carray import C_TYPES, format_bytes, format_values
from .cmsis_nn import kernel_choices, summary as cmsis_summary
from .layouts import plan_tflm
from .render import ProjectWriter, write_plan
from .targets import GenerateResult
from .tflm_ops import resolver_calls

#: Arena margin over TFLM's measurement: at least 1 KiB, at least 10 % (see arena_margin).
ARENA_MARGIN_MIN_BYTES = 1024
ARENA_MARGIN_FRACTION = 0.10
ARENA_ALIGN = 16

#: What a Cortex-M4 (32-bit) build of TFLite Micro used compared with the 64-bit pip
#: package's measurement, on real models (TFLite Micro main, reference and CMSIS-NN kernels):
#: 2-50 % less (e.g. 772 vs 1,508 B; 100,708 vs 103,672 B). Quoted in main.cc and README.md.
DEVICE_ARENA_SAVING = "2-50 %"

_INT_RANGES = {"int8_t": (-128, 127), "uint8_t": (0, 255), "int16_t": (-32768, 32767)}


def arena_margin(measured: int) -> int:
    """Bytes added to TFLM's measured arena.

    The measurement comes from the 64-bit host build of TFLM (the tflite-micro pip package).
    A 32-bit Cortex-M build uses 2-50 % less (smaller TfLiteEvalTensor, TfLiteTensor and
    node structs: mostly pointers), but optimized kernels (CMSIS-NN) may request scratch
    buffers the reference kernels do not, and the toolchain's alignment of structs may differ.
    A margin of max(1 KiB, 10 %) covers those on the models mcuq targets; main.cc prints
    `arena_used_bytes()` on boot so the arena can be trimmed to the device's own figure.
    """
    return max(ARENA_MARGIN_MIN_BYTES, math.ceil(measured * ARENA_MARGIN_FRACTION))


def arena_size(arena: TflmArena) -> tuple[int, int, int]:
    """(measured, margin, arena constant): measured = max(TFLM's reported total, the smallest
    arena that works); the constant is measured + margin rounded up to 16 bytes."""
    measured = max(arena.total_bytes, arena.required_bytes)
    margin = arena_margin(measured)
    size = -(-(measured + margin) // ARENA_ALIGN) * ARENA_ALIGN
    return measured, margin, size


def _io(model: Model, tensors, kind: str) -> list[dict]:
    out = []
    for k, t in enumerate(tensors):
        ctype = C_TYPES.get(t.dtype)
        if ctype is None or t.type_name == "BOOL":
            raise UnsupportedModelError(
                f"{model.source}: {kind} {k} '{t.label}' has type {t.type_name}",
                "convert with int8 (or float32) inputs and outputs (mcuq convert --io int8)")
        lo_hi = _INT_RANGES.get(ctype)
        quantized = lo_hi is not None and t.quant is not None and t.quant.scale.size == 1
        out.append({
            "index": k, "name": safe_text(t.name), "ctype": ctype, "type_name": t.type_name,
            "dims": [int(d) for d in t.shape] or [1], "rank": len(t.shape),
            "elements": t.size, "bytes": t.nbytes, "quantized": quantized,
            "scale": float(t.scale), "zero_point": t.zero_point,
            "scale_c": f"{float(np.float32(t.scale))!r}f",
            "scale_str": str(np.float32(t.scale)),
            "qmin": lo_hi[0] if lo_hi else 0, "qmax": lo_hi[1] if lo_hi else 0,
        })
    return out


#: Ops whose state TFLite Micro's CMSIS-NN kernels do not keep between invocations:
#: arm_lstm_unidirectional_s8/s16 zero the cell state and start from no hidden state at every
#: Invoke, while TFLite Micro's reference kernel (and the tflite-micro package) carry both
#: (measured: the generated project's second vector differs on Cortex-M4). A model with one of
#: them is self-tested vector by vector from a Reset() interpreter, which both builds agree on.
RESET_EACH_VECTOR_OPS = frozenset({"UNIDIRECTIONAL_SEQUENCE_LSTM"})


def resets_each_vector(model: Model) -> bool:
    return any(op.opcode in RESET_EACH_VECTOR_OPS for op in model.operators)


def vector_data(model: Model, interpreter: Interpreter, count: int, inputs=None) -> list[dict]:
    """Test vectors: inputs (given, or `count` random ones with seed 0) and the reference's
    outputs for them (one sequence for a stateful model; each from a reset state for a model
    with an op in RESET_EACH_VECTOR_OPS)."""
    if inputs is None:
        inputs = random_inputs(model, count, seed=0) if count else []
    if not len(inputs):
        return []
    inputs = interpreter.normalize_inputs(inputs)
    interpreter.reset()  # a stateful model's vectors are one sequence from the start
    if resets_each_vector(model):
        parts = []
        for b in range(inputs[0].shape[0]):
            interpreter.reset()
            parts.append(interpreter.run([x[b:b + 1] for x in inputs]).outputs)
        outputs = [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]
        interpreter.reset()
    else:
        outputs = interpreter.run(inputs).outputs
    vectors = []
    for v in range(inputs[0].shape[0]):
        def arrays(values, kind):
            return [{"name": f"kVector{v}{kind}{k}", "ctype": C_TYPES[x.dtype],
                     "count": int(x[v].size), "body": format_values(x[v])}
                    for k, x in enumerate(values)]
        vectors.append({"inputs": arrays(inputs, "Input"), "outputs": arrays(outputs, "Output")})
    return vectors


def template_data(model: Model, name: str, arena: TflmArena, vectors: list,
                  variables=(), plain: Model | None = None,
                  compression: dict | None = None) -> dict:
    """`model` is what the project holds (with --compress: the compressed model, whose DECODE
    ops the resolver registers); `plain` the model it computes (CMSIS-NN kernel choices).
    `variables`: the model's resource variables (mcuq.reference.program.Variable)."""
    ops = resolver_calls(model)
    measured, margin, size = arena_size(arena)
    choices = kernel_choices(plain or model)
    fast, ref = cmsis_summary(choices)
    return {
        "compression": compression,
        "cmsis_nn": [c.as_dict() for c in choices], "cmsis_nn_ops": fast,
        "cmsis_nn_problems": [f"{c.op} x{c.count}: {c.problem}" for c in choices if c.problem],
        "reference_ops": ref, "device_arena_saving": DEVICE_ARENA_SAVING,
        "version": __version__, "source": safe_text(Path(model.source).name), "name": name,
        "NAME": name.upper(), "model_bytes": format_bytes(model.data),
        "model_len": len(model.data), "schema_version": model.version,
        "ops": [{"op": op, "method": method} for op, method in ops],
        "op_counts": {op: sum(1 for o in model.all_operators() if o.opcode == op)
                      for op, _ in ops},
        # resource variables: TFLite Micro keeps them in the arena (MicroResourceVariables
        # from the interpreter's allocator), so the measured arena includes them
        "num_resource_variables": len(variables), "state_bytes": sum(v.nbytes for v in variables),
        "num_operators": len(model.operators),
        "inputs": _io(model, model.input_tensors(), "input"),
        "outputs": _io(model, model.output_tensors(), "output"),
        "arena": {"total": arena.total_bytes, "head": arena.head_bytes,
                  "tail": arena.tail_bytes, "required": arena.required_bytes,
                  "measured": measured, "margin": margin, "size": size,
                  "margin_min": ARENA_MARGIN_MIN_BYTES,
                  "margin_percent": int(round(ARENA_MARGIN_FRACTION * 100))},
        "vectors": vectors,
    }


def compression_data(model: Model, arena: TflmArena) -> tuple[Model, TflmArena, dict]:
    """(compressed model, its measured arena, what the report and README say) for --compress:
    the weight tensors tflite-micro's own compression shrinks (mcuq.tflm_compression), the
    flash saved, and what the decoded tensors cost in RAM (the measured arenas' difference:
    TFLite Micro decodes each tensor into the arena right before its consumer runs)."""
    from ..model import parse_model
    from ..tflm_compression import compress_for_tflm

    c = compress_for_tflm(model)
    compressed = parse_model(c.data, model.source)
    resolver_calls(compressed)
    carena = measure_tflm_arena(compressed)
    info = c.as_dict()
    info.update(plain_arena_total=arena.total_bytes, plain_arena_head=arena.head_bytes,
                arena_total=carena.total_bytes, arena_head=carena.head_bytes,
                decoded_ram_bytes=carena.total_bytes - arena.total_bytes,
                decode_ops=sum(1 for op in compressed.operators
                               if op.opcode == "CUSTOM:TFLM_DECODE"))
    return compressed, carena, info


def generate_tflm(model: Model, out_dir, name: str, vectors: int = 4, force: bool = False,
                  inputs=None, layout: str = "make", compress: bool = False) -> GenerateResult:
    """compress: store the weights tflite-micro's compression shrinks as packed indices +
    value tables with TFLM_DECODE ops (registered by the resolver); the arena is the
    compressed model's measured one."""
    from ..tflm_compression import is_tflm_compressed

    resolver_calls(model)  # an op TFLM lacks fails before anything is measured or written
    if compress and is_tflm_compressed(model):
        from ..errors import InputError
        raise InputError(f"{model.source}: is already compressed for TFLite Micro",
                         "generate it without --compress, or pass the uncompressed .tflite")
    plan = plan_tflm(layout, name)
    writer = ProjectWriter(out_dir, force)  # a non-empty OUT_DIR fails before measuring, too
    plain = _plain(model)
    interpreter = Interpreter(plain)
    arena = measure_tflm_arena(model)
    stored, compression = model, None
    if compress:
        stored, arena, compression = compression_data(model, arena)
    data = template_data(stored, name, arena, vector_data(plain, interpreter, vectors, inputs),
                         interpreter.program.variables, plain=plain, compression=compression)
    data.update(plan.data)
    data["reset_each_vector"] = resets_each_vector(plain)
    w = write_plan(plan, writer, data)
    a = data["arena"]
    details_extra = {"compression": compression} if compression else {}
    return GenerateResult(
        target="tflm", name=name, out_dir=w.dest, files=sorted(w.files),
        arena_bytes=a["size"], flash_bytes=len(stored.data),
        details={"ops": [o["op"] for o in data["ops"]],
                 "resolver_size": len(data["ops"]),
                 "vectors": len(data["vectors"]),
                 "tflm_arena_total": a["total"], "tflm_arena_head": a["head"],
                 "tflm_arena_tail": a["tail"], "tflm_arena_required": a["required"],
                 "arena_margin": a["margin"], "layout": layout,
                 "resource_variables": data["num_resource_variables"],
                 "state_bytes": data["state_bytes"], "windowed": model.windowed,
                 "cmsis_nn": data["cmsis_nn"], "plain_model_bytes": len(model.data),
                 **details_extra})


def _plain(model: Model) -> Model:
    """The model a TFLM-compressed .tflite computes (mcuq's reference runs that); others as
    they are."""
    from ..tflm_compression import decompress_tflm

    return decompress_tflm(model)
