"""Text and JSON views of each verb's result. The CLI calls one print_* per verb.

Each verb's view lives in its own module (report/convert.py, inspect.py, generate.py,
verify.py) and takes the library's result object; JSON output uses DESIGN.md's vocabulary.
"""
from __future__ import annotations

from .common import human_bytes, print_json, table, to_jsonable


def print_convert(result, as_json: bool = False) -> None:
    from .convert import print_convert as view
    view(result, as_json)


def print_inspect(info, as_json: bool = False) -> None:
    from .inspect import print_inspect as view
    view(info, as_json)


def print_generate(result, as_json: bool = False) -> None:
    from .generate import print_generate as view
    view(result, as_json)


def print_verify(report, as_json: bool = False) -> None:
    from .verify import print_verify as view
    view(report, as_json)


def print_diagnose(diagnosis, as_json: bool = False) -> None:
    from .diagnose import print_diagnose as view
    view(diagnosis, as_json)


def print_compress(result, as_json: bool = False) -> None:
    from .compress import print_compress as view
    view(result, as_json)


__all__ = ["print_convert", "print_inspect", "print_generate", "print_verify", "print_diagnose",
           "print_compress", "print_json",
           "table", "human_bytes", "to_jsonable"]
