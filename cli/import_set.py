"""`udd-keras import`: a set distilled by another code base -> a TFRecord."""

import click

from udd_keras.cli.options import add_options
from udd_keras.importing.arrays import LAYOUTS
from udd_keras.importing.importer import IMPORT_FORMATS, ImportOptions
from udd_keras.importing.pt_formats import IDC_DECODE_TYPES


class FloatList(click.ParamType):
    """`"0.49,0.48,0.45"` -> `[0.49, 0.48, 0.45]`."""

    name = "FLOATS"

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        try:
            return [float(part) for part in value.split(",") if part.strip()]
        except ValueError:
            raise click.BadParameter(
                f"{value!r} is not a comma-separated list of numbers",
                ctx=ctx,
                param_hint=f"--{param.name}",
            ) from None


_DEFAULTS = ImportOptions()


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
@add_options(
    (
        (
            "--format",
            "source_format",
            click.Choice(IMPORT_FORMATS),
            "npz, folder of class sub-folders, or the .pt files of DC/DSA/DM "
            "(dc), IDC (idc) or MTT (mtt); auto tells them apart.  "
            f"[default: {_DEFAULTS.source_format}]",
        ),
        (
            "--layout",
            "layout",
            click.Choice(LAYOUTS),
            "Image axes; auto detects NHWC or NCHW from the dataset's shape.  "
            f"[default: {_DEFAULTS.layout}]",
        ),
        (
            "--mean",
            "mean",
            FloatList(),
            "Per-channel mean the stored pixels were normalised with, e.g. "
            "0.4914,0.4822,0.4465 (with --std).  [default: raw [0, 1] for npz "
            "and IDC, the code base's constants for DC and MTT]",
        ),
        ("--std", "std", FloatList(), "Per-channel std, likewise."),
        (
            "--factor",
            "factor",
            int,
            "IDC's multi-formation factor (tiles per side).  [default: from "
            "IDC's folder name (_factor2), else 1]",
        ),
        (
            "--decode-type",
            "decode_type",
            click.Choice(IDC_DECODE_TYPES),
            "IDC's --decode_type: tiles only (single) or the image and the "
            "tiles of every factor up to --factor (multi).  [default: single]",
        ),
        (
            "--experiment",
            "experiment",
            int,
            "Which experiment of a DC/DSA/DM file; -1 is the last.  "
            f"[default: {_DEFAULTS.experiment}]",
        ),
        (
            "--labels",
            "labels",
            click.Path(dir_okay=False, path_type=str),
            "MTT's labels .pt.  [default: labels_<it>.pt beside images_<it>.pt]",
        ),
        (
            "--method",
            "method",
            str,
            "Name stored as the set's method.  [default: dc, dsa, dm, idc, mtt "
            "or imported, from the source]",
        ),
        ("--data-dir", "data_dir", click.Path(file_okay=False), None),
    )
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
def import_set(source, dataset, out, **options):
    """Import SOURCE, a set distilled by another code base, as a udd-keras
    TFRecord that `evaluate` and `mue` read: an .npz (images, labels, optional
    soft_labels), a folder of class sub-folders of images, or a .pt file saved
    by DC/DSA/DM, IDC or MTT (needs `pip install 'udd-keras[torch]'`).
    """
    from udd_keras.importing import import_set as run_import

    given = {name: value for name, value in options.items() if value is not None}
    result = run_import(source, dataset, out, ImportOptions(**given))
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
