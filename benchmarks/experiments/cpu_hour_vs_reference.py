"""What do the presets reach in issue 16's budget: 840 inner steps of the PyTorch
reference, timed on the same machine right before the run?

    python -m benchmarks run cpu-hour-vs-reference \\
        --reference-python /tmp/torch/bin/python
    # the screens: a fifth of the budget, validation split, seed 0 x 2
    python -m benchmarks run cpu-hour-vs-reference --split validation --seeds 0 \\
        --repeats 2 --reference-steps 165 --variants idc-preset --tag quarter-idc
"""

from benchmarks.spec import Budget, Experiment, Variant

EXPERIMENT = Experiment(
    name="cpu-hour-vs-reference",
    question="What do the cpu-hour preset and udd on a pool of 2 reach in 840 "
    "PyTorch-reference steps of time?",
    kind="accuracy",
    command="python -m benchmarks run cpu-hour-vs-reference --resume",
    split="test",
    seeds=(0, 1),
    repeats=3,
    preset="cpu-hour",
    budget=Budget(
        steps=None,
        inner_steps=100,
        reference_steps=840,
        snapshots=(1 / 6, 1 / 3, 1 / 2, 2 / 3, 5 / 6),
    ),
    variants=(
        Variant("idc-preset"),
        Variant("udd-pool2", {"method": "udd", "network_pool": 2, "inner_steps": 50}),
    ),
    measures=("accuracy", "paired:idc-preset", "steps"),
    results={
        "validation-quarter-idc-preset": "old cpu_hour.py, 165 reference steps",
        "validation-quarter-idc-preset-seed0": "its seed's run (budget_curve.py)",
        "validation-quarter-udd-pool2": "old cpu_hour.py --method udd, pool of 2",
        "validation-quarter-udd-pool2-seed0": "its seed's run (budget_curve.py)",
    },
)
