"""Limits shared by the C kernels and their emitters, read from the one place that defines
them: the kernels' headers in firmware/kernels/ (`#define MCUQ_NAME <integer>`).

The emitters decide kernel paths and buffer sizes with these numbers; reading them from the
headers means a change to a header changes the Python side with it (no second copy to forget).
"""
from __future__ import annotations

import functools
import re

from .render import firmware_dir

_DEFINE = re.compile(r"^\s*#define\s+(MCUQ_[A-Z0-9_]+)\s+(\d+)\s*(?:/\*.*)?$", re.M)


@functools.lru_cache(maxsize=None)
def header_defines(header: str) -> dict[str, int]:
    """Every `#define MCUQ_X <integer>` of firmware/kernels/<header>."""
    text = (firmware_dir() / "kernels" / header).read_text()
    return {name: int(value) for name, value in _DEFINE.findall(text)}


def c_limit(header: str, name: str) -> int:
    """The integer value of macro `name` in firmware/kernels/<header>."""
    defines = header_defines(header)
    if name not in defines:
        raise RuntimeError(f"firmware/kernels/{header} defines no integer {name}; "
                           "the C kernels and mcuq/codegen disagree (a packaging bug)")
    return defines[name]


#: Largest left shift the kernels' mcuq_shl takes (a shift of 32 or more would be undefined).
MAX_LEFT_SHIFT = 31


def c_multiplier(multiplier, shift):
    """(multiplier, shift) as the C kernels take them: a shift above 31 (a real multiplier of
    2^31 or more) multiplies every int32 by 2^shift == 0 mod 2^32, as the reference's int32
    wrap does, so it becomes (0, 0): the same zero result with no undefined shift in C.
    Scalars or arrays (per channel)."""
    import numpy as np

    m, s = np.asarray(multiplier, np.int64), np.asarray(shift, np.int64)
    big = s > MAX_LEFT_SHIFT
    m, s = np.where(big, 0, m), np.where(big, 0, s)
    if m.ndim == 0:
        return int(m), int(s)
    return m, s
