"""`udd-keras distill --time-budget`: parsing, errors, the long-run warning."""

import io
import json

import pytest
from click.testing import CliRunner
from rich.console import Console

from udd_keras.cli.main import cli, main

TINY = ["--iterations", "1", "--inner-steps", "2", "--width", "8"]
TINY += ["--net-images", "20", "--real-batch", "16", "--no-progress"]


def test_time_budget_reaches_the_config(tmp_path):
    out = tmp_path / "run"
    args = ["distill", "digits", "--time-budget", "2.5", "--out", str(out), *TINY]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "config.json").read_text())["time_budget_minutes"] == 2.5
    # Two steps fit 2.5 minutes: the steps decided.
    assert "stopped on the time budget" not in result.output


@pytest.mark.parametrize("minutes", ["0", "-3"])
def test_a_non_positive_time_budget_is_one_line(tmp_path, capsys, minutes):
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as stopped:
        main(["distill", "digits", "--time-budget", minutes, "--out", str(out)])
    assert stopped.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: Invalid value for '--time-budget'")
    assert f"{float(minutes)} is not in the range x>0" in lines[0]
    assert not out.exists()


def test_help_shows_the_option_in_minutes():
    result = CliRunner().invoke(cli, ["distill", "--help"])
    assert "--time-budget MINUTES" in result.output


def test_a_long_run_without_a_gpu_is_estimated_once():
    from udd_keras.cli.distill import _SayLongRun

    stream = io.StringIO()
    say = _SayLongRun(Console(file=stream, width=300))
    say.on_start(0, 200_000)
    # The first step (building the graph) is not timed; then 2 s per step.
    for step, seconds in [(1, 30.0), (2, 2.0), (3, 2.0), (4, 2.0), (5, 2.0)]:
        say.on_step(step, 200_000, {"seconds": seconds})
    lines = stream.getvalue().strip().splitlines()
    assert lines == [
        "Warning: at 2 s per step, this run would take about 111 more hours on "
        "this machine (no GPU); stop it (Ctrl-C) and run with --time-budget "
        "MINUTES, or --preset cpu-hour"
    ]


def test_a_short_run_is_not_estimated():
    from udd_keras.cli.distill import _SayLongRun

    stream = io.StringIO()
    say = _SayLongRun(Console(file=stream))
    say.on_start(0, 100)
    for step in range(1, 6):
        say.on_step(step, 100, {"seconds": 2.0})
    assert stream.getvalue() == ""
