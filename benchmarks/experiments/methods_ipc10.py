"""At IPC 10 and 20 inner steps, how do UDD, IDC and the initialisation compare?

python -m benchmarks run methods-ipc10
"""

from benchmarks.spec import SHORT_RECIPE, Budget, Experiment, Variant, variants

EXPERIMENT = Experiment(
    name="methods-ipc10",
    question="At IPC 10 and 20 inner steps, how do UDD, IDC and the initialisation "
    "compare?",
    kind="accuracy",
    command="python -m benchmarks run methods-ipc10",
    ipc=10,
    split="test",
    shared={k: v for k, v in SHORT_RECIPE.items() if k != "precision"},
    budget=Budget(steps=20, inner_steps=20),
    variants=variants({"udd-jitter": {"method": "udd", "policy": "jitter"}})
    + variants({"idc": {"method": "idc"}})
    + (Variant("init", {"method": "udd"}, source="init"),),
    measures=("accuracy", "paired:idc"),
    results={"test-adam-kmeans": "old quality.py --ipc 10 --budget 20"},
)
