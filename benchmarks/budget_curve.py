"""Accuracy against wall-clock distillation time (issue 9).

Distils one set under a wall-clock budget, saving the current images at fixed
minute marks (and at initialisation and at the end), then evaluates every saved
state with the same protocol. Snapshot and export time is not charged to the
budget; the first steps' tf.function tracing is. By default the set is distilled
on 90% of the training set and evaluated on the held-out 10% (`--split
validation`), so settings can be chosen without the test set. Writes
`<out>/budget-<dataset>-ipc<N>-<tag or preset>-seed<S>.json`, `.md` and `.png`.

    python benchmarks/budget_curve.py                          # 60 min, FashionMNIST
    python benchmarks/budget_curve.py --minutes 20 --set lr_img=1e-3 --tag lr1e-3
    python benchmarks/budget_curve.py --dataset digits --minutes 0.5 \\
        --snapshots 0.1 0.25 --epochs 20 --set width=16        # smoke
"""

import argparse
import dataclasses
import datetime
import json
import os
import pathlib
import re
import shlex
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _environment import environment  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
DEFAULT_SNAPSHOTS = (5.0, 10.0, 20.0, 30.0, 45.0, 60.0)
SPLITS = ("validation", "test")
VALIDATION_FRACTION = 0.1
VALIDATION_SEED = 0
EVAL_SEED_OFFSET = 1000
# Set by the CLI flags of their own; not accepted by --set.
RESERVED_KEYS = ("dataset", "ipc", "method", "seed")


def parse_value(text):
    """A `--set` value: JSON when it parses (numbers, lists, bools), else the text.

    Example:
    >>> parse_value("1e-3"), parse_value("[0.5, 0.75]"), parse_value("mosaic")
    (0.001, [0.5, 0.75], 'mosaic')
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_overrides(pairs):
    """`["KEY=VALUE", ...]` -> dict of `DistillConfig` fields.

    Raises:
        ValueError: a pair without `=`, an unknown field or a reserved one.
    """
    from udd_keras.distillation import DistillConfig

    known = {field.name for field in dataclasses.fields(DistillConfig)}
    overrides = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ValueError(f"--set takes KEY=VALUE, got {pair!r}")
        if key in RESERVED_KEYS:
            raise ValueError(f"--set {key}: use --{key} instead")
        if key not in known:
            raise ValueError(
                f"--set {key}: not a DistillConfig field; allowed "
                f"{', '.join(sorted(known - set(RESERVED_KEYS)))}"
            )
        overrides[key] = parse_value(value)
    return overrides


def add_set_option(parser, help):
    """Adds the repeatable `--set KEY=VALUE` option, collected in `overrides`."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=help,
    )


def checked_overrides(parser, pairs):
    """`parse_overrides(pairs)`, or a usage error (exit 2) naming the bad pair."""
    try:
        return parse_overrides(pairs)
    except ValueError as error:
        parser.error(str(error))


def parse_args(argv=None):
    from udd_keras.distillation.presets import PRESETS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--ipc", type=int, default=1)
    parser.add_argument(
        "--method",
        default=None,
        choices=("udd", "idc"),
        help="default: the preset's method, else udd",
    )
    parser.add_argument("--preset", default="paper", choices=list(PRESETS))
    add_set_option(
        parser, "a DistillConfig field (repeatable); VALUE is JSON or a plain string"
    )
    parser.add_argument(
        "--iterations", type=int, default=None, help="planned outer iterations"
    )
    parser.add_argument(
        "--inner-steps", type=int, default=None, help="inner steps per iteration"
    )
    parser.add_argument(
        "--minutes", type=float, default=60.0, help="wall-clock distillation budget"
    )
    parser.add_argument(
        "--snapshots",
        type=float,
        nargs="+",
        default=list(DEFAULT_SNAPSHOTS),
        help="minutes at which the current images are saved",
    )
    parser.add_argument(
        "--clock",
        default="wall",
        choices=("wall", "cpu"),
        help="what the budget counts: wall-clock seconds, or this process's CPU "
        "seconds (all threads; with --threads 1, the time on one core, steady "
        "when other jobs share the machine)",
    )
    parser.add_argument(
        "--eval-points",
        default="all",
        choices=("all", "final", "init+final"),
        help="which saved states are evaluated (evaluation dominates the cost of "
        "short runs)",
    )
    parser.add_argument(
        "--from-log",
        type=pathlib.Path,
        default=None,
        help="do not distil: evaluate the snapshots a run stopped by hand left "
        "in --workdir, with the steps and times its log printed (give the "
        "run's own settings, so the report describes it)",
    )
    parser.add_argument("--split", default="validation", choices=SPLITS)
    parser.add_argument("--seed", type=int, default=0, help="distillation seed")
    parser.add_argument("--epochs", type=int, default=300, help="evaluation epochs")
    parser.add_argument("--repeats", type=int, default=2, help="evaluation repeats")
    parser.add_argument(
        "--eval-width", type=int, default=128, help="evaluation ConvNet width"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="TensorFlow intra-op threads"
    )
    parser.add_argument("--tag", default="")
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    parser.add_argument(
        "--workdir",
        type=pathlib.Path,
        default=None,
        help="keeps the run directory and snapshots (default: a deleted temp dir)",
    )
    args = parser.parse_args(argv)
    args.overrides = checked_overrides(parser, args.overrides)
    if args.from_log is not None and args.workdir is None:
        parser.error("--from-log needs the run's --workdir")
    if args.minutes <= 0:
        parser.error(f"--minutes must be > 0, got {args.minutes}")
    if any(mark <= 0 for mark in args.snapshots):
        parser.error(f"--snapshots must be > 0, got {args.snapshots}")
    return args


