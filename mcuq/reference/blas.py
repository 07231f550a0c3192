"""One BLAS thread while the reference runs.

The reference's convolutions and fully connected layers are float32/float64 matrix products on
chunks sized for the CPU cache (mcuq/reference/ops/conv.py): small products, for which a
multi-threaded BLAS (OpenBLAS uses every core by default) spends more time waking and
synchronizing threads than computing, and on a loaded machine its spinning threads starve each
other: measured on the zoo's ResNet-8 on a shared 2-core machine, 256 samples took 22.8 s with
OpenBLAS's default threads and 1.1 s with one. `single_thread()` limits BLAS to one thread for
the duration of a run (threadpoolctl), and does nothing when threadpoolctl is not installed.
"""
from __future__ import annotations

import contextlib

_controller = None


def single_thread():
    """A context manager: BLAS libraries loaded in this process use one thread inside it."""
    global _controller
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - a dependency of mcuq
        return contextlib.nullcontext()
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")
