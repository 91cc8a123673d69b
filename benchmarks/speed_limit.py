"""The `speed-limit` measure: evaluation and inner step against their FLOP floors.

One call measures, back to back on one machine:

- the evaluation protocol (300 epochs, ConvNet-3 width 128, IDC's recipe) of
  one 40-image FashionMNIST set, `repeats` seeds, by the library at commit
  `before` (checked out in a temporary git worktree) and by this checkout,
  each in a process of its own; the median seconds per repeat, the final
  accuracies per seed, and each protocol's FLOP floor at the measured float32
  matmul rate;
- the inline `udd` inner step (no trajectory cache, float32) against its floor;
- the PyTorch reference's inner step (`reference_pytorch.py`, when the Python
  named by `reference_python`, default this one, has PyTorch).

The set is 4 real training images per class, drawn with `seed`: every
40-image set of 28 x 28 images costs the same to evaluate.
"""

import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import types

from benchmarks.results import cpu_flags
from benchmarks.timing import (
    graph_flops,
    inner_step_gflop,
    matmul_gflops,
    reference_pytorch,
)

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Runs in a fresh process with the library under test first on sys.path; it
# uses only what both the old and the new library offer.
_EVALUATE = """
import json, sys
import numpy as np
import udd_keras
from udd_keras.data import load_dataset
from udd_keras.evaluation import train_and_evaluate
from udd_keras.training import TrainingRecipe
job = json.loads(sys.argv[1])
data = np.load(job["set"])
dataset = load_dataset("fashion_mnist")
recipe = TrainingRecipe(epochs=job["epochs"]).for_dataset("fashion_mnist")
runs = []
for seed in job["seeds"]:
    run = train_and_evaluate(data["x"], data["y"], dataset.x_test, dataset.y_test,
        recipe, seed=seed, num_classes=10, **job["options"])
    runs.append({"seed": seed, "seconds": run.seconds, "accuracy": run.accuracy,
        "curve": run.curve})
print("RESULT " + json.dumps({"runs": runs, "library": udd_keras.__file__}))
"""


def evaluation_set(path, seed, per_class=4):
    """Writes `per_class` real FashionMNIST training images per class to `path`."""
    import numpy as np

    from udd_keras.data import load_dataset

    dataset = load_dataset("fashion_mnist")
    rng = np.random.default_rng(seed)
    labels = np.asarray(dataset.y_train)
    index = np.concatenate(
        [rng.choice(np.flatnonzero(labels == c), per_class, False) for c in range(10)]
    )
    np.savez(path, x=dataset.x_train[index], y=labels[index].astype("int32"))
    return path


def _evaluate_in_process(library, set_path, seeds, epochs, options):
    """The evaluation runs of `library` (a folder holding `udd_keras/`)."""
    job = dict(set=str(set_path), seeds=seeds, epochs=epochs, options=options)
    env = dict(os.environ, PYTHONPATH=str(library), TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run(
        [sys.executable, "-c", _EVALUATE, json.dumps(job)],
        env=env,
        cwd=library,
        check=True,
        capture_output=True,
        text=True,
    )
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")][-1]
    result = json.loads(line[len("RESULT ") :])
    if not result["library"].startswith(str(library)):
        raise RuntimeError(f"{library}: the child imported {result['library']}")
    return result["runs"]


def _worktree(commit, folder):
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), commit],
        check=True,
        capture_output=True,
    )


def evaluation_gflop(train_images, epochs, test_points):
    """GFLOP of one evaluation: `epochs` passes over `train_images` images
    (forward and backward) plus forward passes over `test_points` images."""
    import keras
    import tensorflow as tf

    from udd_keras.training import TrainingRecipe, build_classifier

    model = build_classifier(TrainingRecipe(), (28, 28, 1), 10, 0)
    image = tf.zeros((1, 28, 28, 1))

    @tf.function
    def train(images):
        with tf.GradientTape() as tape:
            logits = model(images, training=True)
            loss = keras.losses.categorical_crossentropy(
                tf.one_hot([0], 10), logits, from_logits=True
            )
        return tape.gradient(loss, model.trainable_variables)

    forward = tf.function(lambda images: model(images, training=False))
    train_flops = graph_flops(train.get_concrete_function(image).graph)["total"]
    forward_flops = graph_flops(forward.get_concrete_function(image).graph)["total"]
    return (epochs * train_images * train_flops + test_points * forward_flops) / 1e9


