"""The registered data sources and whether each is available offline."""

from __future__ import annotations

import hashlib
import os
import pathlib
from dataclasses import dataclass

from udd_keras.data.dataset import Normalization
from udd_keras.data.idx import IDX_FILES, has_idx_files

# Debian's `dataset-fashion-mnist` package installs the four IDX files here.
DEBIAN_FASHION_MNIST_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")


@dataclass(frozen=True)
class SourceSpec:
    """What a registered source is and where its files come from.

    Args:
        name: registered name, also the TFDS name for TFDS sources.
        description: one line for `udd-keras datasets`.
        image_shape: `(H, W, C)`.
        num_classes: number of classes.
        normalization: conventional train-set statistics; None when computed
            from the train split at load time (digits).
        backend: `"tfds"` or `"sklearn"`.
        download_host: host TFDS downloads from (probed before downloading).
        reads_idx: True when the source can be read from the four IDX files.
        system_idx_dir: a folder where an OS package installs those IDX files.
    """

    name: str
    description: str
    image_shape: tuple[int, int, int]
    num_classes: int
    normalization: Normalization | None
    backend: str = "tfds"
    download_host: str | None = None
    reads_idx: bool = False
    system_idx_dir: pathlib.Path | None = None


SOURCES = {
    spec.name: spec
    for spec in [
        SourceSpec(
            name="mnist",
            description="MNIST handwritten digits, 60k/10k",
            image_shape=(28, 28, 1),
            num_classes=10,
            normalization=Normalization(mean=(0.1307,), std=(0.3081,)),
            download_host="storage.googleapis.com",
            reads_idx=True,
        ),
        SourceSpec(
            name="fashion_mnist",
            description="Fashion-MNIST clothing, 60k/10k",
            image_shape=(28, 28, 1),
            num_classes=10,
            normalization=Normalization(mean=(0.2861,), std=(0.3530,)),
            download_host="fashion-mnist.s3-website.eu-central-1.amazonaws.com",
            reads_idx=True,
            system_idx_dir=DEBIAN_FASHION_MNIST_DIR,
        ),
        SourceSpec(
            name="cifar10",
            description="CIFAR-10 natural images, 50k/10k",
            image_shape=(32, 32, 3),
            num_classes=10,
            normalization=Normalization(
                mean=(0.4914, 0.4822, 0.4465), std=(0.2023, 0.1994, 0.2010)
            ),
            download_host="www.cs.toronto.edu",
        ),
        SourceSpec(
            name="cifar100",
            description="CIFAR-100 natural images (fine labels), 50k/10k",
            image_shape=(32, 32, 3),
            num_classes=100,
            normalization=Normalization(
                mean=(0.5071, 0.4866, 0.4409), std=(0.2673, 0.2564, 0.2762)
            ),
            download_host="www.cs.toronto.edu",
        ),
        SourceSpec(
            name="svhn_cropped",
            description="SVHN cropped house-number digits, 73k/26k",
            image_shape=(32, 32, 3),
            num_classes=10,
            normalization=Normalization(
                mean=(0.4377, 0.4438, 0.4728), std=(0.1980, 0.2010, 0.1970)
            ),
            download_host="ufldl.stanford.edu",
        ),
        SourceSpec(
            name="digits",
            description="scikit-learn 8x8 digits, seeded stratified 80/20 split",
            image_shape=(8, 8, 1),
            num_classes=10,
            normalization=None,
            backend="sklearn",
        ),
    ]
}


@dataclass(frozen=True)
class SourceStatus:
    """One row of `list_sources()`.

    Args:
        name: registered source name.
        description: one line.
        image_shape: `(H, W, C)`.
        num_classes: number of classes.
        available: True when `load_dataset(name)` works without network now.
        detail: where the files are, or how to get them.
    """

    name: str
    description: str
    image_shape: tuple[int, int, int]
    num_classes: int
    available: bool
    detail: str


def default_tfds_dir() -> pathlib.Path:
    """TFDS's data directory: `$TFDS_DATA_DIR` or `~/tensorflow_datasets`."""
    return pathlib.Path(
        os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")
    ).expanduser()


