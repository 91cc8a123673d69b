"""Does a short UDD distillation raise the mUE and accuracy of its starting images?

python -m benchmarks run mue-fashion-mnist
"""

from benchmarks.spec import Budget, Experiment, Variant

EXPERIMENT = Experiment(
    name="mue-fashion-mnist",
    question="Does 8 x 10 steps of UDD raise the mUE and accuracy of its real "
    "starting images (FashionMNIST IPC 1)?",
    kind="accuracy",
    command="python -m benchmarks run mue-fashion-mnist",
    split="test",
    repeats=3,
    shared={"method": "udd"},
    budget=Budget(steps=80, inner_steps=10),
    variants=(Variant("init", source="init"), Variant("udd")),
    measures=("accuracy", "paired:init", "mue"),
    results={"test": "old mue_fashion_mnist.py (per-class mUE in its JSON)"},
)
