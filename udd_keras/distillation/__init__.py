"""Algorithm 1 of UDD (and IDC, DC) as a resumable, strategy-aware run."""

from udd_keras.distillation.config import METHODS, DistillConfig
from udd_keras.distillation.distiller import (
    DistillationInterrupted,
    Distiller,
    DistillResult,
    distill,
    export,
)
from udd_keras.distillation.engine import DistillationEngine

__all__ = [
    "METHODS",
    "DistillConfig",
    "DistillResult",
    "DistillationEngine",
    "DistillationInterrupted",
    "Distiller",
    "distill",
    "export",
]
