"""How long do the PyTorch reference's steps take on this machine?

`benchmarks/reference_pytorch.py` is a standalone script run in its own PyTorch
environment; this experiment runs it there and records its times:

    python -m venv --system-site-packages /tmp/torch && /tmp/torch/bin/pip install torch
    python -m benchmarks run reference-pytorch --set python=/tmp/torch/bin/python
"""

import sys

from benchmarks.spec import Experiment, Variant

EXPERIMENT = Experiment(
    name="reference-pytorch",
    question="How long do the steps of the PyTorch reference (IDC's inner step, "
    "eager) take here?",
    kind="timing",
    command="python -m benchmarks run reference-pytorch --set python=PYTORCH_PYTHON",
    measure="benchmarks.timing:reference_pytorch",
    repeats=7,
    shared={"python": sys.executable, "warmup": 2, "threads": None},
    variants=(Variant("all-threads"),),
    results={
        "2026-11-26": "reference_pytorch.py --repeats 5 (the speed table's)",
        "2026-12-03-session14": "timed before issue 16's screens (12.33 s)",
    },
)
