"""TensorFlow Datasets sources: mnist, fashion_mnist, cifar10, cifar100, svhn.

How a TFDS source is found, in order:

1. Already prepared in the TFDS data directory (`data_dir`, `$TFDS_DATA_DIR` or
   `~/tensorflow_datasets`): read from there.
2. mnist / fashion_mnist with the four IDX `.gz` files in `data_dir` (or, for
   fashion_mnist, Debian's /usr/share/datasets/fashion-mnist): TFDS prepares them
   through `DownloadConfig(manual_dir=..., register_checksums=True)`, into the
   TFDS data directory for Debian's files or into a per-folder cache
   (`sources.idx_cache_dir`) for a `data_dir` of IDX files, so later loads read
   the prepared copy. Debian's files are re-compressed, so their checksums
   differ from TFDS's record and must be re-registered. TFDS does pick files up
   from `manual_dir` (checked with TFDS 4.9.10, 2 CPU cores: first load of
   fashion_mnist 25 s including preparation, later loads 6 s), but:
   - registering checksums rewrites the checksum file inside the installed
     `tensorflow_datasets` package; we put the original bytes back afterwards,
     so a later genuine download still validates;
   - TFDS 4.9.10 needs the `importlib_resources` package to prepare anything,
     and fails without it; an install in a read-only location cannot register
     checksums either.
   When TFDS cannot prepare the files, the IDX files are read directly with
   numpy (gzip + IDX header: 2 s for a first fashion_mnist load in a fresh
   process, 0.8 s after, so no cache is needed); images and labels are the
   same, only the example order differs (TFDS shuffles when preparing).
3. Otherwise TFDS downloads, but only when the download host answers within a
   few seconds; with no network, `DatasetNotFoundError` says how to get the data.
"""

from __future__ import annotations

import importlib.util
import logging
import pathlib
import socket
import threading

import numpy as np

from udd_keras.data.dataset import (
    DatasetFormatError,
    ImageDataset,
    make_dataset,
    to_unit_range,
)
from udd_keras.data.idx import load_idx_folder
from udd_keras.data.sources import SourceSpec, how_to_get, manual_idx_dir, tfds_dir_for
from udd_keras.errors import DatasetNotFoundError

logger = logging.getLogger(__name__)

_READ_BATCH = 8192


def host_reachable(host: str, timeout: float = 3.0, port: int = 443) -> bool:
    """True when a TCP connection to `host:port` opens within `timeout` seconds.

    The probe runs in a daemon thread so that a slow DNS lookup cannot block
    the caller past `timeout` either.
    """
    result = []

    def probe():
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def load_tfds_source(
    spec: SourceSpec, data_dir=None, download: bool | None = None
) -> ImageDataset:
    """Loads a registered TFDS source as a normalised `ImageDataset`.

    Args:
        spec: the registered source.
        data_dir: a TFDS data directory, or (mnist / fashion_mnist) a folder with
            the four IDX `.gz` files. None uses `$TFDS_DATA_DIR` or
            `~/tensorflow_datasets`.
        download: True to let TFDS download, False never to, None to try only
            when the download host answers.

    Returns:
        The `ImageDataset`: images `(N, H, W, C)` float32 normalised with the
        conventional statistics of the source, labels int32.
    """
    import tensorflow_datasets as tfds

    tfds_dir = tfds_dir_for(data_dir)
    builder = tfds.builder(spec.name, data_dir=str(tfds_dir))
    if not builder.is_prepared():
        manual_dir = manual_idx_dir(spec, data_dir)
        if manual_dir is not None:
            if not _prepare_from_manual_dir(builder, manual_dir):
                train, test = load_idx_folder(manual_dir)
                return _to_dataset(spec, train, test, _class_names(builder, spec))
        else:
            _download_and_prepare(builder, spec, tfds_dir, download)
    train = _read_split(builder, "train")
    test = _read_split(builder, "test")
    return _to_dataset(spec, train, test, _class_names(builder, spec))


