"""The `cpu-hour` preset against a budget measured in PyTorch reference steps.

Issue 16's budget is a ratio, not minutes: `--reference-steps` (840) inner
steps of `benchmarks/reference_pytorch.py` (the PyTorch reference of IDC's
inner step), timed on this machine right before the run. The script

1. times the reference (in a subprocess, so PyTorch and TensorFlow never share
   the process), or takes its time from `--reference-json` (a
   `speed-reference-pytorch.json` made back to back) or `--reference-seconds`;
2. distils with the preset once per seed under `--time-budget` of
   `reference_steps x step time` (the run plans its learning-rate decay by the
   fraction of the budget used and stops before a step that would end past
   it), saving snapshots at fixed fractions of the budget
   (`benchmarks/budget_curve.py` does the distilling, snapshots and evaluation,
   and writes each seed's own `budget-...` files);
3. evaluates every snapshot `--repeats` times and writes `cpu-hour.json`, `.md`
   and `.png` (accuracy against minutes, one curve per seed) under `--out`.

With `--resume`, a seed whose `budget-...` file already holds a run of the
same settings and budget is kept, and the reference timed in `--workdir` by the
stopped benchmark is used again, so it continues where it stopped.

    python benchmarks/cpu_hour.py --split test --seeds 0 1 --repeats 3
    python benchmarks/cpu_hour.py --split validation --seeds 0 --repeats 2 \\
        --set network_pool=8 --tag pool8                      # a screen
"""

