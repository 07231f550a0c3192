"""C arrays and firmware projects rendered from templates/."""
from .targets import GenerateResult, generate_project

__all__ = ["generate_project", "GenerateResult"]
