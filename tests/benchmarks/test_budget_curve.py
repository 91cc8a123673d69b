"""benchmarks/budget_curve.py: `--set` parsing, budget stop, schedule end."""

import json

import pytest

TINY = [
    "--dataset",
    "digits",
    "--set",
    "width=8",
    "--set",
    "real_batch=8",
    "--set",
    "net_images=50",
    "--epochs",
    "2",
    "--repeats",
    "1",
    "--eval-width",
    "8",
]


@pytest.fixture(scope="module")
def budget_curve(load_benchmark):
    return load_benchmark("budget_curve")


def test_set_values_are_json_or_text(budget_curve):
    args = budget_curve.parse_args(
        [
            "--set",
            "lr_img=1e-3",
            "--set",
            "init=mosaic",
            "--set",
            "lr_decay_at=[0.5,0.75]",
            "--set",
            "clip=false",
            "--iterations",
            "7",
            "--set",
            "iterations=3",
        ]
    )
    assert args.overrides == {
        "lr_img": 0.001,
        "init": "mosaic",
        "lr_decay_at": [0.5, 0.75],
        "clip": False,
        "iterations": 3,
    }
    config = budget_curve.build_config(args)
    assert config.lr_img == 0.001
    assert config.init == "mosaic"
    assert config.lr_decay_at == (0.5, 0.75)
    assert config.iterations == 7  # the explicit flag wins over --set
    assert config.inner_steps == 100  # the config's default
    assert (config.dataset, config.method, config.seed) == ("fashion_mnist", "udd", 0)


@pytest.mark.parametrize(
    "pair, message",
    [
        ("lr_img", "KEY=VALUE"),
        ("learning_rate=1", "not a DistillConfig field"),
        ("ipc=10", "use --ipc"),
    ],
)
def test_bad_set_pairs_are_rejected(budget_curve, capsys, pair, message):
    with pytest.raises(SystemExit):
        budget_curve.parse_args(["--set", pair])
    assert message in capsys.readouterr().err


def _outputs(out, stem):
    paths = [out / f"{stem}{suffix}" for suffix in (".json", ".md", ".png")]
    for path in paths:
        assert path.exists(), path
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return json.loads(paths[0].read_text()), paths[1].read_text()


def test_budget_stops_the_run_and_keeps_a_final_point(budget_curve, tmp_path):
    from udd_keras.distillation.run_directory import RunDirectory

    out, workdir = tmp_path / "out", tmp_path / "work"
    argv = [
        *TINY,
        "--iterations",
        "100",
        "--inner-steps",
        "5",
        "--minutes",
        "0.05",
        "--snapshots",
        "0.01",
        "1",
        "--out",
        str(out),
        "--workdir",
        str(workdir),
        "--tag",
        "tiny",
    ]
    budget_curve.main(argv)

    report, text = _outputs(out, "budget-digits-ipc1-tiny-seed0")
    points = report["points"]
    assert report["stopped_by"] == "budget"
    assert 0 < report["steps"] < report["planned_steps"] == 500
    assert report["distill_seconds"] >= 3.0  # 0.05 min
    assert [p["minutes"] for p in points] == [0.0, 0.01, 0.05]
    assert points[0]["steps"] == 0 and points[0]["elapsed_seconds"] == 0.0
    assert points[-1]["final"] == "budget"
    assert points[-1]["steps"] == report["steps"] > 0
    assert points[-1]["elapsed_seconds"] >= 3.0
    for point in points:
        assert 0.0 <= point["accuracy_mean"] <= 100.0
        assert len(point["accuracies"]) == 1
    assert len(report["matching_loss_curve"]) == report["steps"]
    assert report["config"]["width"] == 8
    assert report["split"] == "validation"
    assert report["evaluation"]["seed"] == 1000
    evaluation = report["evaluation"]
    assert evaluation["test_images"] + evaluation["train_images"] == 1437
    assert "stopped by the budget" in text
    assert text.count("\n| ") == 1 + len(points)  # header and one row per point
    # The run directory was released, and the snapshots are kept.
    run_dir = RunDirectory(workdir / "run")
    run_dir.lock()
    run_dir.unlock()
    assert (workdir / "snap-0min.tfrecord").exists()
    assert (workdir / "snap-0.01min.tfrecord").exists()
    assert (workdir / "snap-final.tfrecord").exists()


def test_schedule_end_is_the_final_point(budget_curve, tmp_path):
    out = tmp_path / "out"
    budget_curve.main(
        [
            *TINY,
            "--iterations",
            "2",
            "--inner-steps",
            "2",
            "--minutes",
            "5",
            "--split",
            "test",
            "--seed",
            "3",
            "--out",
            str(out),
        ]
    )

    report, _ = _outputs(out, "budget-digits-ipc1-paper-seed3")
    points = report["points"]
    assert report["stopped_by"] == "schedule"
    assert report["steps"] == report["planned_steps"] == 4
    assert [p["steps"] for p in points] == [0, 4]  # no 5-minute mark reached
    assert points[-1]["final"] == "schedule"
    assert 0 < points[-1]["minutes"] < 5
    assert points[-1]["minutes"] == pytest.approx(points[-1]["elapsed_seconds"] / 60.0)
    assert len(report["matching_loss_curve"]) == 4
    assert report["evaluation"]["seed"] == 1003
    assert report["evaluation"]["test_images"] == 360  # the real digits test set


def test_cpu_clock_and_final_only_evaluation(budget_curve, tmp_path):
    out = tmp_path / "out"
    args = [*TINY, "--iterations", "1", "--inner-steps", "2", "--minutes", "5"]
    args += ["--clock", "cpu", "--eval-points", "final", "--tag", "cpu", "--out"]
    budget_curve.main([*args, str(out)])

    report, markdown = _outputs(out, "budget-digits-ipc1-cpu-seed0")
    init, final = report["points"]
    assert init["accuracy_mean"] is None and init["eval_seconds"] == 0.0
    assert 0.0 <= final["accuracy_mean"] <= 100.0 and len(final["accuracies"]) == 1
    assert final["clock"] == "cpu" and final["wall_seconds"] > 0
    assert "not evaluated" in markdown


@pytest.mark.exhaustive
def test_a_stopped_run_is_evaluated_from_its_log(budget_curve, tmp_path, capsys):
    workdir, out = tmp_path / "work", tmp_path / "out"
    args = [*TINY, "--iterations", "1", "--inner-steps", "2", "--minutes", "5"]
    budget_curve.main([*args, "--workdir", str(workdir), "--out", str(out)])
    log = tmp_path / "run.log"
    log.write_text(capsys.readouterr().out)

    again = [*args, "--workdir", str(workdir), "--from-log", str(log)]
    budget_curve.main([*again, "--tag", "again", "--out", str(out)])
    first, _ = _outputs(out, "budget-digits-ipc1-paper-seed0")
    report, _ = _outputs(out, "budget-digits-ipc1-again-seed0")
    assert report["stopped_by"] == "interrupted"
    assert [p["steps"] for p in report["points"]] == [0, 2]
    final, original = report["points"][-1], first["points"][-1]
    assert final["accuracy_mean"] == pytest.approx(original["accuracy_mean"])


def test_from_log_needs_the_workdir(budget_curve, capsys):
    with pytest.raises(SystemExit):
        budget_curve.parse_args(["--from-log", "run.log"])
    assert "--from-log needs the run's --workdir" in capsys.readouterr().err
