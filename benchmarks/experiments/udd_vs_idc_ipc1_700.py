"""Does udd's default close on idc with 7 x more steps (700, IPC 1, test split)?

python -m benchmarks run udd-vs-idc-ipc1-700 --seeds 0 --tag test-seed0 --resume
"""

from benchmarks.spec import SHORT_RECIPE, Budget, Experiment, variants

EXPERIMENT = Experiment(
    name="udd-vs-idc-ipc1-700",
    question="Is udd's default ahead of idc on FashionMNIST IPC 1 at 700 inner steps?",
    kind="accuracy",
    command="python -m benchmarks run udd-vs-idc-ipc1-700 --resume",
    split="test",
    seeds=(0, 1),
    repeats=3,
    shared=SHORT_RECIPE,
    budget=Budget(steps=700, inner_steps=50),
    variants=variants({"idc": {"method": "idc"}, "udd": {"method": "udd"}}),
    measures=("accuracy", "paired:idc", "mue"),
    results={"test-seed0": "seed 0 (one session)", "test-seed1": "seed 1"},
)
