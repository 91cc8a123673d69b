"""Quality at a fixed budget: UDD (jitter, activation), IDC and the initialisation.

Every method gets the same number of inner steps (image updates), is distilled with
the same seeds, and is evaluated with the same protocol, epochs and repeats. Writes
`benchmarks/results/quality-<dataset>-ipc<N>.json` and `.md`.

    python benchmarks/quality.py                       # FashionMNIST, IPC 1
    python benchmarks/quality.py --ipc 10 --budget 100
    python benchmarks/quality.py --dataset digits --budget 10 --epochs 20  # smoke
    # every distilled method with the same extra settings (DistillConfig fields)
    python benchmarks/quality.py --methods udd-jitter-mosaic idc \
        --set image_optimizer=adam --set lr_img=0.01 --set init_selection=kmeans
    # each distilled method at each precision, same seeds and steps (one row each)
    python benchmarks/quality.py --methods idc --precisions float32 mixed_bfloat16
"""

import argparse
import datetime
import json
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from _environment import environment  # noqa: E402
from budget_curve import add_set_option, checked_overrides  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results"

# Paper Table 1 (ConvNet-3, top-1 %): (random, IDC, UDD) per dataset and IPC.
PAPER = {
    ("fashion_mnist", 1): {"random": 51.4, "idc": 81.0, "udd": 82.3},
    ("fashion_mnist", 10): {"random": 73.8, "idc": 86.0, "udd": 86.6},
    ("fashion_mnist", 50): {"random": 82.5, "idc": 86.2, "udd": 86.8},
    ("mnist", 1): {"random": 64.9, "idc": 94.2, "udd": 95.6},
    ("mnist", 10): {"random": 95.1, "idc": 98.4, "udd": 98.4},
    ("cifar10", 1): {"random": 14.4, "idc": 50.6, "udd": 54.6},
    ("cifar10", 10): {"random": 26.0, "idc": 67.5, "udd": 68.9},
}

# name -> (distillation settings, paper column)
METHODS = {
    "udd-jitter": ({"method": "udd", "policy": "jitter"}, "udd"),
    "udd-activation": ({"method": "udd", "policy": "activation"}, "udd"),
    "idc": ({"method": "idc"}, "idc"),
    # UDD's regions and CFC on IDC's initialisation (factor**2 real images per
    # synthetic image): separates the effect of the initialisation.
    "udd-jitter-mosaic": (
        {"method": "udd", "policy": "jitter", "init": "mosaic"},
        "udd",
    ),
    # The same with the fixed factor x factor tiles instead of mined regions.
    "udd-uniform-mosaic": (
        {"method": "udd", "policy": "uniform", "init": "mosaic"},
        "udd",
    ),
    "init": (None, "random"),
}


DEFAULT_METHODS = ["udd-jitter", "udd-activation", "idc", "init"]
# DistillConfig fields this script sets from its own flags (not through --set).
_OWN_FLAGS = {
    "iterations": "--budget",
    "inner_steps": "--inner-steps",
    "width": "--width",
    "precision": "--precisions",
}


def parse_args(argv=None):
    from udd_keras.distillation.config import PRECISIONS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--ipc", type=int, default=1)
    parser.add_argument(
        "--budget", type=int, default=200, help="inner steps (image updates) per method"
    )
    parser.add_argument(
        "--inner-steps",
        type=int,
        default=100,
        help="inner steps per outer iteration (network re-init)",
    )
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0], help="distillation seeds"
    )
    parser.add_argument(
        "--methods", nargs="+", default=list(METHODS), choices=list(METHODS)
    )
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument(
        "--precisions",
        nargs="+",
        default=["float32"],
        choices=PRECISIONS,
        help="distil every method at each (DistillConfig.precision); one row each",
    )
    add_set_option(
        parser, "a DistillConfig field applied to every distilled method (repeatable)"
    )
    parser.add_argument("--tag", default="")
    args = parser.parse_args(argv)
    args.overrides = checked_overrides(parser, args.overrides)
    for key, flag in _OWN_FLAGS.items():
        if key in args.overrides:
            parser.error(f"--set {key}: use {flag} instead")
    return args


def method_settings(name, args, precision="float32"):
    """The `DistillConfig` fields of method `name` at `precision`, with `--set`
    applied; None for `init` (the un-optimised initialisation)."""
    settings = METHODS[name][0]
    if settings is None:
        return None
    return {**settings, **args.overrides, "precision": precision}


def runs(args):
    """`(row label, method name, precision)` of every row of the table.

    `init` takes no step, so it has one row whatever the precisions; the label
    names the precision only when more than one is compared.
    """
    rows = []
    for name in args.methods:
        precisions = args.precisions if METHODS[name][0] is not None else [None]
        for precision in precisions:
            label = name
            if precision is not None and len(args.precisions) > 1:
                label = f"{name} ({precision})"
            rows.append((label, name, precision or "float32"))
    return rows


