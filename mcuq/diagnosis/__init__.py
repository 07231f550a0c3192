"""`mcuq diagnose`: per-layer quantization error of an int8 model against its float graph
(core.py), the float graph and tensor matching (graphs.py), error statistics (stats.py) and the
model edits that measure remedies before they are applied (edits.py)."""
from __future__ import annotations

from .core import (Diagnosis, LayerReport, OutputReport, Remedy, WeightRanges, confusion,
                   diagnose_model)

__all__ = ["diagnose_model", "Diagnosis", "LayerReport", "Remedy", "OutputReport",
           "WeightRanges", "confusion"]
