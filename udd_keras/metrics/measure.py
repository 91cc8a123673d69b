"""`measure_sets`: the mUE of synthetic or coreset sets, side by side.

For each set (a synthetic-set TFRecord) the stored images, not their decoded
regions, are measured: one activation map per stored image, at one layer of a
network (see `udd_keras.metrics.network`):

- by default a fresh ConvNet-3 trained on that set itself (its decoded training
  images) with the evaluation protocol, every set with the same `seed`, so the
  sets differ only in their images;
- with `model_weights`, one saved Keras model shared by every set.

Value range. UE^d splits each map's values into `d` intervals of a fixed
reference range (see `udd_keras.metrics.utilization`). By default
(`value_range=None`) that range is `reference_range` over the maps of all
measured sets together, `[0, max]` for ReLU maps: every image of every set is
measured on one scale, so a set whose maps are spikier than another's scores
lower. `value_range="set"` gives each set its own reference range (comparable
within a set only); a `(low, high)` pair, `"image"` or `"batch"` is passed to
`utilization_report` as is.
"""

import dataclasses
import pathlib

import numpy as np

from udd_keras.errors import UddError
from udd_keras.metrics.network import (
    activation_maps,
    check_input_shape,
    load_measuring_network,
    train_measuring_network,
)
from udd_keras.metrics.report import utilization_report
from udd_keras.metrics.utilization import (
    DEFAULT_INTERVALS,
    check_value_range,
    reference_range,
)

VALUE_RANGE_CHOICES = (None, "set", "image", "batch")


@dataclasses.dataclass
class SetUtilization:
    """The mUE figures of one measured set.

    Attributes:
        source: str, the TFRecord path.
        name: str, a short unique name for tables and figures (the file stem).
        metadata: the set's `SyntheticSetMetadata`.
        images: float32 (N, H, W, C), the stored images in `normalization`.
        labels: int32 (N,).
        activation_maps: float32 (N, h, w, c), the measured maps.
        report: `UtilizationReport` (per image, per class, overall).
        network: dict describing the network that gave the maps.
        normalization: dict `{"mean": [...], "std": [...]}` of `images`.
    """

    source: str
    name: str
    metadata: object
    images: np.ndarray
    labels: np.ndarray
    activation_maps: np.ndarray
    report: object
    network: dict
    normalization: dict

    def to_dict(self):
        """A JSON-ready dict: the set, its network and its mUE figures."""
        return {
            "source": self.source,
            "name": self.name,
            "dataset": self.metadata.dataset,
            "method": self.metadata.method,
            "ipc": int(self.metadata.ipc),
            "num_images": int(len(self.labels)),
            "map_shape": [int(v) for v in self.activation_maps.shape[1:]],
            "network": self.network,
            **self.report.to_dict(),
        }


def set_names(sources):
    """Short unique names of the sets: file stems, numbered when they clash.

    Example:
    >>> set_names(["a/udd.tfrecord", "b/udd.tfrecord", "c/random.tfrecord"])
    ['1:udd', '2:udd', 'random']
    """
    stems = [pathlib.Path(str(source)).stem for source in sources]
    return [
        f"{index + 1}:{stem}" if stems.count(stem) > 1 else stem
        for index, stem in enumerate(stems)
    ]


def check_same_dataset(synthetic_sets, sources):
    """Raises `UddError` unless every set comes from the same dataset."""
    first = synthetic_sets[0].metadata
    for source, synthetic in zip(sources, synthetic_sets, strict=True):
        meta = synthetic.metadata
        same = (
            meta.dataset == first.dataset
            and tuple(meta.image_shape) == tuple(first.image_shape)
            and meta.num_classes == first.num_classes
        )
        if not same:
            raise UddError(
                f"sets from different datasets cannot be compared: {source} is "
                f"{meta.dataset!r} {tuple(meta.image_shape)} with "
                f"{meta.num_classes} classes, {sources[0]} is {first.dataset!r} "
                f"{tuple(first.image_shape)} with {first.num_classes} classes"
            )


def in_normalization(images, stored, target):
    """`images` stored in normalisation `stored`, brought into `target`."""
    if stored == target:
        return np.asarray(images, np.float32)
    return np.asarray(target.normalize(stored.denormalize(images)), np.float32)


def _check_value_range(value_range):
    return check_value_range(value_range, VALUE_RANGE_CHOICES)


def joint_reference_range(maps_per_set):
    """`reference_range` over the maps of every set together: `(low, high)`."""
    ranges = [reference_range(maps) for maps in maps_per_set]
    return (min(r[0] for r in ranges), max(r[1] for r in ranges))


