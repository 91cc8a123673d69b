"""`benchmarks` is a folder of the repository, not of the installed package: the
tests import it from the repository's root, as `python -m benchmarks` does."""

import pathlib
import sys

ROOT = str(pathlib.Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
