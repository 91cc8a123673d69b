"""`udd-keras export-tfds`: a synthetic set as a TensorFlow Datasets dataset."""

import click

from udd_keras.cli.options import SetArgument, choice_option


@click.command("export-tfds")
@click.argument("source", cls=SetArgument)
@click.argument("data_dir", type=click.Path(file_okay=False))
@click.option(
    "--name",
    default=None,
    help="TFDS dataset name (lower case, digits, _).  [default: the shipped "
    "set's name, or <dataset>_ipc<N>_<method>]",
)
@choice_option(
    "--dtype",
    ["auto", "uint8", "float32"],
    "auto",
    help="Image dtype: auto is uint8 for real images (whole 0..255 pixels), "
    "float32 in [0, 1] units otherwise; uint8 rounds distilled pixels.",
)
@click.option(
    "--stored",
    is_flag=True,
    help="Write the stored images, not the images they decode to (their regions).",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing export.")
def export_tfds(source, data_dir, name, dtype, stored, overwrite):
    """Write the set SOURCE (a .tfrecord or a shipped set's name) as a TFDS
    dataset in DATA_DIR, which plain `tfds.load(NAME, data_dir=DATA_DIR)` reads.
    """
    from udd_keras.sets import export_tfds as export

    path = export(
        source,
        data_dir,
        name=name,
        dtype=dtype,
        decode_regions=not stored,
        overwrite=overwrite,
    )
    click.echo(f"TFDS dataset: {path}")
    click.echo(
        f"Load it with: tfds.load({path.parent.name!r}, split='train', "
        f"data_dir={str(data_dir)!r})"
    )
