"""`udd-keras mue`: the utilization (mUE) of sets, with tables and figures."""

import pathlib

import click

from udd_keras.cli.options import (
    SetArgument,
    choice_option,
    data_dir_option,
    output_options,
    recipe_option,
)
from udd_keras.files import atomic_write_json

# The stds of the Fig. 8 curve: from a near-spike to wider than the range.
UE_CURVE_STDS = (0.005, 2.0, 40)
OVERLAYS_PER_CLASS = 4


def parse_layer(value):
    """`"-1"` -> -1 (a block index); any other text stays a layer name."""
    try:
        return int(value)
    except ValueError:
        return value


def mue_table(results):
    """A rich table: one column per set, rows mean mUE then each class."""
    from rich.table import Table

    table = Table(title=f"mUE ({results[0].metadata.dataset})")
    table.add_column("Class")
    for result in results:
        table.add_column(result.name, justify="right")
    table.add_row("[bold]mean[/bold]", *[f"{r.report.overall:.4f}" for r in results])
    for name in results[0].metadata.class_names:
        table.add_row(
            name,
            *[
                f"{r.report.per_class[name]:.4f}" if name in r.report.per_class else "-"
                for r in results
            ],
        )
    return table


def network_line(result):
    """One line saying which network and layer gave a set's activation maps."""
    network = result.network
    shape = "x".join(str(v) for v in result.activation_maps.shape[1:])
    if network["source"] == "weights":
        which = f"saved model {network['path']} ({network['class']})"
    else:
        which = (
            f"{network['model']} width {network['width']} trained on the set "
            f"itself, {network['epochs']} epochs, seed {network['seed']}"
        )
    return f"Network {result.name}: {which}, layer {network['layer']} ({shape} maps)"


def report_dict(results, settings):
    """The JSON report: settings, then one entry per set."""
    return {
        "dataset": results[0].metadata.dataset,
        "settings": settings,
        "value_range": results[0].report.to_dict()["value_range"],
        "sets": [result.to_dict() for result in results],
    }


def write_json(path, data):
    """Writes `data` as indented JSON, atomically."""
    return atomic_write_json(path, data)


def write_figures(out_dir, results, intervals):
    """Writes the overlays per set, the per-class bars and the Fig. 8 curve.

    Returns:
        list of the PNG paths written.
    """
    import numpy as np

    from udd_keras.metrics import ue_curve_for_normal
    from udd_keras.visualization import (
        save_activation_overlays,
        save_bar_chart,
        save_ue_curve,
    )

    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for result in results:
        safe_name = result.name.replace(":", "-")
        paths.append(
            save_activation_overlays(
                out_dir / f"{safe_name}.overlays.png",
                result.images,
                result.activation_maps,
                result.labels,
                result.metadata.class_names,
                normalization=result.normalization,
                per_class=OVERLAYS_PER_CLASS,
                scores=result.report.per_image,
            )
        )
    groups = {
        name: {
            r.name: r.report.per_class[name]
            for r in results
            if name in r.report.per_class
        }
        for name in results[0].metadata.class_names
    }
    groups = {name: bars for name, bars in groups.items() if bars}
    paths.append(
        save_bar_chart(out_dir / "mue-per-class.png", groups, "mUE", "Per-class mUE")
    )
    low, high, count = UE_CURVE_STDS
    stds = np.geomspace(low, high, count)
    curves = {d: ue_curve_for_normal(stds, d) for d in intervals}
    paths.append(save_ue_curve(out_dir / "ue-curve.png", stds, curves))
    return paths


@click.command()
@click.argument("sources", nargs=-1, required=True, cls=SetArgument)
@click.option(
    "--model-weights",
    type=click.Path(dir_okay=False),
    default=None,
    help="A saved Keras model (.keras) used for every set, loaded in safe mode. "
    "[default: a ConvNet-3 trained on each set itself]",
)
@click.option(
    "--layer",
    default="-1",
    show_default=True,
    help="ConvNet block index of the activation map, or a layer name of a "
    "functional model.",
)
@recipe_option(
    "epochs", help="Training epochs of the default network (the evaluation protocol)."
)
@recipe_option("width", help="Width of the default ConvNet-3.")
@click.option("--seed", type=int, default=0, show_default=True)
@choice_option(
    "--value-range",
    ["joint", "set", "image"],
    "joint",
    help="Interval range: one over all sets' maps (comparable), one per set, "
    "or each map's own min..max.",
)
@output_options(
    "Write per-set and per-class mUE and the network used.",
    "Write activation overlays, per-class bars and the UE curve here.",
    png_folder=True,
)
@data_dir_option()
def mue(
    sources,
    model_weights,
    layer,
    seed,
    value_range,
    json_path,
    png_dir,
    data_dir,
    **recipe_settings,
):
    """Report the mUE (utilization) of one or more synthetic or coreset sets
    SOURCE (.tfrecord files or shipped set names, of one dataset): per set, per
    class and per image.
    """
    from rich.console import Console

    from udd_keras.metrics import DEFAULT_INTERVALS, measure_sets
    from udd_keras.training import TrainingRecipe

    console = Console(stderr=True)
    layer = parse_layer(layer)
    recipe = TrainingRecipe(**recipe_settings)
    with console.status("measuring") as status:
        results = measure_sets(
            list(sources),
            model_weights=model_weights,
            layer=layer,
            recipe=recipe,
            seed=seed,
            intervals=DEFAULT_INTERVALS,
            value_range=None if value_range == "joint" else value_range,
            data_dir=data_dir,
            on_progress=status.update,
        )
    Console().print(mue_table(results))
    for result in results:
        click.echo(network_line(result))
    if json_path:
        settings = {
            "model_weights": model_weights,
            "layer": layer,
            "epochs": None if model_weights else recipe.epochs,
            "width": None if model_weights else recipe.width,
            "seed": seed,
            "value_range": value_range,
            "intervals": list(DEFAULT_INTERVALS),
        }
        path = write_json(json_path, report_dict(results, settings))
        click.echo(f"Report: {path}")
    if png_dir:
        for path in write_figures(png_dir, results, DEFAULT_INTERVALS):
            click.echo(f"Figure: {path}")
