"""benchmarks/udd_vs_idc.py: variant parsing and the scoring agreement."""

import json

import numpy as np
import pytest
import tensorflow as tf

from udd_keras.data import load_dataset
from udd_keras.distillation import DistillConfig, Distiller

SMALL = dict(width=8, iterations=1, inner_steps=1, net_images=64, real_batch=16)


@pytest.fixture(scope="module")
def udd_vs_idc(load_benchmark):
    return load_benchmark("udd_vs_idc")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def make_engine(digits, **settings):
    config = DistillConfig("digits", ipc=1, **SMALL, **settings)
    engine = Distiller(config, dataset=digits).engine
    engine.reset_network(0)
    return engine


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "p4:method=udd,formation=tiles+regions,num_selected=4",
            ("p4", {"method": "udd", "formation": "tiles+regions", "num_selected": 4}),
        ),
        ("idc:method=idc", ("idc", {"method": "idc"})),
        ("plain", ("plain", {})),
        ("plain:", ("plain", {})),
        # values are JSON when they parse; empty pairs are skipped
        (
            "w:cfc_weight=0.5,,cfc_scale=gradient,clip=false",
            ("w", {"cfc_weight": 0.5, "cfc_scale": "gradient", "clip": False}),
        ),
        # the last method wins, and it comes first
        (
            "m:decode=fixed,method=udd,method=idc",
            ("m", {"method": "idc", "decode": "fixed"}),
        ),
        ("dash:score-normalization=size", ("dash", {"score_normalization": "size"})),
    ],
)
def test_parse_variant(udd_vs_idc, text, expected):
    assert udd_vs_idc.parse_variant(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        (":method=udd", "--variant takes NAME:KEY=VALUE,..., got ':method=udd'"),
        ("x:formation", "--set takes KEY=VALUE, got 'formation'"),
        ("x:colour=red", "--set colour: not a DistillConfig field"),
        ("x:seed=1", "--set seed: use --seed instead"),
    ],
)
def test_parse_variant_errors(udd_vs_idc, text, message):
    with pytest.raises(ValueError, match=message):
        udd_vs_idc.parse_variant(text)


def test_parse_args_needs_a_valid_variant(udd_vs_idc, capsys):
    args = udd_vs_idc.parse_args(
        ["--variant", "idc:method=idc", "--variant", "t:formation=tiles+regions"]
    )
    assert args.variants == [
        ("idc", {"method": "idc"}),
        ("t", {"formation": "tiles+regions"}),
    ]
    assert (args.dataset, args.split, args.decodes) == (
        "fashion_mnist",
        "validation",
        None,
    )
    with pytest.raises(SystemExit) as exit_info:
        udd_vs_idc.parse_args([])
    assert exit_info.value.code == 2
    assert "give at least one --variant" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        udd_vs_idc.parse_args(["--variant", ":method=udd"])
    assert "--variant takes NAME:KEY=VALUE" in capsys.readouterr().err


def test_selection_agreement_of_a_draw_with_itself_is_one(udd_vs_idc, digits):
    engine = make_engine(digits, formation="tiles+regions")
    agreement, chance = udd_vs_idc.selection_agreement(engine, [0, 7], [0, 7])
    assert agreement == 1.0
    assert chance == 2 / 8  # P / N' (P = 2 by default for tiles+regions)


def test_selection_agreement_counts_the_shared_picks(udd_vs_idc, digits):
    engine = make_engine(
        digits, formation="original+regions", policy="random", num_selected=6
    )
    agreement, chance = udd_vs_idc.selection_agreement(engine, [0, 7], [0, 8])
    picks = [
        np.argsort(engine.region_scores(tf.constant(key)).numpy(), axis=1)[:, :6]
        for key in ([0, 7], [0, 8])
    ]
    shared = [len(set(a) & set(b)) for a, b in zip(*picks, strict=True)]
    assert agreement == pytest.approx(np.mean(shared) / 6)
    assert 0.0 <= agreement < 1.0
    assert chance == 6 / 12


@pytest.mark.parametrize("method", ["idc", "dc"])
def test_selection_agreement_without_mining_is_none(udd_vs_idc, digits, method):
    engine = make_engine(digits, method=method)
    assert udd_vs_idc.selection_agreement(engine, [0, 7], [0, 8]) == (None, None)


