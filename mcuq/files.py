"""Output locations, checked before any work is done on them."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .errors import InputError


def require_writable(folder: Path, output) -> None:
    """InputError unless a file can be created in `folder` (where `output` will go).

    Tried for real (a temporary file, removed at once): permission bits alone do not say it
    for root, read-only mounts or full disks."""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".mcuq-write-check-")
    except OSError as e:
        raise InputError(f"{output}: cannot write in {folder} ({e.strerror or e})",
                         "choose an output location you can write to") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def write_error(output, e: OSError) -> InputError:
    """An OSError while writing `output`, as the one-line error the CLI prints."""
    return InputError(f"{output}: cannot write ({e.strerror or e})",
                      "choose an output location you can write to, with free space")


__all__ = ["require_writable", "write_error"]
