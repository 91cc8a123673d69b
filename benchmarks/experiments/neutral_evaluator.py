"""Does a set measure the same through an `.npz` import, and what is its IOR?

    python -m benchmarks run neutral-evaluator

The committed result also has teacher soft-label rows (old neutral_evaluator.py);
`udd-keras evaluate --soft-labels` measures those.
"""

from benchmarks.spec import RANDOM_CORESET, Budget, Experiment, Variant

EXPERIMENT = Experiment(
    name="neutral-evaluator",
    question="Is an imported copy of a set measured the same as the set, and how far "
    "is it above a random coreset (IOR)?",
    kind="accuracy",
    command="python -m benchmarks run neutral-evaluator",
    dataset="digits",
    split="test",
    preset="quick",
    repeats=3,
    budget=Budget(steps=100, inner_steps=10),
    variants=(
        RANDOM_CORESET,
        Variant("tfrecord"),
        Variant("npz-import", source="import", of="tfrecord"),
    ),
    measures=("accuracy", "paired:random-coreset"),
    results={"test": "old neutral_evaluator.py --repeats 3"},
)
