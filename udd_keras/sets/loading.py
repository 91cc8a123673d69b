"""Loading a shipped set (or a set file) into `tf.data`."""

from udd_keras.sets.index import DATA_DIR, resolve


def load(name, decode_regions=True, labels="hard", folder=DATA_DIR):
    """A shipped set (or a set file) as a `tf.data.Dataset`, with its metadata.

    Reads only the installed file: no network, no dataset download.

    Args:
        name: str, a shipped set's name (`udd_keras.sets.names()`), or the path
            of a synthetic-set TFRecord.
        decode_regions: bool, yield the images the set trains on (each stored
            image, then its stored regions cropped and resized: what the
            evaluation protocol trains on); False yields the stored images.
        labels: `"hard"` (class indices) or `"soft"` (the stored soft labels).
        folder: the folder of the shipped sets (default: the package's).

    Returns:
        Tuple `(dataset, metadata)`: a `tf.data.Dataset` of `(image, label)`,
        float32 (H, W, C) normalised pixels (`(x - mean) / std` of `x` in
        [0, 1], `metadata.normalization`) and an int32 class index (or float32
        (num_classes,) probabilities); and the set's
        `udd_keras.tfrecords.SyntheticSetMetadata` (its `extra["accuracy"]`
        holds the measured accuracy of a shipped set).

    Raises:
        UddError: `name` is neither a set file nor a shipped set's name.

    Example:
    >>> from udd_keras import sets
    >>> train, meta = sets.load("digits-ipc10-udd")
    >>> meta.num_classes, meta.ipc
    (10, 10)
    >>> train = train.shuffle(1000, seed=0).batch(64)
    """
    from udd_keras.tfrecords import as_tf_dataset, read_metadata

    file = resolve(name, folder)
    dataset = as_tf_dataset(file, decode_regions=decode_regions, labels=labels)
    return dataset, read_metadata(file)
