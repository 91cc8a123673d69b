"""`import_set`: a set distilled by another code base -> a udd-keras TFRecord.

The source is read (`npz`, `folder`, or a `.pt` file of DC/DSA/DM, IDC or MTT),
its pixels are brought back to [0, 1] from the space the source stores them in
and normalised like the dataset, every array is checked against the dataset,
and the set is written atomically with `write_synthetic_set`, so `udd-keras
evaluate`, `udd-keras mue` and `udd_keras.tfrecords.as_tf_dataset` read it like
a set distilled here. Any problem is one `SetImportError` line and leaves no
output file.
"""

from __future__ import annotations

import dataclasses
import inspect
import pathlib
from dataclasses import dataclass

import numpy as np

from udd_keras.data import ImageDataset, Normalization
from udd_keras.importing.arrays import (
    LAYOUTS,
    check_finite,
    check_labels,
    check_soft_labels,
    to_nhwc,
    to_unit_range,
)
from udd_keras.importing.conventions import (
    CODEBASE_DATASET_NAMES,
    codebase_normalization,
)
from udd_keras.importing.folder import read_folder
from udd_keras.importing.npz import read_npz
from udd_keras.importing.pt_formats import (
    IDC_DECODE_TYPES,
    PT_FORMATS,
    detect_pt_format,
    read_dc,
    read_idc,
    read_mtt,
)
from udd_keras.importing.source import SetImportError
from udd_keras.importing.torch_files import load_pt

IMPORT_FORMATS = ("auto", "npz", "folder", *PT_FORMATS)
PT_SUFFIXES = (".pt", ".pth")


@dataclass
class ImportResult:
    """What `import_set` wrote.

    Args:
        path: `pathlib.Path` of the TFRecord.
        metadata: its `SyntheticSetMetadata`, read back from the file.
        source_format: the format read, one of `IMPORT_FORMATS` but `"auto"`.
        decoded_images: int, images the set decodes to for training
            (`N * (K + include_original)`).
    """

    path: pathlib.Path
    metadata: object
    source_format: str
    decoded_images: int


def _check_choice(name, value, allowed):
    if value not in allowed:
        raise SetImportError(
            f"{name} must be one of {', '.join(allowed)}; got {value!r}"
        )


def _source_format(path, source_format):
    """The format to read `path` as; `SetImportError` when it cannot be told."""
    if not path.exists():
        raise SetImportError(f"{path}: no such file or folder")
    if source_format == "folder" or (source_format == "auto" and path.is_dir()):
        if not path.is_dir():
            raise SetImportError(f"{path}: format 'folder' needs a folder")
        return "folder"
    if path.is_dir():
        raise SetImportError(
            f"{path} is a folder; format {source_format!r} reads a file"
        )
    if source_format != "auto":
        return source_format
    if path.suffix.lower() == ".npz":
        return "npz"
    if path.suffix.lower() in PT_SUFFIXES:
        return "pt"
    raise SetImportError(
        f"{path}: cannot tell the format from the name; pass the format "
        f"(--format {', '.join(IMPORT_FORMATS[1:])})"
    )


def _user_normalization(mean, std, channels):
    """`Normalization` from `--mean`/`--std` (one value, or one per channel)."""
    if mean is None and std is None:
        return None
    if mean is None or std is None:
        raise SetImportError(
            "give both --mean and --std (the normalisation the pixels are stored "
            "in), or neither"
        )
    values = []
    for name, given in (("mean", mean), ("std", std)):
        given = [float(v) for v in np.atleast_1d(given)]
        if len(given) == 1:
            given = given * channels
        if len(given) != channels:
            raise SetImportError(
                f"--{name} has {len(given)} values; the dataset's images have "
                f"{channels} channel(s): give one value or {channels}"
            )
        if not all(np.isfinite(given)):
            raise SetImportError(f"--{name} {given} must be finite")
        values.append(tuple(given))
    if any(s <= 0 for s in values[1]):
        raise SetImportError(f"--std must be positive, got {list(values[1])}")
    return Normalization(mean=values[0], std=values[1])


