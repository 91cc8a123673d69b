"""`udd-keras sets`: the sets shipped with udd-keras, their accuracy and recipe."""

import click


def sets_table(shipped):
    """A rich table: one row per shipped set, accuracy in percent.

    Fits 80 columns; the commands that made the sets go below it
    (`made_by_lines`).
    """
    from rich.table import Table

    table = Table(title="Shipped sets: test accuracy, ConvNet-3, mean ± std")
    table.add_column("Name", no_wrap=True)
    for column in ("IPC", "Accuracy (%)", "Runs", "Epochs"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("Protocol", no_wrap=True)
    for entry in shipped:
        accuracy = entry.accuracy
        measured = "mean" in accuracy
        table.add_row(
            entry.name,
            str(entry.ipc),
            (
                f"{100 * accuracy['mean']:.2f} ± {100 * accuracy['std']:.2f}"
                if measured
                else "not measured"
            ),
            str(accuracy.get("n", "-")),
            str(accuracy.get("epochs", "-")),
            accuracy.get("protocol_fingerprint") or "-",
        )
    return table


def made_by_lines(shipped):
    """One line per set: its name and the exact command that made it."""
    return [f"{entry.name}: {entry.command}" for entry in shipped]


@click.command("sets")
def sets():
    """List the sets shipped with udd-keras: accuracy and the command that made
    each. Every command that takes a set file takes one of these names too.
    """
    from rich.console import Console

    from udd_keras.sets import list_sets

    shipped = list_sets()
    Console().print(sets_table(shipped))
    click.echo("Made by:")
    for line in made_by_lines(shipped):
        click.echo(f"  {line}")
    click.echo(
        "Names work wherever a set file does; Python: udd_keras.sets.load(NAME)."
    )
