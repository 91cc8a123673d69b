"""Algorithm 1 of UDD (and IDC, DC) as a resumable, strategy-aware run.

The names below are imported on first use, so that `udd_keras.distillation.config`
(which the command line reads its choices from) does not import TensorFlow.
"""

from udd_keras._lazy import lazy_exports

_EXPORTS = {
    "METHODS": "config",
    "DistillConfig": "config",
    "DistillResult": "distiller",
    "DistillationEngine": "engine",
    "DistillationInterrupted": "distiller",
    "DistillationPreempted": "distiller",
    "Distiller": "distiller",
    "distill": "distiller",
    "export": "distiller",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
