"""Does `--precision mixed_bfloat16` cost accuracy at the same steps?

python -m benchmarks run bfloat16-ipc1
"""

from benchmarks.spec import SHORT_RECIPE, Budget, Experiment, variants

EXPERIMENT = Experiment(
    name="bfloat16-ipc1",
    question="Does bfloat16 distillation cost accuracy at the same steps (idc, IPC 1)?",
    kind="accuracy",
    command="python -m benchmarks run bfloat16-ipc1",
    split="test",
    seeds=(0, 1, 2),
    shared={k: v for k, v in SHORT_RECIPE.items() if k != "precision"},
    budget=Budget(steps=100, inner_steps=50),
    variants=variants(
        {
            "idc-float32": {"method": "idc", "precision": "float32"},
            "idc-mixed_bfloat16": {"method": "idc", "precision": "mixed_bfloat16"},
        }
    ),
    measures=("accuracy", "paired:idc-float32", "seconds"),
    results={
        "test": "old quality.py --methods idc --precisions float32 mixed_bfloat16"
    },
)
