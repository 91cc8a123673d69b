"""Distributed runs for the tests, each in a fresh process.

Logical CPU devices and `MultiWorkerMirroredStrategy` must be set up before
TensorFlow initialises, so the tests run these scenarios with
`python scenarios.py <scenario> <output folder>` and check what they write.

- `mirrored`: splits the CPU into two logical devices; distils digits under
  `one` and `mirrored` with the same seed, restores each run's checkpoint under
  the other strategy, and trains an evaluation network on the synthetic set
  under both. Writes `mirrored.npz`.
- `worker`: one worker of a multi-worker run configured by `TF_CONFIG`; distils
  into `<output>/run` and writes `images-<task index>.npy`.
"""

import json
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["CUDA_VISIBLE_DEVICES"] = ""

# Tiny settings: digits, width 8, 1 iteration of 2 inner steps, UDD with CFC.
SETTINGS = dict(
    ipc=1,
    iterations=1,
    inner_steps=2,
    width=8,
    seed=7,
    real_batch=16,
    net_images=48,
    lr_img=0.05,
    log_every=1,
    # Exact arithmetic: `auto` would pick bfloat16 on a CPU with native
    # bfloat16, whose rounding differs between one and two replicas.
    precision="float32",
)


def checkpoint_values(distiller):
    """Every checkpointed variable, per replica: {name: [replica arrays]}."""
    import tensorflow as tf

    engine = distiller.engine
    named = {
        "images": [engine.images],
        "image_velocity": [engine.image_optimizer.velocity],
        "network_velocity": engine.network_velocity,
        "network": [w.value for w in engine.model.weights],
        "class_centers": [engine.class_centers],
    }
    strategy = distiller.strategy
    return {
        f"{name}/{index}": [
            tf.convert_to_tensor(v).numpy()
            for v in strategy.experimental_local_results(variable)
        ]
        for name, variables in named.items()
        for index, variable in enumerate(variables)
    }


def largest_difference(saved, restored):
    """Max |a - b| over all variables and all replica copies."""
    return max(
        float(np.max(np.abs(copy - saved[name][0])))
        for name, copies in restored.items()
        for copy in copies
    )


def mirrored(out):
    from udd_keras.distribute import make_strategy, split_cpu

    split_cpu(2)

    import tensorflow as tf

    from udd_keras.data import load_dataset
    from udd_keras.distillation import DistillConfig, Distiller

    out = pathlib.Path(out)
    dataset = load_dataset("digits")
    config = DistillConfig("digits", **SETTINGS)
    strategies = {"one": make_strategy("one"), "mirrored": make_strategy("mirrored")}
    distillers, results = {}, {}
    for name, strategy in strategies.items():
        distillers[name] = Distiller(
            config, dataset=dataset, out_dir=out / name, strategy=strategy
        )
        results[name] = distillers[name].run()

    # Each run's checkpoint restored under the other strategy.
    restore_differences = []
    for saved, other in (("one", "mirrored"), ("mirrored", "one")):
        fresh = Distiller(config, dataset=dataset, strategy=strategies[other])
        path = tf.train.latest_checkpoint(str(out / saved / "checkpoints"))
        fresh.checkpoint.restore(path).assert_consumed()
        restore_differences.append(
            largest_difference(
                checkpoint_values(distillers[saved]), checkpoint_values(fresh)
            )
        )
    replica_spread = largest_difference(
        checkpoint_values(distillers["mirrored"]),
        checkpoint_values(distillers["mirrored"]),
    )

    np.savez(
        out / "mirrored.npz",
        replicas=[s.num_replicas_in_sync for s in strategies.values()],
        images_one=results["one"].images,
        images_mirrored=results["mirrored"].images,
        boxes_one=results["one"].boxes,
        boxes_mirrored=results["mirrored"].boxes,
        losses_one=[m["loss"] for m in results["one"].metrics],
        losses_mirrored=[m["loss"] for m in results["mirrored"].metrics],
        restore_differences=restore_differences,
        replica_spread=replica_spread,
    )
    evaluate_under_both(out, dataset, results["one"], strategies)


def evaluate_under_both(out, dataset, result, strategies):
    """Trains one evaluation network per strategy; `evaluation.json`."""
    from udd_keras.evaluation import train_and_evaluate
    from udd_keras.training import TrainingRecipe

    recipe = TrainingRecipe(
        epochs=2, batch_size=10, augment=False, cutmix_probability=0.0, width=8
    )
    report = {}
    for name, strategy in strategies.items():
        try:
            run = train_and_evaluate(
                result.images,
                result.labels,
                dataset.x_test,
                dataset.y_test,
                recipe,
                seed=3,
                num_classes=dataset.num_classes,
                strategy=strategy,
            )
            report[name] = {"accuracy": run.accuracy, "losses": run.losses}
        except Exception as error:  # Reported to the test, which fails on it.
            report[name] = {"error": f"{type(error).__name__}: {error}"[:500]}
    (out / "evaluation.json").write_text(json.dumps(report))


def worker(out):
    from udd_keras.distribute import make_strategy

    strategy = make_strategy("multi-worker")

    from udd_keras.distillation import distill

    task = json.loads(os.environ["TF_CONFIG"])["task"]
    out = pathlib.Path(out)
    result = distill("digits", out_dir=out / "run", strategy=strategy, **SETTINGS)
    np.save(out / f"images-{task['index']}.npy", result.images)


if __name__ == "__main__":
    import numpy as np

    scenario, folder = sys.argv[1:3]
    {"mirrored": mirrored, "worker": worker}[scenario](folder)
