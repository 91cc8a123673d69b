"""Is udd's default ahead of idc at IPC 10 and 100 inner steps (test split)?

python -m benchmarks run udd-vs-idc-ipc10 --resume
"""

from benchmarks.spec import SHORT_RECIPE, Budget, Experiment, variants

EXPERIMENT = Experiment(
    name="udd-vs-idc-ipc10",
    question="Is udd's default ahead of idc on FashionMNIST IPC 10 at 100 inner "
    "steps (bar +0.5)?",
    kind="accuracy",
    command="python -m benchmarks run udd-vs-idc-ipc10 --resume",
    ipc=10,
    split="test",
    seeds=(0, 1),
    repeats=3,
    shared=SHORT_RECIPE,
    budget=Budget(steps=100, inner_steps=50),
    variants=variants({"idc": {"method": "idc"}, "udd": {"method": "udd"}}),
    measures=("accuracy", "paired:idc", "mue"),
    results={
        "test-tiles": "today's default, AMD EPYC",
        "test-tiles+regions-old-default": "the old default, Xeon",
    },
)
