"""Runs a parsed model through the reference kernels, vectorized over a batch of inputs."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..model import Model, load_model
from .blas import single_thread
from .profiles import get_profile
from .registry import prepare_ops, refusal_error


@dataclass
class RunResult:
    outputs: list[np.ndarray]  # one per model output, shape (B, *tensor.shape)
    intermediates: dict[int, np.ndarray] = field(default_factory=dict)  # tensor index -> value


class Interpreter:
    """Prepares every op once (raising before anything runs if an op is unsupported), then
    runs batches: `run([x0, x1, ...])` with x_i of shape (B, *input_shape).
    profile: whose arithmetic to reproduce (mcuq.reference.profiles; default "tflm")."""

    def __init__(self, model, profile=None):
        self.profile = get_profile(profile)
        self.model: Model = load_model(model)
        self.plan, refusals = prepare_ops(self.model, self.profile)
        if refusals:
            raise refusal_error(self.model, refusals)

    def params(self, op_index: int):
        return self.plan[op_index][2]

    def run_op(self, op_index: int, args: list) -> list[np.ndarray]:
        """Op `op_index` alone on the given input values (one per op input, None where
        omitted; shapes (B, *tensor.shape)): its outputs."""
        _op, k, params = self.plan[op_index]
        return k.run(params, args)

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
        batch = inputs[0].shape[0]
        values: dict[int, np.ndarray] = {}
        for i, x in zip(self.model.inputs, inputs):
            values[i] = x
        values.update(self._constants(batch))
        with single_thread():
            self._run_ops(values, batch)
        outputs = [values[i] for i in self.model.outputs]
        inter = {i: v for i, v in values.items()
                 if self.model.tensors[i].data is None} if keep_intermediates else {}
        return RunResult(outputs, inter)

    def _constants(self, batch: int) -> dict[int, np.ndarray]:
        """The constant tensors broadcast to the batch (read-only views, made once per batch
        size: small models run in a fraction of a millisecond)."""
        cache = getattr(self, "_const_cache", None)
        if cache is None or cache[0] != batch:
            cache = self._const_cache = (batch, {
                t.index: np.broadcast_to(t.data, (batch, *t.shape))
                for t in self.model.tensors if t.data is not None})
        return cache[1]

    def _run_ops(self, values: dict[int, np.ndarray], batch: int) -> None:
        for op, k, params in self.plan:
            args = [values[i] if i >= 0 else None for i in op.inputs]
            outs = k.run(params, args)
            for i, v in zip(op.outputs, outs):
                t = self.model.tensors[i]
                values[i] = v
                assert v.shape == (batch, *t.shape) and v.dtype == t.dtype, (
                    f"{op.describe()} produced {v.shape} {v.dtype} for '{t.name}' "
                    f"{(batch, *t.shape)} {t.dtype}")
