"""Do more image steps on a pool of recorded networks beat fresh networks?
(validation split)

    python -m benchmarks run network-pool-ipc1 --resume --trajectory-cache runs/cache
"""

from benchmarks.spec import SHORT_RECIPE, Budget, Experiment, variants

POOL2 = {"method": "udd", "iterations": 40, "network_pool": 2}

EXPERIMENT = Experiment(
    name="network-pool-ipc1",
    question="Do more image steps per network (image_updates, a network pool) "
    "raise accuracy at the same real side?",
    kind="accuracy",
    command="python -m benchmarks run network-pool-ipc1 --resume",
    shared=SHORT_RECIPE,
    budget=Budget(steps=100, inner_steps=50),
    variants=variants(
        {
            "idc": {"method": "idc"},
            "udd": {"method": "udd"},
            "k2": {"method": "udd", "image_updates": 2},
            "k4": {"method": "udd", "image_updates": 4},
            "k8": {"method": "udd", "image_updates": 8},
            "pool2x10": {**POOL2, "iterations": 10},
            "pool2x40": POOL2,
            "pool2x40-lr0.02": {**POOL2, "lr_img": 0.02},
            "pool2x40-lr0.005": {**POOL2, "lr_img": 0.005},
            "idc8": {"method": "idc", "iterations": 8},
            "udd8": {"method": "udd", "iterations": 8},
            "pool8x40": {**POOL2, "network_pool": 8},
        }
    ),
    measures=("accuracy", "paired:udd"),
    results={
        "validation-image-updates": "k image updates per network update",
        "validation-100-steps": "pools of 2 against 100 fresh-network steps",
        "validation-400-steps-pool8": "a pool of 8 against 400 fresh steps",
        "validation-confirm-seeds12": "pool2x40 against udd on seeds 1, 2",
    },
)
