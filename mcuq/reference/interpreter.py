"""Runs a parsed model through the reference kernels, vectorized over a batch of inputs.

A stateful model (resource variables, a CALL_ONCE init subgraph, variable tensors:
`Model.stateful`) runs as a sequence: the batch axis of `run` is time, the steps run one after
another, and the state (variable buffers, whether CALL_ONCE has run, variable tensors) lives on
in the interpreter across `run` calls until `reset()`, as it does in one TFLite Micro
interpreter.

Variable tensors (`Tensor.is_variable`, e.g. SVDF/LSTM state): reset() fills them as TFLite
Micro's ResetVariableTensors does (int8: the zero point, else 0); each invocation passes the
same writable array, shaped (1, *shape), to every kernel that reads one, so a kernel that
updates its state writes into that array in place and the next step sees it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..model import Model, load_model
from . import program as program_mod
from .blas import single_thread
from .ops.variables import (AssignVariableParams, CallOnceParams, ReadVariableParams,
                            VarHandleParams)
from .profiles import get_profile
from .registry import prepare_subgraphs, refusal_error


@dataclass
class RunResult:
    outputs: list[np.ndarray]  # one per model output, shape (B, *tensor.shape)
    intermediates: dict[int, np.ndarray] = field(default_factory=dict)  # tensor index -> value


class Interpreter:
    """Prepares every op of every subgraph once (raising before anything runs if an op is
    unsupported), then runs batches: `run([x0, x1, ...])` with x_i of shape (B, *input_shape).
    profile: whose arithmetic to reproduce (mcuq.reference.profiles; default "tflm")."""

    def __init__(self, model, profile=None):
        self.profile = get_profile(profile)
        self.model: Model = load_model(model)
        #: per subgraph: [(op, kernel, params)] in op order; plans[0] is the main subgraph
        self.plans, refusals = prepare_subgraphs(self.model, self.profile)
        if refusals:
            raise refusal_error(self.model, refusals)
        self.plan = self.plans[0]
        by_op = {(k, op.index): p for k, plan in enumerate(self.plans) for op, _, p in plan}
        self.program = program_mod.resolve(self.model, lambda k, op: by_op[(k, op.index)])
        self.stateful = self.model.stateful
        #: a stateful model's samples are independent windows (verify --windows): the state is
        #: reset before each one instead of carried from step to step
        self.windows = False
        self.reset()

    def params(self, op_index: int):
        return self.plan[op_index][2]

    def run_op(self, op_index: int, args: list) -> list[np.ndarray]:
        """Op `op_index` alone on the given input values (one per op input, None where
        omitted; shapes (B, *tensor.shape)): its outputs."""
        _op, k, params = self.plan[op_index]
        return k.run(params, args)

    # -- state -----------------------------------------------------------------------------
    def reset(self) -> None:
        """Start over as a new interpreter: variables at their starting bytes, CALL_ONCE to
        run again on the next invocation."""
        self.buffers = [np.full(v.nbytes, v.default_byte, np.uint8)
                        for v in self.program.variables]
        self.called: set[tuple[int, int]] = set()  # (subgraph, op index) CALL_ONCEs that ran
        self.variable_tensors = {
            t.index: np.full((1, *t.shape), t.zero_point if t.type_name == "INT8" else 0,
                             t.dtype)
            for t in self.model.tensors if t.is_variable and t.data is None}

    def state(self) -> list[np.ndarray]:
        """A copy of every variable's bytes, in variable id order."""
        return [b.copy() for b in self.buffers]

    def normalize_inputs(self, inputs) -> list[np.ndarray]:
        """Accept arrays shaped (B, *shape) or a single sample shaped `shape`."""
        if isinstance(inputs, np.ndarray):
            inputs = [inputs]
        tensors = self.model.input_tensors()
        if len(inputs) != len(tensors):
            raise InputError(f"{self.model.source}: model has {len(tensors)} inputs, "
                             f"got {len(inputs)} arrays", "pass one array per model input")
        out = []
        for x, t in zip(inputs, tensors):
            x = np.asarray(x)
            if x.shape == t.shape:
                x = x[None]
            if x.shape[1:] != t.shape:
                raise InputError(f"{self.model.source}: input '{t.label}' expects shape "
                                 f"(B, {', '.join(map(str, t.shape))}), got {x.shape}",
                                 "reshape the data to the model's input shape")
            if x.dtype != t.dtype:
                raise InputError(f"{self.model.source}: input '{t.label}' is {t.type_name}, "
                                 f"got {x.dtype}", "quantize the data first (mcuq verify does)")
            out.append(x)
        return out

    def run(self, inputs, keep_intermediates: bool = False) -> RunResult:
        inputs = self.normalize_inputs(inputs)
        with single_thread():
            if not self.stateful:
                return self._invoke(inputs, keep_intermediates)
            steps = []
            for b in range(inputs[0].shape[0]):
                if self.windows:
                    self.reset()
                steps.append(self._invoke([x[b:b + 1] for x in inputs], keep_intermediates))
        outputs = [np.concatenate([s.outputs[k] for s in steps])
                   for k in range(len(self.model.outputs))]
        inter = ({i: np.concatenate([s.intermediates[i] for s in steps])
                  for i in steps[0].intermediates} if keep_intermediates and steps else {})
        return RunResult(outputs, inter)

    # -- one invocation (or a batch of independent ones) -----------------------------------
    def _invoke(self, inputs, keep_intermediates: bool) -> RunResult:
        batch = inputs[0].shape[0]
        start = dict(zip(self.model.inputs, inputs))
        start.update(self.variable_tensors)  # batch 1: a stateful model runs step by step
        values = self._run_subgraph(0, start, batch)
        for i, state in self.variable_tensors.items():  # an op that wrote a variable tensor
            if values[i] is not state:                   # leaves its value for the next step
                state[...] = values[i]
        outputs = [values[i] for i in self.model.outputs]
        # (a variable tensor's value is the live state array: copied, the state after this step)
        inter = {i: (v.copy() if i in self.variable_tensors else v) for i, v in values.items()
                 if self.model.tensors[i].data is None
                 and self.model.tensors[i].type_name != "RESOURCE"} if keep_intermediates else {}
        return RunResult(outputs, inter)

    def _run_subgraph(self, k: int, values: dict, batch: int) -> dict:
        view = self.model.subgraph_view(k)
        values.update(self._constants(k, batch))
        for op, kern, params in self.plans[k]:
            if isinstance(params, (VarHandleParams, ReadVariableParams, AssignVariableParams,
                                   CallOnceParams)):
                self._graph_op(k, view, op, params, values, batch)
                continue
            args = [values[i] if i >= 0 else None for i in op.inputs]
            outs = kern.run(params, args)
            for i, v in zip(op.outputs, outs):
                t = view.tensors[i]
                values[i] = v
                assert v.shape == (batch, *t.shape) and v.dtype == t.dtype, (
                    f"{op.describe()} produced {v.shape} {v.dtype} for '{t.name}' "
                    f"{(batch, *t.shape)} {t.dtype}")
        return values

    def _constants(self, k: int, batch: int) -> dict[int, np.ndarray]:
        """Subgraph k's constant tensors broadcast to the batch (read-only views, made once per
        batch size: small models run in a fraction of a millisecond)."""
        cache = self.__dict__.setdefault("_const_cache", {})
        if cache.get(k, (None,))[0] != batch:
            view = self.model.subgraph_view(k)
            cache[k] = (batch, {t.index: np.broadcast_to(t.data, (batch, *t.shape))
                                for t in view.tensors if t.data is not None})
        return cache[k][1]

    def _graph_op(self, k, view, op, params, values, batch) -> None:
        prog = self.program
        if isinstance(params, VarHandleParams):
            vid = prog.handles[(k, op.outputs[0])]
            values[op.outputs[0]] = np.full(batch, vid, np.int32)
        elif isinstance(params, CallOnceParams):
            if (k, op.index) not in self.called:
                self._run_subgraph(params.init_subgraph_index, {}, batch)
                self.called.add((k, op.index))
        elif batch != 1:
            raise RuntimeError("a model with resource variables runs one step at a time")
        elif isinstance(params, ReadVariableParams):
            t = view.tensors[op.outputs[0]]
            buf = self.buffers[prog.handles[(k, op.inputs[0])]]
            values[op.outputs[0]] = buf.view(t.dtype).reshape((1, *t.shape)).copy()
        else:  # ASSIGN_VARIABLE
            buf = self.buffers[prog.handles[(k, op.inputs[0])]]
            buf[:] = np.ascontiguousarray(values[op.inputs[1]]).view(np.uint8).reshape(-1)
