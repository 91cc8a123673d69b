"""Where does an inner step's time go, op type by op type (TF profiler)?

python -m benchmarks run step-profile
"""

from benchmarks.spec import Experiment, Variant

EXPERIMENT = Experiment(
    name="step-profile",
    question="Where does an inner step's time go: convolutions, matrix products, "
    "other ops?",
    kind="timing",
    command="python -m benchmarks run step-profile",
    measure="benchmarks.timing:step_profile",
    repeats=3,
    shared={"warmup": 2, "top": 12},
    variants=(
        Variant("float32", {"precision": "float32"}),
        Variant("mixed_bfloat16", {"precision": "mixed_bfloat16", "top": 20}),
    ),
    results={"float32": "old step_profile.py", "mixed_bfloat16": "its bf16 run"},
)
