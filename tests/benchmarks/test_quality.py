"""benchmarks/quality.py: `--set` settings reach every distilled method."""

import pytest


@pytest.fixture(scope="module")
def quality(load_benchmark):
    return load_benchmark("quality")


def test_set_reaches_the_config_of_each_distilled_method(quality, tmp_path):
    from udd_keras.data import load_dataset

    args = quality.parse_args(
        ["--budget", "1", "--inner-steps", "1", "--width", "8"]
        + ["--set", "image_optimizer=adam", "--set", "lr_img=0.02"]
    )
    assert args.overrides == {"image_optimizer": "adam", "lr_img": 0.02}
    dataset = load_dataset("digits")
    args.overrides["net_images"] = 20
    args.overrides["real_batch"] = 4
    settings = quality.method_settings("idc", args)
    assert quality.method_settings("init", args) is None
    path, seconds, losses = quality.distill_set(
        dataset, "idc", settings, args, 0, tmp_path
    )
    config = (path.parent / "config.json").read_text()
    assert '"image_optimizer": "adam"' in config and '"lr_img": 0.02' in config
    assert '"method": "idc"' in config and len(losses) == 1


def test_unknown_setting_is_a_usage_error(quality, capsys):
    with pytest.raises(SystemExit) as stop:
        quality.parse_args(["--set", "learning_rate=1"])
    assert stop.value.code == 2
    assert "not a DistillConfig field" in capsys.readouterr().err


def test_settings_with_their_own_flag_are_refused_in_set(quality, capsys):
    with pytest.raises(SystemExit) as stop:
        quality.parse_args(["--set", "inner_steps=5"])
    assert stop.value.code == 2
    assert "--set inner_steps: use --inner-steps instead" in capsys.readouterr().err


def test_each_method_runs_at_each_precision(quality):
    args = quality.parse_args(
        ["--methods", "idc", "init", "--precisions", "float32", "mixed_bfloat16"]
    )
    assert quality.runs(args) == [
        ("idc (float32)", "idc", "float32"),
        ("idc (mixed_bfloat16)", "idc", "mixed_bfloat16"),
        ("init", "init", "float32"),
    ]
    assert quality.method_settings("idc", args, "mixed_bfloat16")["precision"] == (
        "mixed_bfloat16"
    )
    single = quality.parse_args(["--methods", "idc"])
    assert quality.runs(single) == [("idc", "idc", "float32")]


def test_precision_is_set_with_its_own_flag(quality, capsys):
    with pytest.raises(SystemExit) as stop:
        quality.parse_args(["--set", "precision=mixed_bfloat16"])
    assert stop.value.code == 2
    assert "--set precision: use --precisions instead" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        quality.parse_args(["--precisions", "float16"])
    assert "invalid choice: 'float16'" in capsys.readouterr().err
