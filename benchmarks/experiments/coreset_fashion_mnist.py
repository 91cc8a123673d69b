"""How accurate is a random coreset of real FashionMNIST at IPC 1 and 10?

python -m benchmarks run coreset-fashion-mnist
"""

from benchmarks.spec import Experiment, Variant

EXPERIMENT = Experiment(
    name="coreset-fashion-mnist",
    question="How accurate is a random coreset of FashionMNIST (IPC 1, 10; paper "
    "51.4, 73.8)?",
    kind="accuracy",
    command="python -m benchmarks run coreset-fashion-mnist",
    split="test",
    variants=(
        Variant("random-ipc1", {"ipc": 1}, source="coreset"),
        Variant("random-ipc10", {"ipc": 10}, source="coreset"),
    ),
    results={"test": "old coreset_fashion_mnist.py --epochs 300 --repeats 2"},
)
