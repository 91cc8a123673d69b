"""Does a refactor keep the same seeds' results (fingerprints of short runs)?

python -m benchmarks run refactor-equivalence
python -m benchmarks run refactor-equivalence --set record=/tmp/before.npz
"""

from benchmarks.spec import Experiment, Variant

MINED = {"method": "udd", "formation": "tiles+regions"}

EXPERIMENT = Experiment(
    name="refactor-equivalence",
    question="Do short seeded runs of every training path give what they gave at "
    "commit 3ada62d?",
    kind="timing",
    command="python -m benchmarks run refactor-equivalence",
    measure="benchmarks.checks:refactor_equivalence",
    shared={
        "reference": "results/refactor-equivalence/fingerprints-3ada62d.npz",
        "short": {
            "iterations": 2,
            "inner_steps": 3,
            "width": 16,
            "net_images": 50,
            "precision": "float32",
        },
        "distills": {
            "digits-udd-sgd": ["digits", MINED],
            "digits-udd-adam": ["digits", {**MINED, "image_optimizer": "adam"}],
            "digits-idc": ["digits", {"method": "idc"}],
            "digits-dc": ["digits", {"method": "dc"}],
            "fashion_mnist-udd": [
                "fashion_mnist",
                {**MINED, "iterations": 1, "inner_steps": 2},
            ],
        },
    },
    variants=(Variant("against-3ada62d"),),
    results={
        "against-3ada62d": "old refactor_equivalence.py --compare (trajectory change)",
        "fingerprints-3ada62d": "the recorded fingerprints (.npz)",
    },
)
