"""Is udd's default ahead of idc at IPC 1 and 100 inner steps (test split)?

python -m benchmarks run udd-vs-idc-ipc1 --resume --workdir runs/bench
"""

from benchmarks.spec import SHORT_RECIPE, Budget, Experiment, variants

EXPERIMENT = Experiment(
    name="udd-vs-idc-ipc1",
    question="Is udd's default ahead of idc on FashionMNIST IPC 1 at 100 inner steps "
    "(bar +1.0)?",
    kind="accuracy",
    command="python -m benchmarks run udd-vs-idc-ipc1 --resume",
    split="test",
    seeds=(0, 1),
    repeats=3,
    shared=SHORT_RECIPE,
    budget=Budget(steps=100, inner_steps=50),
    variants=variants({"idc": {"method": "idc"}, "udd": {"method": "udd"}}),
    measures=("accuracy", "paired:idc", "mue"),
    results={
        "test-tiles": "today's default (tiles + CFC 0.1), AMD EPYC",
        "test-tiles+regions-old-default": "the old default (tiles+regions), Xeon",
        "all-test-runs": "old udd_vs_idc_summary.py: every test-split run joined "
        "(IPC 1 at 100 and 700 steps, IPC 10), paired differences",
    },
)
