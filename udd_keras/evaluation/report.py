"""Results of an evaluation: per-model accuracies, their summary and JSON form."""

from dataclasses import dataclass, field

import numpy as np

from udd_keras.evaluation.fingerprint import fingerprint
from udd_keras.evaluation.run import EvalRun
from udd_keras.files import atomic_write_json


class AccuracySummary:
    """`accuracy_mean` and `accuracy_std` of a class's `accuracies` (one a repeat)."""

    @property
    def accuracy_mean(self):
        return float(np.mean(self.accuracies))

    @property
    def accuracy_std(self):
        """Population standard deviation (`ddof=0`, as the DC/IDC code reports)."""
        return float(np.std(self.accuracies))


@dataclass
class ModelResult(AccuracySummary):
    """All repeats of one model.

    Args:
        model: str, the model name.
        runs: list of `EvalRun`, one per repeat (seeds `seed, seed + 1, ...`).
        epochs: int, training epochs of every run.
        protocol: dict, how the runs were measured
            (`udd_keras.evaluation.fingerprint.protocol_of`), or None when not
            recorded.
    """

    model: str
    runs: list[EvalRun]
    epochs: int
    protocol: dict | None = None

    @property
    def protocol_fingerprint(self):
        """str, 12 hex digits identifying `protocol`, or None without one."""
        return None if self.protocol is None else fingerprint(self.protocol)

    @property
    def accuracies(self):
        """list of floats in [0, 1], the final test accuracy of every run."""
        return [run.accuracy for run in self.runs]

    @property
    def seconds(self):
        """Total wall-clock seconds of all runs of this model."""
        return float(sum(run.seconds for run in self.runs))

    def curve(self):
        """Mean and std test accuracy against epoch over the runs.

        Returns:
            Tuple `(epochs, mean, std)` of 1-D numpy arrays.
        """
        epochs = np.array([epoch for epoch, _ in self.runs[0].curve])
        values = np.array([[acc for _, acc in run.curve] for run in self.runs])
        return epochs, values.mean(axis=0), values.std(axis=0)

    def to_dict(self):
        epochs, mean, std = self.curve()
        return {
            "model": self.model,
            "accuracy_mean": self.accuracy_mean,
            "accuracy_std": self.accuracy_std,
            "accuracies": self.accuracies,
            "epochs": self.epochs,
            "seconds": self.seconds,
            "seeds": [run.seed for run in self.runs],
            "protocol": None if self.protocol is None else dict(self.protocol),
            "protocol_fingerprint": self.protocol_fingerprint,
            "curve": {
                "epochs": epochs.tolist(),
                "mean": mean.tolist(),
                "std": std.tolist(),
            },
        }


@dataclass
class EvaluationReport:
    """The result of `evaluate`.

    Accuracies are fractions in [0, 1]; `seconds` is the total over a model's
    repeats.

    Args:
        source: str, the synthetic-set path, or the dataset name for a
            full-training-set evaluation.
        dataset: str, the dataset whose real test split was used.
        ipc: int, stored images per class, or None for the full training set.
        results: list of `ModelResult`, one per model.
        settings: dict of the training settings (lr, batch size, augmentation,
            labels "hard" or "soft" and the soft labels' temperature).
        baselines: list of `udd_keras.evaluation.baselines.BaselineComparison`,
            one per model (random coreset, IOR, HLR), or None when the
            evaluation ran without baselines.
    """

    source: str
    dataset: str
    ipc: int | None
    results: list[ModelResult] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    baselines: list | None = None

    def to_dict(self):
        """The JSON form: source, dataset, ipc, results, settings, baselines.

        Each entry of `results` carries its `protocol` (a readable dict) and
        `protocol_fingerprint` (12 hex digits; `udd_keras.evaluation.fingerprint`).
        `baselines` is null without baselines, else one entry per model:
        `random_coreset` (a result like those in `results`), `ior_mean`,
        `ior_std`, `ior` (per repeat), `full_accuracy`,
        `full_accuracy_source`, `hlr_mean`, `hlr_std`, `hlr`, `lrs_weight`,
        `lrs_mean`, `lrs_std`, `lrs` (HLR and LRS null when no full-data
        accuracy is known, with the reason in `note`); fractions.
        """
        return {
            "source": self.source,
            "dataset": self.dataset,
            "ipc": self.ipc,
            "results": [result.to_dict() for result in self.results],
            "settings": dict(self.settings),
            "baselines": (
                None
                if self.baselines is None
                else [baseline.to_dict() for baseline in self.baselines]
            ),
        }

    def write_json(self, path):
        """Writes `to_dict()` to `path` atomically (temp file + `os.replace`).

        Args:
            path: str or path-like; parent folders are created.

        Returns:
            `pathlib.Path` of the file.
        """
        return write_json_atomic(path, self.to_dict())

    def curve_series(self):
        """`{name: (epochs, mean, std)}` for plotting test accuracy (in %).

        One curve per model, plus `"<model> random coreset"` per baseline.
        """
        series = {}
        for result in self.results:
            epochs, mean, std = result.curve()
            series[result.model] = (epochs, 100 * mean, 100 * std)
        for baseline in self.baselines or ():
            epochs, mean, std = baseline.random_coreset.curve()
            series[f"{baseline.model} random coreset"] = (epochs, 100 * mean, 100 * std)
        return series


def write_json_atomic(path, data):
    """Writes JSON under a temporary name beside `path`, then renames it."""
    return atomic_write_json(path, data)
