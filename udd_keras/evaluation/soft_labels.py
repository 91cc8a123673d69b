"""Soft labels in the evaluation: the training targets made from stored ones.

A synthetic set may store, per image, a soft label: a vector of `num_classes`
class probabilities (SRe2L / RDED-style relabelling; see `udd_keras.tfrecords`).
The file holds probabilities, never logits. Training on them replaces the
one-hot target of the cross-entropy by the image's probability vector; CutMix
mixes two images' vectors by the area each keeps, exactly as it mixes one-hot
labels. A decoded region keeps its stored image's soft label.

Temperature: the target of an image with stored probabilities `p` is

    q_c = p_c ** (1 / T) / sum_k p_k ** (1 / T),

which equals `softmax(log(p) / T)`: the usual distillation temperature applied
to the logits `log p` that the stored probabilities correspond to. `T = 1`
uses the stored probabilities as they are (each row normalised to sum 1);
`T > 1` flattens them, `T < 1` sharpens them towards the arg-max class. Classes
with probability 0 stay at 0 for every `T`.
"""

import math

import numpy as np

from udd_keras.errors import UddError

DEFAULT_TEMPERATURE = 1.0


def check_soft_label_arguments(soft_labels, temperature):
    """Validates the soft-label options of `evaluate`; returns the temperature.

    Args:
        soft_labels: bool, whether to train on the set's soft labels.
        temperature: float > 0, or None for `DEFAULT_TEMPERATURE`.

    Returns:
        float temperature, or None when `soft_labels` is false.

    Raises:
        UddError: a temperature without soft labels, or one that is not a
            finite number > 0.
    """
    if not soft_labels:
        if temperature is not None:
            raise UddError(
                f"temperature {temperature!r} applies to soft labels only; "
                "train on them (--soft-labels, soft_labels=True) or drop it."
            )
        return None
    if temperature is None:
        return DEFAULT_TEMPERATURE
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float, np.integer, np.floating))
        or not math.isfinite(temperature)
        or temperature <= 0
    ):
        raise UddError(f"temperature must be a finite number > 0, got {temperature!r}.")
    return float(temperature)


def apply_temperature(probabilities, temperature=DEFAULT_TEMPERATURE):
    """Training targets from stored soft labels: `p ** (1 / T)`, rows normalised.

    Computed in log space (`softmax(log(p) / T)`), so a small `T` cannot
    underflow a row to all zeros.

    Args:
        probabilities: float array (N, num_classes), non-negative, every row
            with a positive sum (as `udd_keras.tfrecords` stores them).
        temperature: float > 0.

    Returns:
        float32 array (N, num_classes), every row summing to 1.

    Example:
    >>> apply_temperature(np.array([[0.2, 0.8]]), 1.0).astype(float).round(3).tolist()
    [[0.2, 0.8]]
    >>> apply_temperature(np.array([[0.2, 0.8]]), 2.0).astype(float).round(3).tolist()
    [[0.333, 0.667]]
    """
    p = np.asarray(probabilities, np.float64)
    if temperature == 1.0:
        return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)
    with np.errstate(divide="ignore"):
        logits = np.log(p) / float(temperature)
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)
