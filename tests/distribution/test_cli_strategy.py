"""`--strategy` of `udd-keras distill` and `udd-keras evaluate`."""

import pytest
from click.testing import CliRunner

from udd_keras.distribute import STRATEGIES


def command(name):
    if name == "distill":
        from udd_keras.cli.distill import distill

        return distill, ["digits", "--out", "unused"]
    from udd_keras.cli.evaluate import evaluate

    return evaluate, ["unused.tfrecord"]


@pytest.mark.parametrize("name", ["distill", "evaluate"])
def test_strategy_choices_in_help(name):
    cli, _ = command(name)
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "--strategy" in result.output
    assert "[auto|one|mirrored|multi-worker]" in result.output


@pytest.mark.parametrize("name", ["distill", "evaluate"])
def test_unknown_strategy_is_refused_before_any_work(name):
    cli, arguments = command(name)
    result = CliRunner().invoke(cli, [*arguments, "--strategy", "tpu"])
    assert result.exit_code == 2
    assert "'tpu' is not one of" in result.output
    for strategy in STRATEGIES:
        assert strategy in result.output
