import json
import re

import pytest

from udd_keras.data import load_dataset
from udd_keras.errors import UddError
from udd_keras.evaluation import EvalRun, ModelResult, TrainingRecipe, evaluate
from udd_keras.evaluation.baselines import compare_with_baselines
from udd_keras.evaluation.fingerprint import (
    canonical,
    fingerprint,
    protocol_differences,
    protocol_of,
)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_protocol_of_records_the_recipe_the_labels_and_the_test_split(digits):
    recipe = TrainingRecipe(epochs=300, width=16, model="convnet")
    protocol = protocol_of(recipe, digits, labels="soft")
    assert protocol["model"] == "convnet3" and protocol["depth"] == 3
    assert (protocol["width"], protocol["epochs"]) == (16, 300)
    assert protocol["lr"] == 0.01 and protocol["batch_size"] == 64
    assert protocol["lr_schedule"] == {
        "kind": "step",
        "decay_fractions": [2 / 3, 5 / 6],
        "decay_factor": 0.2,
    }
    assert protocol["augmentation"] == recipe.for_dataset("digits").augmentation
    assert protocol["cutmix_probability"] == 0.5
    assert (protocol["labels"], protocol["temperature"]) == ("soft", 1.0)
    assert protocol["decode"] == "regions"
    assert protocol["normalization"] == digits.normalization.to_dict()
    assert protocol["dataset"] == "digits" and protocol["test_split"] == "test"
    assert protocol["test_images"] == len(digits.y_test)
    assert protocol["curve"] == "subset"
    assert "seed" not in json.dumps(protocol) and "repeats" not in protocol
    hard = protocol_of(recipe, digits)
    assert (hard["labels"], hard["temperature"]) == ("hard", None)


def test_fingerprint_ignores_key_order_and_float_noise_not_settings(digits):
    protocol = protocol_of(TrainingRecipe(), digits)
    assert re.fullmatch(r"[0-9a-f]{12}", fingerprint(protocol))
    reordered = dict(reversed(list(protocol.items())))
    noisy = dict(reordered, lr=0.1 * 0.1, epochs=300.0)
    noisy["lr_schedule"] = dict(
        protocol["lr_schedule"], decay_fractions=(1 - 1 / 3, 5 / 6)
    )
    assert noisy["lr"] != protocol["lr"]  # 0.010000000000000002
    assert fingerprint(noisy) == fingerprint(protocol)
    for changed in ({"epochs": 1000}, {"lr": 0.011}, {"temperature": 2.0}):
        assert fingerprint(dict(protocol, **changed)) != fingerprint(protocol)
    # The model alias names the same protocol.
    alias = protocol_of(TrainingRecipe(model="convnet"), digits)
    assert fingerprint(alias) == fingerprint(protocol)


def test_protocol_differences_name_nested_fields():
    a = {"epochs": 300, "lr_schedule": {"decay_factor": 0.2}, "curve": "subset"}
    b = {"epochs": 1000, "lr_schedule": {"decay_factor": 0.1}, "extra": 1}
    assert protocol_differences(a, b) == [
        ("curve", "subset", None),
        ("epochs", 300, 1000),
        ("extra", None, 1),
        ("lr_schedule.decay_factor", 0.2, 0.1),
    ]
    assert protocol_differences(a, dict(a, epochs=300.0)) == []


def test_bad_protocol_values_are_one_line_errors(digits):
    with pytest.raises(UddError, match=r"Unknown label mode 'fuzzy'; allowed: hard"):
        protocol_of(TrainingRecipe(), digits, labels="fuzzy")
    with pytest.raises(UddError, match=r"Unknown decode 'tiles'; allowed: regions"):
        protocol_of(TrainingRecipe(), digits, decode="tiles")
    with pytest.raises(UddError, match=r"protocol.lr must be a finite number, got nan"):
        canonical({"lr": float("nan")})
    with pytest.raises(UddError, match="must be a dict, got list"):
        fingerprint([1, 2])


def test_evaluate_records_the_protocol_in_the_report_and_its_json(
    tmp_path, digits, write_digits_set
):
    path = write_digits_set(tmp_path / "set.tfrecord")
    recipe = TrainingRecipe(epochs=1, width=4, curve="final")
    report = evaluate(path, recipe, repeats=1, seed=3)
    (result,) = report.results
    assert result.protocol == protocol_of(recipe, digits)
    data = json.loads(report.write_json(tmp_path / "r.json").read_text())
    (entry,) = data["results"]
    assert entry["protocol"] == json.loads(json.dumps(result.protocol))
    assert entry["protocol_fingerprint"] == fingerprint(protocol_of(recipe, digits))


def test_the_random_coreset_protocol_is_hard_labels_on_real_images(digits):
    protocol = protocol_of(TrainingRecipe(), digits, labels="soft", temperature=2)
    runs = [EvalRun(accuracy=0.5, curve=[(1, 0.5)], seconds=1.0)]
    result = ModelResult("convnet3", runs, epochs=1, protocol=protocol)
    coreset = compare_with_baselines(result, runs, "digits").random_coreset
    assert protocol_differences(protocol, coreset.protocol) == [
        ("decode", "regions", "none"),
        ("labels", "soft", "hard"),
        ("temperature", 2, None),
    ]
