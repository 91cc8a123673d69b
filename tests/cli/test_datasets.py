from click.testing import CliRunner

from udd_keras.cli.main import cli


def test_datasets_command_lists_every_source(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(cli, ["datasets"])
    assert result.exit_code == 0, result.output
    for name in ("mnist", "fashion_mnist", "cifar10", "cifar100", "svhn_cropped"):
        assert name in result.output
    digits_row = next(line for line in result.output.splitlines() if "digits" in line)
    assert "8x8x1" in digits_row and "yes" in digits_row
    cifar_row = next(line for line in result.output.splitlines() if "cifar100" in line)
    assert "32x32x3" in cifar_row and "100" in cifar_row and " no " in cifar_row
    assert ".npz" in result.output


def test_datasets_command_with_data_dir(tmp_path):
    version = tmp_path / "svhn_cropped" / "3.1.0"
    version.mkdir(parents=True)
    (version / "dataset_info.json").write_text("{}")
    result = CliRunner().invoke(
        cli, ["datasets", "--data-dir", str(tmp_path)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    svhn_row = next(line for line in result.output.splitlines() if "svhn" in line)
    assert "yes" in svhn_row


def test_datasets_help():
    result = CliRunner().invoke(cli, ["datasets", "--help"])
    assert result.exit_code == 0
    assert "--data-dir" in result.output
