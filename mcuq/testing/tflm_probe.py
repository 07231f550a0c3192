"""Constants of TensorFlow Lite Micro measured by running it (the tflite-micro package), for
kernels whose tables are data rather than formulas."""
from __future__ import annotations

import numpy as np


def _tanh16(scale: float, xs) -> np.ndarray:
    from ..model import load_model
    from ..runners import make_runner
    from .builder import ModelBuilder

    b = ModelBuilder()
    x = b.input("x", (len(xs),), "INT16", scale=scale, zero_point=0)
    y = b.tensor("y", (len(xs),), "INT16", scale=1.0 / 32768, zero_point=0)
    b.op("TANH", [x], [y])
    b.output(y)
    out = make_runner("tflm", load_model(b.build())).run([np.asarray(xs, np.int16)[None]])
    return out.outputs[0][0].astype(np.int64)


def measure_sigmoid_table() -> np.ndarray:
    """The 256-entry uint16 sigmoid table of TFLM's int16 TANH/LOGISTIC, read back through
    TANH: an input scale just above 1/6144 (not a power of two) gives multiplier 16384 with
    shift 13, so the table index is 2x >> 8 with no fraction at x = 128 k, where the output is
    table[k] - 32768; entry 255 (saturated at that point) from the slope at index 254."""
    s = float(np.nextafter(np.float32(1 / 6144), np.float32(1)))
    k = np.arange(256)
    table = _tanh16(s, 128 * k) + 32768
    out = int(_tanh16(s, [32639])[0])  # 2x = 254 * 256 + 254: index 254, fraction 254/256
    table[255] = table[254] + (out - (table[254] - 32768))
    return table
