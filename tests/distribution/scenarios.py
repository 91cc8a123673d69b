"""Distributed runs for the tests, each in a fresh process.

Logical CPU devices and `MultiWorkerMirroredStrategy` must be set up before
TensorFlow initialises, so the tests run these scenarios with
`python scenarios.py <scenario> <output folder>` and check the files they write.

- `mirrored`: splits the CPU into two logical devices; distils digits under
  `one` and `mirrored` with the same seed, evaluates the `one` result under both,
  and resumes a `one` checkpoint under `mirrored`. Writes `mirrored.npz`.
- `worker`: one worker of a multi-worker run configured by `TF_CONFIG`; distils
  into `<output>/run` and writes `images-<task index>.npy`.
"""

import json
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["CUDA_VISIBLE_DEVICES"] = ""

# Tiny settings: digits, width 8, 1 iteration of 2 inner steps.
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
)


def mirrored(out):
    from udd_keras.distribute import make_strategy, split_cpu

    devices = split_cpu(2)

    from udd_keras.data import load_dataset
    from udd_keras.distillation import distill
    from udd_keras.evaluation import train_and_evaluate

    dataset = load_dataset("digits")
    one, two = make_strategy("one"), make_strategy("mirrored")
    results = {
        name: distill(dataset, strategy=strategy, **SETTINGS)
        for name, strategy in (("one", one), ("mirrored", two))
    }
    evaluations = {
        name: train_and_evaluate(
            results["one"].images,
            results["one"].labels,
            dataset.x_test,
            dataset.y_test,
            epochs=3,
            batch_size=10,
            augment=False,
            cutmix_probability=0.0,
            width=8,
            seed=3,
            num_classes=dataset.num_classes,
            strategy=strategy,
        )
        for name, strategy in (("one", one), ("mirrored", two))
    }
    # A checkpoint written under `one`, resumed under `mirrored`.
    run_dir = pathlib.Path(out) / "resumed"
    distill(dataset, out_dir=run_dir, strategy=one, **SETTINGS)
    longer = dict(SETTINGS, iterations=2)
    resumed = distill(dataset, out_dir=run_dir, resume=True, strategy=two, **longer)
    straight = distill(dataset, strategy=one, **longer)
    np.savez(
        pathlib.Path(out) / "mirrored.npz",
        devices=np.array(devices),
        replicas=np.array([one.num_replicas_in_sync, two.num_replicas_in_sync]),
        images_one=results["one"].images,
        images_mirrored=results["mirrored"].images,
        initial=dataset.x_train[:0],
        boxes_one=results["one"].boxes,
        boxes_mirrored=results["mirrored"].boxes,
        losses_one=[m["loss"] for m in results["one"].metrics],
        losses_mirrored=[m["loss"] for m in results["mirrored"].metrics],
        accuracy=[evaluations[n].accuracy for n in ("one", "mirrored")],
        train_losses_one=evaluations["one"].losses,
        train_losses_mirrored=evaluations["mirrored"].losses,
        images_resumed=resumed.images,
        images_straight=straight.images,
    )


def worker(out):
    from udd_keras.distribute import make_strategy

    strategy = make_strategy("multi-worker")

    from udd_keras.distillation import distill

    task = json.loads(os.environ["TF_CONFIG"])["task"]
    result = distill(
        "digits", out_dir=pathlib.Path(out) / "run", strategy=strategy, **SETTINGS
    )
    np.save(pathlib.Path(out) / f"images-{task['index']}.npy", result.images)


if __name__ == "__main__":
    import numpy as np

    scenario, folder = sys.argv[1:3]
    {"mirrored": mirrored, "worker": worker}[scenario](folder)
