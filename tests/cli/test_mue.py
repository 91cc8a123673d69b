"""`udd-keras mue`: JSON and PNG reports, side-by-side sets, saved weights, errors."""

import json

import numpy as np
import pytest

from udd_keras.cli.main import main
from udd_keras.data import load_dataset
from udd_keras.models import get_model
from udd_keras.tfrecords import SyntheticSetMetadata, write_synthetic_set

FAST = ["--epochs", "1", "--width", "8"]


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def write_set(path, dataset, ipc=2, seed=0, name=None, method="random"):
    """Writes `ipc` random real digits per class as a synthetic-set TFRecord."""
    rng = np.random.default_rng(seed)
    index = np.concatenate(
        [
            rng.choice(np.flatnonzero(dataset.y_train == label), ipc, replace=False)
            for label in range(dataset.num_classes)
        ]
    )
    metadata = SyntheticSetMetadata(
        dataset=name or dataset.name,
        image_shape=dataset.image_shape,
        num_classes=dataset.num_classes,
        class_names=dataset.class_names,
        ipc=ipc,
        method=method,
        normalization=dataset.normalization.to_dict(),
    )
    return write_synthetic_set(
        path, dataset.x_train[index], dataset.y_train[index], metadata
    )


def run(argv, capsys):
    """Runs the CLI; returns (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def test_json_has_per_set_and_per_class_figures(tmp_path, digits, capsys):
    source = write_set(tmp_path / "random.tfrecord", digits)
    report_path = tmp_path / "mue.json"
    code, out, _ = run(["mue", str(source), *FAST, "--json", str(report_path)], capsys)
    assert code == 0
    report = json.loads(report_path.read_text())
    assert report["dataset"] == "digits"
    (entry,) = report["sets"]
    assert entry["name"] == "random"
    assert sorted(entry["per_class_mue"]) == sorted(digits.class_names)
    assert len(entry["per_image_mue"]) == 20
    assert 0.0 <= entry["overall_mue"] <= 1.0
    assert entry["overall_mue"] == pytest.approx(np.mean(entry["per_image_mue"]))
    assert entry["network"]["source"] == "trained"
    assert entry["network"]["epochs"] == 1
    assert entry["network"]["trained_on"] == str(source)
    assert entry["intervals"] == [5, 6, 7, 8, 9, 10]
    assert report["settings"]["layer"] == -1
    assert "mUE" in out and "convnet3" in out


def test_two_sets_side_by_side_with_png(tmp_path, digits, capsys):
    first = write_set(tmp_path / "a" / "set.tfrecord", digits, seed=0)
    second = write_set(tmp_path / "b" / "set.tfrecord", digits, seed=1)
    png_dir = tmp_path / "figures"
    report_path = tmp_path / "mue.json"
    argv = ["mue", str(first), str(second), *FAST, "--png", str(png_dir)]
    code, out, _ = run([*argv, "--json", str(report_path)], capsys)
    assert code == 0
    names = [entry["name"] for entry in json.loads(report_path.read_text())["sets"]]
    assert names == ["1:set", "2:set"]
    written = sorted(path.name for path in png_dir.iterdir())
    assert written == [
        "1-set.overlays.png",
        "2-set.overlays.png",
        "mue-per-class.png",
        "ue-curve.png",
    ]
    for name in written:
        assert (png_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The table has one column per set.
    header = next(line for line in out.splitlines() if "Class" in line)
    assert "1:set" in header and "2:set" in header


def test_model_weights_are_used_for_every_set(tmp_path, digits, capsys):
    source = write_set(tmp_path / "random.tfrecord", digits)
    model = get_model("convnet3", digits.image_shape, 10, width=4, seed=0)
    weights = tmp_path / "convnet.keras"
    model.save(weights)
    report_path = tmp_path / "mue.json"
    argv = ["mue", str(source), "--model-weights", str(weights), "--layer", "0"]
    code, _, _ = run([*argv, "--json", str(report_path)], capsys)
    assert code == 0
    (entry,) = json.loads(report_path.read_text())["sets"]
    assert entry["network"]["source"] == "weights"
    assert entry["network"]["path"] == str(weights)
    assert entry["network"]["class"] == "ConvNet"
    assert entry["map_shape"] == [8, 8, 4]


def test_not_a_tfrecord_is_one_line_error(tmp_path, capsys):
    bogus = tmp_path / "notes.tfrecord"
    bogus.write_text("hello")
    code, _, err = run(["mue", str(bogus), *FAST], capsys)
    assert code == 2
    assert err.startswith("Error: ") and str(bogus) in err
    assert len(err.strip().splitlines()) == 1


def test_sets_from_different_datasets_are_refused(tmp_path, digits, capsys):
    first = write_set(tmp_path / "digits.tfrecord", digits)
    other = write_set(tmp_path / "other.tfrecord", digits, name="other_digits")
    code, _, err = run(["mue", str(first), str(other), *FAST], capsys)
    assert code == 2
    assert "different datasets" in err and "'other_digits'" in err
    assert len(err.strip().splitlines()) == 1


def test_missing_weights_file_is_one_line_error(tmp_path, digits, capsys):
    source = write_set(tmp_path / "random.tfrecord", digits)
    missing = tmp_path / "nothing.keras"
    code, _, err = run(["mue", str(source), "--model-weights", str(missing)], capsys)
    assert code == 2
    assert err.strip() == f"Error: model weights file {str(missing)!r} not found"


def test_missing_source_is_one_line_error(tmp_path, capsys):
    missing = tmp_path / "absent.tfrecord"
    code, _, err = run(["mue", str(missing), *FAST], capsys)
    assert code == 2
    assert "file not found" in err and len(err.strip().splitlines()) == 1