def distill_set(dataset, name, settings, args, seed, workdir):
    """Distils (or, for `init`, only initialises) one set; returns path, seconds."""
    from udd_keras.distillation import DistillConfig, Distiller, export

    if settings is None:  # the un-optimised initialisation of UDD
        settings = {"method": "udd", "policy": "none", "include_original": True}
        iterations, inner = 1, 1
    else:
        inner = min(args.inner_steps, args.budget)
        iterations = max(1, args.budget // inner)
    config = DistillConfig(
        dataset=dataset.name,
        ipc=args.ipc,
        iterations=iterations,
        inner_steps=inner,
        width=args.width,
        seed=seed,
        log_every=max(1, inner // 5),
        **settings,
    )
    out = pathlib.Path(workdir) / f"{name}-seed{seed}"
    start = time.perf_counter()
    if name == "init":
        distiller = Distiller(config, dataset=dataset)
        result = distiller.snapshot()  # no step taken: the initial images
        export(result, dataset, out / "synthetic.tfrecord")
        return out / "synthetic.tfrecord", 0.0, []
    distiller = Distiller(
        config, dataset=dataset, out_dir=out, callbacks=[_PrintEvery(inner)]
    )
    result = distiller.run()
    seconds = time.perf_counter() - start
    losses = [m["matching_loss"] for m in result.metrics]
    return out / "synthetic.tfrecord", seconds, losses


class _PrintEvery:
    """Prints one progress line per outer iteration (for logs, not terminals)."""

    def __init__(self, every):
        self.every = every

    def on_step(self, step, total, record):
        if step % self.every == 0:
            print(
                f"  step {step}/{total} matching {record['matching_loss']:.4g} "
                f"({record['seconds']:.2f} s/step)",
                flush=True,
            )


def machine():
    """Machine facts and versions, flat, for the report."""
    recorded = environment()
    return {**recorded["machine"], **recorded["versions"]}


def _overrides_text(overrides):
    if not overrides:
        return "."
    return (
        "; every distilled method with "
        + ", ".join(f"`{key}={value}`" for key, value in overrides.items())
        + "."
    )


def _precisions_text(precisions):
    if len(precisions) < 2:
        return []
    return [
        f"Every distilled method at each precision ({', '.join(precisions)}): "
        "the same seeds, steps and evaluation; evaluation networks are float32.",
    ]


def markdown(report):
    paper = report["paper"]
    lines = [
        f"# Quality at a fixed budget: {report['dataset']}, IPC {report['ipc']}",
        "",
        f"Run {report['date']}; `{report['command']}`.",
        f"Budget: {report['settings']['budget']} inner steps per method "
        f"({report['settings']['inner_steps']} per outer iteration); evaluation "
        f"ConvNet-3, {report['settings']['epochs']} epochs x "
        f"{report['settings']['repeats']} repeats per set; distillation seeds "
        f"{report['settings']['seeds']}"
        + _overrides_text(report["settings"].get("overrides")),
        *_precisions_text(report["settings"].get("precisions", ["float32"])),
        "",
        "| method | accuracy (%) mean ± std | runs | distill (s) | evaluate (s) "
        "| paper (%) |",
        "|---|---|---|---|---|---|",
    ]
    for row in report["results"]:
        lines.append(
            f"| {row['method']} | {row['accuracy_mean']:.2f} ± "
            f"{row['accuracy_std']:.2f} | {len(row['accuracies'])} | "
            f"{row['distill_seconds']:.0f} | {row['evaluate_seconds']:.0f} | "
            f"{paper.get(row['paper_column'], '-')} |"
        )
    lines += [
        "",
        "Paper numbers are the full budget (2000 outer iterations x 100 inner steps "
        "on a GPU); `init` is the un-optimised initialisation (random real images) "
        "and is compared with the paper's random-coreset column.",
        f"Machine: {report['machine']['platform']}, {report['machine']['processor']}, "
        f"{report['machine']['cpu_count']} CPUs, {report['machine']['gpus']} GPUs.",
        f"Versions: python {report['machine']['python']}, tensorflow "
        f"{report['machine']['tensorflow']}, keras {report['machine']['keras']}, "
        f"numpy {report['machine']['numpy']}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    from udd_keras.data import load_dataset
    from udd_keras.evaluation import evaluate

    dataset = load_dataset(args.dataset)
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for label, name, precision in runs(args):
            settings = method_settings(name, args, precision)
            column = METHODS[name][1]
            accuracies, distill_seconds, evaluate_seconds, losses = [], 0.0, 0.0, {}
            for seed in args.seeds:
                path, seconds, curve = distill_set(
                    dataset,
                    name,
                    settings,
                    args,
                    seed,
                    pathlib.Path(workdir) / precision,
                )
                distill_seconds += seconds
                losses[seed] = curve
                start = time.perf_counter()
                report = evaluate(
                    path, epochs=args.epochs, repeats=args.repeats, seed=seed * 100
                )
                evaluate_seconds += time.perf_counter() - start
                accuracies += [
                    100.0 * a for a in report.to_dict()["results"][0]["accuracies"]
                ]
                print(f"{label} seed {seed}: {np.mean(accuracies):.2f}%", flush=True)
            rows.append(
                {
                    "method": label,
                    "precision": precision,
                    "paper_column": column,
                    "settings": settings,
                    "accuracy_mean": float(np.mean(accuracies)),
                    "accuracy_std": float(np.std(accuracies)),
                    "accuracies": accuracies,
                    "distill_seconds": distill_seconds,
                    "evaluate_seconds": evaluate_seconds,
                    "matching_loss_curve": losses,
                }
            )
    report = {
        "dataset": args.dataset,
        "ipc": args.ipc,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": "python benchmarks/quality.py " + " ".join(argv or sys.argv[1:]),
        "settings": vars(args),
        "paper": PAPER.get((args.dataset, args.ipc), {}),
        "machine": machine(),
        "results": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = f"quality-{args.dataset}-ipc{args.ipc}{('-' + args.tag) if args.tag else ''}"
    (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=2))
    (RESULTS / f"{stem}.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
