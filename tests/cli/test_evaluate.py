import json
import pathlib
import re

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from udd_keras.cli.main import cli, main
from udd_keras.evaluation.baselines import label_robust_score

FAST = ["--epochs", "1", "--repeats", "2", "--width", "4", "--eval-every", "1"]


@pytest.fixture(scope="module")
def digits_set(tmp_path_factory, write_digits_set):
    return write_digits_set(tmp_path_factory.mktemp("set") / "set.tfrecord")


def one_line_error(capsys, args):
    """The one stderr line, `Error: ...`, of `udd-keras evaluate ARGS` (exit 2)."""
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", *map(str, args)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error: ") and len(err.splitlines()) == 1
    return err


def test_evaluate_writes_json_png_and_prints_the_table(tmp_path, digits_set):
    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        cli, ["evaluate", str(digits_set), *FAST, "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["source"] == str(digits_set)
    assert (data["dataset"], data["ipc"]) == ("digits", 1)
    (entry,) = data["results"]
    assert entry["model"] == "convnet3"
    assert len(entry["accuracies"]) == 2 and entry["epochs"] == 1
    for key in ("accuracy_mean", "accuracy_std", "seconds"):
        assert isinstance(entry[key], float)
    assert entry["protocol"]["epochs"] == 1 and entry["protocol"]["width"] == 4
    assert re.fullmatch(r"[0-9a-f]{12}", entry["protocol_fingerprint"])
    assert (tmp_path / "report.png").read_bytes()[:4] == b"\x89PNG"
    assert "convnet3" in result.output and "±" in result.output
    fingerprint = entry["protocol_fingerprint"]
    assert f"Protocol fingerprint: convnet3: {fingerprint}" in result.output


def test_several_models_and_explicit_png(tmp_path, digits_set):
    out = tmp_path / "r.json"
    png = tmp_path / "curves.png"
    args = ["--model", "convnet3", "--model", "convnet", "--png", str(png)]
    result = CliRunner().invoke(
        cli,
        ["evaluate", str(digits_set), *FAST, "--json", str(out), *args],
    )
    assert result.exit_code == 0, result.output
    models = [entry["model"] for entry in json.loads(out.read_text())["results"]]
    assert models == ["convnet3", "convnet"]
    assert png.exists() and not (tmp_path / "r.png").exists()


def test_logdir_gets_tensorboard_events(tmp_path, digits_set):
    logdir = tmp_path / "tb"
    result = CliRunner().invoke(
        cli,
        [
            "evaluate",
            str(digits_set),
            *FAST,
            "--png",
            str(tmp_path / "c.png"),
            "--logdir",
            str(logdir),
        ],
    )
    assert result.exit_code == 0, result.output
    for repeat in (0, 1):
        (events,) = (logdir / "convnet3" / f"repeat-{repeat}").glob("events.*")
        scalars = {}
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            for value in event.summary.value:
                assert value.metadata.plugin_data.plugin_name == "scalars"
                scalars[value.tag] = (event.step, float(tf.make_ndarray(value.tensor)))
        assert set(scalars) == {"train/loss", "train/learning_rate", "test/accuracy"}
        assert scalars["test/accuracy"][0] == 1
        assert 0.0 <= scalars["test/accuracy"][1] <= 1.0


def test_full_evaluates_a_dataset_by_name(tmp_path):
    out = tmp_path / "full.json"
    result = CliRunner().invoke(
        cli,
        ["evaluate", "digits", "--full", "--epochs", "1", "--repeats", "1"]
        + ["--width", "4", "--batch-size", "256", "--json", str(out)],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["ipc"] is None and data["dataset"] == "digits"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--epochs", "0"], "epochs must be an integer >= 1, got 0"),
        (["--repeats", "0"], "repeats must be >= 1, got 0"),
        (["--model", "resnet99"], "Unknown model 'resnet99'"),
    ],
)
def test_bad_options_are_one_line_errors(capsys, digits_set, extra, message):
    assert message in one_line_error(capsys, [digits_set, *extra])


def test_a_file_that_is_not_ours_is_a_one_line_error(capsys, tmp_path):
    junk = tmp_path / "junk.tfrecord"
    junk.write_bytes(b"\x00" * 64)
    one_line_error(capsys, [junk, "--epochs", "1"])


