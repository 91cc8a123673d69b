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
  missing to training on the whole training set (0 would be full recovery);
- LRS, label-robust score: both in one number, `label_robust_score`.

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
from udd_keras.evaluation.fingerprint import DECODE_NONE
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
# DD-Ranking's default weight of IOR in LRS (its leaderboard's `w = 0.5`).
DEFAULT_LRS_WEIGHT = 0.5


def label_robust_score(ior, hlr, weight=DEFAULT_LRS_WEIGHT):
    """DD-Ranking's label-robust score (LRS) of an IOR and an HLR.

    `alpha = w * IOR - (1 - w) * HLR`, then
    `LRS = (exp(alpha) - exp(-1)) / (e - exp(-1))`, with IOR and HLR as
    fractions, so that `alpha` lies in [-1, 1] and LRS in [0, 1] (DD-Ranking
    reports it x 100, as a percentage). Higher is better: a set far above the
    random coreset (large IOR) that recovers the full-data accuracy (small
    HLR) scores near 1.

    Source: Li et al., "DD-Ranking: Rethinking the Evaluation of Dataset
    Distillation" (arXiv:2505.13300), and its documentation
    (github.com/NUS-HPC-AI-Lab/DD-Ranking, README "Label-Robust Score" and
    `doc/introduction.md`), where `w` defaults to 0.5. Its code computes LRS per
    evaluation round and reports mean and std over the rounds, as
    `BaselineComparison` does over the paired repeats.

    Args:
        ior: float or array, improvement over random, a fraction.
        hlr: float or array, hard-label recovery, a fraction.
        weight: float in [0, 1], `w`, the weight of IOR (HLR gets `1 - w`).

    Returns:
        float (or a float64 array for array inputs), LRS as a fraction.

    Raises:
        UddError: a weight outside [0, 1].

    Example:
    >>> round(label_robust_score(0.2, 0.1), 6)  # alpha = 0.05
    0.290755
    >>> [round(label_robust_score(i, h), 6) for i, h in [(1, 0), (-1, 1), (0, 1)]]
    [0.544946, 0.0, 0.101536]
    """
    if (
        isinstance(weight, bool)
        or not isinstance(weight, (int, float, np.integer, np.floating))
        or not 0 <= weight <= 1
    ):
        raise UddError(f"LRS weight must be a number in [0, 1], got {weight!r}.")
    alpha = weight * np.asarray(ior, np.float64) - (1 - weight) * np.asarray(
        hlr, np.float64
    )
    score = (np.exp(alpha) - math.exp(-1)) / (math.e - math.exp(-1))
    return float(score) if np.ndim(score) == 0 else score


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
        lrs_weight: float in [0, 1], the weight of IOR in LRS
            (`label_robust_score`; DD-Ranking's default 0.5).
    """

    model: str
    set_accuracies: list[float]
    random_coreset: ModelResult
    full_accuracy: float | None = None
    full_accuracy_source: str | None = None
    note: str | None = None
    lrs_weight: float = DEFAULT_LRS_WEIGHT

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

    @property
    def lrs(self):
        """list of floats, LRS per repeat pair (`label_robust_score`), or None
        when HLR is left out."""
        if self.hlr is None:
            return None
        scores = label_robust_score(self.ior, self.hlr, self.lrs_weight)
        return [float(score) for score in scores]

    @property
    def lrs_mean(self):
        return None if self.lrs is None else _summary(self.lrs)[0]

    @property
    def lrs_std(self):
        return None if self.lrs is None else _summary(self.lrs)[1]

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
            "lrs_weight": self.lrs_weight,
            "lrs_mean": self.lrs_mean,
            "lrs_std": self.lrs_std,
            "lrs": self.lrs,
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
    protocol = None
    if result.protocol is not None:
        # Real images as they are, with their class labels.
        protocol = dict(result.protocol, labels="hard", temperature=None)
        protocol["decode"] = DECODE_NONE
    return BaselineComparison(
        model=result.model,
        set_accuracies=result.accuracies,
        random_coreset=ModelResult(
            model=result.model,
            runs=coreset_runs,
            epochs=result.epochs,
            protocol=protocol,
        ),
        full_accuracy=accuracy,
        full_accuracy_source=source,
        note=note,
    )