def _read(path, fmt, dataset, experiment, labels_path):
    """`(format, SourceArrays)` read from `path`."""
    if fmt == "folder":
        return fmt, read_folder(path, dataset.class_names, dataset.image_shape)
    if fmt == "npz":
        return fmt, read_npz(path)
    content = load_pt(path)
    if fmt == "pt":
        fmt = detect_pt_format(content, path)
    if labels_path is not None and fmt != "mtt":
        raise SetImportError(
            f"a labels file is read for MTT images files only; {path} is {fmt}"
        )
    if fmt == "dc":
        return fmt, read_dc(content, path, experiment)
    if fmt == "idc":
        return fmt, read_idc(content, path)
    return fmt, read_mtt(content, path, labels_path)


def _pixel_space(fmt, arrays, user_norm, zca, dataset, path):
    """The normalisation the source's pixels are in (None: raw [0, 1]).

    Returns:
        `(normalization or None, description for the metadata)`.
    """
    if zca is not None and fmt != "mtt":
        raise SetImportError(f"--zca/--no-zca apply to MTT sets only; {path} is {fmt}")
    if fmt == "folder":
        if user_norm is not None:
            raise SetImportError(
                f"{path}: image files hold raw pixels; --mean/--std do not apply"
            )
        return None, "raw"
    if fmt == "mtt" and arrays.details.get("unwhitened"):
        if zca is False:
            raise SetImportError(
                f"{path}: MTT writes images_zca_*.pt only for ZCA runs; drop --no-zca"
            )
        if user_norm is not None:
            raise SetImportError(
                f"{path}: MTT's un-whitened images_zca_*.pt hold raw pixels; "
                "--mean/--std do not apply"
            )
        return None, "raw (MTT un-whitened)"
    if fmt == "mtt" and zca:
        zca_file = path.name.replace("images_", "images_zca_", 1)
        raise SetImportError(
            f"{path}: MTT stores ZCA runs whitened and does not save the ZCA "
            "matrix, so the pixels cannot be recovered; import the un-whitened "
            f"{zca_file} MTT saves beside it (runs with ipc < 50 or --force_save)"
        )
    if user_norm is not None:
        return user_norm, "normalised (--mean/--std)"
    if fmt in ("npz", "idc"):
        return None, "raw"
    if fmt == "mtt" and zca is None:
        raise SetImportError(
            f"{path}: MTT stores ZCA-whitened pixels for runs with --zca and the "
            "file does not say which; pass --no-zca for a run without --zca, or "
            "import its un-whitened images_zca_<iteration>.pt"
        )
    normalization = codebase_normalization(fmt, dataset.name)
    if normalization is None:
        raise SetImportError(
            f"{path}: no known {fmt} normalisation for dataset {dataset.name!r}; "
            "pass the --mean and --std the set was normalised with"
        )
    return normalization, f"normalised ({fmt}'s constants)"


def _formation(arrays, fmt, factor, decode_type, image_shape, path):
    """`(factor, decode_type)` from the arguments and what the source says."""
    if decode_type is not None:
        _check_choice("decode_type", decode_type, IDC_DECODE_TYPES)
    for name, given, found in (
        ("factor", factor, arrays.factor),
        ("decode type", decode_type, arrays.decode_type),
    ):
        if given is not None and found is not None and given != found:
            raise SetImportError(
                f"{name} {given!r} contradicts {found!r} in the folder name of "
                f"{path} (IDC's _factor<F>[_multi] tag)"
            )
    factor = factor if factor is not None else arrays.factor
    decode_type = decode_type or arrays.decode_type or "single"
    if decode_type not in IDC_DECODE_TYPES:
        raise SetImportError(
            f"{path}: IDC decode type {decode_type!r} is not supported; "
            f"supported: {', '.join(IDC_DECODE_TYPES)}"
        )
    if factor is None:
        if fmt == "idc":
            raise SetImportError(
                f"{path}: an IDC set needs its multi-formation factor, the -f it "
                "was condensed with (IDC's default for CIFAR is 2; 1 for IDC-I); "
                "pass --factor"
            )
        factor = 1
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)):
        raise SetImportError(f"factor must be an integer >= 1, got {factor!r}")
    if not 1 <= factor <= min(image_shape[:2]):
        raise SetImportError(
            f"factor {factor} outside 1..{min(image_shape[:2])} for "
            f"{image_shape[0]}x{image_shape[1]} images"
        )
    return int(factor), decode_type


