"""The one interface every runner implements."""
from __future__ import annotations

import numpy as np

from ..model import Model, load_model
from ..reference.interpreter import RunResult


class Runner:
    """run(inputs) with inputs a list (one per model input) of int arrays (B, *shape).

    For a stateful model (`model.stateful`: resource variables, variable tensors) the batch
    axis is time: every run() is one sequence from a fresh state (a new interpreter or
    process, or reset()), its steps invoked in order with the state kept between them; with
    `windows` set, each sample is an independent window instead: the state is reset before
    each one (a Keras LSTM classifier's windows)."""

    name: str = "?"
    #: The reference profile (mcuq.reference.profiles) whose bytes this runner computes: verify
    #: compares it with the reference run in that profile.
    profile: str = "tflm"
    #: True when this runner must agree with the reference to the byte (else: report only).
    exact: bool = True
    #: True when run(..., keep_intermediates=True) returns every activation tensor.
    gives_intermediates: bool = False
    #: True when the runner's interpreter is native code that may crash on a model: verify
    #: runs it in a child process (mcuq.runners.isolated), rebuilt from spawn_args().
    native: bool = False
    #: stateful models: reset the state before every sample (verify --windows)
    windows: bool = False

    def __init__(self, model: Model):
        self.model = load_model(model)  # a Model, .tflite path or bytes

    def spawn_args(self) -> dict:
        """Keyword arguments that rebuild this runner from its model in another process."""
        return {}

    def run(self, inputs: list[np.ndarray], keep_intermediates: bool = False) -> RunResult:
        raise NotImplementedError
