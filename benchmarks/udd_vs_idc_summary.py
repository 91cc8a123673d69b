"""Gathers `udd_vs_idc.py` runs into `udd-vs-idc.json` and `.md`.

The final comparison of udd against idc is run in pieces: one budget or IPC at
a time, on some machines one distillation seed per session. This script reads
those runs back, so the table is built from the measured JSON, never typed by
hand:

- rows of the same variant, budget and machine from different runs are joined
  when their seeds are disjoint and their settings equal (seed 0 from one
  session, seed 1 from the next); anything else is refused with the reason;
- every (IPC, inner steps, split, machine) group with a `udd` and an `idc` row
  on the same seeds gets their paired difference (same distillation seed, same
  evaluation seed) and the bar the issue sets for it;
- a row is marked as the current default when its settings are those
  `DistillConfig` resolves today for its method (the fields both know).

    python benchmarks/udd_vs_idc_summary.py --runs udd-vs-idc-tiles \\
        udd-vs-idc-ipc1-700-seed0 udd-vs-idc-ipc1-700-seed1 \\
        udd-vs-idc-ipc1-tiles+regions udd-vs-idc-ipc10

Writes `benchmarks/results/udd-vs-idc.json` (`{"rows": [{"method", "ipc",
"inner_steps", "split", "accuracies", ...}], "comparisons": [...]}`) and `.md`.
"""

import argparse
import json
import pathlib

import numpy as np
from _environment import write_results

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
# The margin udd must have over idc (points) at each IPC: the bar, the
# paper's margins (1.3 at IPC 1, 0.6 at IPC 10) rounded down.
BARS = {1: 1.0, 10: 0.5}
# Fields of a row's config that say how long or how often, not which method.
RUN_LENGTH_FIELDS = (
    "ipc",
    "iterations",
    "inner_steps",
    "log_every",
    "checkpoint_every",
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs",
        nargs="+",
        required=True,
        metavar="STEM",
        help="results stems of udd_vs_idc.py runs, newest first",
    )
    parser.add_argument("--results", type=pathlib.Path, default=RESULTS)
    parser.add_argument("--out", default="udd-vs-idc", help="results file stem")
    return parser.parse_args(argv)


def load_run(results, stem):
    path = results / f"{stem}.json"
    if not path.exists():
        raise SystemExit(f"no udd_vs_idc.py result {path}")
    run = json.loads(path.read_text())
    if "rows" not in run or "machine" not in run:
        raise SystemExit(f"{path} is not a udd_vs_idc.py result (no rows or machine)")
    return run


def method_settings(config):
    """A row's config without the run-length fields: what makes the method."""
    return {k: v for k, v in config.items() if k not in RUN_LENGTH_FIELDS}


def machine_short(machine):
    """`"AMD EPYC (avx avx2 fma)"`: the CPU and its SIMD flags."""
    return f"{machine['processor']} ({' '.join(machine['cpu_flags'])})"


def row_key(row, machine):
    return (
        row["variant"],
        row["decode"],
        row["ipc"],
        row["inner_steps"],
        row["split"],
        machine_short(machine),
    )


def join_rows(runs):
    """Rows of every run, those of one variant, budget and machine joined.

    Args:
        runs: list of `(stem, report)`, as `load_run` returns them.

    Returns:
        list of row dicts in first-seen order, each with `machine`, `versions`,
        `runs` (the stems it came from), the `seeds` and `accuracies` of its
        runs joined in run order, `distill_seconds` (the mean per seed) and
        `eval_seconds` (the sum). `mue` stays when the row comes from one run;
        a joined row has `mue_per_run` instead (each run measures its own sets
        on its own reference range, so the values do not average).

    Raises:
        SystemExit: two rows to join share a seed or differ in settings.
    """
    parts = {}
    for stem, run in runs:
        for row in run["rows"]:
            key = row_key(row, run["machine"])
            parts.setdefault(key, []).append((stem, row, run))
    rows = []
    for pieces in parts.values():
        first_stem, first, first_run = pieces[0]
        seen = set()
        for stem, row, _ in pieces:
            shared = seen & set(row["seeds"])
            if shared:
                raise SystemExit(
                    f"{first_stem} and {stem} both have seed(s) {sorted(shared)} "
                    f"of {row['variant']!r} at {row['inner_steps']} steps; give "
                    "each seed once"
                )
            seen |= set(row["seeds"])
            if method_settings(row.get("config", {})) != method_settings(
                first.get("config", {})
            ):
                raise SystemExit(
                    f"{row['variant']!r} at {row['inner_steps']} steps has other "
                    f"settings in {stem} than in {first_stem}; not joined"
                )
        joined = {
            **{k: v for k, v in first.items() if k not in ("path", "mue")},
            "machine": first_run["machine"],
            "versions": first_run.get("versions"),
            "runs": [stem for stem, _, _ in pieces],
            "seeds": [seed for _, row, _ in pieces for seed in row["seeds"]],
            "accuracies": [a for _, row, _ in pieces for a in row["accuracies"]],
            "distill_seconds": float(
                np.average(
                    [row["distill_seconds"] for _, row, _ in pieces],
                    weights=[len(row["seeds"]) for _, row, _ in pieces],
                )
            ),
            "eval_seconds": float(sum(row["eval_seconds"] for _, row, _ in pieces)),
        }
        mues = [row.get("mue") for _, row, _ in pieces]
        if len(pieces) == 1 and mues[0] is not None:
            joined["mue"] = mues[0]
        elif len(pieces) > 1 and any(m is not None for m in mues):
            joined["mue_per_run"] = mues
        rows.append(joined)
    return rows