def _inline_inner_step(args, rate):
    """Median seconds of the inline `udd` inner step, float32, and its floor."""
    import tensorflow as tf

    from udd_keras.distillation import DistillConfig, Distiller

    class StepSeconds:
        seconds = []

        def on_step(self, step, total, logs):
            self.seconds.append(logs["seconds"])

    config = DistillConfig(
        "fashion_mnist",
        ipc=1,
        method="udd",
        iterations=1,
        inner_steps=args.steps + args.warmup,
        precision="float32",
        seed=args.seed,
    )
    times = StepSeconds()
    distiller = Distiller(config, callbacks=[times])
    distiller.run()
    engine = distiller.engine
    key = tf.constant([args.seed, 0], tf.int32)
    gflop = inner_step_gflop(engine, key, engine.select_regions(key))
    seconds = statistics.median(times.seconds[args.warmup :])
    return seconds, gflop


def measure(args):
    """See the module docstring; `args` holds `before` (a git commit), `epochs`,
    `repeats`, `seed`, `steps`, `warmup`, `test_images`, `curve_test_images`,
    `curve_points` and `reference_python`."""
    import numpy as np

    values = {"cpu_flags": cpu_flags()}
    rate = matmul_gflops()
    values["matmul_gflops"] = rate
    seeds = list(range(args.seed, args.seed + args.repeats))
    with tempfile.TemporaryDirectory() as work:
        set_path = evaluation_set(pathlib.Path(work, "set.npz"), args.seed)
        before = pathlib.Path(work, "before")
        _worktree(args.before, before)
        try:
            runs = {
                "before": _evaluate_in_process(
                    before, set_path, seeds, args.epochs, {}
                ),
                "after": _evaluate_in_process(ROOT, set_path, seeds, args.epochs, {}),
            }
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)],
                check=False,
            )
        train_images = int(len(np.load(set_path)["y"]))
    for name, name_runs in runs.items():
        values[f"evaluation_seconds_{name}"] = statistics.median(
            run["seconds"] for run in name_runs
        )
        values[f"evaluation_accuracy_{name}"] = [run["accuracy"] for run in name_runs]
        values[f"evaluation_curve_{name}"] = [run["curve"] for run in name_runs]
    values["evaluation_speedup"] = (
        values["evaluation_seconds_before"] / values["evaluation_seconds_after"]
    )
    full, points = args.test_images, args.curve_points
    gflop_after = evaluation_gflop(
        train_images, args.epochs, full + (points - 1) * args.curve_test_images
    )
    gflop_before = evaluation_gflop(train_images, args.epochs, points * full)
    values["evaluation_gflop"] = gflop_after
    values["evaluation_floor_seconds"] = gflop_after / rate
    values["evaluation_floor_seconds_before"] = gflop_before / rate
    values["evaluation_x_floor"] = (
        values["evaluation_seconds_after"] / values["evaluation_floor_seconds"]
    )
    step, gflop = _inline_inner_step(args, rate)
    values["inner_step_seconds"] = step
    values["inner_step_gflop"] = gflop
    values["inner_step_floor_seconds"] = gflop["total"] / rate
    values["inner_step_x_floor"] = step / values["inner_step_floor_seconds"]
    reference = reference_pytorch(
        types.SimpleNamespace(
            python=args.reference_python or sys.executable,
            repeats=args.reference_repeats,
            warmup=1,
            threads=None,
        )
    )
    values["reference_step_seconds"] = reference["inner_step"]["median"]
    values["inner_step_x_reference"] = step / values["reference_step_seconds"]
    return values
