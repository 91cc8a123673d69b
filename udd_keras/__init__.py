"""udd-keras: dataset distillation via mining underutilized regions (UDD).

The public API is re-exported here lazily so that `import udd_keras` stays cheap
(TensorFlow is imported on first use of a function that needs it).
"""

import importlib
import importlib.abc
import importlib.util
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

# `cli/` and `tfrecords/` sit at the top of the repository and are installed as
# `udd_keras.cli` and `udd_keras.tfrecords`. Python started in a clone's root
# imports this folder, not the installed package, so those two are found here.
SOURCE_TREE_SUBPACKAGES = ("cli", "tfrecords")


class _SourceTreeFinder(importlib.abc.MetaPathFinder):
    """Finds `udd_keras.cli` and `udd_keras.tfrecords` in a repository checkout.

    Installed only when this package is imported from a source tree (the
    installed package has both sub-packages inside it and needs no help).
    """

    def __init__(self, root):
        self.root = root

    def find_spec(self, fullname, path=None, target=None):
        package, _, name = fullname.partition(".")
        if package != __name__ or name not in SOURCE_TREE_SUBPACKAGES:
            return None
        folder = self.root / name
        return importlib.util.spec_from_file_location(
            fullname, folder / "__init__.py", submodule_search_locations=[str(folder)]
        )


def _find_source_tree_subpackages():
    here = pathlib.Path(__file__).resolve().parent
    root = here.parent
    if (here / "tfrecords").is_dir() or not all(
        (root / name / "__init__.py").is_file() for name in SOURCE_TREE_SUBPACKAGES
    ):
        return
    if not any(isinstance(f, _SourceTreeFinder) for f in sys.meta_path):
        sys.meta_path.append(_SourceTreeFinder(root))


_find_source_tree_subpackages()

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