def is_current_default(row):
    """Whether the row's method settings are today's default for its method."""
    from udd_keras.distillation import DistillConfig

    config = row.get("config")
    if not config or row["method"] not in ("udd", "idc"):
        return False
    shared = {k: config[k] for k in ("image_optimizer", "lr_img", "init_selection")}
    today = DistillConfig(
        dataset="fashion_mnist",
        method=row["method"],
        precision=config["precision"],
        **shared,
    ).resolve()
    # Through JSON, as the row's config was stored (tuples become lists).
    today = method_settings(json.loads(json.dumps(today.to_dict())))
    return all(
        today[name] == value
        for name, value in method_settings(config).items()
        if name in today and name not in ("dataset", "seed")
    )


def comparisons(rows):
    """udd - idc, paired by seed and evaluation, per budget and machine."""
    found = []
    groups = {}
    for row in rows:
        if row["method"] in ("udd", "idc") and row.get("default"):
            key = (
                row["ipc"],
                row["inner_steps"],
                row["split"],
                machine_short(row["machine"]),
            )
            groups.setdefault(key, {})[row["method"]] = row
    for (ipc, steps, split, machine), pair in groups.items():
        if set(pair) != {"udd", "idc"} or pair["udd"]["seeds"] != pair["idc"]["seeds"]:
            continue
        udd = np.array(pair["udd"]["accuracies"])
        idc = np.array(pair["idc"]["accuracies"])
        if udd.shape != idc.shape:
            continue
        difference = udd - idc
        bar = BARS.get(ipc)
        found.append(
            {
                "ipc": ipc,
                "inner_steps": steps,
                "split": split,
                "machine": machine,
                "seeds": pair["udd"]["seeds"],
                "n": int(difference.size),
                "udd_mean": float(udd.mean()),
                "idc_mean": float(idc.mean()),
                "difference_mean": float(difference.mean()),
                "difference_std": float(difference.std()),
                "pairs_above_zero": int((difference > 0).sum()),
                "bar": bar,
                "bar_met": None if bar is None else bool(difference.mean() >= bar),
            }
        )
    return found


def replayed_text(row):
    """`" (700 replayed)"` when the row's last seed replayed a trajectory."""
    replayed = row.get("trajectory_steps_replayed")
    return f" ({replayed} replayed)" if replayed else ""


def markdown(report):
    lines = [
        "# UDD against IDC on the test split: every run",
        "",
        "Built by `benchmarks/udd_vs_idc_summary.py` from the runs listed (each "
        "with its own command, settings and machine). Accuracies in %, mean ± std "
        "(population) over distillation seeds x evaluations of 300 epochs; "
        "`default` marks a row run with the settings its method has today; "
        "distillation seconds include recording a trajectory, and say how many "
        "steps were replayed from one (the last seed's): they are not "
        "timings to compare. "
        "mUE: one reference range per run (`a / b` for a row joined from two "
        "runs).",
        "",
        "| method | formation | IPC | inner steps | accuracy (%) | n | seeds | "
        "mUE | distill (s/seed) | default | machine | runs |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        accuracies = row["accuracies"]
        mue = row.get("mue")
        if mue is not None:
            mue_text = f"{mue:.3f}"
        elif row.get("mue_per_run"):
            mue_text = " / ".join(
                "-" if m is None else f"{m:.3f}" for m in row["mue_per_run"]
            )
        else:
            mue_text = "-"
        lines.append(
            f"| {row['method']} | {row['formation']} | {row['ipc']} | "
            f"{row['inner_steps']} | {np.mean(accuracies):.2f} ± "
            f"{np.std(accuracies):.2f} | {len(accuracies)} | "
            f"{', '.join(map(str, row['seeds']))} | "
            f"{mue_text} | {row['distill_seconds']:.0f}{replayed_text(row)} | "
            f"{'yes' if row['default'] else 'no'} | {machine_short(row['machine'])} | "
            f"{', '.join(f'`{stem}`' for stem in row['runs'])} |"
        )
    lines += [
        "",
        "udd - idc with today's defaults, paired by distillation seed and "
        "evaluation (same evaluation seeds), against the bar (udd ahead by at "
        "least this many points):",
        "",
        "| IPC | inner steps | udd | idc | udd - idc | pairs > 0 | bar | met "
        "| machine |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in report["comparisons"]:
        met = "-" if c["bar_met"] is None else ("yes" if c["bar_met"] else "no")
        bar = "-" if c["bar"] is None else f"+{c['bar']:.1f}"
        lines.append(
            f"| {c['ipc']} | {c['inner_steps']} | {c['udd_mean']:.2f} | "
            f"{c['idc_mean']:.2f} | {c['difference_mean']:+.2f} ± "
            f"{c['difference_std']:.2f} | {c['pairs_above_zero']}/{c['n']} | "
            f"{bar} | {met} | {c['machine']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    runs = [(stem, load_run(args.results, stem)) for stem in args.runs]
    rows = join_rows(runs)
    for row in rows:
        row["default"] = is_current_default(row)
    report = {
        "runs": {
            stem: {"command": run.get("command"), "date": run.get("date")}
            for stem, run in runs
        },
        "rows": rows,
        "comparisons": comparisons(rows),
    }
    write_results(args.results / args.out, report, markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