def idx_cache_dir(folder) -> pathlib.Path:
    """TFDS data directory that caches what is prepared from a user IDX folder.

    It lives under `$XDG_CACHE_HOME/udd_keras/tfds` (default `~/.cache`), keyed
    by the folder's absolute path and its files' sizes and modification times,
    so that two folders (or changed files) never share a prepared copy.
    """
    folder = pathlib.Path(folder).expanduser().resolve()
    key = [str(folder)]
    for filename in sorted(IDX_FILES.values()):
        stat = (folder / filename).stat()
        key.append(f"{filename}:{stat.st_size}:{stat.st_mtime_ns}")
    digest = hashlib.sha1("|".join(key).encode()).hexdigest()[:16]
    cache_home = pathlib.Path(os.environ.get("XDG_CACHE_HOME", "~/.cache"))
    return cache_home.expanduser() / "udd_keras" / "tfds" / digest


def tfds_dir_for(data_dir) -> pathlib.Path:
    """The TFDS data directory to use for a `data_dir` argument.

    None gives TFDS's default directory; a folder of IDX files is a manual
    folder, not a TFDS tree, so its prepared copy goes to `idx_cache_dir`;
    any other folder is used as the TFDS data directory.
    """
    if data_dir is None:
        return default_tfds_dir()
    if has_idx_files(data_dir):
        return idx_cache_dir(data_dir)
    return pathlib.Path(data_dir).expanduser()


def manual_idx_dir(spec: SourceSpec, data_dir=None) -> pathlib.Path | None:
    """The folder of IDX files to read `spec` from, or None."""
    if not spec.reads_idx:
        return None
    for folder in (data_dir, spec.system_idx_dir):
        if folder is not None and has_idx_files(folder):
            return pathlib.Path(folder).expanduser()
    return None


def prepared_tfds_path(name: str, tfds_dir) -> pathlib.Path | None:
    """The newest prepared version folder of a TFDS dataset, or None.

    A cheap file-system check (no TensorFlow import): a version folder with a
    `dataset_info.json` is what `tfds build` leaves behind.
    """
    versions = sorted(pathlib.Path(tfds_dir).glob(f"{name}/*/dataset_info.json"))
    return versions[-1].parent if versions else None


def how_to_get(spec: SourceSpec) -> str:
    """One line that says how to make `spec` available offline."""
    text = (
        f"run `tfds build {spec.name}` on a machine with network access and copy "
        f"~/tensorflow_datasets here (or pass --data-dir <that folder>)"
    )
    if spec.reads_idx:
        text += ", or pass --data-dir <folder with the four IDX .gz files>"
    return text


def source_status(spec: SourceSpec, data_dir=None) -> SourceStatus:
    """Whether `spec` can be loaded offline now, and from where."""
    if spec.backend == "sklearn":
        available, detail = True, "bundled with scikit-learn"
    elif prepared := prepared_tfds_path(spec.name, tfds_dir_for(data_dir)):
        available, detail = True, f"TFDS, prepared in {prepared}"
    elif manual := manual_idx_dir(spec, data_dir):
        available, detail = True, f"IDX files in {manual}"
    else:
        where = (
            "--data-dir <TFDS dir or IDX folder>"
            if spec.reads_idx
            else ("--data-dir <TFDS dir>")
        )
        detail = f"not prepared: `tfds build {spec.name}` with network, or {where}"
        available = False
    return SourceStatus(
        name=spec.name,
        description=spec.description,
        image_shape=spec.image_shape,
        num_classes=spec.num_classes,
        available=available,
        detail=detail,
    )


def list_sources(data_dir=None) -> list[SourceStatus]:
    """Lists the registered sources and whether each is available offline now.

    Args:
        data_dir: optional TFDS data directory, or folder of IDX files, as
            passed to `load_dataset`.

    Returns:
        One `SourceStatus` per registered source, in registry order.

    Example:
    >>> [s.name for s in list_sources() if s.available]
    ['fashion_mnist', 'digits']
    """
    return [source_status(spec, data_dir) for spec in SOURCES.values()]
