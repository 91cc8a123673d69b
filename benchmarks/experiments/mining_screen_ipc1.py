"""Should udd mine regions from the highest-scoring tiles, and at what weight?
(validation split)

    python -m benchmarks run mining-screen-ipc1 --resume
    python -m benchmarks run mining-screen-ipc1 --seeds 0 1 2 --tag confirm --resume
"""

from benchmarks.spec import SHORT_RECIPE, Budget, Experiment, variants

HIGHEST = {"method": "udd", "mine_from": "highest"}

EXPERIMENT = Experiment(
    name="mining-screen-ipc1",
    question="Does mining regions from the highest-scoring tiles (and a lower "
    "region weight) beat idc at IPC 1?",
    kind="accuracy",
    command="python -m benchmarks run mining-screen-ipc1 --resume",
    shared=SHORT_RECIPE,
    budget=Budget(steps=100, inner_steps=50),
    variants=variants(
        {
            "idc": {"method": "idc"},
            "udd": {"method": "udd"},
            "random-rw0.25": {
                "method": "udd",
                "formation": "tiles+regions",
                "policy": "random",
                "region_weight": 0.25,
            },
            "highest-rw0.5": {**HIGHEST, "region_weight": 0.5},
            "highest-rw0.25": {**HIGHEST, "region_weight": 0.25},
            "highest-rw0.1": {**HIGHEST, "region_weight": 0.1},
        }
    ),
    measures=("accuracy", "paired:idc", "mue"),
    results={
        "validation-highest-prototype": "a prototype of highest-first mining "
        "(code not kept; `mine_from=highest` replaced it)",
        "validation-direction": "random against highest-first, region weights",
        "validation-confirm-seeds012": "the confirmation on seeds 0-2",
    },
)
