"""Help for every command comes without TensorFlow; runs print none of its noise."""

import os
import subprocess
import sys

import pytest

from udd_keras.cli.main import COMMANDS

# Runs `udd-keras ARGS` in a fresh process and reports whether TensorFlow was
# imported (help must not import it).
PROBE = """
import sys
from udd_keras.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print("TENSORFLOW_IMPORTED" if "tensorflow" in sys.modules else "NO_TENSORFLOW")
sys.exit(code)
"""

TENSORFLOW_NOISE = ("absl::InitializeLog", "cuda", "oneDNN", "cpu_feature_guard")


def run_cli(*args, cwd=None):
    env = {**os.environ}
    env.pop("UDD_KERAS_VERBOSE", None)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_imports_no_tensorflow_and_writes_nothing_to_stderr(command, tmp_path):
    args = [command, "--help"] if command else ["--help"]
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "Usage: udd-keras" in result.stdout
    assert result.stdout.rstrip().endswith("NO_TENSORFLOW")


def test_short_help_option_works_like_long(tmp_path):
    result = run_cli("distill", "-h", cwd=tmp_path)
    assert result.returncode == 0
    assert "--ipc" in result.stdout
    assert result.stdout.rstrip().endswith("NO_TENSORFLOW")


@pytest.mark.slow
def test_distill_and_evaluate_print_no_tensorflow_start_up_lines(tmp_path):
    out = tmp_path / "run"
    distilled = run_cli(
        "distill", "digits", "--ipc", "1", "--iterations", "1", "--inner-steps",
        "1", "--width", "8", "--out", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert distilled.returncode == 0, distilled.stderr
    evaluated = run_cli(
        "evaluate", str(out / "synthetic.tfrecord"), "--epochs", "1", "--repeats",
        "1", "--width", "8", cwd=tmp_path,
    )  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr
    for result in (distilled, evaluated):
        assert "TENSORFLOW_IMPORTED" in result.stdout
        for noise in TENSORFLOW_NOISE:
            assert noise not in result.stderr
            assert noise not in result.stdout


@pytest.mark.exhaustive
@pytest.mark.slow
def test_verbose_shows_tensorflow_start_up_lines(tmp_path):
    result = run_cli(
        "--verbose", "distill", "digits", "--ipc", "1", "--iterations", "1",
        "--inner-steps", "1", "--width", "8", "--out", str(tmp_path / "run"),
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert any(noise in result.stderr for noise in TENSORFLOW_NOISE)
