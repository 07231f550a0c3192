"""The one interface every runner implements."""
from __future__ import annotations

import numpy as np

from ..model import Model, load_model
from ..reference.interpreter import RunResult


class Runner:
    """run(inputs) with inputs a list (one per model input) of int arrays (B, *shape)."""

    name: str = "?"
    #: True when this runner must agree with the reference to the byte (else: report only).
    exact: bool = True
    #: True when run(..., keep_intermediates=True) returns every activation tensor.
    gives_intermediates: bool = False

    def __init__(self, model: Model):
        self.model = load_model(model)  # a Model, .tflite path or bytes

    def run(self, inputs: list[np.ndarray], keep_intermediates: bool = False) -> RunResult:
        raise NotImplementedError
