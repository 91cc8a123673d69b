"""What does the `cpu-hour` preset reach in one hour of one core (test split)?

python -m benchmarks run budget-cpu-hour --resume
"""

from benchmarks.spec import Budget, Experiment, Variant

EXPERIMENT = Experiment(
    name="budget-cpu-hour",
    question="What does `--preset cpu-hour` reach in 60 min of one core, with its "
    "accuracy-against-time curve?",
    kind="accuracy",
    command="python -m benchmarks run budget-cpu-hour --resume",
    split="test",
    seeds=(0, 1),
    repeats=3,
    preset="cpu-hour",
    budget=Budget(
        steps=None,
        inner_steps=100,
        minutes=60,
        snapshots=(1 / 6, 1 / 2),
        clock="cpu",
        threads=1,
    ),
    variants=(Variant("cpu-hour"),),
    measures=("accuracy", "steps"),
    results={
        "test-seed0": "old budget_curve.py --preset cpu-hour, seed 0 (curve)",
        "test-seed1": "seed 1 (final set only)",
    },
)
