"""At 100 inner steps, how do UDD's scoring policies, IDC and the un-optimised
initialisation compare on FashionMNIST IPC 1 (test split)?

    python -m benchmarks run methods-ipc1
    python -m benchmarks run methods-ipc1 --tag adam-kmeans \\
        --set image_optimizer=adam --set lr_img=0.01 --set init_selection=kmeans
"""

from benchmarks.spec import Budget, Experiment, Variant, variants

INIT = {"method": "udd", "policy": "none", "include_original": True}

EXPERIMENT = Experiment(
    name="methods-ipc1",
    question="At 100 inner steps, how do UDD (jitter, activation, mosaic start), "
    "IDC and the initialisation compare?",
    kind="accuracy",
    command="python -m benchmarks run methods-ipc1",
    split="test",
    budget=Budget(steps=100, inner_steps=50),
    variants=variants(
        {
            "udd-jitter": {"method": "udd", "policy": "jitter"},
            "udd-activation": {"method": "udd", "policy": "activation"},
            "idc": {"method": "idc"},
            "udd-jitter-mosaic": {
                "method": "udd",
                "policy": "jitter",
                "init": "mosaic",
            },
            "udd-uniform-mosaic": {
                "method": "udd",
                "policy": "uniform",
                "init": "mosaic",
            },
        }
    )
    + (Variant("init", INIT, source="init"),),
    measures=("accuracy", "paired:idc", "seconds"),
    results={
        "test-sgd": "old quality.py: paper SGD settings (its init row: the README's "
        "initialisation 52.23 ± 1.40)",
        "test-sgd-mosaic": "old quality.py: udd-jitter-mosaic, SGD",
        "test-adam-kmeans": "old quality.py with Adam 0.01 and a k-means start",
        "test-adam-kmeans-nocfc": "the same, mosaic variants without CFC",
    },
)
