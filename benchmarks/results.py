"""The one writer of benchmark results: `results/<experiment>/<stem>.json|md|png`.

Every result records the experiment, its question, the command, the date, the
settings, the machine (CPU model and SIMD flags) and the versions. Accuracy rows
are shown as mean ± std (population) with the paired difference to the
experiment's baseline; timing rows as their named values. Top-level imports
are standard-library only, so `reference_pytorch.py` (run in a PyTorch
environment without TensorFlow) can import `cpu_model` from here.
"""

import datetime
import json
import os
import pathlib
import platform
import statistics
import sys

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
# The CPU flags that decide how fast TF's kernels run (vector width, bf16).
SIMD_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni")
SIMD_FLAGS += ("avx512_fp16", "amx_bf16", "amx_tile")


def _cpuinfo(key):
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model():
    """The CPU's model name from /proc/cpuinfo, else `platform.processor()`."""
    return _cpuinfo("model name") or platform.processor() or platform.machine()


def cpu_flags():
    """The SIMD flags of `SIMD_FLAGS` that /proc/cpuinfo lists, in that order."""
    present = set((_cpuinfo("flags") or "").split())
    return [flag for flag in SIMD_FLAGS if flag in present]


def environment(**machine_extra):
    """`{"machine": {...}, "versions": {...}}`: what a result was measured on."""
    import keras
    import numpy as np
    import tensorflow as tf

    import udd_keras

    return {
        "machine": {
            "platform": platform.platform(),
            "processor": cpu_model(),
            "cpu_flags": cpu_flags(),
            "cpu_count": os.cpu_count(),
            "gpus": len(tf.config.list_physical_devices("GPU")),
            **machine_extra,
        },
        "versions": {
            "python": sys.version.split()[0],
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
            "udd_keras": udd_keras.__version__,
        },
    }


def machine_text(machine):
    """`"AMD EPYC, 2 CPUs, flags avx avx2 fma; 0 GPUs"`."""
    return (
        f"{machine['processor']}, {machine['cpu_count']} CPUs, flags "
        f"{' '.join(machine.get('cpu_flags', []))}; {machine.get('gpus', 0)} GPUs"
    )


def mean_std(values):
    """`"77.33 ± 0.35"` (population std), or `"-"` for no values."""
    if not values:
        return "-"
    return f"{statistics.fmean(values):.2f} ± {statistics.pstdev(values):.2f}"


def paired(rows, baseline):
    """Adds `paired` to every row: its accuracies minus `baseline`'s, pair by pair.

    Rows are paired by distillation seed and evaluation repeat (the same
    evaluation seeds); a row is paired with the baseline row of its decode, else
    the baseline's first row. Rows on other seeds or repeats get none.
    """
    base_rows = [row for row in rows if row["variant"] == baseline]
    for row in rows:
        if row["variant"] == baseline or not base_rows:
            continue
        match = [b for b in base_rows if b["decode"] == row["decode"]] or base_rows
        base = match[0]
        if base["seeds"] != row["seeds"] or len(base["accuracies"]) != len(
            row["accuracies"]
        ):
            continue
        differences = [
            a - b for a, b in zip(row["accuracies"], base["accuracies"], strict=True)
        ]
        row["paired"] = {
            "baseline": baseline,
            "differences": differences,
            "mean": statistics.fmean(differences),
            "std": statistics.pstdev(differences),
            "above_zero": sum(d > 0 for d in differences),
        }
    return rows


