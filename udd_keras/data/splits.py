"""Seeded, stratified index splits."""

from __future__ import annotations

import numpy as np

from udd_keras.errors import UddError


def stratified_split(
    labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Splits indices so that each class keeps its share on both sides.

    Args:
        labels: `(N,)` integer labels.
        fraction: share of the examples put in the second (held-out) part,
            strictly between 0 and 1.
        seed: seed of the shuffle; the same seed gives the same split.

    Returns:
        `(kept_indices, held_out_indices)`, each sorted, int64, disjoint, and
        together covering `range(N)`.
    """
    from sklearn.model_selection import train_test_split

    if not 0.0 < fraction < 1.0:
        raise UddError(f"split fraction must be between 0 and 1, got {fraction}.")
    labels = np.asarray(labels)
    counts = np.bincount(labels)
    counts = counts[counts > 0]
    held_out = int(np.ceil(fraction * len(labels)))
    if (
        counts.min() < 2
        or held_out < len(counts)
        or len(labels) - held_out < len(counts)
    ):
        raise UddError(
            f"cannot split {len(labels)} examples of {len(counts)} classes "
            f"(smallest class: {counts.min()}) with fraction {fraction}: each "
            f"class needs at least one example on each side."
        )
    kept, held = train_test_split(
        np.arange(len(labels)),
        test_size=fraction,
        stratify=labels,
        random_state=seed,
        shuffle=True,
    )
    return np.sort(kept), np.sort(held)
