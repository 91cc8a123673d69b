import json

import numpy as np
import pytest

from udd_keras.errors import UddError
from udd_keras.evaluation import EvalRun, EvaluationReport, ModelResult
from udd_keras.evaluation.baselines import (
    PAPER_FULL_ACCURACY_SOURCE,
    BaselineComparison,
    check_baseline_arguments,
    compare_with_baselines,
    full_data_accuracy,
    label_robust_score,
)


def _result(accuracies, model="convnet3"):
    runs = [
        EvalRun(accuracy=a, curve=[(1, a / 2), (2, a)], seconds=1.0, seed=i)
        for i, a in enumerate(accuracies)
    ]
    return ModelResult(model=model, runs=runs, epochs=2)


@pytest.mark.parametrize(
    "dataset, accuracy",
    [
        ("mnist", 0.996),
        ("fashion_mnist", 0.935),
        ("svhn_cropped", 0.954),
        ("cifar10", 0.881),
        ("cifar100", 0.562),
    ],
)
def test_paper_full_accuracy_for_convnet3(dataset, accuracy):
    assert full_data_accuracy(dataset, "convnet3") == (
        accuracy,
        PAPER_FULL_ACCURACY_SOURCE,
        None,
    )


def test_given_full_accuracy_wins_everywhere():
    for dataset, model in [("cifar10", "convnet3"), ("digits", "resnet18")]:
        accuracy, source, note = full_data_accuracy(dataset, model, given=0.9)
        assert (accuracy, note) == (0.9, None)
        assert "given" in source


def test_no_full_accuracy_comes_with_a_note():
    accuracy, source, note = full_data_accuracy("digits", "convnet3")
    assert accuracy is None and source is None
    assert "no full-data accuracy for 'digits'" in note and "--full-accuracy" in note
    accuracy, _, note = full_data_accuracy("cifar10", "resnet18")
    assert accuracy is None
    assert "for ConvNet-3, not resnet18" in note


def test_ior_and_hlr_pair_repeats():
    result = _result([0.6, 0.7, 0.8])
    coreset = [run for run in _result([0.5, 0.4, 0.8]).runs]
    comparison = compare_with_baselines(result, coreset, "cifar10")
    np.testing.assert_allclose(comparison.ior, [0.1, 0.3, 0.0], atol=1e-12)
    assert comparison.ior_mean == pytest.approx(0.4 / 3)
    assert comparison.ior_std == pytest.approx(np.std([0.1, 0.3, 0.0]))
    np.testing.assert_allclose(comparison.hlr, [0.281, 0.181, 0.081], atol=1e-12)
    assert comparison.hlr_mean == pytest.approx(0.181)
    assert comparison.hlr_std == pytest.approx(np.std([0.281, 0.181, 0.081]))
    assert comparison.full_accuracy_source == PAPER_FULL_ACCURACY_SOURCE


def test_without_full_accuracy_hlr_is_none():
    comparison = compare_with_baselines(_result([0.6]), _result([0.5]).runs, "digits")
    assert comparison.hlr is None
    assert comparison.hlr_mean is None and comparison.hlr_std is None
    assert comparison.ior == pytest.approx([0.1])
    assert comparison.note.startswith("HLR left out")


def test_report_json_and_curves_carry_the_baselines(tmp_path):
    result = _result([0.6, 0.8])
    comparison = compare_with_baselines(
        result, _result([0.5, 0.5]).runs, "digits", full_accuracy=0.95
    )
    report = EvaluationReport(
        source="s.tfrecord",
        dataset="digits",
        ipc=1,
        results=[result],
        baselines=[comparison],
    )
    data = json.loads(report.write_json(tmp_path / "r.json").read_text())
    (entry,) = data["baselines"]
    assert entry["model"] == "convnet3"
    assert entry["random_coreset"]["accuracies"] == [0.5, 0.5]
    assert entry["ior"] == pytest.approx([0.1, 0.3])
    assert entry["ior_mean"] == pytest.approx(0.2)
    assert entry["hlr"] == pytest.approx([0.35, 0.15])
    assert entry["full_accuracy"] == 0.95
    assert entry["note"] is None
    assert set(report.curve_series()) == {"convnet3", "convnet3 random coreset"}
    no_baselines = EvaluationReport(source="s", dataset="digits", ipc=1)
    assert no_baselines.to_dict()["baselines"] is None


def test_mismatched_repeat_counts_are_a_bug_not_a_silent_truncation():
    comparison = BaselineComparison(
        model="convnet3", set_accuracies=[0.5, 0.6], random_coreset=_result([0.4])
    )
    with pytest.raises(ValueError):
        comparison.ior  # noqa: B018


def test_baseline_arguments():
    assert check_baseline_arguments(False, None) is None
    assert check_baseline_arguments(True, None) is None
    assert check_baseline_arguments(True, 88.1) == pytest.approx(0.881)
    with pytest.raises(UddError, match="used only with baselines"):
        check_baseline_arguments(False, 90.0)
    for bad in (0, -5.0, 100.5, float("nan"), "90"):
        with pytest.raises(UddError, match=r"percentage in \(0, 100\], got"):
            check_baseline_arguments(True, bad)


def test_label_robust_score_by_hand():
    # alpha = 0.5 * 0.2 - 0.5 * 0.1 = 0.05;
    # (e^0.05 - e^-1) / (e - e^-1) = (1.051271 - 0.367879) / 2.350402 = 0.290755
    assert label_robust_score(0.2, 0.1) == pytest.approx(0.290755, abs=1e-6)
    # alpha = 1 * 0.2 = 0.2: (1.221403 - 0.367879) / 2.350402 = 0.363139
    assert label_robust_score(0.2, 0.1, weight=1.0) == pytest.approx(0.363139, abs=1e-6)
    # The ends of alpha's range [-1, 1] map to 0 and 1.
    assert label_robust_score(1.0, 0.0, weight=1.0) == pytest.approx(1.0)
    assert label_robust_score(-1.0, 1.0) == pytest.approx(0.0)
    for bad in (-0.1, 1.5, True, "0.5"):
        with pytest.raises(
            UddError, match=r"LRS weight must be a number in \[0, 1\], got"
        ):
            label_robust_score(0.2, 0.1, weight=bad)


def test_lrs_per_repeat_pair_in_the_comparison_and_json():
    comparison = compare_with_baselines(
        _result([0.6, 0.8]), _result([0.5, 0.5]).runs, "digits", full_accuracy=0.95
    )
    # IOR (0.1, 0.3), HLR (0.35, 0.15): alpha -0.125 and 0.075, so
    # (0.882497 - 0.367879) / 2.350402 = 0.218949 and
    # (1.077884 - 0.367879) / 2.350402 = 0.302078.
    assert comparison.lrs == pytest.approx([0.218949, 0.302078], abs=1e-6)
    assert comparison.lrs_mean == pytest.approx((0.218949 + 0.302078) / 2, abs=1e-6)
    assert comparison.lrs_std == pytest.approx((0.302078 - 0.218949) / 2, abs=1e-6)
    entry = comparison.to_dict()
    assert entry["lrs"] == comparison.lrs and entry["lrs_weight"] == 0.5
    no_full = compare_with_baselines(_result([0.6]), _result([0.5]).runs, "digits")
    assert no_full.lrs is None and no_full.to_dict()["lrs_mean"] is None
