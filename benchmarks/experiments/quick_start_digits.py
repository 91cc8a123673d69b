"""What does the README's quick start reach on `digits` (test split), against a
random coreset and its own k-means start?

    python -m benchmarks run quick-start-digits
    # the README's -init row: the same set before its first step
"""

from benchmarks.spec import RANDOM_CORESET, Budget, Experiment, Variant

EXPERIMENT = Experiment(
    name="quick-start-digits",
    question="What does `--preset quick` reach on digits IPC 1, against a random "
    "coreset and its k-means start?",
    kind="accuracy",
    command="python -m benchmarks run quick-start-digits",
    dataset="digits",
    split="test",
    seeds=(0, 1, 2),
    preset="quick",
    budget=Budget(steps=100, inner_steps=10),
    repeats=2,
    variants=(RANDOM_CORESET, Variant("quick"), Variant("kmeans-start", source="init")),
    measures=("accuracy", "paired:random-coreset"),
    results={
        "test": "the quick preset and the random coreset (old udd_vs_idc.py, "
        "100 steps, seeds 0-2 x 2)",
        "test-init": "the k-means start after 1 step (old udd_vs_idc.py)",
    },
)
