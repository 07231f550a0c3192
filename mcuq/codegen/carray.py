"""Bytes and integer arrays as C source text."""
from __future__ import annotations

import re

import numpy as np

from ..errors import InputError

_C_KEYWORDS = set("""auto break case char const continue default do double else enum extern float
for goto if inline int long register restrict return short signed sizeof static struct switch
typedef union unsigned void volatile while _Bool _Complex _Imaginary alignas alignof bool class
namespace new delete template this operator private public protected virtual""".split())

C_TYPES = {
    np.dtype(np.int8): "int8_t", np.dtype(np.uint8): "uint8_t", np.dtype(np.int16): "int16_t",
    np.dtype(np.int32): "int32_t", np.dtype(np.int64): "int64_t", np.dtype(np.float32): "float",
    np.dtype(np.uint32): "uint32_t",
}


def c_identifier(name: str, what: str = "--name") -> str:
    """Sanitize `name` to a C identifier: invalid characters become '_', a leading digit gets a
    '_' prefix. A name with no usable character at all (or a C/C++ keyword) is an error."""
    ident = re.sub(r"[^0-9A-Za-z_]", "_", name.strip())
    ident = re.sub(r"_+", "_", ident).strip("_") if ident.strip("_") else ""
    if not ident:
        raise InputError(f"{what} '{name}' cannot be made a C identifier",
                         "use letters, digits and underscores, e.g. --name kws_model")
    if ident[0].isdigit():
        ident = "m_" + ident
    if ident in _C_KEYWORDS:
        raise InputError(f"{what} '{name}' is a C keyword", "choose another name")
    return ident


def format_bytes(data: bytes, per_line: int = 12) -> str:
    """Comma-separated hex bytes, `per_line` to a line, indented two spaces."""
    b = np.frombuffer(data, dtype=np.uint8)
    lines = []
    for i in range(0, len(b), per_line):
        lines.append("  " + ", ".join(f"0x{v:02x}" for v in b[i:i + per_line]) + ",")
    return "\n".join(lines)


def format_values(values: np.ndarray, per_line: int | None = None) -> str:
    """Comma-separated decimal values of an integer or float32 array (flattened)."""
    v = np.asarray(values).reshape(-1)
    if v.dtype == np.float32:
        items = [_c_float(x) for x in v]
    elif v.dtype == np.uint32:  # packed words (kernels' weight layouts): hex
        items = [f"0x{int(x):08x}u" for x in v]
    elif v.dtype == np.int32 or v.dtype == np.int64:
        # INT32_MIN must be written as an expression to stay an int32_t constant.
        items = [str(int(x)) if int(x) != -(1 << 31) else "(-2147483647 - 1)" for x in v]
    else:
        items = [str(int(x)) for x in v]
    per_line = per_line or (16 if v.dtype.itemsize == 1 else 8)
    lines = []
    for i in range(0, len(items), per_line):
        lines.append("  " + ", ".join(items[i:i + per_line]) + ",")
    return "\n".join(lines) if lines else "  0"


def _c_float(x) -> str:
    x = np.float32(x)
    if np.isnan(x):
        return "NAN"
    if np.isinf(x):
        return "INFINITY" if x > 0 else "-INFINITY"
    # repr of the float32 value round-trips exactly through a C float literal.
    return f"{float(x)!r}f".replace("inf", "INFINITY")
