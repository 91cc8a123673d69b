"""`udd-keras sets`, `udd-keras export-tfds`, and shipped names as set arguments."""

import click
import pytest
from click.testing import CliRunner

from udd_keras.cli.main import main
from udd_keras.cli.options import SetArgument
from udd_keras.sets import names, path


def run(argv, capsys):
    """Runs the CLI; returns (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def test_sets_lists_every_shipped_set_with_its_command(capsys):
    code, out, _ = run(["sets"], capsys)
    assert code == 0
    for name in names():
        assert name in out
    assert "python -m udd_keras.sets.make" in out


def test_an_unknown_set_is_one_line_listing_the_shipped_names(capsys):
    code, out, err = run(["mue", "no-such-set", "--epochs", "1"], capsys)
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("Error: 'no-such-set': file not found, nor a shipped")
    assert "digits-ipc1-udd" in err


@pytest.mark.slow
def test_mue_takes_a_shipped_name(capsys):
    code, out, _ = run(
        ["mue", "digits-ipc1-udd", "--epochs", "1", "--width", "8"], capsys
    )
    assert code == 0, out
    assert "digits-ipc1-udd" in out


def test_export_tfds_writes_a_dataset_and_says_how_to_load_it(tmp_path, capsys):
    code, out, _ = run(["export-tfds", "digits-ipc10-udd", str(tmp_path)], capsys)
    assert code == 0
    assert (tmp_path / "digits_ipc10_udd" / "1.0.0" / "dataset_info.json").is_file()
    assert "tfds.load('digits_ipc10_udd'" in out
    code, _, err = run(["export-tfds", "digits-ipc10-udd", str(tmp_path)], capsys)
    assert code == 2
    assert "exists" in err and err.count("\n") == 1


@click.command()
@click.argument("source", cls=SetArgument, dataset_flag="full")
@click.option("--full", is_flag=True)
def show(source, full):
    click.echo(source)


@pytest.mark.parametrize(
    "argv", [["digits", "--full"], ["--full", "digits"]], ids=["after", "before"]
)
def test_a_dataset_flag_passes_the_argument_through(argv):
    result = CliRunner().invoke(show, argv)
    assert result.exit_code == 0
    assert result.output == "digits\n"


def test_without_the_flag_a_name_becomes_its_file():
    result = CliRunner().invoke(show, ["digits-ipc1-udd"])
    assert result.output == f"{path('digits-ipc1-udd')}\n"
