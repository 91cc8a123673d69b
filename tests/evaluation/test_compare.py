import json

import pytest

from udd_keras.data import load_dataset
from udd_keras.errors import UddError
from udd_keras.evaluation import EvalRun, EvaluationReport, ModelResult, TrainingRecipe
from udd_keras.evaluation.compare import compare_results
from udd_keras.evaluation.fingerprint import protocol_of


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def report(accuracies, seeds, protocol, model="convnet3"):
    runs = [
        EvalRun(accuracy=a, curve=[(1, a)], seconds=1.0, seed=s)
        for a, s in zip(accuracies, seeds, strict=True)
    ]
    result = ModelResult(model=model, runs=runs, epochs=1, protocol=protocol)
    return EvaluationReport(
        source="set.tfrecord", dataset="digits", ipc=1, results=[result]
    )


def test_results_that_differ_in_epochs_get_no_verdict(tmp_path, digits):
    short = protocol_of(TrainingRecipe(epochs=300), digits)
    long = protocol_of(TrainingRecipe(epochs=1000), digits)
    a = report([0.80, 0.82], [0, 1], short).write_json(tmp_path / "a.json")
    b = report([0.70, 0.72], [0, 1], long).write_json(tmp_path / "b.json")
    comparison = compare_results(a, b)
    assert comparison.differences == (("epochs", 300, 1000),)
    assert not comparison.same_protocol and comparison.verdict is None
    assert comparison.a.fingerprint != comparison.b.fingerprint
    assert comparison.a.name == str(a) and comparison.a.n == 2
    # The paired difference is still reported.
    assert comparison.paired_mean == pytest.approx(0.10)


def test_paired_difference_over_the_seeds_on_both_sides(digits):
    protocol = protocol_of(TrainingRecipe(epochs=300), digits)
    a = report([0.80, 0.82, 0.78], [0, 1, 2], protocol)
    b = report([0.75, 0.76, 0.70], [1, 2, 3], dict(protocol))
    comparison = compare_results(a, b)
    # Seeds 1 and 2 pair: 0.82 - 0.75 = 0.07 and 0.78 - 0.76 = 0.02.
    assert comparison.paired_seeds == (1, 2)
    assert comparison.paired_differences == pytest.approx((0.07, 0.02))
    assert comparison.paired_mean == pytest.approx(0.045)
    assert comparison.paired_std == pytest.approx(0.025)
    assert comparison.same_protocol and comparison.differences == ()
    assert comparison.higher == "a" and comparison.exceeds_spread
    assert (
        comparison.verdict == "A is higher by 4.50 points, more than the spread (2.50)."
    )
    assert comparison.to_dict()["paired_seeds"] == [1, 2]


def test_a_difference_within_the_spread_says_so(digits):
    protocol = protocol_of(TrainingRecipe(), digits)
    a = report([0.70, 0.80], [0, 1], protocol)
    b = report([0.74, 0.78], [0, 1], protocol)
    comparison = compare_results(a, b)
    # Pairs -0.04 and 0.02: mean -0.01, std 0.03.
    assert comparison.higher == "b" and not comparison.exceeds_spread
    assert comparison.verdict == "B is higher by 1.00 points, within the spread (3.00)."


def test_a_result_without_a_protocol_gets_no_verdict(digits):
    protocol = protocol_of(TrainingRecipe(), digits)
    comparison = compare_results(report([0.8], [0], None), report([0.7], [0], protocol))
    assert comparison.differences == (("protocol", "not recorded", "recorded"),)
    assert comparison.verdict is None


def test_several_models_need_a_choice(digits):
    data = report([0.8], [0], None).to_dict()
    data["results"].append(dict(data["results"][0], model="resnet18"))
    with pytest.raises(
        UddError, match="has results for convnet3, resnet18; choose one"
    ):
        compare_results(data, data)
    assert compare_results(data, data, model="resnet18").a.model == "resnet18"
    with pytest.raises(UddError, match="no result for model 'vgg11'; it has convnet3"):
        compare_results(data, data, model="vgg11")


def test_missing_and_foreign_files_are_one_line_errors(tmp_path):
    with pytest.raises(UddError, match=r"absent.json: no such file; expected the JSON"):
        compare_results(tmp_path / "absent.json", tmp_path / "absent.json")
    text = tmp_path / "notes.json"
    text.write_text("not json")
    with pytest.raises(
        UddError, match=r"notes.json: not an evaluation result \(not JSON"
    ):
        compare_results(text, text)
    other = tmp_path / "config.json"
    other.write_text(json.dumps({"dataset": "digits", "ipc": 1}))
    with pytest.raises(
        UddError, match=r"config.json: not an evaluation result \(no 'results'"
    ):
        compare_results(other, other)
    other.write_text(
        json.dumps({"results": [{"model": "convnet3", "accuracies": [83]}]})
    )
    with pytest.raises(UddError, match="without a model and its accuracies"):
        compare_results(other, other)
