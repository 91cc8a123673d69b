"""Utilization entropy UE^d and its mean mUE (paper appendix E, eq. 11-12).

For one image's activation map X, the activation values are split into `d`
equal-width intervals, `p_i` is the fraction of the values in interval `i`, and

    UE^d = -sum_i p_i log p_i / log d          (in [0, 1])
    mUE  = mean of UE^d over d in D = {5, ..., 10}

Which reading of eq. 11. The printed formula, `1 + 1/(|X| log d) sum p log p`,
cannot give the behaviour the paper states: with `p` summing to 1 its sum term is
at most `log d` in size, so the `1/|X|` factor pins UE near 1 for every map. The
text says higher UE = more balanced activations, a uniform spread near 1 and a
single spike near 0; the normalised entropy above is the formula that does that
(it equals eq. 11 with the `1/|X|` factor dropped and the sign flipped on the
`1 +`), so it is the one implemented.

Which interval range. Equal-width intervals over each map's own min..max make UE
blind to the spread: `a * X + b` scores the same as `X` for any `a > 0`, so a
normal map scores the same whatever its std. The intervals here therefore span
a fixed reference range `value_range = (low, high)`, the same for every image,
widened for an image only where its own values fall outside it (values are never
clipped into the end intervals or dropped, which would make wide maps look like
spikes or like uniform noise). So

- maps inside the reference range are measured on one common scale: a spike
  scores near 0, values spread evenly over the range near 1, and a normal map
  scores higher the larger its std (Fig. 8, rising part);
- maps wider than the reference range are measured on their own extent, so UE
  stops growing with the std (Fig. 8, flat part; for a normal map of ~1000 values
  the plateau is ~0.82-0.86, the paper's "levels off near 0.86").

Each image's UE depends only on that image and `value_range`, never on the other
images in the batch or their order. For activations with a known scale, pass
that scale, e.g. `reference_range(all_maps_of_the_set)` computed once over the
whole set. `value_range="batch"` (the batch's min..max, making UE depend on the
batch) and `value_range="image"` (each map's own min..max, std-blind) are there
for comparison only.

Activation maps with channels, `(B, h, w, c)`, are averaged over the channels
first (`channel_reduction="mean"`): the paper measures "the activation map" of a
layer, the 2-D map shown in its Fig. 3 and 9. `channel_reduction="flatten"`
histograms all `h * w * c` values instead.
"""

import numpy as np

from udd_keras.errors import UddError

DEFAULT_INTERVALS = tuple(range(5, 11))
DEFAULT_VALUE_RANGE = (0.0, 1.0)
VALUE_RANGE_MODES = ("batch", "image")
CHANNEL_REDUCTIONS = ("mean", "flatten")


def flatten_activation_maps(activation_maps, channel_reduction="mean"):
    """Turns a batch of activation maps into one row of values per image.

    Args:
        activation_maps: array-like (B, h, w) or (B, h, w, c), any float dtype;
            numpy arrays and TF tensors are accepted.
        channel_reduction: `"mean"` averages over channels, `"flatten"` keeps
            every channel value. Ignored for (B, h, w) input.

    Returns:
        float64 array (B, n): the values of each image's map.
    """
    maps = np.asarray(activation_maps, dtype=np.float64)
    if maps.ndim not in (3, 4):
        raise UddError(
            f"activation_maps must have shape (B, h, w) or (B, h, w, c), "
            f"got shape {maps.shape}"
        )
    if maps.shape[0] == 0 or maps[0].size == 0:
        raise UddError(
            f"activation_maps must hold at least one non-empty map, "
            f"got shape {maps.shape}"
        )
    if not np.all(np.isfinite(maps)):
        raise UddError("activation_maps must be finite, got NaN or infinite values")
    if channel_reduction not in CHANNEL_REDUCTIONS:
        raise UddError(
            f"channel_reduction must be one of {CHANNEL_REDUCTIONS}, "
            f"got {channel_reduction!r}"
        )
    if maps.ndim == 4 and channel_reduction == "mean":
        maps = maps.mean(axis=-1)
    return maps.reshape(maps.shape[0], -1)


def reference_range(activation_maps, channel_reduction="mean", include_zero=True):
    """A fixed `value_range` for a set: its min..max, computed once.

    Compute this over the whole set (e.g. every synthetic image of every class)
    and pass it as `value_range`, so that all images are measured on one scale.

    Args:
        activation_maps: (B, h, w) or (B, h, w, c), the maps of the whole set.
        channel_reduction: as in `utilization_entropy`.
        include_zero: if True, the range always contains 0 (the floor of ReLU
            activations), giving `[0, max]` for non-negative maps.

    Returns:
        tuple `(low, high)` of floats with `low < high`.

    Example:
    >>> reference_range(np.array([[[0.5, 2.0]]]))
    (0.0, 2.0)
    """
    values = flatten_activation_maps(activation_maps, channel_reduction)
    low, high = float(values.min()), float(values.max())
    if include_zero:
        low, high = min(low, 0.0), max(high, 0.0)
    if high <= low:
        high = low + 1.0
    return (low, high)