def _to_dataset(spec, train, test, class_names) -> ImageDataset:
    for split, (_, labels) in (("train", train), ("test", test)):
        if labels.min() < 0 or labels.max() >= spec.num_classes:
            raise DatasetFormatError(
                f"{spec.name} {split} labels span [{labels.min()}, {labels.max()}]; "
                f"expected 0..{spec.num_classes - 1}."
            )
    return make_dataset(
        spec.name,
        train=(to_unit_range(train[0]), train[1]),
        test=(to_unit_range(test[0]), test[1]),
        class_names=class_names,
        normalization=spec.normalization,
    )


def _class_names(builder, spec: SourceSpec) -> list[str]:
    try:
        names = list(builder.info.features["label"].names)
    except (KeyError, AttributeError):
        names = []
    if len(names) != spec.num_classes:
        names = [str(i) for i in range(spec.num_classes)]
    return names


def _read_split(builder, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Reads a whole split into `(images uint8 (N, H, W, C), labels int32 (N,))`."""
    import tensorflow_datasets as tfds

    dataset = builder.as_dataset(
        split=split, as_supervised=True, batch_size=_READ_BATCH, shuffle_files=False
    )
    images, labels = [], []
    for batch_images, batch_labels in tfds.as_numpy(dataset):
        images.append(batch_images)
        labels.append(batch_labels)
    if not images:
        raise DatasetNotFoundError(
            f"split {split!r} of dataset {builder.name!r} is empty in "
            f"{builder.data_dir}."
        )
    return np.concatenate(images), np.concatenate(labels).astype("int32")


def tfds_can_prepare() -> bool:
    """False when TFDS 4.9 would fail to prepare any dataset here.

    TFDS imports `importlib_resources` to locate its checksum files; without it
    every `download_and_prepare` fails, so the numpy reader is used directly.
    """
    return importlib.util.find_spec("importlib_resources") is not None


def _prepare_from_manual_dir(builder, manual_dir: pathlib.Path) -> bool:
    """Lets TFDS prepare `builder` from IDX files; False when TFDS cannot."""
    import tensorflow_datasets as tfds

    if not tfds_can_prepare():
        logger.info(
            "TFDS cannot prepare %s: importlib_resources is missing.", builder.name
        )
        return False
    checksums_path, original = _read_checksums_file(builder)
    config = tfds.download.DownloadConfig(
        manual_dir=str(manual_dir), register_checksums=True
    )
    tfds.disable_progress_bar()  # one-off preparation; keep the terminal clean
    try:
        builder.download_and_prepare(download_config=config)
    except Exception as error:  # noqa: BLE001 - any failure falls back to numpy.
        logger.info(
            "TFDS could not prepare %s from %s (%s: %s); reading the IDX files "
            "with numpy instead.",
            builder.name,
            manual_dir,
            type(error).__name__,
            error,
        )
        return False
    finally:
        _restore_checksums_file(checksums_path, original)
    return True


def _read_checksums_file(builder):
    """The TFDS checksum file that `register_checksums` rewrites, and its bytes."""
    try:
        path = pathlib.Path(str(type(builder)._checksums_path))
        return path, path.read_bytes()
    except Exception:  # noqa: BLE001 - TFDS internals; nothing to restore then.
        return None, None


def _restore_checksums_file(path, original) -> None:
    if path is None or original is None:
        return
    try:
        if not path.exists() or path.read_bytes() != original:
            path.write_bytes(original)
    except OSError as error:
        logger.warning("Could not restore TFDS checksum file %s: %s", path, error)


def _download_and_prepare(builder, spec: SourceSpec, tfds_dir, download) -> None:
    """Downloads and prepares `builder`, or raises `DatasetNotFoundError` fast."""
    if download is None:
        download = spec.download_host is not None and host_reachable(spec.download_host)
    if not download:
        raise DatasetNotFoundError(
            f"dataset {spec.name!r} is not prepared in {tfds_dir} and cannot be "
            f"downloaded here (no network): {how_to_get(spec)}."
        )
    try:
        builder.download_and_prepare()
    except Exception as error:  # noqa: BLE001 - reported as one line.
        first_line = str(error).strip().splitlines()[0] if str(error) else ""
        raise DatasetNotFoundError(
            f"downloading dataset {spec.name!r} into {tfds_dir} failed "
            f"({type(error).__name__}: {first_line}): {how_to_get(spec)}."
        ) from error
