"""Two evaluation results side by side, and whether one is better.

`compare_results(a, b)` reads two evaluation results (the JSON `udd-keras
evaluate --json` writes, its dict, or an `EvaluationReport`) and returns a
`Comparison`: each side's accuracy (mean ± std over its repeats, the number of
repeats, the protocol fingerprint), and the paired difference `a - b` over the
repeats whose seeds appear on both sides (repeat seeds pair a set's training
with the other's, as the baselines of `evaluate` do).

A verdict is given only when both protocol fingerprints agree
(`udd_keras.evaluation.fingerprint`): accuracies measured with, say, 300 and
1,000 epochs say nothing about which set is better, so then `verdict` is None
and `differences` names the protocol fields that differ. With equal protocols
the verdict names the higher side and whether the difference exceeds the
spread: the std of the paired differences when at least two repeats pair, else
the larger of the two sides' stds (both need two repeats). This is a rule of
thumb, not a significance test.
"""

import dataclasses
import json
import math
import os
import pathlib

import numpy as np

from udd_keras.errors import UddError
from udd_keras.evaluation.fingerprint import fingerprint, protocol_differences
from udd_keras.evaluation.report import AccuracySummary

# What the error for a file that is not an evaluation result says it expected.
EXPECTED = "the JSON written by `udd-keras evaluate --json`"


@dataclasses.dataclass(frozen=True)
class ResultSide(AccuracySummary):
    """One side of a comparison: one model's result in one evaluation.

    Attributes:
        name: str, where the result comes from (its file, or its source).
        model: str, the evaluated model.
        accuracies: tuple of floats in [0, 1], one per repeat.
        seeds: tuple of ints, the repeats' seeds (same order).
        protocol: dict, or None for a result written without one.
    """

    name: str
    model: str
    accuracies: tuple
    seeds: tuple
    protocol: dict | None = None

    @property
    def n(self):
        """int, the number of repeats."""
        return len(self.accuracies)

    @property
    def fingerprint(self):
        """str, 12 hex digits of `protocol`, or None without one."""
        return None if self.protocol is None else fingerprint(self.protocol)


@dataclasses.dataclass(frozen=True)
class Comparison:
    """The result of `compare_results`; accuracies and differences are fractions.

    Attributes:
        a, b: `ResultSide`.
        paired_seeds: tuple of ints, the seeds present on both sides, in `a`'s
            order.
        paired_differences: tuple of floats, `acc(a) - acc(b)` per paired seed.
        differences: tuple of `(field, value in a, value in b)`: the protocol
            fields that differ (`("protocol", ...)` when a side has none).
    """

    a: ResultSide
    b: ResultSide
    paired_seeds: tuple
    paired_differences: tuple
    differences: tuple

    @property
    def same_protocol(self):
        """bool, both sides carry a protocol, with the same fingerprint."""
        return self.a.fingerprint is not None and self.a.fingerprint == (
            self.b.fingerprint
        )

    @property
    def paired_mean(self):
        """float, mean of `paired_differences`, or None when no seed pairs."""
        if not self.paired_differences:
            return None
        return float(np.mean(self.paired_differences))

    @property
    def paired_std(self):
        """float, population std of `paired_differences`, or None."""
        if not self.paired_differences:
            return None
        return float(np.std(self.paired_differences))

    @property
    def difference(self):
        """float `a - b`: the paired mean when seeds pair, else the means'."""
        if self.paired_differences:
            return self.paired_mean
        return self.a.accuracy_mean - self.b.accuracy_mean

    @property
    def spread(self):
        """float, the spread the difference is held against, or None.

        The std of the paired differences when at least two repeats pair,
        else the larger std of the two sides when both have two repeats or
        more; None when there is no spread to measure.
        """
        if len(self.paired_differences) >= 2:
            return self.paired_std
        if min(self.a.n, self.b.n) >= 2:
            return max(self.a.accuracy_std, self.b.accuracy_std)
        return None

    @property
    def higher(self):
        """`"a"`, `"b"`, or None when the difference is 0."""
        if self.difference == 0:
            return None
        return "a" if self.difference > 0 else "b"

    @property
    def exceeds_spread(self):
        """bool, `|difference| > spread`, or None without a spread."""
        if self.spread is None:
            return None
        return abs(self.difference) > self.spread

    @property
    def verdict(self):
        """str, which side is higher and whether beyond the spread; None
        when the protocols differ (or are not recorded).

        Example: `"A is higher by 1.20 points, more than the spread (0.40)."`
        """
        if not self.same_protocol:
            return None
        if self.higher is None:
            return "A and B are level: the same mean accuracy."
        points = 100 * abs(self.difference)
        text = f"{self.higher.upper()} is higher by {points:.2f} points"
        if self.spread is None:
            return f"{text}; one repeat only, so no spread to compare it with."
        relation = "more than" if self.exceeds_spread else "within"
        return f"{text}, {relation} the spread ({100 * self.spread:.2f})."

    def to_dict(self):
        """The comparison as JSON-ready data (fractions)."""
        sides = {}
        for key, side in (("a", self.a), ("b", self.b)):
            sides[key] = {
                "name": side.name,
                "model": side.model,
                "accuracy_mean": side.accuracy_mean,
                "accuracy_std": side.accuracy_std,
                "n": side.n,
                "protocol_fingerprint": side.fingerprint,
            }
        return {
            **sides,
            "paired_seeds": list(self.paired_seeds),
            "paired_mean": self.paired_mean,
            "paired_std": self.paired_std,
            "same_protocol": self.same_protocol,
            "differences": [list(item) for item in self.differences],
            "verdict": self.verdict,
        }


