"""A validation split carved out of the training set."""

from __future__ import annotations

import dataclasses

from udd_keras.data.dataset import ImageDataset
from udd_keras.data.splits import stratified_split


def split_validation(
    dataset: ImageDataset, fraction: float = 0.1, seed: int = 0
) -> ImageDataset:
    """Holds out a stratified, seeded part of the training set for validation.

    Use it to choose hyper-parameters without looking at the test set: the
    returned dataset trains on the rest of the training set and "tests" on the
    held-out part. The real test set is not in it. Name, class names and
    normalisation are unchanged.

    Args:
        dataset: the full `ImageDataset`.
        fraction: share of each class moved to validation, in (0, 1).
        seed: seed of the split; the same seed gives the same split.

    Returns:
        An `ImageDataset` whose `x_train`/`y_train` are the remaining training
        examples and whose `x_test`/`y_test` are the validation examples.

    Example:
    >>> val = split_validation(load_dataset("digits"), fraction=0.2, seed=0)
    >>> len(val.x_train) + len(val.x_test) == len(load_dataset("digits").x_train)
    True
    """
    train_index, val_index = stratified_split(dataset.y_train, fraction, seed)
    return dataclasses.replace(
        dataset,
        x_train=dataset.x_train[train_index],
        y_train=dataset.y_train[train_index],
        x_test=dataset.x_train[val_index],
        y_test=dataset.y_train[val_index],
    )
