"""TensorFlow Lite Micro through the tflite-micro package (its real C++ interpreter)."""
from __future__ import annotations

import numpy as np

from ..toolchain import tflm_runtime
from .base import Runner, RunResult


class TflmRunner(Runner):
    """TFLite Micro's interpreter on the model. compress=True runs the model as
    `generate --target tflm --compress` stores it (tflite-micro's own weight compression,
    TFLM_DECODE ops: mcuq.tflm_compression); `data` runs other bytes that compute the same
    model (a compressed .tflite given to verify: `model` is then its decompressed form).
    Either way the tensors keep their indices, so intermediates compare with the reference's."""

    name = "tflm"
    gives_intermediates = True
    native = True

    def __init__(self, model, arena_size: int | None = None, compress: bool = False,
                 data: bytes | None = None):
        super().__init__(model)
        self.compressed = None
        if compress and data is None:
            from ..tflm_compression import compress_for_tflm

            self.compressed = compress_for_tflm(self.model)
            data = self.compressed.data
        self.data = data if data is not None else self.model.data
        self.note = ("compressed model (TFLM_DECODE)" if data is not None
                     and data != self.model.data else "")
        self.arena_size = arena_size or max(len(self.data) * 10,
                                            4 * sum(t.nbytes for t in self.model.tensors),
                                            1 << 20)

    def spawn_args(self) -> dict:
        # the child runs the same bytes (compressed once here, not again there)
        return {"arena_size": self.arena_size,
                "data": self.data if self.data != self.model.data else None}

    def _interpreter(self, preserve: bool):
        rt = tflm_runtime()
        cfg = (rt.InterpreterConfig.kPreserveAllTensors if preserve
               else rt.InterpreterConfig.kAllocationRecording)
        return rt.Interpreter.from_bytes(self.data, arena_size=self.arena_size,
                                         intrepreter_config=cfg)

    def run(self, inputs, keep_intermediates=False):
        it = self._interpreter(keep_intermediates)
        batch = inputs[0].shape[0]
        outs = [np.empty((batch, *t.shape), t.dtype) for t in self.model.output_tensors()]
        inter_ids = [t.index for t in self.model.tensors
                     if t.data is None and t.type_name != "RESOURCE"]
        inter = {i: np.empty((batch, *self.model.tensors[i].shape), self.model.tensors[i].dtype)
                 for i in inter_ids} if keep_intermediates else {}
        for b in range(batch):
            if self.windows and b:
                it.reset()  # MicroInterpreter::Reset: variable tensors and resource variables
            for k, x in enumerate(inputs):
                it.set_input(np.array(x[b], dtype=x.dtype, order="C"), k)
            it.invoke()
            for k, o in enumerate(outs):
                o[b] = it.get_output(k).reshape(o.shape[1:])
            for i in inter:
                d = it.GetTensor(i, 0)["tensor_data"]
                inter[i][b] = np.asarray(d).view(inter[i].dtype).reshape(inter[i].shape[1:])
        return RunResult(outs, inter)
