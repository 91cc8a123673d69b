"""`udd-keras compare`: two evaluation results side by side, and a verdict."""

import click


def percent(mean, std):
    """`mean ± std` of fractions, in percent (or points) with two decimals."""
    return f"{100 * mean:.2f} ± {100 * std:.2f}"


def sides_table(comparison):
    """A rich table: each side's file, model, accuracy (%), repeats, fingerprint."""
    from rich.table import Table

    table = Table(title="Evaluation results")
    for name in ("", "Result", "Model", "Accuracy (%)", "n", "Protocol"):
        table.add_column(
            name, justify="right" if name in ("Accuracy (%)", "n") else "left"
        )
    for label, side in (("A", comparison.a), ("B", comparison.b)):
        table.add_row(
            label,
            side.name,
            side.model,
            percent(side.accuracy_mean, side.accuracy_std),
            str(side.n),
            side.fingerprint or "not recorded",
        )
    return table


def _value(value):
    return "absent" if value is None else str(value)


def report_lines(comparison):
    """The lines printed under the table: paired difference, then a verdict
    or a warning naming the protocol fields that differ.

    Returns:
        list of `(text, rich style or None)`.
    """
    lines = []
    if comparison.paired_differences:
        seeds = ", ".join(map(str, comparison.paired_seeds))
        text = (
            f"Paired difference A - B: "
            f"{percent(comparison.paired_mean, comparison.paired_std)} points "
            f"over {len(comparison.paired_seeds)} pairs (seeds {seeds})."
        )
    else:
        text = "Paired difference: no repeat seed appears on both sides."
    lines.append((text, None))
    if comparison.same_protocol:
        lines.append((f"Verdict: {comparison.verdict}", "bold"))
    else:
        fields = "; ".join(
            f"{name}: {_value(a)} vs {_value(b)}"
            for name, a, b in comparison.differences
        )
        text = (
            f"Warning: the protocols differ ({fields}); no verdict: these "
            "accuracies were not measured the same way."
        )
        lines.append((text, "bold yellow"))
    return lines


@click.command()
@click.argument("a", metavar="A.json")
@click.argument("b", metavar="B.json")
@click.option(
    "--model",
    default=None,
    help="The model to compare when a result holds several.",
)
def compare(a, b, model):
    """Compare two evaluation results (`udd-keras evaluate --json`): accuracy
    side by side, the paired difference over the repeats whose seeds match,
    and which is higher, only when their protocol fingerprints agree.
    """
    from rich.console import Console

    from udd_keras.evaluation.compare import compare_results

    comparison = compare_results(a, b, model=model)
    console = Console()
    console.print(sides_table(comparison))
    for text, style in report_lines(comparison):
        console.print(text, style=style, markup=False, highlight=False)
