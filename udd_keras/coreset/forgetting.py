"""Forgetting selection (Toneva et al., 2019): keep the most-forgotten examples.

A ConvNet-3 is trained on the real training set for a few epochs without
augmentation. Each time an example is presented, the step records whether the
network classified it correctly (from the forward pass of that step, before the
update). A forgetting event is a presentation that is wrong right after one that
was right. Examples never classified correctly count as forgotten infinitely
often (Toneva et al.'s convention), so they rank first. Per class, the coreset
is the `ipc` examples with the most events; ties are broken at random (seeded).
Most-forgotten is the choice of the coreset baselines the paper compares with:
unforgettable examples are the redundant ones.
"""

import numpy as np

from udd_keras.coreset.network import coreset_recipe, train_on_real_data
from udd_keras.training.callbacks import Callback


class ForgettingTracker(Callback):
    """Counts forgetting events per example from per-step correctness.

    A callback of the training loop (`train_classifier`): every batch's
    `indices` and `correct` are one presentation (`update`).

    Args:
        num_examples: int, size of the training set.

    Example:
    >>> tracker = ForgettingTracker(2)
    >>> for correct in ([True, False], [False, True], [True, False]):
    ...     tracker.update(np.array([0, 1]), np.array(correct))
    >>> tracker.events.tolist(), tracker.learned.tolist()
    ([1, 1], [True, True])
    """

    def __init__(self, num_examples):
        self.events = np.zeros(num_examples, np.int64)
        self.learned = np.zeros(num_examples, bool)
        self.previous = np.zeros(num_examples, bool)

    def update(self, indices, correct):
        """Records one presentation of the examples `indices`.

        Args:
            indices: int array (B,) of training-set indices.
            correct: bool array (B,), whether each was classified correctly.
        """
        correct = np.asarray(correct, bool)
        self.events[indices] += self.previous[indices] & ~correct
        self.learned[indices] |= correct
        self.previous[indices] = correct

    def on_batch(self, batch, logs):
        self.update(logs["indices"], logs["correct"])

    def scores(self):
        """float array (N,): events, `inf` for never-learned examples."""
        return np.where(self.learned, self.events.astype(np.float64), np.inf)


def forgetting_scores(dataset, seed=0, recipe=None):
    """Trains a network on the real data and scores forgetting per example.

    Args:
        dataset: `ImageDataset`.
        seed: int.
        recipe: `TrainingRecipe`, None for `coreset_recipe("forgetting")` (3
            epochs; at least 2 are needed for any event to happen).

    Returns:
        float array (N,) of forgetting events, `inf` for never-learned examples.
    """
    tracker = ForgettingTracker(len(dataset.x_train))
    recipe = recipe or coreset_recipe("forgetting")
    train_on_real_data(dataset, recipe, seed, callbacks=[tracker])
    return tracker.scores()


def most_forgotten(scores, labels, num_classes, ipc, seed=0):
    """Per class, the `ipc` indices with the highest scores, ties broken at random.

    Args:
        scores: float array (N,).
        labels: int array (N,).
        num_classes: int.
        ipc: int.
        seed: int, for the tie-breaking order.

    Returns:
        int64 array (num_classes * ipc,), class-major.
    """
    tie_break = np.random.default_rng(seed).permutation(len(scores))
    selected = []
    for label in range(num_classes):
        members = np.flatnonzero(labels == label)
        order = np.lexsort((tie_break[members], -scores[members]))
        selected.append(members[order[:ipc]])
    return np.concatenate(selected).astype(np.int64)


def forgetting_selection(dataset, ipc, seed=0, recipe=None):
    """Selects the `ipc` most-forgotten images per class.

    Args:
        dataset: `ImageDataset`.
        ipc: int.
        seed, recipe: see `forgetting_scores`.

    Returns:
        int64 array (num_classes * ipc,) of training-set indices, class-major.
    """
    scores = forgetting_scores(dataset, seed, recipe)
    return most_forgotten(scores, dataset.y_train, dataset.num_classes, ipc, seed)
