"""Every user mistake: one `Error: ...` line on stderr, exit 2, no traceback."""

import json

import keras
import pytest

from udd_keras.data import tfds_source
from udd_keras.distribute import make_strategy
from udd_keras.errors import UddError

TINY = ["--iterations", "1", "--inner-steps", "1", "--width", "8", "--no-progress"]


def test_unknown_dataset_suggests_the_closest_names(
    run_cli, assert_one_line_error, tmp_path
):
    code, _, err = run_cli(["distill", "digts", "--out", tmp_path / "run", *TINY])
    assert_one_line_error(code, err, "unknown dataset 'digts'", "Did you mean 'digits'")
    assert not (tmp_path / "run" / "config.json").exists()


def test_unknown_dataset_in_evaluate_full(run_cli, assert_one_line_error):
    code, _, err = run_cli(["evaluate", "fashion_mnis", "--full", "--epochs", "1"])
    assert_one_line_error(code, err, "Did you mean 'fashion_mnist'")


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--ipc", "0"], "ipc must be a positive integer, got 0"),
        (["--ipc", "100000"], "ipc 100000 is larger than the smallest class"),
        (
            ["--select", "13"],
            "selected regions P must be between 1 and 8 (the candidates of "
            "formation 'tiles+regions' with N=12), got 13",
        ),
        (
            ["--formation", "original+regions", "--regions", "8", "--select", "9"],
            "selected regions P must be between 1 and 8 (the candidates of "
            "formation 'original+regions' with N=8), got 9",
        ),
        (
            ["--regions", "8", "--select", "5"],
            "selected regions P must be between 1 and 4 (the candidates of "
            "formation 'tiles+regions' with N=8), got 5",
        ),
        (
            ["--method", "idc", "--policy", "jitter", "--select", "9"],
            "selected regions P must be between 1 and 8 (the candidates of "
            "formation 'tiles+regions' with N=12), got 9",
        ),
        (
            ["--formation", "tiles", "--policy", "jitter"],
            "formation 'tiles' mines no region, so the policy must be 'uniform'",
        ),
    ],
)
def test_bad_distill_settings(
    run_cli, assert_one_line_error, tmp_path, extra, fragment
):
    out = tmp_path / "run"
    code, _, err = run_cli(["distill", "digits", "--out", out, *TINY, *extra])
    assert_one_line_error(code, err, fragment)
    assert not (out / "config.json").exists()
    assert not (out / "checkpoints").exists()


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--strategy", "bogus"], "Invalid value for '--strategy': 'bogus'"),
        (["--regions", "13"], "Invalid value for '--regions'"),
        (["--ipc", "two"], "Invalid value for '--ipc': 'two' is not a valid integer"),
        (["--method", "kip"], "Invalid value for '--method'"),
        (["--no-such-flag"], "No such option '--no-such-flag'"),
    ],
)
def test_bad_options_are_one_line_click_errors(
    run_cli, assert_one_line_error, tmp_path, extra, fragment
):
    code, _, err = run_cli(["distill", "digits", "--out", tmp_path, *extra])
    line = assert_one_line_error(code, err, fragment)
    assert "udd-keras distill --help" in line


def test_make_strategy_rejects_an_unknown_name():
    with pytest.raises(UddError, match="unknown strategy 'bogus'; allowed: auto, one"):
        make_strategy("bogus")


def test_out_path_that_is_a_file(run_cli, assert_one_line_error, tmp_path):
    out = tmp_path / "file.txt"
    out.write_text("not a directory")
    code, _, err = run_cli(["distill", "digits", "--out", out, *TINY])
    assert_one_line_error(code, err, "is a file")
    assert out.read_text() == "not a directory"


def _fake_finished_run(directory):
    directory.mkdir()
    (directory / "config.json").write_text(json.dumps({"dataset": "digits"}))
    (directory / "synthetic.tfrecord").write_bytes(b"previous result")
    return directory


def test_directory_holding_a_run_is_refused(run_cli, assert_one_line_error, tmp_path):
    out = _fake_finished_run(tmp_path / "run")
    code, _, err = run_cli(["distill", "digits", "--out", out, *TINY])
    assert_one_line_error(code, err, "already holds a run", "--resume", "--force")
    assert (out / "synthetic.tfrecord").read_bytes() == b"previous result"


def test_resume_with_nothing_to_resume(run_cli, assert_one_line_error, tmp_path):
    out = tmp_path / "absent"
    code, _, err = run_cli(["distill", "digits", "--out", out, "--resume", *TINY])
    assert_one_line_error(code, err, "nothing to resume")
    assert not out.exists()
    out.mkdir()
    code, _, err = run_cli(["distill", "digits", "--out", out, "--resume", *TINY])
    assert_one_line_error(code, err, "nothing to resume", "config.json")


