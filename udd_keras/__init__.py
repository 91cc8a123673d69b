"""udd-keras: dataset distillation via mining underutilized regions (UDD).

The public API is re-exported here lazily so that `import udd_keras` stays cheap
(TensorFlow is imported on first use of a function that needs it).
"""

import importlib
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

_LAZY = {
    "load_dataset": "udd_keras.data",
    "distill": "udd_keras.distillation",
    "Distiller": "udd_keras.distillation",
    "DistillConfig": "udd_keras.distillation",
    "evaluate": "udd_keras.evaluation",
    "mean_utilization_entropy": "udd_keras.metrics",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'udd_keras' has no attribute {name!r}")
