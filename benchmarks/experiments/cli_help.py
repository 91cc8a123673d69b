"""How long does `udd-keras COMMAND --help` take in a fresh process?

python -m benchmarks run cli-help --repeats 5
"""

from benchmarks.spec import Experiment, Variant

EXPERIMENT = Experiment(
    name="cli-help",
    question="How long does `udd-keras COMMAND --help` take, and does it import "
    "TensorFlow?",
    kind="timing",
    command="python -m benchmarks run cli-help --repeats 5",
    measure="benchmarks.timing:cli_help",
    repeats=5,
    variants=(Variant("entry-point"),),
    results={"latest": "old cli_help.py --runs 5"},
)
