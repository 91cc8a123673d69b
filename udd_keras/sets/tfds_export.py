"""Exporting a synthetic set as a TensorFlow Datasets (TFDS) dataset.

`export_tfds` writes a set with TFDS's own writer (an ad-hoc builder from
`tfds.dataset_builders`), so that plain TFDS reads it, without udd-keras:

```python
import tensorflow_datasets as tfds

train = tfds.load("digits_ipc1_udd", split="train", data_dir="tfds",
                  as_supervised=True)                   # (image, label) pairs
builder = tfds.builder_from_directory("tfds/digits_ipc1_udd/1.0.0")
builder.info.metadata["method"], builder.info.features["label"].names
```

The dataset has one split, `train`, holding the images the set trains on (each
stored image, then its stored regions cropped and resized, as the evaluation
protocol decodes it), and the features

- `image`: the image in pixel units: `uint8` 0..255 (`tfds.features.Image`)
  when every pixel is a whole 0..255 value (real images), else `float32` in
  [0, 1] units, not clipped (`tfds.features.Tensor`);
- `label`: `tfds.features.ClassLabel` with the set's class names;
- `soft_label`: float32 (num_classes,) class probabilities, only for a set that
  stores them.

The set's metadata (source dataset, method, IPC, formation, decode, the
normalisation the protocol trains with, and the measured accuracy with its
protocol fingerprint when the set records one) is in the description and in
`metadata.json` (`builder.info.metadata`).
"""

import contextlib
import os
import pathlib
import re
import shutil
import tempfile

import numpy as np

from udd_keras.errors import UddError
from udd_keras.sets.index import is_shipped, resolve

VERSION = "1.0.0"
DTYPES = ("auto", "uint8", "float32")
# A TFDS dataset name as `tfds.load` finds it in a data dir.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
# How far (in 0..255 units) a pixel may be from a whole value for `auto` to
# store the set as uint8: float32 rounding of real images, never a distilled one.
UINT8_TOLERANCE = 1e-3
# Stored images decoded at a time.
CHUNK = 256
# PNG's channel counts (`tfds.features.Image`).
PNG_CHANNELS = (1, 3, 4)


def tfds_name(text):
    """`text` as a TFDS dataset name: lower case letters, digits and `_`.

    Example:
    >>> tfds_name("fashion_mnist-ipc1-udd")
    'fashion_mnist_ipc1_udd'
    """
    name = re.sub(r"[^a-z0-9_]+", "_", str(text).lower()).strip("_")
    return name if NAME_PATTERN.match(name) else f"set_{name}".rstrip("_")


def _check_name(name):
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise UddError(
            f"TFDS dataset name must be lower case letters, digits and `_`, "
            f"starting with a letter (e.g. 'digits_ipc1_udd'); got {name!r}."
        )
    return name


def _check_dtype(dtype):
    if dtype not in DTYPES:
        raise UddError(f"dtype must be one of {', '.join(DTYPES)}; got {dtype!r}.")
    return dtype


def decoded_chunks(synthetic, decode_regions=True, chunk=CHUNK):
    """The images a set trains on, in pixel units, a chunk of stored images at a time.

    Args:
        synthetic: `udd_keras.tfrecords.SyntheticSet`.
        decode_regions: bool, decode each stored image into itself and its
            regions (`udd_keras.tfrecords.decode_regions`); False keeps the
            stored images.
        chunk: int, stored images per chunk.

    Yields:
        `(images, labels, soft_labels)`: float32 (n, H, W, C) de-normalised
        pixels (`x * std + mean`, [0, 1] units, not clipped), int32 (n,), and
        float32 (n, num_classes) or None.
    """
    from udd_keras.data import Normalization
    from udd_keras.tfrecords import SyntheticSet
    from udd_keras.tfrecords import decode_regions as decode

    meta = synthetic.metadata
    normalization = Normalization.from_dict(meta.normalization)
    soft = synthetic.soft_labels is not None
    for start in range(0, len(synthetic.images), chunk):
        part = slice(start, start + chunk)
        piece = SyntheticSet(
            images=synthetic.images[part],
            labels=synthetic.labels[part],
            boxes=None if synthetic.boxes is None else synthetic.boxes[part],
            metadata=meta,
            soft_labels=synthetic.soft_labels[part] if soft else None,
        )
        if decode_regions:
            images, labels, *rest = decode(piece, soft_labels=soft)
        else:
            images, labels = piece.images, piece.labels
            rest = [piece.soft_labels] if soft else []
        images = np.asarray(normalization.denormalize(images), np.float32)
        yield images, np.asarray(labels, np.int32), (rest[0] if rest else None)


