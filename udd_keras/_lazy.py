"""Lazy re-exports for package `__init__` modules (PEP 562).

A package that re-exports names from TensorFlow-backed modules would import
TensorFlow whenever any of its modules is imported, including the TF-free ones the
command line reads its choices from. `lazy_exports` imports a re-exported name's
module on first use instead.
"""

import importlib


def lazy_exports(package, exports):
    """Module-level `__getattr__` and `__dir__` for `package`.

    Args:
        package: str, the package's `__name__`.
        exports: dict, the package's submodule (relative, e.g. `"config"`) ->
            the public names it defines that the package re-exports.

    Returns:
        `(__getattr__, __dir__)`, to assign at the package's top level.

    Example:
    >>> __getattr__, __dir__ = lazy_exports(__name__, {"config": ["DistillConfig"]})
    """
    exports = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        globals_of_package = importlib.import_module(package).__dict__
        globals_of_package[name] = value
        return value

    def __dir__():
        return sorted(set(exports) | set(importlib.import_module(package).__dict__))

    return __getattr__, __dir__
