import numpy as np
import pytest
from click.testing import CliRunner

from udd_keras.cli.main import cli, main
from udd_keras.data import load_dataset
from udd_keras.tfrecords import read_synthetic_set


def test_coreset_writes_a_readable_set_and_a_grid(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "coreset",
            "digits",
            "--ipc",
            "2",
            "--method",
            "random",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    stored = read_synthetic_set(tmp_path / "coreset.tfrecord")
    meta = stored.metadata
    assert (meta.dataset, meta.ipc, meta.method) == ("digits", 2, "random")
    assert stored.boxes is None and meta.num_regions == 0
    digits = load_dataset("digits")
    indices = np.asarray(meta.extra["indices"])
    np.testing.assert_array_equal(stored.images, digits.x_train[indices])
    np.testing.assert_array_equal(stored.labels, digits.y_train[indices])
    assert np.bincount(stored.labels).tolist() == [2] * 10
    assert (tmp_path / "coreset.png").read_bytes()[:4] == b"\x89PNG"


def test_herding_through_the_cli(tmp_path):
    result = CliRunner().invoke(
        cli,
        ["coreset", "digits", "--ipc", "1", "--method", "herding"]
        + ["--epochs", "1", "--width", "4", "--out", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    meta = read_synthetic_set(tmp_path / "coreset.tfrecord").metadata
    assert meta.method == "herding" and meta.extra["epochs"] == 1


def test_ipc_too_large_is_a_one_line_error(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["coreset", "digits", "--ipc", "100000", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error: ipc 100000 is larger than class")
    assert not (tmp_path / "coreset.tfrecord").exists()


def test_unknown_method_is_rejected_by_click(tmp_path):
    result = CliRunner().invoke(
        cli, ["coreset", "digits", "--ipc", "1", "--method", "kmeans", "--out", "x"]
    )
    assert result.exit_code == 2
    assert "kmeans" in result.output
