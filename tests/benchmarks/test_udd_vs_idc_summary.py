"""benchmarks/udd_vs_idc_summary.py: joining runs, the paired comparison."""

import json

import pytest

from udd_keras.distillation import DistillConfig

SHARED = dict(image_optimizer="adam", lr_img=0.01, init_selection="kmeans")
MACHINE = {
    "platform": "Linux",
    "processor": "AMD EPYC",
    "cpu_flags": ["avx", "avx2", "fma"],
    "cpu_count": 2,
    "gpus": 0,
}


@pytest.fixture(scope="module")
def summary(load_benchmark):
    return load_benchmark("udd_vs_idc_summary")


def config_of(method, **settings):
    config = DistillConfig(
        dataset="fashion_mnist", method=method, precision="float32", **SHARED
    )
    stored = json.loads(json.dumps(config.resolve().to_dict()))
    return {k: v for k, v in stored.items() if k not in ("dataset", "seed")} | settings


def row(method, seeds, accuracies, steps=700, **settings):
    return {
        "variant": method,
        "method": method,
        "formation": "tiles",
        "decode": "fixed" if method == "udd" else "trained",
        "ipc": 1,
        "inner_steps": steps,
        "split": "test",
        "seeds": seeds,
        "config": config_of(method, **settings),
        "accuracies": accuracies,
        "eval_seconds": 60.0,
        "distill_seconds": 100.0 * (1 + seeds[0]),
        "mue": 0.5 + 0.01 * seeds[0],
        "trajectory_steps_replayed": steps if method == "udd" else 0,
    }


def write_run(folder, stem, rows, machine=MACHINE):
    report = {"command": f"run {stem}", "machine": machine, "rows": rows}
    (folder / f"{stem}.json").write_text(json.dumps(report))


def test_two_seed_runs_join_and_pair(summary, tmp_path):
    write_run(
        tmp_path,
        "s0",
        [row("idc", [0], [77.0, 77.2, 77.4]), row("udd", [0], [78.0, 78.5, 78.9])],
    )
    write_run(
        tmp_path,
        "s1",
        [row("idc", [1], [76.0, 76.5, 77.0]), row("udd", [1], [76.5, 77.0, 77.0])],
    )
    summary.main(["--runs", "s0", "s1", "--results", str(tmp_path), "--out", "all"])
    report = json.loads((tmp_path / "all.json").read_text())
    idc, udd = report["rows"]
    assert udd["seeds"] == [0, 1]
    assert udd["accuracies"] == [78.0, 78.5, 78.9, 76.5, 77.0, 77.0]
    assert udd["runs"] == ["s0", "s1"]
    assert udd["distill_seconds"] == pytest.approx(150.0)
    assert udd["eval_seconds"] == pytest.approx(120.0)
    # Each run measured mUE on its own reference range: kept apart.
    assert "mue" not in udd and udd["mue_per_run"] == [0.5, 0.51]
    assert udd["default"] and idc["default"]
    (comparison,) = report["comparisons"]
    # Pairs: 1.0, 1.3, 1.5, 0.5, 0.5, 0.0 -> mean 0.8 < the IPC 1 bar of 1.0.
    assert comparison["difference_mean"] == pytest.approx(0.8)
    assert comparison["pairs_above_zero"] == 5 and comparison["n"] == 6
    assert comparison["bar"] == 1.0 and comparison["bar_met"] is False
    text = (tmp_path / "all.md").read_text()
    assert "| 1 | 700 | 77.65 | 76.85 | +0.80 ± 0.52 | 5/6 | +1.0 | no |" in text
    assert "0.500 / 0.510" in text
    assert "| 150 (700 replayed) | yes |" in text
    assert "| 150 | yes |" in text  # idc recorded: nothing replayed


def test_rows_of_other_settings_are_not_defaults_nor_paired(summary, tmp_path):
    old = row("udd", [0, 1], [75.0] * 6, steps=100, formation="tiles+regions")
    idc = row("idc", [0, 1], [77.0] * 6, steps=100)
    write_run(tmp_path, "old", [old, idc])
    summary.main(["--runs", "old", "--results", str(tmp_path), "--out", "all"])
    report = json.loads((tmp_path / "all.json").read_text())
    assert [r["default"] for r in report["rows"]] == [False, True]
    assert report["rows"][0]["mue"] == 0.5
    assert report["comparisons"] == []


def test_other_machines_are_kept_apart(summary, tmp_path):
    xeon = {**MACHINE, "processor": "Intel Xeon", "cpu_flags": ["avx512f"]}
    write_run(tmp_path, "a", [row("udd", [0], [78.0])])
    write_run(tmp_path, "b", [row("udd", [1], [77.0])], machine=xeon)
    summary.main(["--runs", "a", "b", "--results", str(tmp_path), "--out", "all"])
    rows = json.loads((tmp_path / "all.json").read_text())["rows"]
    assert [r["seeds"] for r in rows] == [[0], [1]]


@pytest.mark.parametrize(
    "second, message",
    [
        (
            row("udd", [0], [77.0]),
            "s0 and s1 both have seed(s) [0] of 'udd' at 700 steps; "
            "give each seed once",
        ),
        (
            row("udd", [1], [77.0], cfc_weight=0.3),
            "'udd' at 700 steps has other settings in s1 than in s0; not joined",
        ),
    ],
)
def test_refused_joins_say_why(summary, tmp_path, second, message):
    write_run(tmp_path, "s0", [row("udd", [0], [78.0])])
    write_run(tmp_path, "s1", [second])
    with pytest.raises(SystemExit) as raised:
        summary.main(["--runs", "s0", "s1", "--results", str(tmp_path)])
    assert str(raised.value) == message


def test_a_missing_run_is_named(summary, tmp_path):
    with pytest.raises(SystemExit) as raised:
        summary.main(["--runs", "nope", "--results", str(tmp_path)])
    assert str(raised.value) == f"no udd_vs_idc.py result {tmp_path / 'nope.json'}"