def load_result(source):
    """An evaluation result as its JSON dict, and a name for it.

    Args:
        source: str or path-like of an evaluation JSON, its dict, or an
            `EvaluationReport`.

    Returns:
        Tuple `(data, name)`.

    Raises:
        UddError: a missing or unreadable file, or one that is not an
            evaluation result.
    """
    if hasattr(source, "to_dict"):
        return source.to_dict(), str(getattr(source, "source", "report"))
    if isinstance(source, dict):
        return source, str(source.get("source", "result"))
    if not isinstance(source, (str, os.PathLike)):
        raise UddError(
            f"An evaluation result must be a JSON file, its dict or an "
            f"EvaluationReport, got {type(source).__name__} {source!r}."
        )
    path = pathlib.Path(source)
    if not path.is_file():
        raise UddError(f"{path}: no such file; expected {EXPECTED}.")
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UddError(
            f"{path}: not an evaluation result (not JSON: {error}); expected "
            f"{EXPECTED}."
        ) from None
    return data, str(path)


def _entries(data, name):
    """The `results` entries of an evaluation result, checked."""
    entries = data.get("results") if isinstance(data, dict) else None
    if not entries or not isinstance(entries, list):
        raise UddError(
            f"{name}: not an evaluation result (no 'results' list); expected "
            f"{EXPECTED}."
        )
    for entry in entries:
        if not isinstance(entry, dict):
            entry = {}
        accuracies = entry.get("accuracies")
        if (
            not isinstance(entry.get("model"), str)
            or not isinstance(accuracies, list)
            or not accuracies
            or not all(_is_fraction(value) for value in accuracies)
        ):
            raise UddError(
                f"{name}: not an evaluation result (a 'results' entry without a "
                f"model and its accuracies); expected {EXPECTED}."
            )
    return entries


def _is_fraction(value):
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= 1
    )


def result_side(source, model=None):
    """One model's result of an evaluation, as a `ResultSide`.

    Args:
        source: see `load_result`.
        model: str, the model to take; None takes the only one.

    Returns:
        `ResultSide`.

    Raises:
        UddError: not an evaluation result, no result for `model`, or several
            models and none chosen.
    """
    data, name = load_result(source)
    entries = _entries(data, name)
    models = [entry["model"] for entry in entries]
    if model is None:
        if len(entries) > 1:
            raise UddError(
                f"{name} has results for {', '.join(models)}; choose one "
                "(--model, model=)."
            )
        (entry,) = entries
    else:
        matching = [entry for entry in entries if entry["model"] == model]
        if not matching:
            raise UddError(
                f"{name}: no result for model {model!r}; it has {', '.join(models)}."
            )
        entry = matching[0]
    accuracies = tuple(float(value) for value in entry["accuracies"])
    seeds = entry.get("seeds")
    if not isinstance(seeds, list) or len(seeds) != len(accuracies):
        seeds = [None] * len(accuracies)  # written without seeds: nothing pairs
    protocol = entry.get("protocol")
    return ResultSide(
        name=name,
        model=entry["model"],
        accuracies=accuracies,
        seeds=tuple(seeds),
        protocol=protocol if isinstance(protocol, dict) else None,
    )


def compare_results(a, b, model=None):
    """Compares two evaluation results: side by side, paired, and a verdict.

    Args:
        a, b: evaluation results: paths of JSON files written by
            `udd-keras evaluate --json` (or `EvaluationReport.write_json`),
            their dicts, or `EvaluationReport`s.
        model: str, the model to compare when a result holds several; None
            when each holds one.

    Returns:
        `Comparison`; its `verdict` is None unless both protocol fingerprints
        agree, and its `differences` name the protocol fields that differ.

    Raises:
        UddError: a missing file, a file that is not an evaluation result, or
            a model missing from one of them.

    Example:
    >>> comparison = compare_results("udd.json", "idc.json")  # doctest: +SKIP
    >>> comparison.differences  # doctest: +SKIP
    (('epochs', 300, 1000),)
    >>> comparison.verdict is None  # doctest: +SKIP
    True
    """
    side_a, side_b = result_side(a, model), result_side(b, model)
    accuracy_b = {
        seed: value
        for seed, value in zip(side_b.seeds, side_b.accuracies, strict=True)
        if seed is not None
    }
    pairs = [
        (seed, value - accuracy_b[seed])
        for seed, value in zip(side_a.seeds, side_a.accuracies, strict=True)
        if seed is not None and seed in accuracy_b
    ]
    if side_a.protocol is None or side_b.protocol is None:
        state = {True: "not recorded", False: "recorded"}
        differences = (
            (
                "protocol",
                state[side_a.protocol is None],
                state[side_b.protocol is None],
            ),
        )
    else:
        differences = tuple(protocol_differences(side_a.protocol, side_b.protocol))
    return Comparison(
        a=side_a,
        b=side_b,
        paired_seeds=tuple(seed for seed, _ in pairs),
        paired_differences=tuple(difference for _, difference in pairs),
        differences=differences,
    )