def _value_text(value):
    """A named value in a table: a timing as ms, a number, a short structure."""
    if isinstance(value, dict) and "median" in value:
        return (
            f"{1000 * value['median']:.1f} ms (min {1000 * value['min']:.1f}, "
            f"CPU {1000 * value.get('cpu_median', 0):.1f}, first "
            f"{1000 * value['first']:.1f})"
        )
    if isinstance(value, float):
        return f"{value:.4g}"
    text = json.dumps(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _accuracy_lines(report):
    rows, baseline = report["rows"], report.get("baseline")
    lines = [
        "| variant | decode | accuracy (%) | n | "
        + (f"- {baseline} (paired) | pairs > 0 | " if baseline else "")
        + "mUE | agreement (random) | steps | distill (s/seed) |",
        "|---" * (8 + 2 * bool(baseline)) + "|",
    ]
    for row in rows:
        pair = row.get("paired")
        pair_cells = ""
        if baseline:
            pair_cells = (
                f"{pair['mean']:+.2f} ± {pair['std']:.2f} | "
                f"{pair['above_zero']}/{len(pair['differences'])} | "
                if pair
                else "- | - | "
            )
        agreement = row.get("agreement")
        lines.append(
            f"| {row['variant']} | {row['decode']} | {mean_std(row['accuracies'])} | "
            f"{len(row['accuracies'])} | {pair_cells}"
            f"{_value_text(row['mue']) if row.get('mue') is not None else '-'} | "
            + (
                f"{agreement:.3f} ({row['agreement_random']:.3f})"
                if agreement is not None
                else "-"
            )
            + f" | {row.get('steps', '-')} | {row.get('distill_seconds', 0):.0f} |"
        )
    lines += ["", "Variants:", ""] + [
        f"- `{name}`: {json.dumps(settings)}"
        for name, settings in report["variants"].items()
    ]
    return lines


def _timing_lines(report):
    lines = []
    for row in report["rows"]:
        lines += [f"## {row['variant']}", "", "| measure | value |", "|---|---|"]
        lines += [
            f"| {name} | {_value_text(value)} |"
            for name, value in row.items()
            if name != "variant"
        ]
        lines.append("")
    return lines


def markdown(report):
    """The report as markdown: header, table(s), settings, machine, versions."""
    lines = [
        f"# {report['experiment']}: {report['question']}",
        "",
        f"Run {report['date']}; `{report['command']}`.",
        "Settings: " + json.dumps(report["settings"]) + ".",
        "",
        *(_accuracy_lines if report["kind"] == "accuracy" else _timing_lines)(report),
    ]
    if report.get("unfinished"):
        lines += [
            "",
            "Not finished yet (`--resume` continues): "
            + ", ".join(f"`{name}`" for name in report["unfinished"])
            + ".",
        ]
    lines += [
        "",
        f"Machine: {machine_text(report['machine'])}.",
        "Versions: "
        + ", ".join(f"{k} {v}" for k, v in report["versions"].items())
        + ".",
    ]
    return "\n".join(lines) + "\n"


def save_plot(report, path):
    """Accuracy against distillation minutes (snapshot curves), else per row."""
    from udd_keras.visualization.png import new_figure, save_png

    figure = new_figure(6.5, 4.0)
    axes = figure.add_subplot()
    curves = [row for row in report["rows"] if row.get("curve")]
    for row in curves:
        points = row["curve"]
        axes.errorbar(
            [p["minutes"] for p in points],
            [statistics.fmean(p["accuracies"]) for p in points],
            yerr=[statistics.pstdev(p["accuracies"]) for p in points],
            marker="o",
            ms=4,
            capsize=3,
            label=row["variant"],
        )
    if curves:
        axes.set_xlabel("distillation time (min)")
        axes.legend(fontsize=8)
    else:
        rows = report["rows"]
        axes.barh(
            [f"{r['variant']} ({r['decode']})" for r in rows],
            [statistics.fmean(r["accuracies"]) for r in rows],
            xerr=[statistics.pstdev(r["accuracies"]) for r in rows],
        )
    axes.set_title(f"{report['experiment']} ({report['split']} split)", fontsize=9)
    axes.grid(True, alpha=0.3)
    return save_png(figure, path)


def write(report, folder, stem):
    """Writes `<folder>/<stem>.json`, `.md` and, for accuracy rows, `.png`.

    Args:
        report: dict with `experiment`, `question`, `kind`, `command`, `date`,
            `settings`, `rows`, `machine`, `versions` (see `new_report`).
        folder: the experiment's results folder (created).
        stem: the file name without suffix.

    Returns:
        the markdown text.
    """
    from udd_keras.files import atomic_write_json, atomic_write_text

    stem = pathlib.Path(folder) / stem
    stem.parent.mkdir(parents=True, exist_ok=True)
    if report.get("baseline"):
        paired(report["rows"], report["baseline"])
    text = markdown(report)
    atomic_write_json(stem.with_suffix(".json"), report)
    atomic_write_text(stem.with_suffix(".md"), text)
    if report["kind"] == "accuracy" and any(r["accuracies"] for r in report["rows"]):
        save_plot(report, stem.with_suffix(".png"))
    return text


def new_report(experiment, command, settings, **machine_extra):
    """The report's header fields, before any row."""
    return {
        "experiment": experiment.name,
        "question": experiment.question,
        "kind": experiment.kind,
        "command": command,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "settings": settings,
        "split": settings.get("split"),
        "baseline": experiment.baseline(),
        **environment(**machine_extra),
        "rows": [],
    }