class Killed(Exception):
    """Stands for a run stopped between two seeds."""


@pytest.fixture
def fake_runs(udd_vs_idc, monkeypatch):
    """Distillations and evaluations replaced by records of the calls made."""
    calls = []

    def distill_variant(name, settings, args, dataset, seed, workdir):
        calls.append((name, seed))
        if (name, seed) in kill_at:
            raise Killed
        facts = {key: None for key in udd_vs_idc.SEED_FACTS}
        return object(), {**facts, "distill_seconds": 10.0 + seed}

    def evaluate_decode(result, decode, dataset, args, seed, path):
        accuracies = [50.0 + seed + r for r in range(args.repeats)]
        return accuracies, 2.0, 4 * dataset.num_classes

    kill_at = set()
    monkeypatch.setattr(udd_vs_idc, "distill_variant", distill_variant)
    monkeypatch.setattr(udd_vs_idc, "evaluate_decode", evaluate_decode)
    return calls, kill_at


def test_a_resumed_run_keeps_the_seeds_it_evaluated(udd_vs_idc, fake_runs, tmp_path):
    calls, kill_at = fake_runs
    stem = tmp_path / "cmp"
    argv = ["--dataset", "digits", "--seeds", "0", "1", "--repeats", "2"]
    argv += ["--out", str(stem), "--variant", "idc:method=idc"]
    argv += ["--variant", "udd:method=udd"]
    kill_at.add(("udd", 1))
    with pytest.raises(Killed):
        udd_vs_idc.main(argv)
    report = json.loads(stem.with_suffix(".json").read_text())
    assert [row["variant"] for row in report["rows"]] == ["idc"]
    assert [(e["variant"], e["seed"]) for e in report["finished_seeds"]] == [("udd", 0)]
    assert "`udd` seed 0" in stem.with_suffix(".md").read_text()

    calls.clear()
    kill_at.clear()
    udd_vs_idc.main([*argv, "--resume"])
    # idc's row and udd's seed 0 are kept: only udd's seed 1 is distilled.
    assert calls == [("udd", 1)]
    report = json.loads(stem.with_suffix(".json").read_text())
    idc, udd = report["rows"]
    assert udd["seeds"] == [0, 1]
    assert udd["accuracies"] == [50.0, 51.0, 51.0, 52.0]
    assert udd["distill_seconds"] == pytest.approx(10.5)
    assert udd["images_per_class"] == 4
    assert report["finished_seeds"] == []


def test_a_seed_run_with_other_settings_is_not_kept(udd_vs_idc, fake_runs, tmp_path):
    calls, kill_at = fake_runs
    stem = tmp_path / "cmp"
    argv = ["--dataset", "digits", "--seeds", "0", "1", "--repeats", "1"]
    argv += ["--out", str(stem), "--variant", "udd:method=udd"]
    kill_at.add(("udd", 1))
    with pytest.raises(Killed):
        udd_vs_idc.main(argv)
    calls.clear()
    kill_at.clear()
    udd_vs_idc.main([*argv, "--resume", "--steps", "60"])
    assert calls == [("udd", 0), ("udd", 1)]


def test_a_variant_may_set_its_own_schedule(udd_vs_idc, fake_runs, tmp_path):
    args = udd_vs_idc.parse_args(
        ["--steps", "100", "--inner-steps", "50", "--variant", "udd:method=udd"]
    )
    assert udd_vs_idc.schedule(args, {"method": "udd"}) == {
        "iterations": 2,
        "inner_steps": 50,
    }
    pooled = {"method": "udd", "iterations": 40, "network_pool": 2}
    assert udd_vs_idc.schedule(args, pooled)["iterations"] == 40

    stem = tmp_path / "cmp"
    argv = ["--dataset", "digits", "--seeds", "0", "--repeats", "1", "--steps"]
    argv += ["100", "--inner-steps", "50", "--out", str(stem), "--variant"]
    argv += ["udd:method=udd", "--variant", "pool:iterations=40,network_pool=2"]
    udd_vs_idc.main(argv)
    rows = json.loads(stem.with_suffix(".json").read_text())["rows"]
    assert [row["inner_steps"] for row in rows] == [100, 2000]
    assert rows[1]["config"]["network_pool"] == 2
