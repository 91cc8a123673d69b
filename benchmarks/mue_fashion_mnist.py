"""mUE and test accuracy of FashionMNIST IPC 1: real initialisation vs UDD.

Two sets of one image per class are compared:

- `init`: the un-optimised initialisation of the distilled set, the random real
  images `udd_keras.distillation` starts from (same seed, so the very same
  images);
- `udd`: those images after a short UDD distillation
  (`udd_keras.distillation.distill(..., method="udd")`).

For each set the script records its mUE (`udd_keras.metrics.measure_sets`: a
ConvNet-3 trained on the set itself with the evaluation protocol, last block's
maps, one reference range over both sets) and its test accuracy
(`udd_keras.evaluation.evaluate`: fresh ConvNet-3s trained on the set, tested
on the 10,000 real test images). Results go to
`benchmarks/results/mue-fashion_mnist.json` and `.md` with the machine, the
library versions, every setting and seed, and timings.

The default budget (8 x 10 distillation steps) takes about 10 minutes of
distillation on 2 CPU cores; the paper distils for 2000 x 100 steps on a GPU,
so expect the gap to the initialisation to be far smaller than the paper's.

Usage:
    python benchmarks/mue_fashion_mnist.py                 # the recorded run
    python benchmarks/mue_fashion_mnist.py --iterations 1 --inner-steps 1 \
        --eval-epochs 2 --mue-epochs 2 --repeats 1 --out /tmp/smoke  # smoke test
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
DATASET = "fashion_mnist"
IPC = 1


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=8)
    parser.add_argument("--inner-steps", type=int, default=10)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--eval-epochs", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mue-epochs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--work-dir",
        type=pathlib.Path,
        default=pathlib.Path("/tmp/udd-mue-fashion_mnist"),
        help="Where the two sets and the distillation run are written.",
    )
    parser.add_argument(
        "--out",
        type=pathlib.Path,
        default=RESULTS / "mue-fashion_mnist",
        help="Results path without suffix (.json and .md are written).",
    )
    return parser.parse_args(argv)


def machine():
    """The machine and library versions, for the record."""
    import keras
    import numpy as np
    import tensorflow as tf

    import udd_keras

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else None,
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "python": sys.version.split()[0],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "udd_keras": udd_keras.__version__,
    }


def write_init_set(dataset, path, seed):
    """Writes the distillation's starting images (init "real", `seed`) as a set."""
    from udd_keras.distillation.initialization import initial_images
    from udd_keras.tfrecords import SyntheticSetMetadata, write_synthetic_set

    images, labels = initial_images(
        dataset.x_train,
        dataset.y_train,
        dataset.num_classes,
        IPC,
        init="real",
        seed=seed,
    )
    metadata = SyntheticSetMetadata(
        dataset=dataset.name,
        image_shape=dataset.image_shape,
        num_classes=dataset.num_classes,
        class_names=dataset.class_names,
        ipc=IPC,
        method="random",
        normalization=dataset.normalization.to_dict(),
        extra={"init": "real", "seed": seed, "note": "UDD initialisation"},
    )
    return write_synthetic_set(path, images, labels, metadata)


def evaluate_set(source, args):
    """Test accuracy of fresh ConvNet-3s trained on the set (mean, std, runs)."""
    from udd_keras.evaluation import evaluate

    report = evaluate(
        source,
        epochs=args.eval_epochs,
        repeats=args.repeats,
        eval_every=args.eval_epochs,
        width=args.width,
        seed=args.seed,
    )
    result = report.results[0]
    return {
        "accuracy_mean": result.accuracy_mean,
        "accuracy_std": result.accuracy_std,
        "accuracies": list(result.accuracies),
        "training_images": report.settings["training_images"],
        "seconds": result.seconds,
    }


