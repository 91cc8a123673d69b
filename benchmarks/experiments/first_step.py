"""How long does a new process take to its first distillation steps?

python -m benchmarks run first-step --resume --tag tags
"""

from benchmarks.spec import Experiment, Variant

EXPERIMENT = Experiment(
    name="first-step",
    question="How long does a new process take to import, trace and run its first "
    "distill steps?",
    kind="timing",
    command="python -m benchmarks run first-step --resume",
    measure="benchmarks.timing:first_step",
    repeats=3,
    shared={
        "distill": {
            "width": 8,
            "iterations": 2,
            "inner_steps": 3,
            "net_images": 64,
            "real_batch": 16,
            "checkpoint_every": 1,
            "log_every": 1,
            "formation": "tiles+regions",
        },
        "command": [
            "distill",
            "digits",
            "--ipc",
            "1",
            "--iterations",
            "1",
            "--inner-steps",
            "1",
            "--width",
            "8",
            "--no-progress",
        ],
    },
    variants=(Variant("current"),),
    results={"tags": "old first_step.py, one row per tag (checkout)"},
)