import argparse
import datetime
import json
import os
import pathlib
import shlex
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import budget_curve  # noqa: E402
from _environment import environment, machine_text, versions_text  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
REFERENCE_STEPS = 840
REFERENCE_FILE = "speed-reference-pytorch.json"
PRESET = "cpu-hour"
# Snapshots at these fractions of the budget (the last point is the final set).
SNAPSHOT_FRACTIONS = (1 / 6, 1 / 3, 1 / 2, 2 / 3, 5 / 6)
# Planned outer iterations: an upper bound, the budget stops the run first.
PLANNED_ITERATIONS = 10_000
# The run's own time budget counts its loop; this share of the budget is kept
# for what a run does outside it (building the engine, the export).
SETUP_RESERVE = 0.01


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--ipc", type=int, default=1)
    parser.add_argument(
        "--method",
        default=None,
        choices=("udd", "idc"),
        help="default: the preset's method",
    )
    parser.add_argument("--split", default="validation", choices=budget_curve.SPLITS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--repeats", type=int, default=3, help="evaluation repeats")
    parser.add_argument("--epochs", type=int, default=300, help="evaluation epochs")
    parser.add_argument("--eval-width", type=int, default=128)
    parser.add_argument(
        "--eval-points",
        default="all",
        choices=("all", "final", "init+final"),
        help="which snapshots are evaluated (a screen may evaluate the final set only)",
    )
    parser.add_argument(
        "--reference-steps",
        type=int,
        default=REFERENCE_STEPS,
        help="the budget in inner steps of the PyTorch reference",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--reference-json",
        type=pathlib.Path,
        default=None,
        help="a speed-reference-pytorch.json timed on this machine (else timed now)",
    )
    source.add_argument(
        "--reference-seconds",
        type=float,
        default=None,
        help="the reference's inner step in seconds (else timed now)",
    )
    parser.add_argument(
        "--reference-python",
        default=sys.executable,
        help="the Python with PyTorch that times the reference",
    )
    budget_curve.add_set_option(
        parser, "a DistillConfig field on top of the preset's (repeatable)"
    )
    parser.add_argument("--tag", default="", help="results name: cpu-hour[-TAG]")
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    parser.add_argument("--workdir", type=pathlib.Path, required=True)
    parser.add_argument(
        "--resume", action="store_true", help="keep seeds already run alike"
    )
    args = parser.parse_args(argv)
    args.overrides = budget_curve.checked_overrides(parser, args.overrides)
    if args.reference_steps < 1:
        parser.error(f"--reference-steps must be >= 1, got {args.reference_steps}")
    if args.reference_seconds is not None and not args.reference_seconds > 0:
        parser.error(f"--reference-seconds must be > 0, got {args.reference_seconds}")
    return args


def reference_step_seconds(args):
    """`(seconds, source)`: the reference's inner step, from a file or timed now.

    Raises:
        SystemExit: the timing file is missing or holds no inner step.
    """
    if args.reference_seconds is not None:
        return args.reference_seconds, "--reference-seconds"
    path = args.reference_json
    folder = args.workdir / "reference"
    if path is None and args.resume and (folder / REFERENCE_FILE).exists():
        path = folder / REFERENCE_FILE  # the timing of the run being resumed
    if path is None:
        script = pathlib.Path(__file__).resolve().parent / "reference_pytorch.py"
        subprocess.run(
            [args.reference_python, str(script), "--out", str(folder)], check=True
        )
        path = folder / REFERENCE_FILE
    try:
        timing = json.loads(pathlib.Path(path).read_text())
        seconds = float(timing["timings"]["inner_step"]["median"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SystemExit(f"no reference inner step in {path}: {error}") from None
    return seconds, str(path)


def seed_argv(args, seed, budget_minutes):
    """`budget_curve.py`'s arguments for one seed's run."""
    settings = {
        "iterations": PLANNED_ITERATIONS,
        **args.overrides,
        "time_budget_minutes": budget_minutes * (1.0 - SETUP_RESERVE),
    }
    argv = ["--dataset", args.dataset, "--ipc", str(args.ipc), "--preset", PRESET]
    if args.method is not None:
        argv += ["--method", args.method]
    for key, value in settings.items():
        argv += ["--set", f"{key}={json.dumps(value)}"]
    # The run's own budget stops it; budget_curve's clock is a backstop.
    argv += ["--minutes", f"{budget_minutes * 1.05 + 0.5:.6g}", "--snapshots"]
    argv += [f"{budget_minutes * f:.6g}" for f in SNAPSHOT_FRACTIONS]
    argv += ["--split", args.split, "--seed", str(seed), "--epochs", str(args.epochs)]
    argv += ["--repeats", str(args.repeats), "--eval-width", str(args.eval_width)]
    if args.eval_points != "all":
        argv += ["--eval-points", args.eval_points]
    argv += ["--tag", stem_name(args), "--out", str(args.out)]
    argv += ["--workdir", str(args.workdir / f"seed{seed}")]
    return argv


def stem_name(args):
    return f"cpu-hour-{args.tag}" if args.tag else "cpu-hour"


def kept_seed_report(args, seed, argv):
    """The seed's earlier `budget_curve` report when `--resume` and it ran alike."""
    if not args.resume:
        return None
    path = args.out / (
        f"budget-{args.dataset}-ipc{args.ipc}-{stem_name(args)}-seed{seed}.json"
    )
    if not path.exists():
        return None
    report = json.loads(path.read_text())
    if report.get("command") != shlex.join(
        ["python", "benchmarks/budget_curve.py", *argv]
    ):
        return None
    return report


def summary(args, seed_reports, reference_seconds, reference_source):
    """The `cpu-hour.json` report of the seeds' budget-curve reports."""
    budget_minutes = args.reference_steps * reference_seconds / 60.0
    finals = [report["points"][-1] for report in seed_reports]
    first = seed_reports[0]
    return {
        "method": first["method"],
        "preset": PRESET,
        "dataset": args.dataset,
        "ipc": args.ipc,
        "split": args.split,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": shlex.join(["python", "benchmarks/cpu_hour.py", *args.argv]),
        "wall_minutes": max(r["distill_seconds"] for r in seed_reports) / 60.0,
        "wall_minutes_per_seed": [r["distill_seconds"] / 60.0 for r in seed_reports],
        # What the run's own budget counted (its loop), per seed.
        "loop_minutes_per_seed": [
            (r.get("loop_seconds") or 0.0) / 60.0 for r in seed_reports
        ],
        "reference_step_seconds": reference_seconds,
        "reference_source": reference_source,
        "reference_steps": args.reference_steps,
        "budget_minutes": budget_minutes,
        "threads": os.cpu_count(),
        "seeds": args.seeds,
        "accuracies": [a for point in finals for a in point["accuracies"]],
        "steps_per_seed": [r["steps"] for r in seed_reports],
        # The inner step amortised over the run, with whatever it reuses (a
        # network pool's replayed steps): loop seconds / steps, per seed.
        "amortised_step_seconds_per_seed": [
            amortised_step_seconds(r) for r in seed_reports
        ],
        "stopped_by": [r["stopped_by"] for r in seed_reports],
        "curves": [
            {
                "seed": seed,
                "points": [
                    {
                        key: point[key]
                        for key in ("elapsed_seconds", "steps", "accuracies")
                    }
                    for point in report["points"]
                ],
            }
            for seed, report in zip(args.seeds, seed_reports, strict=True)
        ],
        "config": first["config"],
        "evaluation": first["evaluation"],
        "seed_results": [
            f"budget-{args.dataset}-ipc{args.ipc}-{stem_name(args)}-seed{s}"
            for s in args.seeds
        ],
        **environment(threads=os.cpu_count()),
    }


def amortised_step_seconds(seed_report):
    """The run's loop seconds per inner step (None for a run of no steps).

    Args:
        seed_report: a `budget_curve` report (`loop_seconds`, else
            `distill_seconds`, and `steps`).

    Returns:
        float seconds per step, or None.
    """
    seconds = seed_report.get("loop_seconds") or seed_report["distill_seconds"]
    steps = seed_report["steps"]
    return seconds / steps if steps else None


def _mean_std(values):
    import numpy as np

    return f"{np.mean(values):.2f} ± {np.std(values):.2f}"


def markdown(report):
    config = report["config"]
    lines = [
        f"# The `{report['preset']}` preset: {report['dataset']} IPC "
        f"{report['ipc']}, {report['method']}, {report['split']} split",
        "",
        f"Run {report['date']}; `{report['command']}`.",
        f"Budget {report['reference_steps']} reference inner steps x "
        f"{report['reference_step_seconds']:.3g} s (PyTorch, this machine; "
        f"{report['reference_source']}) = {report['budget_minutes']:.1f} min; "
        f"{report['threads']} threads, nothing else running.",
        "",
        "| seed | wall (min) | steps | s / step (amortised) | reference / ours "
        "| stopped by | accuracy (%) |",
        "|---|---|---|---|---|---|---|",
    ]
    reference = report["reference_step_seconds"]
    for index, curve in enumerate(report["curves"]):
        final = curve["points"][-1]
        step = report["amortised_step_seconds_per_seed"][index]
        speed = "- | -" if step is None else f"{step:.3g} | {reference / step:.2f}x"
        lines.append(
            f"| {curve['seed']} | {report['wall_minutes_per_seed'][index]:.1f} | "
            f"{report['steps_per_seed'][index]} | {speed}"
            f" | {report['stopped_by'][index]} | {_mean_std(final['accuracies'])} |"
        )
    accuracies = report["accuracies"]
    lines += [
        f"| all | {report['wall_minutes']:.1f} (max) | | | | | "
        f"**{_mean_std(accuracies)}** (n = {len(accuracies)}) |",
        "",
        "Settings: "
        + ", ".join(
            f"`{key}={config[key]}`"
            for key in (
                "method",
                "formation",
                "init_selection",
                "image_optimizer",
                "lr_img",
                "inner_steps",
                "network_pool",
                "image_updates",
                "precision",
                "time_budget_minutes",
            )
            if key in config
        )
        + f"; evaluation {report['evaluation']['epochs']} epochs x "
        f"{report['evaluation']['repeats']}.",
        f"Curves: `{'`, `'.join(report['seed_results'])}` (.json, .md, .png).",
        "",
        f"Machine: {machine_text(report['machine'])}.",
        f"Versions: {versions_text(report['versions'])}.",
    ]
    return "\n".join(lines) + "\n"


def save_plot(report, path):
    """Accuracy (%) against distillation minutes, one curve per seed, as a PNG."""
    import numpy as np

    from udd_keras.visualization.png import new_figure, save_png

    figure = new_figure(6.0, 4.0)
    axes = figure.add_subplot()
    for curve in report["curves"]:
        points = [p for p in curve["points"] if p["accuracies"]]
        axes.errorbar(
            [p["elapsed_seconds"] / 60.0 for p in points],
            [np.mean(p["accuracies"]) for p in points],
            yerr=[np.std(p["accuracies"]) for p in points],
            marker="o",
            ms=4,
            capsize=3,
            label=f"seed {curve['seed']}",
        )
    axes.axvline(report["budget_minutes"], color="grey", ls="--", label="budget")
    axes.set_xlabel("distillation time (min)")
    axes.set_ylabel(f"accuracy on {report['split']} (%)")
    axes.set_title(
        f"{report['dataset']} IPC {report['ipc']}, {report['preset']} "
        f"({report['method']})"
    )
    axes.grid(True, alpha=0.3)
    axes.legend()
    return save_png(figure, path)


def main(argv=None):
    from udd_keras.files import atomic_write_json, atomic_write_text

    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    args.argv = argv
    args.workdir.mkdir(parents=True, exist_ok=True)
    seconds, source = reference_step_seconds(args)
    budget_minutes = args.reference_steps * seconds / 60.0
    print(
        f"budget: {args.reference_steps} x {seconds:.3g} s = {budget_minutes:.1f} min",
        flush=True,
    )
    reports = []
    for seed in args.seeds:
        seed_args = seed_argv(args, seed, budget_minutes)
        report = kept_seed_report(args, seed, seed_args)
        if report is None:
            report = budget_curve.main(seed_args)
        else:
            print(f"seed {seed}: kept from an earlier run", flush=True)
        reports.append(report)
    report = summary(args, reports, seconds, source)
    stem = args.out / stem_name(args)
    atomic_write_json(stem.with_suffix(".json"), report)
    atomic_write_text(stem.with_suffix(".md"), markdown(report))
    save_plot(report, stem.with_suffix(".png"))
    print(markdown(report), flush=True)
    return report


if __name__ == "__main__":
    main()
