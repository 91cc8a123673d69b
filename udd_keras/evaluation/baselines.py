"""Baselines of an evaluation: a random coreset of the same IPC, and full data.

`evaluate(..., baselines=True)` also trains, in the same run and under the same
protocol (model, epochs, lr, batch size, augmentation, width), on a random
coreset of real training images with the set's IPC: repeat `i` draws its
coreset with `random_selection(..., seed=seed + i)` and trains with the same
seed `seed + i` as the set's repeat `i`. The two DD-Ranking figures are then
computed per repeat pair and summarised as mean ± std (population std, as
every accuracy of the report):

- IOR, improvement over random: `acc(set) - acc(random coreset)`;
- HLR, hard-label recovery: `acc(full data) - acc(set)`, the accuracy still
  missing to training on the whole training set (0 would be full recovery).

The full-data accuracy is the one given (`full_accuracy_percent`), else the UDD
paper's Table 1 figure for ConvNet-3 on the datasets it lists
(`PAPER_FULL_ACCURACY`); for another model or dataset HLR is left out with a
note. A set trained on its soft labels is compared with a coreset trained on
hard labels (there is no teacher to relabel real images), so IOR then includes
what the soft labels add, and HLR is measured from the soft-label accuracy.
"""

import math
from dataclasses import dataclass

import numpy as np

from udd_keras.coreset.selection import check_ipc, random_selection
from udd_keras.errors import UddError
from udd_keras.evaluation.report import ModelResult

# UDD paper, Table 1: ConvNet-3 trained on the whole training set, top-1 test
# accuracy (fractions), keyed by `udd_keras.data` dataset names.
PAPER_FULL_ACCURACY = {
    "mnist": 0.996,
    "fashion_mnist": 0.935,
    "svhn": 0.954,
    "svhn_cropped": 0.954,
    "cifar10": 0.881,
    "cifar100": 0.562,
}
PAPER_FULL_ACCURACY_MODEL = "convnet3"
PAPER_FULL_ACCURACY_SOURCE = (
    "UDD paper Table 1 (ConvNet-3, width 128, full training set)"
)
GIVEN_FULL_ACCURACY_SOURCE = "given by the user (--full-accuracy)"
# The label of coreset runs in progress callbacks: `f"{model}/{...}"`.
RANDOM_CORESET_LABEL = "random-coreset"


def check_baseline_arguments(baselines, full_accuracy_percent):
    """Validates the baseline options of `evaluate` before anything is loaded.

    Args:
        baselines: bool.
        full_accuracy_percent: float in (0, 100], or None.

    Returns:
        float full-data accuracy as a fraction in (0, 1], or None.

    Raises:
        UddError: a full-data accuracy without baselines, or one outside
            (0, 100].
    """
    if full_accuracy_percent is None:
        return None
    if not baselines:
        raise UddError(
            f"full accuracy {full_accuracy_percent!r} is used only with baselines "
            "(--baselines, baselines=True)."
        )
    if (
        isinstance(full_accuracy_percent, bool)
        or not isinstance(full_accuracy_percent, (int, float, np.integer, np.floating))
        or not math.isfinite(full_accuracy_percent)
        or not 0 < full_accuracy_percent <= 100
    ):
        raise UddError(
            "full accuracy must be a percentage in (0, 100], got "
            f"{full_accuracy_percent!r}."
        )
    return float(full_accuracy_percent) / 100.0


def full_data_accuracy(dataset_name, model, given=None):
    """The full-data accuracy HLR is measured against, and where it comes from.

    Args:
        dataset_name: str, a `udd_keras.data` dataset name.
        model: str, the evaluated model.
        given: float fraction in (0, 1], or None to look the paper up.

    Returns:
        Tuple `(accuracy, source, note)`: a fraction and the str naming its
        source, or `(None, None, note)` with a one-line note saying why there
        is none.

    Example:
    >>> full_data_accuracy("cifar10", "convnet3")[:2]
    (0.881, 'UDD paper Table 1 (ConvNet-3, width 128, full training set)')
    >>> full_data_accuracy("digits", "convnet3")[0] is None
    True
    """
    if given is not None:
        return given, GIVEN_FULL_ACCURACY_SOURCE, None
    name = str(dataset_name).lower()
    if name not in PAPER_FULL_ACCURACY:
        listed = ", ".join(sorted(set(PAPER_FULL_ACCURACY) - {"svhn"}))
        return (
            None,
            None,
            f"HLR left out: the paper has no full-data accuracy for "
            f"{dataset_name!r} (it lists {listed}); give one with --full-accuracy.",
        )
    if model != PAPER_FULL_ACCURACY_MODEL:
        return (
            None,
            None,
            f"HLR left out: the paper's full-data accuracies are for ConvNet-3, "
            f"not {model}; give one with --full-accuracy.",
        )
    return PAPER_FULL_ACCURACY[name], PAPER_FULL_ACCURACY_SOURCE, None