def _boxes(factor, decode_type, count, image_shape):
    """`(boxes (N, K, 4) or None, include_original, formation or None)`.

    IDC's multi-formation: `single` decodes each image into its `factor**2`
    tiles only; `multi` into the image itself and the tiles of every factor
    2 .. `factor`.
    """
    from udd_keras.regions.boxes import uniform_boxes

    height, width = image_shape[:2]
    if factor == 1:
        return None, True, "original"
    if decode_type == "single":
        tiles = uniform_boxes(height, width, factor)
        return np.tile(tiles[None], (count, 1, 1)), False, "tiles"
    tiles = np.concatenate(
        [uniform_boxes(height, width, f) for f in range(2, factor + 1)]
    )
    return np.tile(tiles[None], (count, 1, 1)), True, None


def _resolve_dataset(dataset, data_dir):
    if isinstance(dataset, ImageDataset):
        return dataset
    from udd_keras.data import load_dataset

    return load_dataset(str(dataset), data_dir=data_dir)


@dataclass(frozen=True)
class ImportOptions:
    """How `import_set` reads a source; every field is optional.

    Args:
        source_format: one of `IMPORT_FORMATS`; `"auto"` tells npz and folder
            from the path, and DC, IDC and MTT from what a `.pt` file holds.
        layout: one of `LAYOUTS`; `"auto"` detects NHWC or NCHW from the shape.
        mean: float or per-channel floats, the mean the stored pixels were
            normalised with (with `std`); None: the format's convention (raw
            [0, 1] for npz and IDC, each code base's constants for DC and MTT).
        std: float or per-channel floats, likewise.
        factor: int, IDC's tiles per side (multi-formation); None takes it from
            IDC's folder name, else 1 (whole images) for other formats.
        decode_type: `"single"` (tiles only) or `"multi"` (the image, then the
            tiles of factors 2 .. `factor`), as IDC's `--decode_type`.
        experiment: int, which experiment of a DC/DSA/DM file (-1: the last).
        labels: path of MTT's labels file when it is not beside the images.
        zca: MTT only: False for a run without `--zca`; True is refused (the
            whitened pixels cannot be recovered); None when importing MTT's
            un-whitened `images_zca_<it>.pt` or giving `mean`/`std`.
        hard_labels: bool, keep only the class ids of a source with soft labels.
        method: str stored as the set's method; None: the format's (`dc`,
            `dsa`, `dm` from a DC file name, `idc`, `mtt`, `imported`).
        data_dir: passed to `load_dataset`.

    Example:
    >>> ImportOptions(factor=2).replace(experiment=0).experiment
    0
    """

    source_format: str = "auto"
    layout: str = "auto"
    mean: object = None
    std: object = None
    factor: int | None = None
    decode_type: str | None = None
    experiment: int = -1
    labels: object = None
    zca: bool | None = None
    hard_labels: bool = False
    method: str | None = None
    data_dir: object = None

    def replace(self, **changes):
        """A copy with `changes`; an unknown name is a `SetImportError`."""
        known = {field.name for field in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise SetImportError(
                f"unknown import option(s) {', '.join(unknown)}; allowed: "
                + ", ".join(sorted(known))
            )
        return dataclasses.replace(self, **changes)


def import_set(source, dataset, out, options=None, **changes):
    """Imports a set distilled by another code base as a udd-keras TFRecord.

    Args:
        source: str or path-like: an `.npz` (`images`, `labels`, optional
            `soft_labels`), a folder of class sub-folders of images, or a `.pt`
            file saved by DC/DSA/DM, IDC or MTT (needs PyTorch).
        dataset: a `load_dataset` name (e.g. `"cifar10"`) or an `ImageDataset`;
            its class order, image shape and normalisation are the set's.
        out: str or path-like, the TFRecord to write (replaced atomically).
        options: an `ImportOptions` (None: the defaults).
        **changes: `ImportOptions` fields that override `options`'s, e.g.
            `factor=2`, `mean=[0.5]`, `std=[0.5]`.

    Returns:
        `ImportResult`.

    Raises:
        SetImportError: the source is unreadable or does not fit the dataset
            (wrong shape or size, NaN/inf, labels out of range, a class without
            images, unequal images per class); nothing is written then.

    Example:
    >>> import numpy as np, tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> np.savez(os.path.join(folder, "set.npz"),
    ...     images=np.random.rand(10, 1, 8, 8), labels=np.arange(10))
    >>> result = import_set(os.path.join(folder, "set.npz"), "digits",
    ...     os.path.join(folder, "set.tfrecord"))
    >>> result.metadata.ipc, result.metadata.image_shape
    (1, (8, 8, 1))
    """
    options = (options or ImportOptions()).replace(**changes)
    source_format, layout = options.source_format, options.layout
    experiment, hard_labels = options.experiment, options.hard_labels
    _check_choice("format", source_format, IMPORT_FORMATS)
    _check_choice("layout", layout, LAYOUTS)
    if isinstance(experiment, bool) or not isinstance(experiment, (int, np.integer)):
        raise SetImportError(f"experiment must be an integer, got {experiment!r}")
    path = pathlib.Path(source)
    fmt = _source_format(path, source_format)
    dataset = _resolve_dataset(dataset, options.data_dir)
    user_norm = _user_normalization(options.mean, options.std, dataset.image_shape[2])
    fmt, arrays = _read(path, fmt, dataset, int(experiment), options.labels)
    named = arrays.codebase_dataset
    if (
        named is not None
        and dataset.name in CODEBASE_DATASET_NAMES.values()
        and named != dataset.name
    ):
        raise SetImportError(
            f"{path}: its name says it holds {named!r}, not {dataset.name!r}; "
            "pass the dataset it was distilled from"
        )
    normalization, pixels = _pixel_space(
        fmt, arrays, user_norm, options.zca, dataset, path
    )
    factor, decode_type = _formation(
        arrays, fmt, options.factor, options.decode_type, dataset.image_shape, path
    )

    images = to_nhwc(arrays.images, dataset.image_shape, layout, path, arrays.layout)
    check_finite(images, path)
    count = len(images)
    soft = arrays.soft_labels
    if soft is not None:
        soft = check_soft_labels(soft, count, dataset.num_classes, path)
    hard, ipc = check_labels(arrays.labels, soft, count, dataset.class_names, path)
    if hard_labels:
        soft = None
    if normalization is not None and normalization == dataset.normalization:
        # Stored in the dataset's own normalisation: kept bit for bit, so the
        # set trains exactly as it did where it was made.
        stored = np.asarray(images, np.float32)
    else:
        unit = to_unit_range(images, normalization, arrays.check_unit_range, path)
        stored = dataset.normalization.normalize(unit).astype(np.float32)
    check_finite(stored, path, "normalised images")
    boxes, include_original, formation = _boxes(
        factor, decode_type, count, dataset.image_shape
    )

    from udd_keras.tfrecords import (
        SyntheticSetMetadata,
        read_metadata,
        write_synthetic_set,
    )

    write_options = {}
    if soft is not None:
        if "soft_labels" not in inspect.signature(write_synthetic_set).parameters:
            raise SetImportError(
                f"{path}: holds soft labels, which this udd-keras cannot store; "
                "import the class ids only (--hard-labels)"
            )
        write_options["soft_labels"] = soft
    imported = {
        "source": str(path),
        "format": fmt,
        "pixels": pixels,
        "source_normalization": None
        if normalization is None
        else normalization.to_dict(),
        "soft_labels": soft is not None,
        **arrays.details,
    }
    extra = {"imported": imported, "factor": factor, "decode_type": decode_type}
    if formation is not None:
        extra.update(formation=formation, decode="fixed")
    metadata = SyntheticSetMetadata.for_dataset(
        dataset,
        ipc,
        options.method or arrays.method,
        include_original=include_original,
        extra=extra,
    )
    written = write_synthetic_set(
        out, stored, hard, metadata, boxes=boxes, **write_options
    )
    regions = 0 if boxes is None else boxes.shape[1]
    return ImportResult(
        path=pathlib.Path(written),
        metadata=read_metadata(written),
        source_format=fmt,
        decoded_images=count * (regions + int(include_original)),
    )
