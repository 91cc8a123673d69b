"""How long do the distillation steps take, against their FLOP floor?

python -m benchmarks run step-speed
python -m benchmarks run step-speed --variants float32 --tag after
"""

from benchmarks.spec import Experiment, Variant

POLICIES = ("jitter", "activation", "gradient", "vote", "random", "uniform")

EXPERIMENT = Experiment(
    name="step-speed",
    question="How long do the matching step, the inner step and the region search "
    "take, against the FLOP floor?",
    kind="timing",
    command="python -m benchmarks run step-speed",
    measure="benchmarks.timing:step_speed",
    repeats=7,
    shared={"warmup": 2, "policies": POLICIES, "peak_size": 2048},
    variants=(
        Variant("float32", {"precision": "float32"}),
        Variant("mixed_bfloat16", {"precision": "mixed_bfloat16"}),
    ),
    results={
        "before-8ac01fd": "old speed.py --tag before (commit 8ac01fd)",
        "after": "old speed.py --tag after (float32)",
        "after-bf16": "old speed.py --precision mixed_bfloat16",
    },
)
