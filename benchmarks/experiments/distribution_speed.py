"""What does a `tf.distribute` strategy cost a distillation step on a CPU?

python -m benchmarks run distribution-speed --repeats 10
"""

from benchmarks.spec import Experiment, Variant

EXPERIMENT = Experiment(
    name="distribution-speed",
    question="How long are the engine's steps under no strategy, `one` and "
    "`mirrored` (2 logical CPUs)?",
    kind="timing",
    command="python -m benchmarks run distribution-speed --repeats 10",
    measure="benchmarks.timing:distribution_speed",
    repeats=10,
    shared={
        "dataset": "digits",
        "ipc": 10,
        "width": 32,
        "real_batch": 64,
        "net_images": 256,
        "warmup": 2,
    },
    variants=(Variant("2-devices", {"devices": 2}),),
    results={"digits-2-devices": "old distribution_speed.py --devices 2"},
)