def measure_sets(
    sources,
    model_weights=None,
    layer=-1,
    recipe=None,
    seed=0,
    intervals=DEFAULT_INTERVALS,
    value_range=None,
    data_dir=None,
    on_progress=None,
):
    """Measures the mUE of one or more sets of the same dataset.

    Args:
        sources: sequence of synthetic-set TFRecord paths (distilled sets or
            coresets), all from one dataset.
        model_weights: None to train a fresh network on each set with
            `recipe` and seed `seed`; or the path of a saved Keras model
            (`.keras`) used for every set.
        layer: int, the block of `model.features(x)[0]` (-1: the last); or
            str, a layer name of a functional model given by `model_weights`.
        recipe: `TrainingRecipe` of the default network, None for the
            evaluation protocol's (ConvNet-3, 300 epochs, width 128); ignored
            with `model_weights`.
        seed: int, seed of the default network of every set.
        intervals: iterable of ints >= 2, the set D of interval counts.
        value_range: None (one reference range over every set's maps, the
            default: sets are comparable), `"set"` (a reference range per set),
            or anything `utilization_report` accepts.
        data_dir: optional folder passed to `udd_keras.data.load_dataset`
            (the default network trains on the set and needs its dataset's
            normalisation).
        on_progress: optional `fn(message)` called before each long stage.

    Returns:
        list of `SetUtilization`, one per source, in order.

    Example:
    >>> results = measure_sets(["udd.tfrecord", "random.tfrecord"],
    ...                        recipe=TrainingRecipe(epochs=300))  # doctest: +SKIP
    >>> [r.name for r in results], results[0].report.overall  # doctest: +SKIP
    (['udd', 'random'], 0.81...)
    """
    from udd_keras.data import Normalization
    from udd_keras.tfrecords import read_synthetic_set

    if isinstance(sources, (str, pathlib.Path)):
        sources = [sources]
    sources = [str(source) for source in sources]
    if not sources:
        raise UddError("no set given; pass one or more synthetic-set TFRecords")
    value_range = _check_value_range(value_range)
    intervals = tuple(intervals)
    notify = on_progress or (lambda message: None)

    synthetic_sets = [read_synthetic_set(source) for source in sources]
    check_same_dataset(synthetic_sets, sources)
    meta = synthetic_sets[0].metadata

    if model_weights is not None:
        shared = load_measuring_network(model_weights)
        check_input_shape(shared.model, meta.image_shape, meta.num_classes)
        target = Normalization.from_dict(meta.normalization)
        networks = [shared] * len(sources)
    else:
        from udd_keras.data import load_dataset
        from udd_keras.evaluation import load_evaluation_set
        from udd_keras.training import TrainingRecipe

        recipe = recipe or TrainingRecipe()
        dataset = load_dataset(meta.dataset, data_dir=data_dir)
        target = dataset.normalization
        networks = []
        for source in sources:
            notify(f"training {recipe.model} on {source} ({recipe.epochs} epochs)")
            x_train, y_train = load_evaluation_set(source, dataset)
            networks.append(
                train_measuring_network(
                    x_train,
                    y_train,
                    dataset.num_classes,
                    dataset.name,
                    recipe,
                    seed=seed,
                    trained_on=source,
                )
            )

    images_per_set, maps_per_set = [], []
    for source, synthetic, network in zip(
        sources, synthetic_sets, networks, strict=True
    ):
        notify(f"activation maps of {source}")
        stored = Normalization.from_dict(synthetic.metadata.normalization)
        images = in_normalization(synthetic.images, stored, target)
        images_per_set.append(images)
        maps_per_set.append(activation_maps(network.model, images, layer))

    shared_range = joint_reference_range(maps_per_set) if value_range is None else None
    results = []
    for index, name in enumerate(set_names(sources)):
        maps, synthetic = maps_per_set[index], synthetic_sets[index]
        if value_range is None:
            set_range = shared_range
        elif value_range == "set":
            set_range = reference_range(maps)
        else:
            set_range = value_range
        report = utilization_report(
            maps,
            synthetic.labels,
            class_names=synthetic.metadata.class_names,
            intervals=intervals,
            value_range=set_range,
        )
        network = dict(networks[index].description, layer=layer)
        results.append(
            SetUtilization(
                source=sources[index],
                name=name,
                metadata=synthetic.metadata,
                images=images_per_set[index],
                labels=synthetic.labels,
                activation_maps=maps,
                report=report,
                network=network,
                normalization=target.to_dict(),
            )
        )
    return results
