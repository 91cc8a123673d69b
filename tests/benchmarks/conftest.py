"""Loading the benchmark scripts (`benchmarks/*.py`) as modules in tests."""

import importlib.util
import pathlib
import sys

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def load_benchmark():
    """A function `name -> module` importing `benchmarks/<name>.py`.

    The scripts import their siblings (`_environment`, `budget_curve`), as when
    run from `benchmarks/`, so that folder is on `sys.path` for the module's tests.
    """
    sys.path.insert(0, str(BENCHMARKS))

    def load(name):
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    try:
        yield load
    finally:
        sys.path.remove(str(BENCHMARKS))