def markdown(record):
    """The results as a short Markdown report."""
    settings, host = record["settings"], record["machine"]
    lines = [
        "# mUE on FashionMNIST, IPC 1: real initialisation vs UDD",
        "",
        f"Run {record['date']} on {host['processor']}, {host['cpus_usable']} "
        f"usable CPU cores, GPUs: {host['gpus'] or 'none'}; Python "
        f"{host['python']}, TensorFlow {host['tensorflow']}, Keras "
        f"{host['keras']}, numpy {host['numpy']}, udd-keras {host['udd_keras']}.",
        "",
        "| set | mUE | test accuracy (%) | training images |",
        "|---|---|---|---|",
    ]
    for name, entry in record["sets"].items():
        accuracy = entry["evaluation"]
        runs = ", ".join(f"{100 * a:.2f}" for a in accuracy["accuracies"])
        lines.append(
            f"| {name} | {entry['mue']['overall_mue']:.4f} | "
            f"{100 * accuracy['accuracy_mean']:.2f} ± "
            f"{100 * accuracy['accuracy_std']:.2f} ({runs}) | "
            f"{accuracy['training_images']} |"
        )
    if {"init", "udd"} <= set(record["sets"]):
        init, udd = record["sets"]["init"], record["sets"]["udd"]
        mue_change = udd["mue"]["overall_mue"] - init["mue"]["overall_mue"]
        accuracy_change = 100 * (
            udd["evaluation"]["accuracy_mean"] - init["evaluation"]["accuracy_mean"]
        )
        lines += [
            "",
            f"UDD minus initialisation: mUE {mue_change:+.4f}, test accuracy "
            f"{accuracy_change:+.2f} points.",
        ]
    lines += [
        "",
        "Per-class mUE:",
        "",
        "| class | " + " | ".join(record["sets"]) + " |",
        "|---|" + "---|" * len(record["sets"]),
    ]
    classes = next(iter(record["sets"].values()))["mue"]["per_class_mue"]
    for name in classes:
        values = [
            f"{entry['mue']['per_class_mue'][name]:.4f}"
            for entry in record["sets"].values()
        ]
        lines.append(f"| {name} | " + " | ".join(values) + " |")
    value_range = next(iter(record["sets"].values()))["mue"]["value_range"]
    lines += [
        "",
        "Settings: "
        f"UDD distillation {settings['iterations']} iterations x "
        f"{settings['inner_steps']} inner steps (paper: 2000 x 100), ConvNet-3 "
        f"width {settings['width']}, seed {settings['seed']} "
        f"({record['timings']['distill_seconds']:.0f} s). "
        f"mUE: a ConvNet-3 trained on each set itself for "
        f"{settings['mue_epochs']} epochs (evaluation recipe, seed "
        f"{settings['seed']}), maps of its last block, D = 5..10, one reference "
        f"range over both sets: [{value_range[0]:.4g}, {value_range[1]:.4g}]. "
        f"Accuracy: {settings['repeats']} fresh ConvNet-3s per set, "
        f"{settings['eval_epochs']} epochs, seeds {settings['seed']}.."
        f"{settings['seed'] + settings['repeats'] - 1}, DSA + CutMix 0.5, "
        "tested on the 10,000 real test images.",
        "",
        f"Reproduce: `python benchmarks/mue_fashion_mnist.py "
        f"--iterations {settings['iterations']} --inner-steps "
        f"{settings['inner_steps']} --eval-epochs {settings['eval_epochs']} "
        f"--repeats {settings['repeats']} --mue-epochs {settings['mue_epochs']} "
        f"--width {settings['width']} --seed {settings['seed']}`.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    from udd_keras.data import load_dataset
    from udd_keras.distillation import distill
    from udd_keras.metrics import measure_sets

    args.work_dir.mkdir(parents=True, exist_ok=True)
    timings = {}
    dataset = load_dataset(DATASET)
    init_path = write_init_set(dataset, args.work_dir / "init.tfrecord", args.seed)

    start = time.perf_counter()
    result = distill(
        dataset,
        ipc=IPC,
        method="udd",
        iterations=args.iterations,
        inner_steps=args.inner_steps,
        width=args.width,
        seed=args.seed,
        out_dir=args.work_dir / "udd-run",
        force=True,
    )
    timings["distill_seconds"] = time.perf_counter() - start
    udd_path = args.work_dir / "udd.tfrecord"
    udd_path.write_bytes(
        (args.work_dir / "udd-run" / "synthetic.tfrecord").read_bytes()
    )
    print(f"distilled in {timings['distill_seconds']:.0f} s", flush=True)

    start = time.perf_counter()
    measured = measure_sets(
        [init_path, udd_path],
        epochs=args.mue_epochs,
        seed=args.seed,
        width=args.width,
        on_progress=lambda message: print(message, flush=True),
    )
    timings["mue_seconds"] = time.perf_counter() - start

    sets = {}
    for entry in measured:
        print(f"evaluating {entry.name}", flush=True)
        mue = entry.to_dict()
        del mue["per_image_mue"], mue["labels"]
        mue["per_image_mue"] = [round(v, 6) for v in entry.report.per_image.tolist()]
        sets[entry.name] = {"mue": mue, "evaluation": evaluate_set(entry.source, args)}
    timings["total_seconds"] = sum(
        [timings["distill_seconds"], timings["mue_seconds"]]
        + [s["evaluation"]["seconds"] for s in sets.values()]
    )

    record = {
        "benchmark": "mue_fashion_mnist",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "machine": machine(),
        "settings": {
            "dataset": DATASET,
            "ipc": IPC,
            "method": "udd",
            "iterations": args.iterations,
            "inner_steps": args.inner_steps,
            "width": args.width,
            "eval_epochs": args.eval_epochs,
            "repeats": args.repeats,
            "mue_epochs": args.mue_epochs,
            "seed": args.seed,
            "distill_config": result.config.to_dict(),
        },
        "timings": timings,
        "sets": sets,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    json_path = args.out.with_suffix(".json")
    json_path.write_text(json.dumps(record, indent=2) + "\n")
    md_path = args.out.with_suffix(".md")
    md_path.write_text(markdown(record))
    print(md_path.read_text())
    print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
