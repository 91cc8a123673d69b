"""The benchmark runner: specs, both pipelines and the CLI, on tiny experiments."""

import json
import pathlib

import pytest

from benchmarks import __main__ as cli
from benchmarks import accuracy, results, spec, timing

# A tiny accuracy experiment's common keys: digits, width 8, 2 steps, 1 epoch.
TINY_BASE = """
kind = "accuracy"
dataset = "digits"
split = "test"
seeds = [0]
repeats = 1
epochs = 1
eval_width = 8
budget = { "steps" = 2, "inner_steps" = 1 }
"""

TINY = (
    TINY_BASE
    + """
question = "Do the pipeline's rows come out?"
shared = { "width" = 8, "net_images" = 32, "real_batch" = 16, "lr_img" = "null" }
measures = ["accuracy", "paired:random-coreset", "agreement"]
variants = [
  { "name" = "random-coreset", "source" = "coreset" },
  { "name" = "udd", "overrides" = { "formation" = "tiles+regions" } },
  { "name" = "start", "source" = "init" },
  { "name" = "imported", "source" = "import", "of" = "udd" },
]
"""
)


def options(*argv):
    """The runner's parsed `run` options, as `python -m benchmarks run x ARGV`."""
    parsed = cli.parser().parse_args(["run", "x", *argv])
    parsed.overrides = cli.parse_set(parsed.overrides)
    parsed.command, parsed.previous = "python -m benchmarks run x", {}
    return parsed


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny experiment run once: (spec, its results folder, its workdir)."""
    folder = tmp_path_factory.mktemp("bench")
    path = folder / "tiny.toml"
    path.write_text(TINY)
    experiment = spec.load(path)
    run = options("--workdir", str(folder / "work"))
    accuracy.run(experiment, run, lambda r: results.write(r, folder / "out", "test"))
    return experiment, folder / "out", folder / "work"


def test_every_spec_loads_and_list_names_it(capsys):
    found = spec.experiments()
    assert cli.main(["list"]) == 0
    printed = capsys.readouterr().out
    assert all(name in printed for name in found)
    assert {"quick-start-digits", "step-speed", "udd-vs-idc-ipc1"} <= set(found)


def test_every_results_folder_is_an_experiment_and_lists_its_files():
    found = spec.experiments()
    assert not [p for p in results.RESULTS.iterdir() if p.is_file()]
    for folder in results.RESULTS.iterdir():
        assert folder.name in found, folder
        stems = {p.name.split(".")[0] for p in folder.iterdir()}
        assert stems == set(found[folder.name].results), folder


def test_accuracy_rows_pair_with_the_baseline(tiny):
    _, out, _ = tiny
    report = json.loads((out / "test.json").read_text())
    rows = {row["variant"]: row for row in report["rows"]}
    assert set(rows) == {"random-coreset", "udd", "start", "imported"}
    assert all(len(row["accuracies"]) == 1 for row in rows.values())
    assert rows["udd"]["steps"] == 2 and rows["start"]["steps"] == 0
    assert rows["udd"]["agreement"] is not None
    assert rows["udd"]["paired"]["differences"] == pytest.approx(
        [rows["udd"]["accuracies"][0] - rows["random-coreset"]["accuracies"][0]]
    )
    assert report["machine"]["cpu_flags"] is not None and report["versions"]
    text = (out / "test.md").read_text()
    assert "± 0.00" in text and "Machine:" in text and "- random-coreset" in text
    assert (out / "test.png").stat().st_size > 0


def test_resume_keeps_finished_seeds(tiny, monkeypatch, tmp_path):
    experiment, _, work = tiny

    def not_again(*args):
        raise AssertionError("a finished seed ran again")

    monkeypatch.setattr(accuracy, "run_seed", not_again)
    run = options("--workdir", str(work), "--resume")
    accuracy.run(experiment, run, lambda r: results.write(r, tmp_path, "again"))
    assert len(json.loads((tmp_path / "again.json").read_text())["rows"]) == 4


SAME_SETS = (
    TINY_BASE
    + """
question = "Is a set made twice evaluated once?"
shared = { "width" = 8, "net_images" = 32, "real_batch" = 16 }
measures = ["accuracy", "paired:idc"]
variants = [
  { "name" = "idc", "overrides" = { "method" = "idc" } },
  { "name" = "udd", "overrides" = { "method" = "udd" } },
  { "name" = "udd-cfc", "overrides" = { "method" = "udd", "cfc_weight" = 0.1 } },
]
"""
)


@pytest.fixture
def evaluations(monkeypatch):
    """The runner's evaluations, counted: a list that grows by one per set."""
    calls = []
    real_evaluate = accuracy.evaluate

    def counted(*args):
        calls.append(1)
        return real_evaluate(*args)

    monkeypatch.setattr(accuracy, "evaluate", counted)
    return calls


def test_identical_sets_share_one_evaluation(tmp_path, evaluations):
    path = tmp_path / "same.toml"
    path.write_text(SAME_SETS)
    calls = evaluations
    run = options("--workdir", str(tmp_path / "work"))
    out = tmp_path / "out"
    accuracy.run(spec.load(path), run, lambda r: results.write(r, out, "t"))
    rows = {r["variant"]: r for r in json.loads((out / "t.json").read_text())["rows"]}
    # udd's default makes idc's images: one evaluation, the same accuracies.
    assert len(calls) == 2
    assert rows["udd"]["set_digests"] == rows["idc"]["set_digests"]
    assert rows["udd"]["evaluation_of"] == ["idc"]
    assert rows["udd"]["accuracies"] == rows["idc"]["accuracies"]
    assert rows["udd-cfc"]["set_digests"] != rows["idc"]["set_digests"]
    assert "evaluation_of" not in rows["udd-cfc"]
    assert [rows[n]["default"] for n in ("idc", "udd", "udd-cfc")] == [1, 1, 0]
    assert (rows["udd"]["method"], rows["udd"]["ipc"], rows["udd"]["split"]) == (
        "udd",
        1,
        "test",
    )


