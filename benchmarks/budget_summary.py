"""Collects `budget_curve.py` results into one table of changes and one figure.

Each change tried for issue 9 (accuracy per CPU-second) is one budget-curve run;
this script reads them back, so the table is built from the measured JSON, never
typed by hand. A change is listed with the run it is compared with (same
budget, same split, same evaluation), its accuracy and the difference, and
whether it was kept.

    python benchmarks/budget_summary.py --changes benchmarks/budget_changes.json

`--changes` is a JSON list of `{"tag", "baseline", "change", "kept"}` objects
(the tags of `budget_curve.py` runs); `--curves` lists the tags drawn in the
figure. Writes `budget-summary.md` and `budget-summary.png` under `--out`.
"""

import argparse
import json
import pathlib

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=pathlib.Path, required=True)
    parser.add_argument("--curves", nargs="*", default=[])
    parser.add_argument("--results", type=pathlib.Path, default=RESULTS)
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--ipc", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def load_run(results, dataset, ipc, tag, seed):
    """The report of one `budget_curve.py` run, by tag and seed."""
    path = results / f"budget-{dataset}-ipc{ipc}-{tag}-seed{seed}.json"
    if not path.exists():
        raise SystemExit(f"no budget-curve result {path}")
    return json.loads(path.read_text())


def point_at(report, minutes):
    """The evaluated point saved at `minutes` (the final point when it is it)."""
    evaluated = [p for p in report["points"] if p["accuracy_mean"] is not None]
    for point in evaluated:
        if abs(point["minutes"] - minutes) < 1e-6:
            return point
    raise SystemExit(
        f"run {report['stem']} has no evaluated point at {minutes:g} min; "
        f"evaluated: {[p['minutes'] for p in evaluated]}"
    )


def final_point(report):
    return [p for p in report["points"] if p["accuracy_mean"] is not None][-1]


def change_rows(changes, results, args):
    rows = []
    for change in changes:
        run = load_run(results, args.dataset, args.ipc, change["tag"], args.seed)
        ours = final_point(run)
        base_run = load_run(
            results, args.dataset, args.ipc, change["baseline"], args.seed
        )
        base = point_at(base_run, ours["minutes"])
        rows.append(
            {
                **change,
                "minutes": ours["minutes"],
                "steps": ours["steps"],
                "baseline_steps": base["steps"],
                "accuracy": ours["accuracy_mean"],
                "accuracy_std": ours["accuracy_std"],
                "baseline_accuracy": base["accuracy_mean"],
                "baseline_std": base["accuracy_std"],
                "delta": ours["accuracy_mean"] - base["accuracy_mean"],
                "split": run["split"],
            }
        )
    return rows


def markdown(rows, curves):
    lines = [
        "# Accuracy per CPU-second: changes tried (issue 9)",
        "",
        "Each row is one `benchmarks/budget_curve.py` run against its baseline at "
        "the same distillation budget (CPU time of one core), the same split and "
        "the same evaluation (ConvNet-3, seeds and repeats in each run's JSON). "
        "Choices were made on the validation split only.",
        "",
        "| change | run | baseline | budget (min) | steps (baseline) | accuracy (%) "
        "| baseline (%) | difference | kept |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['change']} | `{row['tag']}` | `{row['baseline']}` | "
            f"{row['minutes']:g} | {row['steps']} ({row['baseline_steps']}) | "
            f"{row['accuracy']:.2f} ± {row['accuracy_std']:.2f} | "
            f"{row['baseline_accuracy']:.2f} ± {row['baseline_std']:.2f} | "
            f"{row['delta']:+.2f} | {'yes' if row['kept'] else 'no'} |"
        )
    if curves:
        lines += ["", "Curves (accuracy against distillation minutes):", ""]
        lines += ["| run | split | " + "points (min: %) |", "|---|---|---|"]
        for tag, report in curves.items():
            points = ", ".join(
                f"{p['minutes']:g}: {p['accuracy_mean']:.1f}"
                for p in report["points"]
                if p["accuracy_mean"] is not None
            )
            lines.append(f"| `{tag}` | {report['split']} | {points} |")
    return "\n".join(lines) + "\n"


def save_plot(curves, path):
    from udd_keras.visualization.png import new_figure, save_png

    figure = new_figure(7.0, 4.5)
    axes = figure.add_subplot()
    for tag, report in curves.items():
        points = [p for p in report["points"] if p["accuracy_mean"] is not None]
        axes.errorbar(
            [p["elapsed_seconds"] / 60.0 for p in points],
            [p["accuracy_mean"] for p in points],
            yerr=[p["accuracy_std"] for p in points],
            marker="o",
            ms=4,
            capsize=3,
            label=f"{tag} ({report['split']})",
        )
    axes.set_xlabel("distillation time (min of one core)")
    axes.set_ylabel("accuracy (%)")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)
    return save_png(figure, path)


def main(argv=None):
    args = parse_args(argv)
    from udd_keras.files import atomic_write_text

    changes = json.loads(args.changes.read_text())
    rows = change_rows(changes, args.results, args)
    curves = {
        tag: load_run(args.results, args.dataset, args.ipc, tag, args.seed)
        for tag in args.curves
    }
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "budget-summary.md", markdown(rows, curves))
    if curves:
        save_plot(curves, args.out / "budget-summary.png")
    print(markdown(rows, curves))


if __name__ == "__main__":
    main()