def _check_intervals(num_intervals):
    if (
        isinstance(num_intervals, bool)
        or not isinstance(num_intervals, (int, np.integer))
        or num_intervals < 2
    ):
        raise UddError(
            f"the number of intervals d must be an integer >= 2, got {num_intervals!r}"
        )
    return int(num_intervals)


def check_value_range(value_range, modes=VALUE_RANGE_MODES):
    """Validates a `value_range` argument.

    Args:
        value_range: one of `modes`, or a `(low, high)` pair of numbers.
        modes: the named ranges the caller accepts besides a pair (strings,
            or None); default `VALUE_RANGE_MODES`.

    Returns:
        The mode as given, or the pair as a tuple of floats `(low, high)`.

    Raises:
        UddError: not one of `modes` nor a pair, or a pair that is not finite
            with `low < high`.

    Example:
    >>> check_value_range([0, 2])
    (0.0, 2.0)
    """
    allowed = ", ".join(repr(mode) for mode in modes)
    message = f"value_range must be {allowed} or a (low, high) pair"
    if value_range is None or isinstance(value_range, str):
        if value_range not in modes:
            raise UddError(f"{message}, got {value_range!r}")
        return value_range
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise UddError(f"{message}, got {value_range!r}") from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise UddError(
            f"value_range must satisfy low < high (finite), got {value_range!r}"
        )
    return (low, high)


def _interval_bounds(values, value_range):
    """Per-image (low, high) of the intervals, each (B,) float64."""
    value_range = check_value_range(value_range)
    image_low, image_high = values.min(axis=1), values.max(axis=1)
    if value_range == "image":
        return image_low, image_high
    if value_range == "batch":
        batch_size = values.shape[0]
        return (
            np.full(batch_size, image_low.min()),
            np.full(batch_size, image_high.max()),
        )
    low, high = value_range
    return np.minimum(image_low, low), np.maximum(image_high, high)


def _interval_probabilities(values, low, high, num_intervals):
    """Histogram of each row over `num_intervals` intervals of [low, high].

    Returns:
        float64 array (B, d); rows sum to 1. The last interval is closed on the
        right; a zero-width range puts every value in the first interval.
    """
    batch_size, num_values = values.shape
    width = (high - low)[:, None]
    safe_width = np.where(width > 0, width, 1.0)
    position = (values - low[:, None]) / safe_width * num_intervals
    index = np.clip(np.floor(position), 0, num_intervals - 1).astype(np.int64)
    index = np.where(width > 0, index, 0)
    flat = index + num_intervals * np.arange(batch_size)[:, None]
    counts = np.bincount(flat.ravel(), minlength=batch_size * num_intervals)
    return counts.reshape(batch_size, num_intervals) / num_values


def utilization_entropy(
    activation_maps,
    num_intervals,
    value_range=DEFAULT_VALUE_RANGE,
    channel_reduction="mean",
):
    """UE^d of each image: the normalised entropy of its activation histogram.

    See the module docstring for the reading of eq. 11 and the interval range.

    Args:
        activation_maps: (B, h, w) or (B, h, w, c) activations of one layer.
        num_intervals: int d >= 2, the number of equal-width intervals.
        value_range: `(low, high)`, the fixed reference range of the intervals,
            widened per image only to cover that image's values (default
            `(0.0, 1.0)`); or `"image"` (each map's min..max, std-blind) or
            `"batch"` (the batch's min..max, batch-dependent).
        channel_reduction: `"mean"` (average channels, default) or `"flatten"`.

    Returns:
        float64 array (B,) in [0, 1]: 1 for an even spread over the intervals,
        0 when all values fall in one interval.

    Example:
    >>> maps = np.linspace(0.0, 1.0, 100).reshape(1, 10, 10)
    >>> float(utilization_entropy(maps, 5)[0])
    1.0
    """
    num_intervals = _check_intervals(num_intervals)
    values = flatten_activation_maps(activation_maps, channel_reduction)
    low, high = _interval_bounds(values, value_range)
    p = _interval_probabilities(values, low, high, num_intervals)
    p_log_p = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    entropy = -p_log_p.sum(axis=1) / np.log(num_intervals)
    return np.clip(entropy, 0.0, 1.0)


def mean_utilization_entropy(
    activation_maps,
    intervals=DEFAULT_INTERVALS,
    value_range=DEFAULT_VALUE_RANGE,
    channel_reduction="mean",
):
    """mUE of each image: UE^d averaged over `d` in `intervals` (eq. 12).

    Args:
        activation_maps: (B, h, w) or (B, h, w, c) activations of one layer.
        intervals: iterable of ints >= 2, the set D (default 5, ..., 10).
        value_range: as in `utilization_entropy`.
        channel_reduction: as in `utilization_entropy`.

    Returns:
        float64 array (B,) in [0, 1].

    Example:
    >>> rng = np.random.default_rng(0)
    >>> mue = mean_utilization_entropy(rng.uniform(size=(2, 8, 8, 4)))
    >>> mue.shape
    (2,)
    """
    intervals = tuple(intervals)
    if not intervals:
        raise UddError("intervals must hold at least one d, got an empty sequence")
    return np.mean(
        [
            utilization_entropy(activation_maps, d, value_range, channel_reduction)
            for d in intervals
        ],
        axis=0,
    )
