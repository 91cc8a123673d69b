"""`udd-keras sets`: the sets shipped with udd-keras, their accuracy and recipe."""

import click


def sets_table(shipped):
    """A rich table: one row per shipped set, accuracy in percent."""
    from rich.table import Table

    table = Table(title="Shipped sets (accuracy: test split, mean ± std)")
    for column in ("Name", "Dataset", "IPC", "Method", "Accuracy (%)", "Runs"):
        table.add_column(column, justify="left" if column == "Name" else "right")
    table.add_column("Epochs", justify="right")
    table.add_column("Protocol")
    table.add_column("Made by", overflow="fold")
    for entry in shipped:
        accuracy = entry.accuracy
        measured = "mean" in accuracy
        table.add_row(
            entry.name,
            entry.dataset,
            str(entry.ipc),
            entry.method,
            (
                f"{100 * accuracy['mean']:.2f} ± {100 * accuracy['std']:.2f}"
                if measured
                else "not measured"
            ),
            str(accuracy.get("n", "-")),
            str(accuracy.get("epochs", "-")),
            accuracy.get("protocol_fingerprint") or "-",
            entry.command,
        )
    return table


@click.command("sets")
def sets():
    """List the sets shipped with udd-keras: accuracy and the command that made
    each. Every command that takes a set file takes one of these names too.
    """
    from rich.console import Console

    from udd_keras.sets import list_sets

    Console().print(sets_table(list_sets()))
    click.echo(
        "Use a name wherever a set file goes (udd-keras evaluate NAME), or "
        "udd_keras.sets.load(NAME) in Python."
    )
