"""mUE of a set of images: per image, per class and overall."""

import dataclasses

import numpy as np

from udd_keras.errors import UddError
from udd_keras.metrics.utilization import (
    DEFAULT_INTERVALS,
    DEFAULT_VALUE_RANGE,
    mean_utilization_entropy,
)


@dataclasses.dataclass
class UtilizationReport:
    """mUE figures of a set of images.

    Attributes:
        per_image: float64 array (B,), the mUE of each image.
        labels: int array (B,), the class of each image.
        per_class: dict class name -> mean mUE of that class's images, in class
            order, for the classes present in `labels`.
        overall: float, the mean mUE over all images (each image counts once).
        intervals: tuple of ints, the set D of interval counts.
        value_range: the `value_range` used (a pair, `"image"` or `"batch"`).
    """

    per_image: np.ndarray
    labels: np.ndarray
    per_class: dict
    overall: float
    intervals: tuple
    value_range: object

    def to_dict(self):
        """A JSON-ready dict of the report (lists and floats only)."""
        value_range = self.value_range
        if not isinstance(value_range, str):
            value_range = [float(v) for v in value_range]
        return {
            "overall_mue": float(self.overall),
            "per_class_mue": {str(k): float(v) for k, v in self.per_class.items()},
            "per_image_mue": [float(v) for v in self.per_image],
            "labels": [int(v) for v in self.labels],
            "intervals": [int(d) for d in self.intervals],
            "value_range": value_range,
        }


def utilization_report(
    activation_maps,
    labels,
    class_names=None,
    intervals=DEFAULT_INTERVALS,
    value_range=DEFAULT_VALUE_RANGE,
    channel_reduction="mean",
):
    """mUE per image, per class and overall for a set of activation maps.

    Args:
        activation_maps: (B, h, w) or (B, h, w, c) activations of one layer,
            one map per image.
        labels: int array-like (B,), the class of each image.
        class_names: optional list of names indexed by label; without it classes
            are named by their label (`"0"`, `"1"`, ...).
        intervals: iterable of ints >= 2, the set D (default 5, ..., 10).
        value_range: as in `utilization_entropy`.
        channel_reduction: as in `utilization_entropy`.

    Returns:
        `UtilizationReport`.

    Example:
    >>> rng = np.random.default_rng(0)
    >>> report = utilization_report(rng.uniform(size=(4, 8, 8)), [0, 0, 1, 1])
    >>> sorted(report.per_class)
    ['0', '1']
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise UddError(
            f"labels must be a 1-D integer array, got dtype {labels.dtype} "
            f"and shape {labels.shape}"
        )
    per_image = mean_utilization_entropy(
        activation_maps, intervals, value_range, channel_reduction
    )
    if labels.shape[0] != per_image.shape[0]:
        raise UddError(
            f"labels must hold one label per map: got {labels.shape[0]} labels "
            f"for {per_image.shape[0]} maps"
        )
    present = np.unique(labels)
    if class_names is not None and (
        present.min() < 0 or present.max() >= len(class_names)
    ):
        raise UddError(
            f"labels must lie in [0, {len(class_names)}) to index class_names, "
            f"got labels from {present.min()} to {present.max()}"
        )
    per_class = {}
    for label in present:
        name = str(label) if class_names is None else str(class_names[label])
        per_class[name] = float(per_image[labels == label].mean())
    return UtilizationReport(
        per_image=per_image,
        labels=labels,
        per_class=per_class,
        overall=float(per_image.mean()),
        intervals=tuple(int(d) for d in intervals),
        value_range=value_range,
    )
