"""Algorithm 1 of UDD (and IDC, DC) as a resumable, strategy-aware run.

The names below are imported on first use, so that `udd_keras.distillation.config`
(which the command line reads its choices from) does not import TensorFlow.
"""

from udd_keras._lazy import lazy_exports

_EXPORTS = {
    "config": ["METHODS", "DistillConfig"],
    "distiller": ["DistillResult", "DistillationInterrupted", "DistillationPreempted"]
    + ["Distiller", "distill", "export"],
    "engine": ["DistillationEngine"],
}
__all__ = [name for names in _EXPORTS.values() for name in names]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
