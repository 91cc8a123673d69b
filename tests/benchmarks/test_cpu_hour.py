"""benchmarks/cpu_hour.py: the budget from the reference, the report, resume."""

import json

import pytest

from udd_keras.distillation.presets import PRESETS

TINY = ["--dataset", "digits", "--set", "width=8", "--set", "real_batch=8"]
TINY += ["--set", "net_images=50", "--set", "inner_steps=5", "--epochs", "2"]
TINY += ["--repeats", "1", "--eval-width", "8"]


@pytest.fixture(scope="module")
def cpu_hour(load_benchmark):
    return load_benchmark("cpu_hour")


def test_a_budget_run_writes_the_issue_s_report(cpu_hour, tmp_path, monkeypatch):
    out, work = tmp_path / "out", tmp_path / "work"
    argv = [*TINY, "--seeds", "0", "--reference-seconds", "0.01"]
    argv += ["--reference-steps", "1200", "--out", str(out), "--workdir", str(work)]
    cpu_hour.main(argv)

    report = json.loads((out / "cpu-hour.json").read_text())
    assert report["budget_minutes"] == pytest.approx(1200 * 0.01 / 60)
    assert report["reference_step_seconds"] == 0.01
    assert report["method"] == PRESETS["cpu-hour"]["method"]
    assert report["split"] == "validation"
    assert report["threads"] >= 1
    assert report["stopped_by"] == ["budget"]
    # Stopped by the run's own budget, before a step expected to end past it
    # (judged by the median step; the final checkpoint comes after): within
    # a few seconds of it (a step on a busy machine can outlast the median).
    run_budget = report["config"]["time_budget_minutes"]
    assert run_budget == pytest.approx(report["budget_minutes"] * 0.99)
    assert 0 < report["loop_minutes_per_seed"][0] <= run_budget + 5 / 60
    assert report["wall_minutes"] >= report["loop_minutes_per_seed"][0]
    assert len(report["accuracies"]) == 1
    assert all(0.0 <= a <= 100.0 for a in report["accuracies"])
    (curve,) = report["curves"]
    assert curve["points"][0]["steps"] == 0
    assert curve["points"][-1]["steps"] == report["steps_per_seed"][0] > 0
    (step,) = report["amortised_step_seconds_per_seed"]
    loop_seconds = report["loop_minutes_per_seed"][0] * 60
    assert step == pytest.approx(loop_seconds / report["steps_per_seed"][0])
    assert (out / "cpu-hour.png").stat().st_size > 0
    text = (out / "cpu-hour.md").read_text()
    assert "Budget 1200 reference inner steps x 0.01 s" in text
    assert f"| {step:.3g} | {0.01 / step:.2f}x |" in text
    assert (out / "budget-digits-ipc1-cpu-hour-seed0.json").exists()

    def refuse(argv):
        raise AssertionError("a kept seed was distilled again")

    monkeypatch.setattr(cpu_hour.budget_curve, "main", refuse)
    again = cpu_hour.main([*argv, "--resume"])
    assert again["accuracies"] == report["accuracies"]


def test_the_reference_time_comes_from_its_file(cpu_hour, tmp_path):
    timing = tmp_path / "speed-reference-pytorch.json"
    timing.write_text(json.dumps({"timings": {"inner_step": {"median": 4.5}}}))
    args = cpu_hour.parse_args(
        ["--workdir", str(tmp_path), "--reference-json", str(timing)]
    )
    assert cpu_hour.reference_step_seconds(args) == (4.5, str(timing))
    timing.write_text("{}")
    with pytest.raises(SystemExit, match="no reference inner step in"):
        cpu_hour.reference_step_seconds(args)


def test_bad_budget_arguments_are_usage_errors(cpu_hour, tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        cpu_hour.parse_args(["--workdir", str(tmp_path), "--reference-seconds", "-1"])
    assert stopped.value.code == 2
    assert "--reference-seconds must be > 0, got -1.0" in capsys.readouterr().err


def test_the_amortised_step_is_loop_seconds_per_step(cpu_hour):
    run = {"loop_seconds": 120.0, "distill_seconds": 125.0, "steps": 40}
    assert cpu_hour.amortised_step_seconds(run) == 3.0
    # A report from before the loop's own clock was kept: the distill time.
    assert (
        cpu_hour.amortised_step_seconds({"distill_seconds": 90.0, "steps": 30}) == 3.0
    )
    assert cpu_hour.amortised_step_seconds({"loop_seconds": 5.0, "steps": 0}) is None


@pytest.mark.parametrize("points, passed", [("all", None), ("final", "final")])
def test_eval_points_reach_the_budget_curve(cpu_hour, tmp_path, points, passed):
    args = cpu_hour.parse_args(["--workdir", str(tmp_path), "--eval-points", points])
    argv = cpu_hour.seed_argv(args, 0, budget_minutes=6.0)
    if passed is None:
        assert "--eval-points" not in argv
    else:
        assert argv[argv.index("--eval-points") + 1] == passed
    # The snapshots sit at sixths of the budget whatever is evaluated.
    marks = argv[argv.index("--snapshots") + 1 : argv.index("--split")]
    assert marks == ["1", "2", "3", "4", "5"]


def test_method_reaches_the_budget_curve(cpu_hour, tmp_path):
    args = cpu_hour.parse_args(["--workdir", str(tmp_path), "--method", "udd"])
    argv = cpu_hour.seed_argv(args, 0, budget_minutes=6.0)
    assert argv[argv.index("--method") + 1] == "udd"
    default = cpu_hour.parse_args(["--workdir", str(tmp_path)])
    assert "--method" not in cpu_hour.seed_argv(default, 0, budget_minutes=6.0)
