"""Which changes raise accuracy per CPU-second? (issue 9; validation split, 10 min
of one core each, every change against the run before it)

    python -m benchmarks run budget-changes --resume

The changes: before-udd -> before-idc (IDC's 4 tiles, kept); t0 (instance norm
folded, same function); t1 Adam 0.003 (not kept), Adam 0.01, k-means start;
t2 both; t3 closed-form instance-norm backward (float32), and bfloat16 (opt-in).
"""

from benchmarks.spec import Budget, Experiment, variants

KMEANS_ADAM = {
    "method": "idc",
    "init_selection": "kmeans",
    "image_optimizer": "adam",
    "lr_img": 0.01,
}

EXPERIMENT = Experiment(
    name="budget-changes",
    question="Which changes raise FashionMNIST IPC 1 accuracy after 10 min of one "
    "core?",
    kind="accuracy",
    command="python -m benchmarks run budget-changes --resume",
    budget=Budget(steps=None, inner_steps=100, minutes=10, clock="cpu", threads=1),
    variants=variants(
        {
            "before-udd": {"method": "udd"},
            "t0-idc-paper": {"method": "idc"},
            "t1-idc-adam003": {
                "method": "idc",
                "image_optimizer": "adam",
                "lr_img": 0.003,
            },
            "t1-idc-adam01": {
                "method": "idc",
                "image_optimizer": "adam",
                "lr_img": 0.01,
            },
            "t1-idc-kmeans": {"method": "idc", "init_selection": "kmeans"},
            "t2-idc-kmeans-adam01": KMEANS_ADAM,
            "t3-idc-kmeans-adam01-float32": {**KMEANS_ADAM, "precision": "float32"},
            "t3-idc-kmeans-adam01-mixed_bfloat16": {
                **KMEANS_ADAM,
                "precision": "mixed_bfloat16",
            },
        }
    ),
    measures=("accuracy", "paired:t0-idc-paper", "steps"),
    results={
        "summary": "old budget_summary.py: every change against its baseline",
        **{
            f"validation-{tag}": "old budget_curve.py, one run (tag)"
            for tag in (
                "before-udd",
                "before-idc",
                "t0-idc-paper",
                "t1-idc-adam003",
                "t1-idc-adam01",
                "t1-idc-kmeans",
                "t2-idc-kmeans-adam01",
                "t3-idc-kmeans-adam01-float32",
                "t3-idc-kmeans-adam01-mixed_bfloat16",
            )
        },
    },
)
