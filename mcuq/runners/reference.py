"""The judge: mcuq's numpy implementation of TFLite Micro's integer kernels."""
from __future__ import annotations

from ..reference import Interpreter
from .base import Runner


class ReferenceRunner(Runner):
    name = "reference"
    gives_intermediates = True

    def __init__(self, model):
        super().__init__(model)
        self.interpreter = Interpreter(model)

    def run(self, inputs, keep_intermediates=False):
        return self.interpreter.run(inputs, keep_intermediates)
