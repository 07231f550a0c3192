"""Data-movement ops on int16 tensors: the int8 kernels of shape.py move elements of any
width (RESHAPE, SQUEEZE, EXPAND_DIMS, CONCATENATION, PAD, PADV2, STRIDED_SLICE, TRANSPOSE;
no value is computed, PAD fills with the zero point 0), and TFLite Micro moves int16 the same
way, so the same kernels are registered for int16 activations (tests/reference/
test_int16_ops.py proves them against TFLite Micro on the int8 strategies' models rewritten
to int16)."""
from __future__ import annotations

from ..registry import register
from .shape import Concatenation, Pad, Reshape, StridedSlice, Transpose

MOVE_OPS16 = {"RESHAPE": Reshape, "SQUEEZE": Reshape, "EXPAND_DIMS": Reshape,
              "CONCATENATION": Concatenation, "PAD": Pad, "PADV2": Pad,
              "STRIDED_SLICE": StridedSlice, "TRANSPOSE": Transpose}

for _name, _cls in MOVE_OPS16.items():
    register(_name, activations="INT16")(_cls)
