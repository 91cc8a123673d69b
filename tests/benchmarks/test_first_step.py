"""benchmarks/first_step.py: rows kept per tag, the table, the child's output."""

import json

import pytest


@pytest.fixture(scope="module")
def first_step(load_benchmark):
    return load_benchmark("first_step")


def _row(first, checksum=459.298):
    return {
        "runs": 2,
        "import_and_load_seconds": [4.5, 4.6],
        "first_call_seconds": [first, first + 1.0],
        "second_call_seconds": [4.0, 4.1],
        "command_seconds": [12.0, 14.0],
        "image_checksums": [checksum],
    }


def test_rows_are_kept_per_tag_and_tabled(first_step, tmp_path, monkeypatch):
    monkeypatch.setattr(first_step, "RESULTS", tmp_path)
    rows = iter([_row(9.0), _row(6.0), _row(5.0)])
    monkeypatch.setattr(first_step, "measure", lambda runs: next(rows))
    first_step.main(["--runs", "2", "--tag", "before"])
    first_step.main(["--runs", "2", "--tag", "after"])
    first_step.main(["--runs", "2", "--tag", "after"])  # replaces its own row
    data = json.loads((tmp_path / "first-step.json").read_text())
    assert list(data["rows"]) == ["before", "after"]
    assert data["rows"]["after"]["first_call_seconds"] == [5.0, 6.0]
    assert data["rows"]["before"]["machine"]["cpu_count"] >= 1
    table = (tmp_path / "first-step.md").read_text()
    # Median (slowest) of each column.
    assert "| before | 4.55 (4.60) | 9.50 (10.00) | 4.05 (4.10) | 13.00 (14.00) |" in (
        table
    )
    assert "| after | 4.55 (4.60) | 5.50 (6.00) |" in table


def test_child_times_two_calls_and_reports_the_images(first_step, monkeypatch):
    # The child program, run in this process on a 1-step setting.
    monkeypatch.setattr(
        "sys.argv",
        ["-c", json.dumps({**first_step.SETTINGS, "iterations": 1, "inner_steps": 1})],
    )
    printed = []
    monkeypatch.setattr("builtins.print", printed.append)
    exec(compile(first_step.CHILD, "child", "exec"), {})
    result = json.loads(printed[-1])
    assert len(result["calls"]) == 2 and all(s > 0 for s in result["calls"])
    # The same settings and seed give the same images in both calls.
    assert result["checksums"][0] == result["checksums"][1] > 0
