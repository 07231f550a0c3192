"""mcuq's emulated int8 reference: TFLite Micro's integer kernels in vectorized numpy."""
from .interpreter import Interpreter, RunResult

__all__ = ["Interpreter", "RunResult"]
