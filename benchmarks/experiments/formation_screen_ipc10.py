"""At IPC 10, does udd (with or without CFC, tiles or regions) reach idc?
(validation split)

    python -m benchmarks run formation-screen-ipc10 --resume
"""

from benchmarks.spec import SHORT_RECIPE, Budget, Experiment, variants

EXPERIMENT = Experiment(
    name="formation-screen-ipc10",
    question="At IPC 10 and 100 steps, which udd formation and CFC weight reach idc?",
    kind="accuracy",
    command="python -m benchmarks run formation-screen-ipc10 --resume",
    ipc=10,
    shared=SHORT_RECIPE,
    budget=Budget(steps=100, inner_steps=50),
    variants=variants(
        {
            "idc": {"method": "idc"},
            "udd": {"method": "udd"},
            "udd-nocfc": {"method": "udd", "cfc_weight": 0},
            "udd-tiles-cfc": {"method": "udd", "formation": "tiles"},
        }
    ),
    measures=("accuracy", "paired:idc", "mue"),
    results={"validation": "the IPC 10 screen (Xeon)"},
)