def is_uint8_exact(images, tolerance=UINT8_TOLERANCE):
    """Whether images in [0, 1] units are whole 0..255 values (up to float noise).

    Example:
    >>> is_uint8_exact(np.array([0.0, 128 / 255, 1.0], np.float32))
    True
    >>> is_uint8_exact(np.array([0.5], np.float32))
    False
    """
    scaled = np.asarray(images, np.float64) * 255.0
    whole = np.round(scaled)
    return bool(
        np.all(np.abs(scaled - whole) <= tolerance)
        and np.all((whole >= 0) & (whole <= 255))
    )


def _as_dtype(images, dtype):
    if dtype == "float32":
        return images
    return np.clip(np.round(images * 255.0), 0, 255).astype(np.uint8)


def image_feature(shape, dtype):
    """The TFDS feature of the `image` of a set of image shape `shape`."""
    import tensorflow_datasets as tfds

    if dtype == "uint8" and shape[-1] in PNG_CHANNELS:
        return tfds.features.Image(shape=tuple(shape), dtype=np.uint8)
    return tfds.features.Tensor(shape=tuple(shape), dtype=np.dtype(dtype))


def dataset_metadata(meta, source_name, dtype, decode_regions):
    """The JSON metadata of an exported set (`builder.info.metadata`).

    Args:
        meta: the set's `SyntheticSetMetadata`.
        source_name: str, the shipped set's name or the file's name.
        dtype: `"uint8"` or `"float32"`, how `image` is stored.
        decode_regions: bool, whether `image` holds the decoded images.

    Returns:
        dict: `set`, `dataset`, `method`, `ipc`, `num_classes`, `image_shape`,
        `formation`, `decode`, `include_original`, `num_regions`,
        `decoded_regions`, `normalization` (`{"mean", "std"}` per channel of
        pixels in [0, 1]: what the protocol trains on is `(x - mean) / std`),
        `image_dtype`, `pixels`, `has_soft_labels`, `accuracy` (the measured
        accuracy, `udd_keras.sets.index`, with its protocol fingerprint; None
        when the set records none), `config` (the
        distillation settings, or None), `udd_keras_version`.
    """
    from udd_keras import __version__

    extra = dict(meta.extra or {})
    pixels = (
        "uint8 0..255 (x * 255)"
        if dtype == "uint8"
        else "float32 in [0, 1] units (x = stored * std + mean), not clipped"
    )
    return {
        "set": source_name,
        "dataset": meta.dataset,
        "method": meta.method,
        "ipc": meta.ipc,
        "num_classes": meta.num_classes,
        "image_shape": list(meta.image_shape),
        "formation": extra.get("formation"),
        "decode": extra.get("decode"),
        "include_original": meta.include_original,
        "num_regions": meta.num_regions,
        "decoded_regions": bool(decode_regions),
        "normalization": dict(meta.normalization),
        "image_dtype": dtype,
        "pixels": pixels,
        "has_soft_labels": meta.has_soft_labels,
        "accuracy": extra.get("accuracy"),
        "config": extra.get("config"),
        "udd_keras_version": __version__,
    }


def describe(metadata, num_examples):
    """The TFDS description of an exported set, from `dataset_metadata`."""
    text = (
        f"Synthetic set {metadata['set']}: {metadata['ipc']} image(s) per class of "
        f"{metadata['dataset']} made by {metadata['method']} with udd-keras"
    )
    details = [
        f"{key} {metadata[key]}"
        for key in ("formation", "decode")
        if metadata.get(key) is not None
    ]
    text += f" ({', '.join(details)})." if details else "."
    decoded = "decoded images (stored images and their regions)"
    text += (
        f" {num_examples} {decoded if metadata['decoded_regions'] else 'images'}, "
        f"pixels {metadata['pixels']}; the evaluation protocol trains on "
        f"(x - mean) / std with normalization {metadata['normalization']}."
    )
    accuracy = metadata.get("accuracy")
    if accuracy and accuracy.get("mean") is not None:
        text += (
            f" Test accuracy of {accuracy.get('model', 'a network')} trained on it: "
            f"{100 * accuracy['mean']:.2f} ± {100 * accuracy.get('std', 0.0):.2f} % "
            f"(n {accuracy.get('n')}, {accuracy.get('epochs')} epochs, "
            f"{accuracy.get('split', 'test')} split, protocol "
            f"{accuracy.get('protocol_fingerprint') or 'not recorded'})."
        )
    return text


@contextlib.contextmanager
def _quiet_tfds():
    """TFDS's progress bars off for the block, then as they were."""
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.utils import tqdm_utils

    # TFDS keeps the switch in a module global and offers no getter.
    previous = getattr(tqdm_utils, "_active", True)
    tfds.display_progress_bar(False)
    try:
        yield
    finally:
        tfds.display_progress_bar(previous)


