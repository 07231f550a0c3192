"""The judge: mcuq's numpy implementation of the int8 kernels, in one semantics profile
(mcuq.reference.profiles: tflm by default, litert, single-rounding)."""
from __future__ import annotations

from ..reference import Interpreter
from .base import Runner


class ReferenceRunner(Runner):
    name = "reference"
    gives_intermediates = True

    def __init__(self, model, profile=None):
        super().__init__(model)
        self.interpreter = Interpreter(self.model, profile)
        self.profile = self.interpreter.profile.name

    def run(self, inputs, keep_intermediates=False):
        if self.interpreter.stateful:
            self.interpreter.reset()  # every run is one sequence from the start
        self.interpreter.windows = self.windows
        return self.interpreter.run(inputs, keep_intermediates)
