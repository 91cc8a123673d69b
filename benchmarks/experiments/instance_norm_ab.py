"""Is the instance norm's closed-form backward faster than autodiff's?

python -m benchmarks run instance-norm-ab --repeats 11
"""

from benchmarks.spec import Experiment, Variant

EXPERIMENT = Experiment(
    name="instance-norm-ab",
    question="Is the closed-form instance-norm backward faster than autodiff "
    "(interleaved)?",
    kind="timing",
    command="python -m benchmarks run instance-norm-ab --repeats 11",
    measure="benchmarks.timing:instance_norm_ab",
    repeats=7,
    variants=(Variant("fashion_mnist-width128"),),
    results={"ab": "old instance_norm_ab.py --rounds 11"},
)