def set_threads(threads):
    """Sets TensorFlow's thread pools; must run before any TensorFlow op."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def thread_pools():
    """TensorFlow's thread-pool sizes in use (0: TensorFlow's default)."""
    import tensorflow as tf

    threading = tf.config.threading
    return {
        "intra_op_threads": threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": threading.get_inter_op_parallelism_threads(),
    }


def build_config(args):
    """The `DistillConfig` of the run: preset, then `--set`, then explicit flags."""
    from udd_keras.distillation import DistillConfig
    from udd_keras.distillation.presets import preset_settings

    settings = preset_settings(args.preset, **args.overrides)
    settings.update(dataset=args.dataset, ipc=args.ipc, seed=args.seed)
    if args.method is not None:
        settings["method"] = args.method
    if args.iterations is not None:
        settings["iterations"] = args.iterations
    if args.inner_steps is not None:
        settings["inner_steps"] = args.inner_steps
    return DistillConfig(**settings).resolve()


def load_split(name, split):
    """The dataset to distil on; its `x_test`/`y_test` are what is evaluated on.

    `validation`: 90% of the training set, tested on the held-out 10%;
    `test`: the whole training set, tested on the real test set.
    """
    from udd_keras.data import load_dataset, split_validation

    dataset = load_dataset(name)
    if split == "validation":
        return split_validation(dataset, VALIDATION_FRACTION, seed=VALIDATION_SEED)
    return dataset


def mark_name(minutes):
    """`5.0` -> `"5"`, `0.25` -> `"0.25"`: the minute mark in file names."""
    return f"{minutes:g}"


class _BudgetSpent(Exception):
    """Raised from the callback to stop a run whose budget is used up."""


class BudgetClock:
    """Wall time of a distillation, less the time spent taking snapshots.

    Args:
        distiller: the `Distiller` whose state is saved.
        dataset: the `ImageDataset` it distils.
        workdir: folder of the snapshot TFRecords.
        budget_seconds: float, stop once this much distillation time is spent.
        marks: minutes at which to save a snapshot (those before the budget).
        inner_steps: int, steps per outer iteration (one log line each).
    """

    def __init__(
        self, distiller, dataset, workdir, budget_seconds, marks, inner, clock="wall"
    ):
        self.distiller = distiller
        self.clock = time.process_time if clock == "cpu" else time.perf_counter
        self.dataset = dataset
        self.workdir = pathlib.Path(workdir)
        self.budget_seconds = budget_seconds
        self.marks = sorted(m for m in set(marks) if m * 60.0 < budget_seconds)
        self.inner_steps = inner
        self.points = []
        self.paused = self.wall_paused = 0.0
        self.start = self.wall_start = None
        self.steps = 0
        self.last_elapsed = 0.0
        self.matching_loss = []

    def begin(self):
        self.start, self.wall_start = self.clock(), time.perf_counter()
        self.paused = self.wall_paused = 0.0  # the init snapshot is not charged

    def elapsed(self):
        """Seconds of distillation so far (snapshot time excluded)."""
        return self.clock() - self.start - self.paused

    def save(self, label, minutes, elapsed, steps):
        """Snapshots the current state to `snap-<label>.tfrecord`; not charged."""
        from udd_keras.distillation import export

        began, began_clock = time.perf_counter(), self.clock()
        path = self.workdir / f"snap-{label}.tfrecord"
        export(self.distiller.snapshot(), self.dataset, path)
        seconds = time.perf_counter() - began
        self.paused += self.clock() - began_clock
        self.wall_paused += seconds
        point = {
            "minutes": minutes,
            "elapsed_seconds": elapsed,
            "clock": "cpu" if self.clock is time.process_time else "wall",
            "wall_seconds": (
                0.0
                if self.start is None
                else time.perf_counter() - self.wall_start - self.wall_paused
            ),
            "steps": steps,
            "snapshot_seconds": seconds,
            "path": str(path),
        }
        self.points.append(point)
        print(
            f"snapshot {label}: {steps} steps after {elapsed:.1f} s "
            f"(saved in {seconds:.2f} s)",
            flush=True,
        )
        return point

    def on_step(self, step, total, record):
        elapsed = self.elapsed()
        self.steps, self.last_elapsed = step, elapsed
        self.matching_loss.append(record["matching_loss"])
        if step % self.inner_steps == 0:
            print(
                f"iteration {step // self.inner_steps}: step {step}/{total}, "
                f"{elapsed:.1f} s, matching {record['matching_loss']:.4g}",
                flush=True,
            )
        while self.marks and elapsed >= self.marks[0] * 60.0:
            mark = self.marks.pop(0)
            self.save(f"{mark_name(mark)}min", mark, elapsed, step)
        if elapsed >= self.budget_seconds:
            raise _BudgetSpent


def distill_with_budget(config, dataset, args, workdir):
    """Runs the distillation until its schedule ends or the budget is spent.

    Returns:
        dict: `points` (init, the minute marks reached, the final state),
        `stopped_by` (`"budget"` or `"schedule"`), `steps`, `distill_seconds`,
        `snapshot_seconds` and `matching_loss` (one value per step, from step 1).
    """
    from udd_keras.distillation import Distiller

    budget = args.minutes * 60.0
    distiller = Distiller(config, dataset=dataset, out_dir=workdir / "run", force=True)
    clock = BudgetClock(
        distiller,
        dataset,
        workdir,
        budget,
        args.snapshots,
        config.inner_steps,
        clock=args.clock,
    )
    distiller.callbacks.append(clock)
    clock.save("0min", 0.0, 0.0, 0)
    clock.begin()
    clock_spent = False  # this script's own clock (`--minutes`) stopped the run
    try:
        distiller.run()  # releases the run directory however it ends
        # `time_budget_minutes` in the config: the run's own budget stopped it.
        stopped_by = "budget" if distiller.stopped_by_budget else "schedule"
    except _BudgetSpent:
        stopped_by, clock_spent = "budget", True
    total = clock.elapsed()
    minutes = args.minutes if clock_spent else clock.last_elapsed / 60.0
    final = clock.save("final", minutes, clock.last_elapsed, clock.steps)
    final["final"] = stopped_by
    return {
        "points": clock.points,
        "stopped_by": stopped_by,
        "planned_steps": distiller.total_steps,
        "steps": clock.steps,
        "distill_seconds": total,
        # The loop's time as the run's own time budget counts it (checkpointed).
        "loop_seconds": float(distiller.elapsed.numpy()),
        "snapshot_seconds": clock.paused,
        "matching_loss": clock.matching_loss,
    }


_SNAPSHOT_LINE = re.compile(
    r"^snapshot (?P<label>\S+): (?P<steps>\d+) steps after (?P<seconds>[\d.]+) s"
)


def points_from_log(log, workdir):
    """The snapshots a stopped run printed and saved; as `distill_with_budget`.

    A run stopped by hand (to free the machine) writes no report, but its log
    has one line per snapshot and its workdir the snapshot files.
    """
    points = []
    for line in pathlib.Path(log).read_text().splitlines():
        match = _SNAPSHOT_LINE.match(line)
        if not match:
            continue
        label, seconds = match["label"], float(match["seconds"])
        path = pathlib.Path(workdir) / f"snap-{label}.tfrecord"
        if not path.exists():
            raise SystemExit(f"{log} names snapshot {path}, which does not exist")
        minutes = float(label.removesuffix("min")) if label != "final" else None
        points.append(
            {
                "minutes": seconds / 60.0 if minutes is None else minutes,
                "elapsed_seconds": seconds,
                "steps": int(match["steps"]),
                "path": str(path),
            }
        )
    if not points:
        raise SystemExit(f"{log} has no snapshot lines")
    points[-1]["final"] = "interrupted"
    steps, seconds = points[-1]["steps"], points[-1]["elapsed_seconds"]
    return {
        "points": points,
        "stopped_by": "interrupted",
        "planned_steps": None,
        "steps": steps,
        "distill_seconds": seconds,
        "snapshot_seconds": None,
        "matching_loss": [],
    }


def evaluate_points(points, dataset, args):
    """Adds accuracy (percent) and evaluation seconds to every point.

    States saved at the same step are evaluated once.
    """
    from udd_keras.evaluation.protocol import evaluate_arrays, load_evaluation_set
    from udd_keras.training import TrainingRecipe

    done = {}
    for index, point in enumerate(points):
        wanted = args.eval_points == "all" or index == len(points) - 1
        wanted = wanted or (args.eval_points == "init+final" and index == 0)
        if not wanted:
            point.update(
                accuracy_mean=None, accuracy_std=None, accuracies=[], eval_seconds=0.0
            )
            continue
        if point["steps"] not in done:
            began = time.perf_counter()
            x, y = load_evaluation_set(point["path"], dataset)
            (result,) = evaluate_arrays(
                x,
                y,
                dataset,
                TrainingRecipe(epochs=args.epochs, width=args.eval_width),
                repeats=args.repeats,
                eval_every=args.epochs,
                seed=EVAL_SEED_OFFSET + args.seed,
            )
            done[point["steps"]] = {
                "accuracy_mean": 100.0 * result.accuracy_mean,
                "accuracy_std": 100.0 * result.accuracy_std,
                "accuracies": [100.0 * a for a in result.accuracies],
                "eval_seconds": time.perf_counter() - began,
            }
        point.update(done[point["steps"]])
        print(
            f"{mark_name(point['minutes'])} min ({point['steps']} steps): "
            f"{point['accuracy_mean']:.2f} ± {point['accuracy_std']:.2f}%",
            flush=True,
        )
    return points


def output_stem(args):
    return (
        f"budget-{args.dataset}-ipc{args.ipc}-{args.tag or args.preset}-seed{args.seed}"
    )


def markdown(report):
    settings = report["settings"]
    machine = report["environment"]["machine"]
    versions = report["environment"]["versions"]
    lines = [
        f"# Accuracy against distillation time: {report['dataset']}, "
        f"IPC {report['ipc']}, {report['method']}",
        "",
        f"Run {report['date']}; `{report['command']}`.",
        f"Budget {settings['minutes']:g} min, stopped by the {report['stopped_by']} "
        f"after {report['steps']}/{report['planned_steps']} steps "
        f"({report['steps_per_second']:.3g} steps/s); preset `{settings['preset']}`, "
        f"overrides `{json.dumps(settings['overrides'])}`; split "
        f"`{report['split']}` ({report['evaluation']['test_images']} test images); "
        f"evaluation ConvNet-3, {settings['epochs']} epochs x {settings['repeats']} "
        f"repeats, seed {report['evaluation']['seed']}.",
        "",
        "| minutes | elapsed (s) | steps | accuracy (%) mean ± std | eval (s) |",
        "|---|---|---|---|---|",
    ]
    for point in report["points"]:
        accuracy = (
            "not evaluated"
            if point["accuracy_mean"] is None
            else f"{point['accuracy_mean']:.2f} ± {point['accuracy_std']:.2f}"
        )
        lines.append(
            f"| {point['minutes']:.3g} | {point['elapsed_seconds']:.1f} | "
            f"{point['steps']} | {accuracy} | {point['eval_seconds']:.0f} |"
        )
    lines += [
        "",
        f"Machine: {machine['platform']}, {machine['processor']}, "
        f"{machine['cpu_count']} CPUs, {machine['gpus']} GPUs, threads "
        f"{report['threads'] or 'default'}, load average "
        f"{report['load_average']['start']:.2f} -> "
        f"{report['load_average']['end']:.2f}.",
        f"Versions: python {versions['python']}, tensorflow "
        f"{versions['tensorflow']}, keras {versions['keras']}, numpy "
        f"{versions['numpy']}.",
    ]
    return "\n".join(lines) + "\n"


def save_plot(report, path):
    """Accuracy (%) against distillation minutes, std error bars, as a PNG."""
    from udd_keras.visualization.png import new_figure, save_png

    points = [p for p in report["points"] if p["accuracy_mean"] is not None]
    minutes = [p["elapsed_seconds"] / 60.0 for p in points]
    figure = new_figure(6.0, 4.0)
    axes = figure.add_subplot()
    axes.errorbar(
        minutes,
        [p["accuracy_mean"] for p in points],
        yerr=[p["accuracy_std"] for p in points],
        marker="o",
        ms=4,
        capsize=3,
    )
    axes.set_xlabel("distillation time (min, snapshots excluded)")
    axes.set_ylabel(f"accuracy on {report['split']} (%)")
    axes.set_title(
        f"{report['dataset']} IPC {report['ipc']} {report['method']} "
        f"({report['settings']['tag'] or report['settings']['preset']})"
    )
    axes.grid(True, alpha=0.3)
    return save_png(figure, path)


def write_outputs(report, out):
    """Writes `<stem>.json`, `.md` and `.png` atomically; returns their paths."""
    from udd_keras.files import atomic_write_json, atomic_write_text

    stem = pathlib.Path(out) / report["stem"]
    paths = (
        atomic_write_json(stem.with_suffix(".json"), report),
        atomic_write_text(stem.with_suffix(".md"), markdown(report)),
        save_plot(report, stem.with_suffix(".png")),
    )
    return paths


def run(args, workdir):
    """Distils, evaluates and writes the results; returns the report dict."""
    load_start = os.getloadavg()[0]
    dataset = load_split(args.dataset, args.split)
    config = build_config(args)
    print(
        f"distilling {args.dataset} IPC {args.ipc} ({config.method}, preset "
        f"{args.preset}) for at most {args.minutes:g} min, {config.iterations} x "
        f"{config.inner_steps} steps planned",
        flush=True,
    )
    if args.from_log is not None:
        distilled = points_from_log(args.from_log, workdir)
        distilled["planned_steps"] = config.iterations * config.inner_steps
    else:
        distilled = distill_with_budget(config, dataset, args, workdir)
    points = evaluate_points(distilled["points"], dataset, args)
    for point in points:
        point.pop("path")
    seconds = distilled["distill_seconds"]
    report = {
        "stem": output_stem(args),
        "dataset": args.dataset,
        "ipc": args.ipc,
        "method": config.method,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": shlex.join(["python", "benchmarks/budget_curve.py", *args.argv]),
        "settings": {
            **{k: v for k, v in vars(args).items() if k != "argv"},
            "out": str(args.out),
            "workdir": str(args.workdir) if args.workdir else None,
            "from_log": str(args.from_log) if args.from_log else None,
        },
        "config": config.to_dict(),
        "split": args.split,
        "validation": (
            {"fraction": VALIDATION_FRACTION, "seed": VALIDATION_SEED}
            if args.split == "validation"
            else None
        ),
        "seed": args.seed,
        "threads": args.threads,
        "stopped_by": distilled["stopped_by"],
        "planned_steps": distilled["planned_steps"],
        "steps": distilled["steps"],
        "distill_seconds": seconds,
        "loop_seconds": distilled.get("loop_seconds"),
        "snapshot_seconds": distilled["snapshot_seconds"],
        "steps_per_second": distilled["steps"] / seconds if seconds > 0 else 0.0,
        "evaluation": {
            "epochs": args.epochs,
            "repeats": args.repeats,
            "width": args.eval_width,
            "seed": EVAL_SEED_OFFSET + args.seed,
            "train_images": len(dataset.x_train),
            "test_images": len(dataset.x_test),
        },
        "points": points,
        "matching_loss_curve": distilled["matching_loss"],
        "load_average": {"start": load_start, "end": os.getloadavg()[0]},
        "environment": environment(threads=args.threads, **thread_pools()),
    }
    write_outputs(report, args.out)
    return report


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    args.argv = argv
    if args.threads is not None:
        set_threads(args.threads)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        report = run(args, args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="budget-") as workdir:
            report = run(args, pathlib.Path(workdir))
    print(markdown(report), flush=True)
    return report


if __name__ == "__main__":
    main()
