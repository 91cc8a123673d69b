"""Benchmark: random coresets of real FashionMNIST, evaluated with ConvNet-3.

Selects a random coreset (IPC 1 and IPC 10 by default) from the real FashionMNIST
training set, stores it as a synthetic-set TFRecord exactly as
`udd-keras coreset` does, and evaluates it with `udd_keras.evaluation.evaluate`:
the protocol's defaults (ConvNet-3 width 128, lr 0.01, batch 64, DSA + CutMix
0.5). The paper's numbers for random selection (Table 1): 51.4 (IPC 1) and 73.8
(IPC 10).

Writes `benchmarks/results/coreset-fashion_mnist.json` and `.md` after every IPC,
so an interrupted run keeps what it finished.

Usage:
    python benchmarks/coreset_fashion_mnist.py --epochs 300 --repeats 2
"""

import argparse
import datetime
import os
import pathlib
import tempfile
import time

from _environment import environment, versions_text

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PAPER_RANDOM = {1: 51.4, 10: 73.8, 50: 82.5}
RESULTS = pathlib.Path(__file__).parent / "results"
NAME = "coreset-fashion_mnist"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ipc", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--eval-every",
        type=int,
        default=None,
        help="Epochs between test points (default: only at the end; each test "
        "pass over the 10,000 test images costs tens of seconds on a CPU).",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    return parser.parse_args(argv)


def write_coreset(dataset, ipc, seed, folder):
    """Selects a random coreset and stores it as `udd-keras coreset` does."""
    from udd_keras.coreset import select_coreset
    from udd_keras.tfrecords import SyntheticSetMetadata, write_synthetic_set

    indices = select_coreset(dataset, ipc, "random", seed)
    metadata = SyntheticSetMetadata(
        dataset=dataset.name,
        image_shape=dataset.image_shape,
        num_classes=dataset.num_classes,
        class_names=dataset.class_names,
        ipc=ipc,
        method="random",
        normalization=dataset.normalization.to_dict(),
        extra={"seed": seed, "indices": indices.tolist()},
    )
    path = pathlib.Path(folder) / f"coreset-ipc{ipc}.tfrecord"
    labels = dataset.y_train[indices]
    return write_synthetic_set(path, dataset.x_train[indices], labels, metadata)


def markdown(summary):
    settings = summary["settings"]
    lines = [
        "# Random coreset, FashionMNIST, ConvNet-3",
        "",
        f"Run {summary['finished']}; `python benchmarks/coreset_fashion_mnist.py "
        f"--epochs {settings['epochs']} --repeats {settings['repeats']}`.",
        "",
        "| IPC | ours (%) mean ± std | runs | paper (%) | epochs | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for row in summary["rows"]:
        lines.append(
            f"| {row['ipc']} | {100 * row['accuracy_mean']:.2f} ± "
            f"{100 * row['accuracy_std']:.2f} | {len(row['accuracies'])} | "
            f"{row['paper']} | {row['epochs']} | {row['seconds']:.0f} |"
        )
    machine, versions = summary["machine"], summary["versions"]
    lines += [
        "",
        f"Protocol: {settings['protocol']}.",
        f"Coreset seed {settings['seed']} (one random subset per IPC); training "
        f"seeds {settings['seed']}..{settings['seed'] + settings['repeats'] - 1}. "
        "Accuracy on the whole 10,000-image test split after the last epoch. "
        "Seconds are wall-clock for all runs of an IPC, including loading the "
        "data and testing, on a machine that may be shared.",
        f"Machine: {machine['platform']}, {machine['cpu_count']} CPUs, "
        f"{machine['gpus']} GPUs.",
        "Versions: " + versions_text(versions) + ".",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    from udd_keras.data import load_dataset
    from udd_keras.evaluation import evaluate
    from udd_keras.evaluation.report import write_json_atomic
    from udd_keras.training import TrainingRecipe, dsa_strategy_for

    dataset = load_dataset("fashion_mnist", data_dir=args.data_dir)
    eval_every = args.eval_every or args.epochs
    summary = {
        **environment(),
        "settings": {
            "epochs": args.epochs,
            "repeats": args.repeats,
            "seed": args.seed,
            "eval_every": eval_every,
            "protocol": (
                "ConvNet-3 (width 128, instance norm), SGD lr 0.01 momentum 0.9, "
                "weight decay 5e-4, lr x0.2 at 2/3 and 5/6 of training, batch 64 "
                f"(or the set size), DSA '{dsa_strategy_for('fashion_mnist')}' "
                "per sample, CutMix p=0.5"
            ),
        },
        "rows": [],
    }
    with tempfile.TemporaryDirectory() as folder:
        for ipc in args.ipc:
            path = write_coreset(dataset, ipc, args.seed, folder)
            start = time.perf_counter()
            report = evaluate(
                path,
                TrainingRecipe(epochs=args.epochs),
                repeats=args.repeats,
                seed=args.seed,
                eval_every=eval_every,
                data_dir=args.data_dir,
            )
            seconds = time.perf_counter() - start
            result = report.results[0]
            summary["rows"].append(
                {
                    "ipc": ipc,
                    "paper": PAPER_RANDOM.get(ipc),
                    "accuracy_mean": result.accuracy_mean,
                    "accuracy_std": result.accuracy_std,
                    "accuracies": result.accuracies,
                    "training_seeds": [run.seed for run in result.runs],
                    "epochs": args.epochs,
                    "seconds": seconds,
                    "seconds_per_run": [run.seconds for run in result.runs],
                }
            )
            summary["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
            write_json_atomic(args.out / f"{NAME}.json", summary)
            (args.out / f"{NAME}.md").write_text(markdown(summary))
            print(
                f"IPC {ipc}: {100 * result.accuracy_mean:.2f} ± "
                f"{100 * result.accuracy_std:.2f} % in {seconds:.0f} s "
                f"(paper {PAPER_RANDOM.get(ipc)})",
                flush=True,
            )


if __name__ == "__main__":
    main()
