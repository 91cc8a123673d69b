import json

import numpy as np
import pytest
from click.testing import CliRunner

from udd_keras.cli.main import cli, main
from udd_keras.tfrecords import read_synthetic_set


def test_distill_digits_writes_the_four_outputs(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(
        cli,
        [
            "distill",
            "digits",
            "--ipc",
            "1",
            "--iterations",
            "2",
            "--inner-steps",
            "2",
            "--width",
            "8",
            "--net-images",
            "32",
            "--real-batch",
            "16",
            "--out",
            str(out),
            "--no-progress",
            "--log-every",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    for name in ("synthetic.tfrecord", "synthetic.png", "config.json", "metrics.jsonl"):
        assert (out / name).stat().st_size > 0
        assert str(out / name) in result.output
    config = json.loads((out / "config.json").read_text())
    # udd's default: IDC's tiles, no CFC, nothing mined.
    assert (config["method"], config["policy"], config["formation"]) == (
        "udd",
        "uniform",
        "tiles",
    )
    assert (config["decode"], config["cfc_weight"]) == ("fixed", 0.0)
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3, 4]
    stored = read_synthetic_set(out / "synthetic.tfrecord")
    # decode fixed: only the 4 tiles are stored
    assert stored.images.shape == (10, 8, 8, 1) and stored.boxes.shape == (10, 4, 4)


def test_distill_flags_reach_the_config(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(
        cli,
        [
            "distill",
            "digits",
            "--ipc",
            "2",
            "--iterations",
            "1",
            "--inner-steps",
            "1",
            "--width",
            "8",
            "--net-images",
            "32",
            "--real-batch",
            "16",
            "--out",
            str(out),
            "--no-progress",
            "--policy",
            "activation",
            "--regions",
            "8",
            "--select",
            "3",
            "--decode",
            "trained",
            "--jitters",
            "3",
            "--jitter-amount",
            "0.2",
            "--cfc-weight",
            "0.5",
            "--tau",
            "0.2",
            "--alpha",
            "0.9",
            "--metric",
            "mse",
            "--lr-img",
            "0.002",
            "--seed",
            "7",
            "--precision",
            "mixed_bfloat16",
        ],
    )
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert config["ipc"] == 2 and config["policy"] == "activation"
    assert (config["num_regions"], config["num_selected"]) == (8, 3)
    assert (config["formation"], config["decode"]) == ("tiles+regions", "trained")
    assert (config["jitters"], config["jitter_amount"]) == (3, 0.2)
    assert (config["cfc_weight"], config["tau"], config["alpha"]) == (0.5, 0.2, 0.9)
    assert (config["metric"], config["lr_img"], config["seed"]) == ("mse", 0.002, 7)
    assert config["precision"] == "mixed_bfloat16"
    # decode trained: the 4 tiles and the 3 mined regions are stored
    assert read_synthetic_set(out / "synthetic.tfrecord").boxes.shape == (20, 7, 4)


def test_preset_settings_reach_the_config_and_flags_win(tmp_path):
    from udd_keras.distillation.presets import PRESETS

    out = tmp_path / "run"
    args = ["distill", "digits", "--preset", "cpu-hour", "--out", str(out)]
    args += ["--iterations", "1", "--inner-steps", "1", "--width", "8"]
    args += ["--net-images", "32", "--real-batch", "16", "--no-progress"]
    args += ["--init-selection", "random", "--image-updates", "2"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    explicit = {"iterations", "inner_steps", "width", "net_images", "real_batch"}
    explicit |= {"init_selection", "image_updates"}
    for key, value in PRESETS["cpu-hour"].items():
        if key not in explicit:
            expected = list(value) if isinstance(value, tuple) else value
            assert config[key] == expected, key
    assert (config["iterations"], config["width"]) == (1, 8)
    assert config["init_selection"] == "random"
    assert config["image_updates"] == 2


def test_unknown_preset_is_a_usage_error(tmp_path):
    args = ["distill", "digits", "--preset", "gpu-week", "--out", str(tmp_path / "r")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "'gpu-week' is not one of 'paper', 'quick', 'cpu-hour'" in result.output
    assert not (tmp_path / "r").exists()


TINY = ["--iterations", "1", "--inner-steps", "2", "--width", "8"]
TINY += ["--net-images", "32", "--real-batch", "16", "--no-progress"]
TINY += ["--log-every", "1"]


def test_idc_with_a_scoring_policy_mines_regions_besides_the_tiles(tmp_path):
    out = tmp_path / "run"
    args = ["distill", "digits", "--method", "idc", "--policy", "jitter"]
    result = CliRunner().invoke(cli, [*args, "--out", str(out), *TINY])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert (config["formation"], config["policy"], config["num_selected"]) == (
        "tiles+regions",
        "jitter",
        2,
    )
    assert (config["include_original"], config["init"]) == (False, "mosaic")
    assert (config["decode"], config["cfc_weight"]) == ("trained", 0.0)
    stored = read_synthetic_set(out / "synthetic.tfrecord")
    assert stored.boxes.shape == (10, 6, 4)  # 4 tiles + 2 mined
    assert stored.metadata.include_original is False


def test_formation_decode_and_scale_flags_reach_the_config(tmp_path):
    out = tmp_path / "run"
    args = ["distill", "digits", "--formation", "tiles+regions", "--decode", "fixed"]
    args += ["--cfc-scale", "gradient", "--cfc-weight", "0.5"]
    args += ["--score-normalization", "size", "--regions", "8", "--select", "2"]
    args += ["--mine-from", "highest", "--region-weight", "0.25"]
    result = CliRunner().invoke(cli, [*args, "--out", str(out), *TINY])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert (config["formation"], config["decode"], config["cfc_scale"]) == (
        "tiles+regions",
        "fixed",
        "gradient",
    )
    assert (config["score_normalization"], config["num_regions"]) == ("size", 8)
    assert config["num_selected"] == 2
    assert (config["mine_from"], config["region_weight"]) == ("highest", 0.25)
    # decode fixed: only the tiles are stored
    assert read_synthetic_set(out / "synthetic.tfrecord").boxes.shape == (10, 4, 4)
    ratios = [
        json.loads(line)["cfc_gradient_ratio"]
        for line in (out / "metrics.jsonl").read_text().splitlines()
    ]
    assert len(ratios) == 2
    assert all(abs(ratio - 0.5) < 1e-4 for ratio in ratios), ratios


def test_regions_must_be_four_eight_or_twelve(tmp_path):
    args = ["distill", "digits", "--regions", "6", "--out", str(tmp_path / "r")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "'6' is not one of '4', '8', '12'" in result.output


def test_help_defaults_come_from_the_library():
    from udd_keras.distillation.config import (
        CIFAR_NET_IMAGES,
        OTHER_NET_IMAGES,
        settings,
    )

    result = CliRunner().invoke(cli, ["distill", "--help"], terminal_width=400)
    assert result.exit_code == 0
    # Each option's block: its line and the help lines indented under it.
    lines = {}
    for line in result.output.splitlines():
        if line.startswith("  --"):
            option = line.split()[0]
            lines[option] = line
        elif lines and line.startswith("    "):
            lines[option] += " " + line.strip()
    fields = {field.name: field for field in settings()}
    for option, field in [
        ("--iterations", "iterations"),
        ("--inner-steps", "inner_steps"),
        ("--jitters", "jitters"),
        ("--tau", "tau"),
        ("--width", "width"),
        ("--real-batch", "real_batch"),
        ("--image-updates", "image_updates"),
        ("--checkpoint-every", "checkpoint_every"),
    ]:
        assert f"[default: {fields[field].default}]" in lines[option], option
    assert (
        f"{CIFAR_NET_IMAGES} for CIFAR (cifar10, cifar100), {OTHER_NET_IMAGES} "
        "otherwise" in lines["--net-images"]
    )
    assert "[default: l1 for mnist/fashion_mnist/digits" in lines["--metric"]
    assert "(28x28 for mnist)" in lines["--lr-img"]
    assert "[default: auto]" in lines["--precision"]
    assert "[default: 12]" in lines["--regions"]
    assert "1.4x" not in result.output  # no speed-up promised for one machine


def test_every_setting_with_a_flag_is_an_option_built_from_its_field():
    from udd_keras.cli.distill import distill as command
    from udd_keras.distillation.config import default_text, settings

    params = {param.name: param for param in command.params}
    # No default of their own: the preset's, the method's or the field's applies.
    given = command.make_context("distill", ["digits", "--out", "runs/r"]).params
    for field in settings():
        meta = field.metadata
        if meta["flag"] is None:
            assert field.name not in params, field.name
            continue
        param = params[field.name]
        if meta["flag"] == "DATASET":
            assert param.human_readable_name == "DATASET"
            continue
        assert param.opts == [meta["flag"]]
        assert param.help.startswith(meta["help"])
        if field.name != "ipc":
            assert given[field.name] is None, field.name
            assert param.help.endswith(f"[default: {default_text(field)}]")
        if meta["choices"] is not None:
            assert list(param.type.choices) == [str(c) for c in meta["choices"]]


def test_help_says_what_the_crop_gradient_becomes_when_nothing_is_mined():
    result = CliRunner().invoke(cli, ["distill", "--help"], terminal_width=400)
    assert result.exit_code == 0
    assert (
        "[default: sum for the formations that mine nothing (original, tiles), "
        "else the method's: area for udd, sum for idc, sum for dc]"
        in " ".join(result.output.split())
    )


@pytest.mark.parametrize(
    "given, recorded, said",
    [
        (None, "float32", "precision: float32 (auto: no GPU and no native"),
        ("mixed_bfloat16", "mixed_bfloat16", "Warning: mixed_bfloat16 on a CPU"),
        ("float32", "float32", "precision: float32 (as requested)"),
    ],
)
def test_precision_is_said_before_the_run_and_recorded(
    tmp_path, monkeypatch, given, recorded, said
):
    import udd_keras.precision

    # A machine with AVX2 only and no GPU.
    monkeypatch.setattr(udd_keras.precision, "read_cpu_flags", lambda: {"avx2"})
    monkeypatch.setattr(udd_keras.precision, "count_gpus", lambda: 0)
    monkeypatch.setattr(udd_keras.precision, "read_gpu_details", lambda: [])
    out = tmp_path / "run"
    args = ["distill", "digits", "--iterations", "1", "--inner-steps", "1"]
    args += ["--width", "8", "--net-images", "32", "--real-batch", "16"]
    args += ["--out", str(out), "--no-progress"]
    args += [] if given is None else ["--precision", given]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert said in result.output
    assert result.output.index(said) < result.output.index("done")
    assert json.loads((out / "config.json").read_text())["precision"] == recorded
    metadata = read_synthetic_set(out / "synthetic.tfrecord").metadata
    assert metadata.extra["config"]["precision"] == recorded


def test_trajectory_cache_is_written_and_replayed(tmp_path):
    cache = tmp_path / "cache"
    tiny = ["--iterations", "1", "--inner-steps", "2", "--width", "8"]
    tiny += ["--net-images", "20", "--real-batch", "16", "--no-progress"]
    tiny += ["--precision", "float32", "--trajectory-cache", str(cache)]
    for run in ("a", "b"):
        out = tmp_path / run
        args = ["distill", "digits", "--out", str(out), *tiny]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
    (trajectory,) = cache.iterdir()
    assert sorted(p.name for p in trajectory.iterdir()) == [
        "manifest.json",
        "step-00000-0000.npz",
        "step-00000-0001.npz",
    ]
    a, b = (read_synthetic_set(tmp_path / r / "synthetic.tfrecord") for r in "ab")
    np.testing.assert_array_equal(a.images, b.images)


def test_trajectory_cache_with_dc_is_one_line(tmp_path, capsys):
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as stopped:
        main(
            ["distill", "digits", "--method", "dc", "--out", str(out)]
            + ["--trajectory-cache", str(tmp_path / "cache")]
        )
    assert stopped.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "a trajectory cache needs a network trained on real data" in lines[0]
    assert not out.exists()


def test_network_pool_keeps_its_trajectory_in_the_run(tmp_path):
    out = tmp_path / "run"
    args = ["distill", "digits", "--out", str(out), "--network-pool", "1"]
    args += ["--iterations", "2", "--inner-steps", "1", "--width", "8"]
    args += ["--net-images", "20", "--real-batch", "16", "--no-progress"]
    result = CliRunner().invoke(cli, args + ["--precision", "float32"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "config.json").read_text())["network_pool"] == 1
    (trajectory,) = (out / "trajectory").iterdir()
    assert sorted(p.name for p in trajectory.iterdir()) == [
        "manifest.json",
        "step-00000-0000.npz",
    ]


def test_network_pool_with_dc_is_one_line(tmp_path, capsys):
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as stopped:
        main(
            ["distill", "digits", "--method", "dc", "--network-pool", "2"]
            + ["--out", str(out)]
        )
    assert stopped.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "network_pool needs a network trained on real data" in lines[0]
    assert not out.exists()


def test_region_flags_reach_the_config_and_the_set(tmp_path):
    out = tmp_path / "run"
    args = ["distill", "digits", "--formation", "tiles+regions"]
    args += ["--crop-gradient", "stop", "--score-block", "0"]
    args += ["--region-period", "iteration"]
    result = CliRunner().invoke(cli, [*args, "--out", str(out), *TINY])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    expected = {"crop_gradient": "stop", "score_block": 0, "region_period": "iteration"}
    assert {key: config[key] for key in expected} == expected
    stored = read_synthetic_set(out / "synthetic.tfrecord").metadata.extra["config"]
    assert {key: stored[key] for key in expected} == expected


def test_region_flags_name_the_bad_value_and_the_allowed_ones(tmp_path, capsys):
    out = tmp_path / "run"
    base = ["distill", "digits", "--formation", "tiles+regions", "--out", str(out)]
    with pytest.raises(SystemExit) as stopped:
        main([*base, "--score-block", "3"])
    assert stopped.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "score_block must be an integer in -3..2" in lines[0]
    assert "got 3" in lines[0]
    assert not out.exists()
    result = CliRunner().invoke(cli, [*base, "--region-period", "epoch"])
    assert result.exit_code == 2
    assert "'epoch' is not one of 'step', 'iteration', 'run'" in result.output
    result = CliRunner().invoke(cli, ["distill", "--help"], terminal_width=400)
    assert "[sum|area|stop]" in result.output
    for flag in ("--score-block", "--region-period"):
        assert flag in result.output