def test_a_run_of_some_variants_and_seeds_keeps_and_reuses_the_others(
    tmp_path, monkeypatch, evaluations
):
    path = tmp_path / "same.toml"
    path.write_text(SAME_SETS.replace("seeds = [0]", "seeds = [0, 1]"))
    experiment, work, out = spec.load(path), tmp_path / "work", tmp_path / "out"
    calls = evaluations
    first = options("--workdir", str(work), "--variants", "idc", "--seeds", "0")
    accuracy.run(experiment, first, lambda r: results.write(r, out, "t"))
    assert len(calls) == 1
    # udd alone, on a later call: it reuses the evaluation of idc's kept set.
    udd = options("--workdir", str(work), "--resume", "--variants", "udd")
    udd.seeds = [0]
    accuracy.run(experiment, udd, lambda r: results.write(r, out, "t"))
    assert len(calls) == 1
    # Both, seed 0 (the spec has seeds 0 and 1): every entry kept, nothing runs.
    monkeypatch.setattr(accuracy, "run_seed", lambda *a: pytest.fail("ran again"))
    both = options("--workdir", str(work), "--resume", "--seeds", "0")
    both.variants = ["idc", "udd"]
    accuracy.run(experiment, both, lambda r: results.write(r, out, "t"))
    rows = {r["variant"]: r for r in json.loads((out / "t.json").read_text())["rows"]}
    assert rows["udd"]["evaluation_of"] == ["idc"]
    assert rows["udd"]["accuracies"] == rows["idc"]["accuracies"]


def test_sets_of_evaluates_another_runs_sets_again(tiny, tmp_path):
    experiment, out, work = tiny
    first = {
        r["variant"]: r for r in json.loads((out / "test.json").read_text())["rows"]
    }
    run = options("--workdir", str(work), "--sets-of", "", "--tag", "longer")
    run.epochs, run.variants = 2, ["udd"]
    accuracy.run(experiment, run, lambda r: results.write(r, tmp_path, "t"))
    (again,) = json.loads((tmp_path / "t.json").read_text())["rows"]
    assert again["set_digests"] == first["udd"]["set_digests"]
    assert again["steps"] == first["udd"]["steps"] == 2
    missing = options("--workdir", str(tmp_path), "--sets-of", "none")
    missing.variants = ["udd"]
    with pytest.raises(SystemExit, match="no udd seed 0"):
        accuracy.run(experiment, missing, lambda r: None)


def fake_measure(args):
    return {
        "doubled": 2 * args.size,
        "seed": args.seed,
        "timing": timing.timed(lambda: None, 2, 1),
    }


def test_timing_calls_the_measure_per_variant_and_resumes(tmp_path):
    experiment = spec.Experiment(
        name="fake",
        question="Does the timing pipeline call its measure?",
        kind="timing",
        measure=fake_measure,
        shared={"size": 1},
        variants=(spec.Variant("one"), spec.Variant("two", {"size": 2})),
    )
    text = timing.run(experiment, options(), lambda r: results.write(r, tmp_path, "t"))
    report = json.loads((tmp_path / "t.json").read_text())
    assert [row["doubled"] for row in report["rows"]] == [2, 4]
    assert "## two" in text and " ms (min " in text
    again = options("--resume", "--variants", "one", "two")
    again.previous = report
    timing.run(experiment, again, lambda r: results.write(r, tmp_path, "t"))
    assert len(json.loads((tmp_path / "t.json").read_text())["rows"]) == 2


def test_measures_resolve_by_dotted_name():
    assert spec.resolve("benchmarks.timing:timed") is timing.timed
    assert spec.resolve("benchmarks.checks.scoring_stability").__name__ == (
        "scoring_stability"
    )
    for experiment in spec.experiments().values():
        if experiment.kind == "timing":
            assert callable(spec.resolve(experiment.measure)), experiment.name


def test_paired_differences_and_mean_std():
    rows = [
        {"variant": "base", "decode": "x", "seeds": [0], "accuracies": [50.0, 52.0]},
        {"variant": "new", "decode": "x", "seeds": [0], "accuracies": [51.0, 55.0]},
        {"variant": "other", "decode": "x", "seeds": [1], "accuracies": [1.0, 1.0]},
    ]
    results.paired(rows, "base")
    assert rows[1]["paired"]["differences"] == [1.0, 3.0]
    assert rows[1]["paired"]["mean"] == 2.0 and rows[1]["paired"]["std"] == 1.0
    assert "paired" not in rows[2]  # other seeds: nothing to pair with
    assert results.mean_std([1.0, 3.0]) == "2.00 ± 1.00"


def test_spec_refuses_a_baseline_that_is_not_a_variant():
    with pytest.raises(ValueError, match="no variant"):
        spec.Experiment(
            name="bad",
            question="?",
            kind="accuracy",
            variants=(spec.Variant("a"),),
            measures=("paired:b",),
        )


def test_run_refuses_unknown_settings(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["run", "quick-start-digits", "--set", "no_such_field=1"])
    assert stopped.value.code == 2
    assert "no_such_field" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["run", "no-such-experiment"])


def test_reference_script_stays_standalone():
    script = pathlib.Path(spec.__file__).with_name("reference_pytorch.py").read_text()
    assert "from benchmarks" not in script and "import tensorflow" not in script
