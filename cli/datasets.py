"""`udd-keras datasets`: list the data sources and whether each is available."""

import click


@click.command("datasets")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=str),
    default=None,
    help="TFDS data directory, or a folder with the four MNIST-style IDX .gz files.",
)
def datasets(data_dir):
    """List the data sources and whether each is available offline."""
    from rich.console import Console
    from rich.table import Table

    from udd_keras.data import list_sources

    table = Table(title="udd-keras data sources")
    for column in ("name", "shape", "classes", "offline", "detail"):
        table.add_column(column, overflow="fold")
    for source in list_sources(data_dir=data_dir):
        table.add_row(
            source.name,
            "x".join(str(d) for d in source.image_shape),
            str(source.num_classes),
            "yes" if source.available else "no",
            source.detail,
        )
    Console().print(table)
    click.echo(
        "Also accepted as a dataset: a path to an .npz file "
        "(x_train, y_train, x_test, y_test) or a folder of class sub-folders."
    )
