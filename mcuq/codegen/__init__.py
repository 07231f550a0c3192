"""C arrays and firmware projects rendered from templates/."""
from __future__ import annotations

__all__ = ["generate_project", "GenerateResult"]


def __getattr__(name: str):
    # Lazy: the CLI imports codegen.layouts for its --layout choices without numpy/model.
    if name in __all__:
        from . import targets
        return getattr(targets, name)
    raise AttributeError(f"module 'mcuq.codegen' has no attribute '{name}'")
