import pytest
from click.testing import CliRunner

from udd_keras.cli.main import cli, main
from udd_keras.data import load_dataset
from udd_keras.evaluation import EvalRun, EvaluationReport, ModelResult, TrainingRecipe
from udd_keras.evaluation.fingerprint import protocol_of


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def write_result(path, accuracies, seeds, protocol):
    runs = [
        EvalRun(accuracy=a, curve=[(1, a)], seconds=1.0, seed=s)
        for a, s in zip(accuracies, seeds, strict=True)
    ]
    result = ModelResult(model="convnet3", runs=runs, epochs=1, protocol=protocol)
    report = EvaluationReport(
        source="set.tfrecord", dataset="digits", ipc=1, results=[result]
    )
    return str(report.write_json(path))


def run(*args):
    return CliRunner().invoke(cli, ["compare", *args], env={"COLUMNS": "200"})


def test_different_protocols_warn_and_give_no_verdict(tmp_path, digits):
    a = write_result(
        tmp_path / "a.json",
        [0.80, 0.82],
        [0, 1],
        protocol_of(TrainingRecipe(epochs=300), digits),
    )
    b = write_result(
        tmp_path / "b.json",
        [0.70, 0.72],
        [0, 1],
        protocol_of(TrainingRecipe(epochs=1000), digits),
    )
    result = run(a, b)
    assert result.exit_code == 0, result.output
    assert "Warning: the protocols differ (epochs: 300 vs 1000)" in result.output
    assert "Verdict" not in result.output and "higher" not in result.output
    assert "81.00 ± 1.00" in result.output and "71.00 ± 1.00" in result.output


def test_same_protocol_pairs_seeds_and_gives_a_verdict(tmp_path, digits):
    protocol = protocol_of(TrainingRecipe(), digits)
    a = write_result(tmp_path / "a.json", [0.80, 0.82, 0.78], [0, 1, 2], protocol)
    b = write_result(tmp_path / "b.json", [0.75, 0.76, 0.70], [1, 2, 3], protocol)
    result = run(a, b)
    assert result.exit_code == 0, result.output
    assert "Paired difference A - B: 4.50 ± 2.50 points over 2 pairs (seeds 1, 2)" in (
        result.output
    )
    assert "Verdict: A is higher by 4.50 points, more than the spread (2.50)." in (
        result.output
    )
    assert "Warning" not in result.output


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such file"),
        ("{}", "not an evaluation result (no 'results' list)"),
    ],
)
def test_bad_files_are_one_line_errors(capsys, tmp_path, content, message):
    path = tmp_path / "x.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", str(path), str(path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error: ") and message in err
    assert len(err.splitlines()) == 1
