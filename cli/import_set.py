"""`udd-keras import`: a set distilled by another code base -> a TFRecord."""

import click

from udd_keras.importing import IDC_DECODE_TYPES, IMPORT_FORMATS, LAYOUTS


def parse_floats(value, name):
    """`"0.49,0.48,0.45"` -> `[0.49, 0.48, 0.45]`; None stays None."""
    if value is None:
        return None
    try:
        return [float(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a comma-separated list of numbers",
            param_hint=f"--{name}",
        ) from None


@click.command("import")
@click.argument("source", type=click.Path(path_type=str))
@click.option(
    "--dataset",
    required=True,
    help="The dataset the set was distilled from (a `udd-keras datasets` name, "
    "an .npz or a folder): its classes, image size and normalisation.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=str),
    help="The TFRecord to write.",
)
@click.option(
    "--format",
    "source_format",
    type=click.Choice(IMPORT_FORMATS),
    default="auto",
    show_default=True,
    help="npz, folder of class sub-folders, or the .pt files of DC/DSA/DM (dc), "
    "IDC (idc) or MTT (mtt); auto tells them apart.",
)
@click.option(
    "--layout",
    type=click.Choice(LAYOUTS),
    default="auto",
    show_default=True,
    help="Image axes; auto detects NHWC or NCHW from the dataset's shape.",
)
@click.option(
    "--mean",
    help="Per-channel mean the stored pixels were normalised with, e.g. "
    "0.4914,0.4822,0.4465 (with --std).  [default: raw [0, 1] for npz and IDC, "
    "the code base's constants for DC and MTT]",
)
@click.option("--std", help="Per-channel std, likewise.")
@click.option(
    "--factor",
    type=int,
    default=None,
    help="IDC's multi-formation factor (tiles per side).  [default: from IDC's "
    "folder name (_factor2), else 1]",
)
@click.option(
    "--decode-type",
    type=click.Choice(IDC_DECODE_TYPES),
    default=None,
    help="IDC's --decode_type: tiles only (single) or the image and the tiles "
    "of every factor up to --factor (multi).  [default: single]",
)
@click.option(
    "--experiment",
    type=int,
    default=-1,
    show_default=True,
    help="Which experiment of a DC/DSA/DM file; -1 is the last.",
)
@click.option(
    "--labels",
    "labels_path",
    type=click.Path(dir_okay=False, path_type=str),
    default=None,
    help="MTT's labels .pt.  [default: labels_<it>.pt beside images_<it>.pt]",
)
@click.option(
    "--zca/--no-zca",
    default=None,
    help="MTT: whether the run used --zca. ZCA runs can be imported only from "
    "their un-whitened images_zca_<it>.pt.",
)
@click.option(
    "--hard-labels",
    is_flag=True,
    help="Keep only the class ids of a set with soft labels.",
)
@click.option(
    "--method",
    default=None,
    help="Name stored as the set's method.  [default: dc, dsa, dm, idc, mtt or "
    "imported, from the source]",
)
@click.option("--data-dir", type=click.Path(file_okay=False), default=None)
def import_set(
    source,
    dataset,
    out,
    source_format,
    layout,
    mean,
    std,
    factor,
    decode_type,
    experiment,
    labels_path,
    zca,
    hard_labels,
    method,
    data_dir,
):
    """Import SOURCE, a set distilled by another code base, as a udd-keras
    TFRecord that `evaluate` and `mue` read: an .npz (images, labels, optional
    soft_labels), a folder of class sub-folders of images, or a .pt file saved
    by DC/DSA/DM, IDC or MTT (needs `pip install 'udd-keras[torch]'`).
    """
    from udd_keras.importing import import_set as run_import

    result = run_import(
        source,
        dataset,
        out,
        source_format=source_format,
        layout=layout,
        mean=parse_floats(mean, "mean"),
        std=parse_floats(std, "std"),
        factor=factor,
        decode_type=decode_type,
        experiment=experiment,
        labels=labels_path,
        zca=zca,
        hard_labels=hard_labels,
        method=method,
        data_dir=data_dir,
    )
    meta = result.metadata
    imported = meta.extra["imported"]
    details = [result.source_format, imported["pixels"]]
    if "experiment" in imported:
        details.append(
            f"experiment {imported['experiment']} of 0..{imported['experiments'] - 1}"
        )
    if meta.extra["factor"] > 1:
        details.append(f"factor {meta.extra['factor']} {meta.extra['decode_type']}")
    if imported["soft_labels"]:
        details.append("soft labels")
    click.echo(
        f"Imported {meta.num_images} images of {meta.dataset} ({meta.ipc} per "
        f"class; {', '.join(details)}), decoding to {result.decoded_images} "
        f"training images: {result.path}"
    )
