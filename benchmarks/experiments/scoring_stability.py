"""Does the jitter score select stable regions across random draws?

python -m benchmarks run scoring-stability
"""

from benchmarks.spec import Experiment, Variant

EXPERIMENT = Experiment(
    name="scoring-stability",
    question="Do two scoring draws select the same regions more often than random "
    "choice (selection agreement)?",
    kind="timing",
    command="python -m benchmarks run scoring-stability",
    measure="benchmarks.checks:scoring_stability",
    shared={
        "dataset": "fashion_mnist",
        "ipc": 1,
        "width": 128,
        "draws": 10,
        "network_updates": 25,
        "amounts": [0.1, 0.3, 1.0, 3.0],
        "jitters": [2, 8],
        "normalizations": ["none", "size"],
    },
    variants=(
        Variant("original+regions", {"formation": "original+regions"}),
        Variant("tiles+regions", {"formation": "tiles+regions"}),
    ),
    results={"fashion_mnist-ipc1": "old scoring_stability.py --draws 10"},
)