def _summary(values):
    return float(np.mean(values)), float(np.std(values))


@dataclass
class BaselineComparison:
    """One model's set accuracy against its random coreset and full data.

    All accuracies and differences are fractions (0.05 = 5 points).

    Args:
        model: str, the model name.
        set_accuracies: list of floats, the set's accuracy per repeat.
        random_coreset: `ModelResult` of the random-coreset runs, repeat `i`
            paired with the set's repeat `i` (same seed).
        full_accuracy: float fraction, or None when unknown.
        full_accuracy_source: str naming where `full_accuracy` comes from, or
            None.
        note: str, why HLR is left out, or None.
    """

    model: str
    set_accuracies: list[float]
    random_coreset: ModelResult
    full_accuracy: float | None = None
    full_accuracy_source: str | None = None
    note: str | None = None

    @property
    def ior(self):
        """list of floats: `acc(set) - acc(random coreset)` per repeat."""
        return [
            s - r
            for s, r in zip(
                self.set_accuracies, self.random_coreset.accuracies, strict=True
            )
        ]

    @property
    def ior_mean(self):
        return _summary(self.ior)[0]

    @property
    def ior_std(self):
        return _summary(self.ior)[1]

    @property
    def hlr(self):
        """list of floats `acc(full) - acc(set)` per repeat, or None."""
        if self.full_accuracy is None:
            return None
        return [self.full_accuracy - s for s in self.set_accuracies]

    @property
    def hlr_mean(self):
        return None if self.hlr is None else _summary(self.hlr)[0]

    @property
    def hlr_std(self):
        return None if self.hlr is None else _summary(self.hlr)[1]

    def to_dict(self):
        return {
            "model": self.model,
            "random_coreset": self.random_coreset.to_dict(),
            "ior_mean": self.ior_mean,
            "ior_std": self.ior_std,
            "ior": self.ior,
            "full_accuracy": self.full_accuracy,
            "full_accuracy_source": self.full_accuracy_source,
            "hlr_mean": self.hlr_mean,
            "hlr_std": self.hlr_std,
            "hlr": self.hlr,
            "note": self.note,
        }


def random_coreset_runs(dataset, ipc, model_name, repeats, seed, train_repeat):
    """Trains `model_name` on a fresh random coreset per repeat.

    Args:
        dataset: `ImageDataset`, the coreset's source (its training split).
        ipc: int, images per class of the coreset.
        model_name: str.
        repeats: int.
        seed: int, seed of the first repeat; repeat `i` selects and trains
            with `seed + i`.
        train_repeat: `fn(model_name, repeat, run_seed, x, y) -> EvalRun`,
            one training run under the evaluation's protocol.

    Returns:
        list of `EvalRun`, one per repeat.
    """
    labels = np.asarray(dataset.y_train)
    check_ipc(labels, dataset.num_classes, ipc)
    runs = []
    for repeat in range(repeats):
        run_seed = seed + repeat
        indices = random_selection(labels, dataset.num_classes, ipc, seed=run_seed)
        runs.append(
            train_repeat(
                model_name,
                repeat,
                run_seed,
                dataset.x_train[indices],
                labels[indices],
            )
        )
    return runs


def compare_with_baselines(result, coreset_runs, dataset_name, full_accuracy=None):
    """Builds a model's `BaselineComparison` from its set and coreset runs.

    Args:
        result: `ModelResult` of the set.
        coreset_runs: list of `EvalRun` of the random coresets, same length
            and seeds as `result.runs`.
        dataset_name: str, for the paper's full-data figure.
        full_accuracy: float fraction given by the user, or None.

    Returns:
        `BaselineComparison`.
    """
    accuracy, source, note = full_data_accuracy(
        dataset_name, result.model, full_accuracy
    )
    return BaselineComparison(
        model=result.model,
        set_accuracies=result.accuracies,
        random_coreset=ModelResult(
            model=result.model, runs=coreset_runs, epochs=result.epochs
        ),
        full_accuracy=accuracy,
        full_accuracy_source=source,
        note=note,
    )
