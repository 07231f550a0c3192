"""The float graph beside the int8 one: run it with every tensor kept, cut single ops out of it,
and match its tensors to the int8 model's.

The float graph is a float .tflite converted from the same Keras model by
`mcuq.conversion.convert_float` (same loading, same batch-1 trace, same converter, no
quantization), so its op structure and tensor names are, as a rule, the int8 model's without
QUANTIZE/DEQUANTIZE. `match_tensors` does not rely on that: it walks the int8 ops in order and
pairs each with the float op of the same type that reads the float counterparts of its inputs
(names break ties and rescue ops whose inputs did not match); an activation the converter fused
in one graph and not in the other is followed; what cannot be paired is listed with a reason.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from ..model import Model, parse_model, schema

#: Value-preserving edge ops of the int8 model (float I/O): their output is matched to their input's.
EDGE_OPS = frozenset({"QUANTIZE", "DEQUANTIZE"})
#: Builtin activation ops, by the fused_activation_function name that means the same.
ACTIVATION_OPS = {"RELU": "RELU", "RELU6": "RELU6", "RELU_N1_TO_1": "RELU_N1_TO_1",
                  "TANH": "TANH"}


def _resolver():
    from ..runners.tflite import interpreter_module

    Interpreter, OpResolverType, _ = interpreter_module()
    # No default delegate: XNNPACK would hide the intermediate tensors it runs.
    return Interpreter, OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES


class FloatGraph:
    """A float .tflite run one sample at a time (its batch axis is 1) with every tensor kept."""

    def __init__(self, data: bytes, source: str = "<float model>"):
        self.data = data
        self.model = parse_model(data, source)
        Interpreter, resolver = _resolver()
        self._it = Interpreter(model_content=data, experimental_op_resolver_type=resolver,
                               experimental_preserve_all_tensors=True)
        self._it.allocate_tensors()
        self._in = [d["index"] for d in self._it.get_input_details()]

    def run(self, inputs: list[np.ndarray], keep) -> dict[int, np.ndarray]:
        """inputs: one (B, *input_shape) float32 array per model input -> {tensor: (B, *shape)}."""
        batch = inputs[0].shape[0]
        keep = list(keep)
        out = {i: np.empty((batch, *self.model.tensors[i].shape), np.float32) for i in keep}
        for b in range(batch):
            for k, x in zip(self._in, inputs):
                self._it.set_tensor(k, np.ascontiguousarray(x[b], dtype=np.float32))
            self._it.invoke()
            for i in keep:
                out[i][b] = self._it.get_tensor(i).reshape(out[i].shape[1:])
        return out


class FloatOp:
    """One op of the float graph as a model of its own: the float result of that op on any
    inputs (here: the int8 inputs dequantized), so the error an int8 op adds can be told apart
    from the error its inputs already carry."""

    def __init__(self, graph: FloatGraph, op_index: int):
        self.data = single_op_model(graph.data, op_index)
        Interpreter, resolver = _resolver()
        self._it = Interpreter(model_content=self.data, experimental_op_resolver_type=resolver)
        self._it.allocate_tensors()
        self._in = [d["index"] for d in self._it.get_input_details()]
        self._out = [(d["index"], tuple(d["shape"])) for d in self._it.get_output_details()]

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        batch = inputs[0].shape[0]
        outs = [np.empty((batch, *shape), np.float32) for _, shape in self._out]
        for b in range(batch):
            for k, x in zip(self._in, inputs):
                self._it.set_tensor(k, np.ascontiguousarray(x[b], dtype=np.float32))
            self._it.invoke()
            for (k, _), o in zip(self._out, outs):
                o[b] = self._it.get_tensor(k).reshape(o.shape[1:])
        return outs


def single_op_model(data: bytes, op_index: int) -> bytes:
    """A .tflite holding op `op_index` of `data` alone: its non-constant inputs become the
    model's inputs, its outputs the model's outputs, its constants and options are kept."""
    import flatbuffers

    s = schema()
    raw = s.ModelT.InitFromObj(s.Model.GetRootAs(data, 0))
    sg = raw.subgraphs[0]
    op = copy.deepcopy(sg.operators[op_index])
    used = [i for i in list(op.inputs) + list(op.outputs) if i >= 0]
    order = list(dict.fromkeys(used))
    remap = {old: new for new, old in enumerate(order)}
    buffers = [s.BufferT()]
    tensors = []
    for old in order:
        t = copy.deepcopy(sg.tensors[old])
        buf = raw.buffers[t.buffer] if raw.buffers and t.buffer < len(raw.buffers) else None
        if buf is not None and buf.data is not None and len(buf.data):
            buffers.append(copy.deepcopy(buf))
            t.buffer = len(buffers) - 1
        elif buf is not None and buf.offset > 1 and buf.size:
            nb = s.BufferT()
            nb.data = np.frombuffer(data[buf.offset:buf.offset + buf.size], np.uint8)
            buffers.append(nb)
            t.buffer = len(buffers) - 1
        else:
            t.buffer = 0
        tensors.append(t)
    op.inputs = [remap[i] if i >= 0 else -1 for i in op.inputs]
    op.outputs = [remap[i] for i in op.outputs]
    new = s.SubGraphT()
    new.tensors = tensors
    new.operators = [op]
    new.inputs = [remap[i] for i in dict.fromkeys(sg.operators[op_index].inputs)
                  if i >= 0 and not _constant(raw, sg, i)]
    new.outputs = list(op.outputs)
    new.name = "op"
    m = s.ModelT()
    m.version = raw.version
    m.operatorCodes = raw.operatorCodes
    m.subgraphs = [new]
    m.buffers = buffers
    m.description = "one op of a float model (mcuq diagnose)"
    fb = flatbuffers.Builder(1024)
    fb.Finish(m.Pack(fb), file_identifier=b"TFL3")
    return bytes(fb.Output())


def _constant(raw, sg, i: int) -> bool:
    t = sg.tensors[i]
    if not raw.buffers or t.buffer >= len(raw.buffers):
        return False
    b = raw.buffers[t.buffer]
    return bool((b.data is not None and len(b.data)) or (b.offset > 1 and b.size))


# -- matching ----------------------------------------------------------------------------------
@dataclass
class Match:
    """int8 tensor -> float tensor, int8 op -> float op, and what could not be paired."""

    tensors: dict[int, int]
    ops: dict[int, int]
    same_op: set[int]  # int8 ops whose float op computes exactly the same function (same fused act)
    unmatched: list[dict]


def _act_inputs(m: Model, op) -> list[int]:
    return [i for i in op.inputs if i >= 0 and m.tensors[i].data is None]


def _consumers(m: Model) -> dict[int, list]:
    out: dict[int, list] = {}
    for op in m.operators:
        for i in op.inputs:
            if i >= 0:
                out.setdefault(i, []).append(op)
    return out


def _fused(op) -> str:
    return str(op.options.get("fused_activation_function", "NONE") or "NONE")


def match_tensors(q: Model, f: Model) -> Match:
    tmap: dict[int, int] = {}
    omap: dict[int, int] = {}
    same: set[int] = set()
    unmatched: list[dict] = []
    for k, (qi, fi) in enumerate(zip(q.inputs, f.inputs)):
        tmap[qi] = fi
    for qi in q.inputs[len(f.inputs):]:
        unmatched.append({"tensor": q.tensors[qi].name, "tensor_index": qi, "op": "input",
                          "reason": "the float model has fewer inputs"})
    fcons = _consumers(f)
    fprod = f.producers()
    fnames = {t.name: t.index for t in f.tensors if t.data is None}
    used: set[int] = set()
    pre_activation: dict[int, int] = {}  # int8 tensor before an unfused act -> float fused output
    for op in q.operators:
        ins = _act_inputs(q, op)
        if op.opcode in EDGE_OPS and ins and ins[0] in tmap:
            tmap[op.outputs[0]] = tmap[ins[0]]
            continue
        if op.opcode in ACTIVATION_OPS and ins and ins[0] in pre_activation:
            tmap[op.outputs[0]] = pre_activation.pop(ins[0])
            continue
        want = [tmap.get(i) for i in ins]
        fop = None
        if ins and all(w is not None for w in want):
            cands = [o for o in fcons.get(want[0], []) if o.opcode == op.opcode
                     and o.index not in used and _act_inputs(f, o) == want]
            named = [o for o in cands
                     if f.tensors[o.outputs[0]].name == q.tensors[op.outputs[0]].name]
            fop = (named or cands or [None])[0]
        if fop is None:
            j = fnames.get(q.tensors[op.outputs[0]].name)
            o = fprod.get(j) if j is not None else None
            if o is not None and o.opcode == op.opcode and o.index not in used:
                fop = o
        if fop is None:
            missing = [q.tensors[i].name for i, w in zip(ins, want) if w is None]
            reason = (f"input(s) {', '.join(repr(n) for n in missing)} not matched" if missing
                      else f"no {op.opcode} in the float graph reads the same tensors or has "
                           "the same output name")
            for o in op.outputs:
                unmatched.append({"tensor": q.tensors[o].name, "tensor_index": o,
                                  "op": f"#{op.index} {op.opcode}", "reason": reason})
            continue
        used.add(fop.index)
        omap[op.index] = fop.index
        qa, fa = _fused(op), _fused(fop)
        for qo, fo in zip(op.outputs, fop.outputs):
            if qa == fa:
                tmap[qo] = fo
                continue
            nxt = fcons.get(fo, [])
            if fa == "NONE" and len(nxt) == 1 and ACTIVATION_OPS.get(nxt[0].opcode) == qa:
                tmap[qo] = nxt[0].outputs[0]  # the float graph runs the activation separately
                used.add(nxt[0].index)
            elif qa == "NONE" and fa != "NONE":
                pre_activation[qo] = fo  # the next int8 activation op's output is fo
                unmatched.append({"tensor": q.tensors[qo].name, "tensor_index": qo,
                                  "op": f"#{op.index} {op.opcode}",
                                  "reason": f"the float graph fused {fa} into this op: the value "
                                            "before the activation does not exist there"})
            else:
                unmatched.append({"tensor": q.tensors[qo].name, "tensor_index": qo,
                                  "op": f"#{op.index} {op.opcode}",
                                  "reason": f"fused activation {qa} in int8, {fa} in float"})
        if qa == fa:
            same.add(op.index)
    return Match(tmap, omap, same, unmatched)


__all__ = ["FloatGraph", "FloatOp", "single_op_model", "match_tensors", "Match", "EDGE_OPS"]
