"""Which formation, decode, scoring and CFC weight should udd use at IPC 1?
(validation split, one seed x 2 evaluations)

    python -m benchmarks run formation-screen-ipc1 --resume
"""

from benchmarks.spec import SHORT_RECIPE, Budget, Experiment, variants

STABLE = {"jitter_amount": 1.0, "jitters": 8, "score_normalization": "size"}
TR = {"formation": "tiles+regions"}
AREA = {**TR, **STABLE, "crop_gradient": "area"}
CFC = {"method": "udd", "formation": "tiles", "cfc_scale": "gradient"}
BOTH = ("trained", "fixed")

EXPERIMENT = Experiment(
    name="formation-screen-ipc1",
    question="Which formation, decode, scoring and CFC weight should udd use at "
    "IPC 1 and 100 steps?",
    kind="accuracy",
    command="python -m benchmarks run formation-screen-ipc1 --resume",
    shared=SHORT_RECIPE,
    budget=Budget(steps=100, inner_steps=50),
    variants=variants({"idc": {"method": "idc"}})
    + variants(
        {
            "tiles+regions": TR,
            "original+regions": {"formation": "original+regions"},
            "regions-in-tiles": {"formation": "regions-in-tiles"},
            "tr-stable": {**TR, **STABLE},
            "tr-stable-area": AREA,
            "tr-stable-area-cfc0.1": {
                **AREA,
                "cfc_scale": "gradient",
                "cfc_weight": 0.1,
            },
            "tr-stable-area-p2": {**AREA, "num_selected": 2},
            "original+regions-stable-area": {**AREA, "formation": "original+regions"},
            "tr-random-area": {**TR, "policy": "random", "crop_gradient": "area"},
        },
        decodes=BOTH,
    )
    + variants(
        {
            "tiles-cfc0.1": {**CFC, "cfc_weight": 0.1},
            "tiles-cfc0.3": {**CFC, "cfc_weight": 0.3},
            "tiles-cfc1.0": {**CFC, "cfc_weight": 1.0},
            "udd": {"method": "udd"},
            "udd-tiles": {"method": "udd", "formation": "tiles"},
            "udd-random": {"method": "udd", "policy": "random"},
            "udd-rw0.25": {"method": "udd", "region_weight": 0.25},
        }
    ),
    measures=("accuracy", "paired:idc", "agreement", "mue"),
    results={
        "validation-xeon": "the README's formation table (Xeon, resumed runs)",
        "validation-epyc": "idc, udd, tiles, random policy, region weight (EPYC)",
    },
)
