"""Shared helpers of the reliability tests: running the CLI, small valid sets."""

import pytest

from udd_keras.cli.main import main
from udd_keras.data import load_dataset


def _run_cli(argv, capsys):
    """Runs `udd-keras ARGV` in this process; returns (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def _assert_one_line_error(code, err, *fragments, exit_code=2):
    """Asserts exit `exit_code` and one stderr line `Error: ...` with `fragments`."""
    lines = err.splitlines()
    assert code == exit_code, err
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def run_cli(capsys):
    """`run_cli(argv)` -> (exit code, stdout, stderr) of the in-process CLI."""
    return lambda argv: _run_cli(argv, capsys)


@pytest.fixture
def assert_one_line_error():
    return _assert_one_line_error


@pytest.fixture(scope="session")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="session")
def digits_set(write_digits_set, tmp_path_factory):
    """A valid synthetic set: one real digit per class, with one region each."""
    path = tmp_path_factory.mktemp("sets") / "digits.tfrecord"
    return write_digits_set(path, box=[0, 0, 4, 4])
