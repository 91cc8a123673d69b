"""`select_coreset`: real training images per class, by one of three methods."""

import numpy as np

from udd_keras.errors import UddError

METHODS = ("random", "herding", "forgetting")


def check_ipc(labels, num_classes, ipc):
    """Raises `UddError` unless every class has at least `ipc` images."""
    if isinstance(ipc, bool) or not isinstance(ipc, (int, np.integer)) or ipc < 1:
        raise UddError(f"ipc must be an integer >= 1, got {ipc!r}.")
    counts = np.bincount(labels, minlength=num_classes)
    smallest = int(np.argmin(counts))
    if counts[smallest] < ipc:
        raise UddError(
            f"ipc {ipc} is larger than class {smallest}, which has "
            f"{int(counts[smallest])} training images; use ipc <= "
            f"{int(counts[smallest])}."
        )


def random_selection(labels, num_classes, ipc, seed=0):
    """`ipc` indices per class drawn uniformly without replacement.

    Args:
        labels: int array (N,).
        num_classes: int.
        ipc: int.
        seed: int.

    Returns:
        int64 array (num_classes * ipc,), class-major.

    Example:
    >>> random_selection(np.array([0, 1, 0, 1]), 2, 1, seed=0).shape
    (2,)
    """
    rng = np.random.default_rng(seed)
    selected = [
        rng.choice(np.flatnonzero(labels == label), ipc, replace=False)
        for label in range(num_classes)
    ]
    return np.concatenate(selected).astype(np.int64)


def select_coreset(dataset, ipc, method="random", seed=0, recipe=None):
    """Selects `ipc` real training images per class.

    Args:
        dataset: `ImageDataset`.
        ipc: int, images per class; at most the smallest class's size.
        method: `"random"`, `"herding"` (Welling 2009, on the embeddings of a
            briefly trained ConvNet-3) or `"forgetting"` (Toneva et al. 2019,
            the most-forgotten examples).
        seed: int.
        recipe: `TrainingRecipe` of the network herding and forgetting train,
            None for `udd_keras.coreset.coreset_recipe(method)` (1 epoch for
            herding, 3 for forgetting, batch 256, no augmentation); random
            selection trains none and takes none.

    Returns:
        int64 array (num_classes * ipc,) of indices into `dataset.x_train`,
        class-major: class 0's `ipc` indices first.

    Example:
    >>> from udd_keras.data import load_dataset
    >>> indices = select_coreset(load_dataset("digits"), ipc=2, method="random")
    >>> indices.shape
    (20,)
    """
    if method not in METHODS:
        raise UddError(
            f"Unknown coreset method {method!r}; choose from {', '.join(METHODS)}."
        )
    labels = np.asarray(dataset.y_train)
    check_ipc(labels, dataset.num_classes, ipc)
    if method == "random":
        if recipe is not None:
            raise UddError(
                "random selection trains no network; it takes no recipe, got "
                f"{recipe!r}."
            )
        return random_selection(labels, dataset.num_classes, ipc, seed)
    if method == "herding":
        from udd_keras.coreset.herding import herding_selection

        return herding_selection(dataset, ipc, seed, recipe)
    from udd_keras.coreset.forgetting import forgetting_selection

    return forgetting_selection(dataset, ipc, seed, recipe)