def _builder_class():
    """An ad-hoc TFDS builder that also records supervised keys and metadata."""
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.dataset_builders import adhoc_builder

    class SetBuilder(adhoc_builder.AdhocBuilder, skip_registration=True):
        def __init__(self, *, metadata, **kwargs):
            self._set_metadata = metadata
            super().__init__(**kwargs)

        def _info(self):
            return tfds.core.DatasetInfo(
                builder=self,
                description=self._description,
                features=self._feature_spec,
                supervised_keys=("image", "label"),
                homepage=self._homepage,
                metadata=tfds.core.MetadataDict(self._set_metadata),
            )

        # TFDS prints where it wrote (a temporary folder here) to stdout.
        def _log_download_done(self):
            pass

        def _log_download_bytes(self):
            pass

    return SetBuilder


def _install(built, target, overwrite):
    """Moves the built version folder to `target`, replacing an old one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if target.exists():
        if not overwrite:
            raise UddError(f"{target} exists; pass overwrite=True to replace it.")
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    try:
        os.replace(built, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def export_tfds(
    source,
    data_dir,
    name=None,
    dtype="auto",
    decode_regions=True,
    overwrite=False,
):
    """Writes a synthetic set as a TFDS dataset that plain `tfds` loads.

    Args:
        source: str or path-like, a synthetic-set TFRecord or a shipped set's
            name (`udd_keras.sets.resolve`).
        data_dir: str or path-like, the TFDS data dir to write into; the
            dataset goes to `data_dir/<name>/1.0.0/`.
        name: str, the TFDS dataset name (lower case letters, digits, `_`);
            None: the shipped set's name with `_` for `-`, or
            `<dataset>_ipc<N>_<method>` for a file.
        dtype: `"auto"` (uint8 when every pixel is a whole 0..255 value, as
            in real images; float32 otherwise), `"uint8"` (rounded and
            clipped: lossy for distilled images) or `"float32"`.
        decode_regions: bool, store the images the set trains on (each stored
            image, then its regions); False stores the stored images.
        overwrite: bool, replace an existing export of the same name and
            version; without it that is an error.

    Returns:
        `pathlib.Path` of the dataset folder, `data_dir/<name>/1.0.0`, for
        `tfds.builder_from_directory`; `tfds.load(name, data_dir=data_dir)`
        loads it too.

    Raises:
        UddError: an unknown set, a bad name or dtype, or an existing export
            without `overwrite`.

    Example:
    >>> from udd_keras.sets import export_tfds
    >>> export_tfds("digits-ipc1-udd", "tfds")  # doctest: +SKIP
    PosixPath('tfds/digits_ipc1_udd/1.0.0')
    >>> import tensorflow_datasets as tfds  # doctest: +SKIP
    >>> train = tfds.load("digits_ipc1_udd", split="train", data_dir="tfds",
    ...                   as_supervised=True)  # doctest: +SKIP
    """
    _check_dtype(dtype)
    file = resolve(source)
    from udd_keras.tfrecords import read_synthetic_set

    synthetic = read_synthetic_set(file)
    meta = synthetic.metadata
    # A shipped set is named by its name, another set by its file.
    set_name = pathlib.Path(file).stem if is_shipped(file) else None
    if name is None:
        default = set_name or f"{pathlib.Path(meta.dataset).name}_ipc{meta.ipc}"
        name = tfds_name(default if set_name else f"{default}_{meta.method}")
    _check_name(name)
    data_dir = pathlib.Path(data_dir)
    target = data_dir / name / VERSION
    if target.exists() and not overwrite:
        raise UddError(f"{target} exists; pass overwrite=True to replace it.")
    if dtype == "auto":
        exact = all(
            is_uint8_exact(images)
            for images, _, _ in decoded_chunks(synthetic, decode_regions)
        )
        dtype = "uint8" if exact else "float32"

    import tensorflow_datasets as tfds

    features = {
        "image": image_feature(meta.image_shape, dtype),
        "label": tfds.features.ClassLabel(names=list(meta.class_names)),
    }
    if meta.has_soft_labels:
        features["soft_label"] = tfds.features.Tensor(
            shape=(meta.num_classes,), dtype=np.float32
        )

    def examples():
        key = 0
        for images, labels, soft in decoded_chunks(synthetic, decode_regions):
            images = _as_dtype(images, dtype)
            for index in range(len(images)):
                example = {"image": images[index], "label": int(labels[index])}
                if soft is not None:
                    example["soft_label"] = np.asarray(soft[index], np.float32)
                yield key, example
                key += 1

    source_name = set_name or pathlib.Path(file).name
    metadata = dataset_metadata(meta, source_name, dtype, decode_regions)
    num_examples = meta.num_images * (
        (meta.num_regions + int(meta.include_original)) if decode_regions else 1
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    scratch = pathlib.Path(
        tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=data_dir)
    )
    try:
        builder = _builder_class()(
            name=name,
            version=VERSION,
            features=tfds.features.FeaturesDict(features),
            split_datasets={"train": examples()},
            data_dir=scratch,
            description=describe(metadata, num_examples),
            metadata=metadata,
        )
        with _quiet_tfds():
            builder.download_and_prepare(download_dir=scratch / "downloads")
        _install(scratch / name / VERSION, target, overwrite)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target