def test_resume_with_different_settings_is_refused(
    run_cli, assert_one_line_error, tmp_path
):
    from udd_keras.distillation import DistillConfig

    out = tmp_path / "run"
    out.mkdir()
    config = DistillConfig("digits", ipc=1, iterations=1, inner_steps=1, width=8)
    (out / "config.json").write_text(json.dumps(config.resolve().to_dict()))
    code, _, err = run_cli(
        ["distill", "digits", "--out", out, "--resume", *TINY, "--width", "16"]
    )
    assert_one_line_error(code, err, "differ from the run", "width=16 (run has 8)")


def test_missing_dataset_without_network_says_how_to_get_it(
    run_cli, assert_one_line_error, tmp_path, monkeypatch
):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(tfds_source, "host_reachable", lambda *a, **k: False)
    empty = tmp_path / "data"
    empty.mkdir()
    code, _, err = run_cli(
        ["distill", "cifar10", "--data-dir", empty, "--out", tmp_path / "r", *TINY]
    )
    assert_one_line_error(
        code, err, "'cifar10' is not prepared", "no network", "tfds build cifar10"
    )
    code, _, err = run_cli(["evaluate", "svhn_cropped", "--full", "--data-dir", empty])
    assert_one_line_error(code, err, "'svhn_cropped' is not prepared", "tfds build")


# ------------------------------------------------------ evaluate / mue sources


def test_evaluate_and_mue_on_a_missing_file(run_cli, assert_one_line_error, tmp_path):
    absent = tmp_path / "absent.tfrecord"
    for command in (["evaluate"], ["mue"]):
        code, _, err = run_cli([*command, absent, "--epochs", "1"])
        assert_one_line_error(code, err, str(absent), "not found")


def test_evaluate_and_mue_on_a_directory(run_cli, assert_one_line_error, tmp_path):
    for command in (["evaluate"], ["mue"]):
        code, _, err = run_cli([*command, tmp_path, "--epochs", "1"])
        assert_one_line_error(code, err, str(tmp_path), "not a file")


# -------------------------------------------------------- --model-weights


def _lambda_model(marker):
    """A functional model with a Python lambda that writes `marker` when run."""
    touch = lambda x, path=str(marker): (open(path, "w").close(), x * 2.0)[1]  # noqa: E731, SIM115
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Lambda(touch)(inputs)
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(10)(x)
    return keras.Model(inputs, outputs)


def test_model_weights_with_a_lambda_are_refused_by_safe_mode(
    run_cli, assert_one_line_error, tmp_path, digits_set
):
    marker = tmp_path / "code-ran"
    weights = tmp_path / "model.keras"
    _lambda_model(marker).save(weights)
    marker.unlink(missing_ok=True)
    code, _, err = run_cli(
        ["mue", digits_set, "--model-weights", weights, "--layer", "conv"]
    )
    assert_one_line_error(
        code, err, str(weights), "not a loadable Keras model", "`Lambda` layer"
    )
    assert not marker.exists(), "code from the model file was executed"


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not really a zip", b"{}"])
def test_model_weights_that_are_not_a_keras_file(
    run_cli, assert_one_line_error, tmp_path, digits_set, content
):
    weights = tmp_path / "broken.keras"
    weights.write_bytes(content)
    code, _, err = run_cli(["mue", digits_set, "--model-weights", weights])
    assert_one_line_error(code, err, str(weights))


def test_model_weights_of_the_wrong_input_shape(
    run_cli, assert_one_line_error, tmp_path, digits_set
):
    inputs = keras.Input((16, 16, 3))
    outputs = keras.layers.Dense(10)(keras.layers.Flatten()(inputs))
    weights = tmp_path / "rgb.keras"
    keras.Model(inputs, outputs).save(weights)
    code, _, err = run_cli(["mue", digits_set, "--model-weights", weights])
    assert_one_line_error(code, err, "(16, 16, 3)")


# --------------------------------------------------------------- .npz sources


def _npz_files(directory):
    import numpy as np

    pickled = directory / "pickled.npz"
    np.savez(
        pickled,
        x_train=np.array([object()], dtype=object),
        y_train=np.zeros(1),
        x_test=np.zeros((1, 8, 8, 1)),
        y_test=np.zeros(1),
    )
    (directory / "not-a-zip.npz").write_bytes(b"PK\x03\x04 truncated zip")
    (directory / "text.npz").write_text("hello")
    return [pickled, directory / "not-a-zip.npz", directory / "text.npz"]


def test_a_damaged_or_pickled_npz_dataset_is_a_clean_error(
    run_cli, assert_one_line_error, tmp_path
):
    for path in _npz_files(tmp_path):
        code, _, err = run_cli(["distill", path, "--out", tmp_path / "run", *TINY])
        assert_one_line_error(code, err, str(path))
