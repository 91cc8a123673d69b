"""`udd-keras coreset`: select real images per class and store them as a set."""

import pathlib

import click

from udd_keras.cli.options import choice_option, data_dir_option, recipe_option

METHOD_CHOICES = ("random", "herding", "forgetting")


@click.command()
@click.argument("dataset")
@click.option("--ipc", type=int, required=True, help="Images per class.")
@choice_option("--method", METHOD_CHOICES, "random")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    required=True,
    help="Folder for coreset.tfrecord and coreset.png.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@recipe_option(
    "epochs",
    default=None,
    help="Training epochs of the herding/forgetting network.  "
    "[default: 1 for herding, 3 for forgetting]",
)
@recipe_option("width", help="Width of the herding/forgetting ConvNet.")
@data_dir_option()
def coreset(dataset, ipc, method, out_dir, seed, data_dir, **recipe_settings):
    """Select IPC real training images per class of DATASET (random, herding or
    forgetting) and write OUT/coreset.tfrecord and OUT/coreset.png.
    """
    from udd_keras.coreset import coreset_recipe, select_coreset
    from udd_keras.data import load_dataset
    from udd_keras.tfrecords import SyntheticSetMetadata, write_synthetic_set
    from udd_keras.visualization import save_image_grid

    data = load_dataset(dataset, data_dir=data_dir)
    recipe, options = None, {}
    if method != "random":
        given = {
            name: value for name, value in recipe_settings.items() if value is not None
        }
        recipe = coreset_recipe(method).replace(**given)
        options = {"width": recipe.width, "epochs": recipe.epochs}
    indices = select_coreset(data, ipc, method, seed, recipe)
    images, labels = data.x_train[indices], data.y_train[indices]
    metadata = SyntheticSetMetadata.for_dataset(
        data, ipc, method, extra={"seed": seed, "indices": indices.tolist(), **options}
    )
    out = pathlib.Path(out_dir)
    record = write_synthetic_set(out / "coreset.tfrecord", images, labels, metadata)
    grid = save_image_grid(
        out / "coreset.png", images, labels, data.class_names, data.normalization
    )
    click.echo(f"Coreset: {record} ({len(indices)} images, {method}, ipc {ipc})")
    click.echo(f"Grid: {grid}")
