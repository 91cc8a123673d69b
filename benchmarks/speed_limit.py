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

`profile` (the `speed-profile` experiment) splits those times into their parts
and measures XLA (`jit_compile=True`) beside the plain traced functions.
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
    _StepSeconds,
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

    config = DistillConfig(
        "fashion_mnist",
        ipc=1,
        method="udd",
        iterations=1,
        inner_steps=args.steps + args.warmup,
        precision="float32",
        seed=args.seed,
    )
    times = _StepSeconds()
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


def profile(args):
    """Where an evaluation's and an inner step's time goes, with and without XLA.

    Times (median seconds, `repeats` runs after one warm-up) of a ConvNet-3
    width-128 classifier on `train_images` FashionMNIST images: the whole
    training step (augmentation, CutMix, forward, backward, SGD), the forward
    and backward pass alone (plain and `jit_compile=True`), the augmentation
    alone; a full test pass at batches of 500 and at `batch_size_for_testing`
    (plain and XLA); and the engine's matching step of one class (plain and
    XLA). FLOP floors at the measured matmul rate where the work is counted.
    """
    import keras
    import tensorflow as tf

    from benchmarks.timing import engine_for, fetched, matching_step_function, timed
    from udd_keras.augmentation import augment
    from udd_keras.data import load_dataset
    from udd_keras.training import TrainingRecipe, build_classifier, top1_accuracy
    from udd_keras.training.classifier import batch_size_for_testing
    from udd_keras.training.step import ClassifierStep

    def median(function):
        return timed(fetched(function), args.repeats, 1)["median"]

    rate = matmul_gflops()
    dataset = load_dataset("fashion_mnist")
    recipe = TrainingRecipe().for_dataset("fashion_mnist")
    model = build_classifier(recipe, (28, 28, 1), 10, args.seed)
    optimizer = keras.optimizers.SGD(0.01, momentum=0.9)
    optimizer.build(model.trainable_variables)
    step = ClassifierStep(
        model, optimizer, 10, recipe.augmentation, recipe.cutmix_probability, 5e-4
    )
    images = tf.constant(dataset.x_train[: args.train_images])
    labels = tf.constant(dataset.y_train[: args.train_images].astype("int32"))
    seeds = tf.constant([[0, 1], [2, 3]], tf.int64)

    def gradients(batch):
        with tf.GradientTape() as tape:
            logits = model(batch, training=True)
            loss = tf.reduce_sum(
                keras.losses.sparse_categorical_crossentropy(labels, logits, True)
            )
        return tape.gradient(loss, model.trainable_variables)

    values = {"matmul_gflops": rate, "train_images": args.train_images}
    values["train_step_seconds"] = median(lambda: step(images, labels, *seeds)[0])
    plain, xla = tf.function(gradients), tf.function(gradients, jit_compile=True)
    values["forward_backward_seconds"] = median(lambda: plain(images))
    values["forward_backward_xla_seconds"] = median(lambda: xla(images))
    augmenting = tf.function(
        lambda batch: augment(batch, recipe.augmentation, seeds[0], per_sample=True)
    )
    values["augmentation_seconds"] = median(lambda: augmenting(images))
    train_gflop = evaluation_gflop(args.train_images, 1, 0)
    values["train_step_floor_seconds"] = train_gflop / rate
    x_test, y_test = dataset.x_test, dataset.y_test

    def classify(jit):
        function = tf.function(
            lambda batch: tf.argmax(model(batch, training=False), -1), jit_compile=jit
        )
        return lambda batch: function(batch)

    cache_batch = batch_size_for_testing((28, 28, 1), 128, on_gpu=False)
    values["test_batch_size"] = cache_batch
    for name, batch, jit in (
        ("test_pass_batch500", 500, False),
        ("test_pass", cache_batch, False),
        ("test_pass_xla", cache_batch, True),
    ):
        function = classify(jit)
        values[f"{name}_seconds"] = timed(
            lambda f=function, b=batch: top1_accuracy(f, x_test, y_test, b),
            max(1, args.repeats // 2),
            1,
        )["median"]
    test_gflop = evaluation_gflop(0, 0, len(x_test))
    values["test_pass_floor_seconds"] = test_gflop / rate
    engine, key, boxes = engine_for(args)
    matching = matching_step_function(engine)
    values["matching_step_seconds"] = median(lambda: matching(key, boxes))
    try:
        matching_xla = tf.function(matching.python_function, jit_compile=True)
        values["matching_step_xla_seconds"] = median(lambda: matching_xla(key, boxes))
    except Exception as error:  # an op XLA cannot compile on this device
        values["matching_step_xla_seconds"] = None
        values["matching_step_xla_error"] = str(error).splitlines()[0][:200]
    return values