def test_missing_source_is_an_error(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", str(tmp_path / "absent.tfrecord")])
    assert exit_info.value.code == 2
    assert "not found" in capsys.readouterr().err


@pytest.fixture(scope="module")
def soft_digits_set(tmp_path_factory, write_digits_set):
    # The set's labels are 0..9 in order: 0.82 on each image's own class.
    soft = np.full((10, 10), 0.02, np.float32)
    np.fill_diagonal(soft, 0.82)
    path = tmp_path_factory.mktemp("soft") / "soft.tfrecord"
    return write_digits_set(path, soft_labels=soft)


def test_soft_labels_and_baselines_in_json_and_table(tmp_path, soft_digits_set):
    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        cli,
        ["evaluate", str(soft_digits_set), *FAST, "--json", str(out)]
        + ["--soft-labels", "--temperature", "2", "--baselines"]
        + ["--full-accuracy", "97.5"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["settings"]["labels"] == "soft"
    assert data["settings"]["temperature"] == 2.0
    (entry,) = data["results"]
    (baseline,) = data["baselines"]
    assert baseline["random_coreset"]["seeds"] == [0, 1]
    assert baseline["ior"] == pytest.approx(
        [
            s - r
            for s, r in zip(
                entry["accuracies"],
                baseline["random_coreset"]["accuracies"],
                strict=True,
            )
        ]
    )
    assert baseline["full_accuracy"] == 0.975
    assert baseline["hlr"] == pytest.approx([0.975 - a for a in entry["accuracies"]])
    assert "(--full-accuracy)" in baseline["full_accuracy_source"]
    assert baseline["lrs"] == pytest.approx(
        label_robust_score(baseline["ior"], baseline["hlr"])
    )
    assert entry["protocol"]["labels"] == "soft"
    assert entry["protocol"]["temperature"] == 2.0
    coreset_protocol = baseline["random_coreset"]["protocol"]
    assert (coreset_protocol["labels"], coreset_protocol["decode"]) == ("hard", "none")
    # The table may wrap cells at the runner's 80 columns.
    for text in ("IOR", "HLR", "LRS", "coreset", "soft labels (T = 2)", "97.50%"):
        assert text in result.output, text


def test_baselines_without_a_full_figure_note_the_missing_hlr(tmp_path, digits_set):
    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        cli,
        ["evaluate", str(digits_set), *FAST, "--json", str(out), "--baselines"],
    )
    assert result.exit_code == 0, result.output
    (baseline,) = json.loads(out.read_text())["baselines"]
    assert baseline["hlr"] is None and baseline["hlr_mean"] is None
    assert "no full-data accuracy for 'digits'" in baseline["note"]
    assert "HLR left out" in result.output
    assert "HLR (pts)" not in result.output  # no column of dashes
    assert "IOR (pts)" in result.output
    # At 80 columns no cell wraps: the model's row holds all three mean ± std.
    (row,) = [line for line in result.output.splitlines() if "convnet3 " in line]
    assert len(re.findall(r"-?\d+\.\d\d ± \d+\.\d\d", row)) == 3


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--soft-labels"], "soft labels asked for, but the set stores none"),
        (["--temperature", "2"], "applies to soft labels only"),
        (["--soft-labels", "--temperature", "0"], "temperature must be a finite"),
        (["--full-accuracy", "90"], "used only with baselines"),
        (["--baselines", "--full-accuracy", "120"], "percentage in (0, 100]"),
    ],
)
def test_bad_label_and_baseline_options(capsys, digits_set, extra, message):
    assert message in one_line_error(capsys, [digits_set, *extra])


def test_set_options_are_refused_with_full(capsys):
    err = one_line_error(capsys, ["digits", "--full", "--baselines", "--soft-labels"])
    assert err == (
        "Error: --soft-labels, --baselines evaluate a synthetic set; not with --full."
    )


def test_reports_of_a_shipped_set_go_to_the_current_folder(tmp_path):
    from udd_keras.cli.evaluate import default_png_path, default_progress_path
    from udd_keras.sets import path as shipped_path

    shipped = shipped_path("digits-ipc1-udd")
    assert default_png_path(None, shipped, False) == pathlib.Path(
        "digits-ipc1-udd.eval.png"
    )
    assert default_progress_path(None, shipped, False).parent == pathlib.Path(".")
    own = tmp_path / "set.tfrecord"
    assert default_png_path(None, own, False) == tmp_path / "set.eval.png"
