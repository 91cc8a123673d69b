import dataclasses
import json
import pathlib
import re

import pytest

from udd_keras.distillation import DistillConfig
from udd_keras.errors import UddError


def test_method_defaults_follow_the_paper_and_idc():
    udd = DistillConfig("fashion_mnist").resolve()
    # udd trains IDC's tiles with CFC by default (measured: mined regions cost
    # accuracy at the budgets of
    # benchmarks/results/formation-screen-ipc*/validation*.md).
    assert (udd.policy, udd.num_regions, udd.num_selected, udd.jitters) == (
        "uniform",
        12,
        4,
        8,
    )
    mined = DistillConfig("fashion_mnist", formation="tiles+regions").resolve()
    assert (mined.policy, mined.num_selected) == ("jitter", 2)
    assert udd.jitter_amount == 1.0
    assert (udd.tau, udd.alpha, udd.cfc_weight, udd.lr_img) == (0.7, 0.5, 0.0, 1e-4)
    assert (udd.formation, udd.decode, udd.init, udd.include_original) == (
        "tiles",
        "fixed",
        "mosaic",
        False,
    )
    assert (udd.score_normalization, udd.crop_gradient, udd.cfc_scale) == (
        "size",
        "sum",  # nothing is mined: the tiles keep IDC's gradient
        "gradient",
    )
    assert mined.crop_gradient == "area"
    assert DistillConfig("cifar10").resolve().lr_img == 0.005
    assert (udd.metric, udd.net_images, udd.iterations, udd.inner_steps) == (
        "l1",
        500,
        2000,
        100,
    )
    idc = DistillConfig("cifar10", method="idc").resolve()
    assert (idc.policy, idc.include_original, idc.cfc_weight, idc.metric) == (
        "uniform",
        False,
        0.0,
        "mse",
    )
    assert idc.net_images == 2000 and idc.regions_per_image == 4
    assert (idc.formation, idc.decode, idc.init) == ("tiles", "trained", "mosaic")
    assert (idc.score_normalization, idc.crop_gradient, idc.cfc_scale) == (
        "none",
        "sum",
        "loss",
    )
    dc = DistillConfig("digits", method="dc").resolve()
    assert (dc.policy, dc.net_data, dc.matched) == ("none", "synthetic", "all")
    assert (dc.formation, dc.decode, dc.init, dc.cfc_weight) == (
        "original",
        "trained",
        "real",
        0.0,
    )
    assert (dc.score_normalization, dc.crop_gradient, dc.cfc_scale) == (
        "none",
        "sum",
        "loss",
    )


def test_explicit_values_win_over_method_defaults():
    config = DistillConfig("digits", method="idc", cfc_weight=0.5).resolve()
    assert config.cfc_weight == 0.5


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"num_selected": 9},
            r"P must be between 1 and 8 \(the candidates of formation "
            r"'tiles\+regions' with N=12\), got 9",
        ),
        (
            {"formation": "original+regions", "num_selected": 13},
            r"P must be between 1 and 12 \(the candidates of formation "
            r"'original\+regions' with N=12\), got 13",
        ),
        ({"method": "mtt"}, "method must be one of udd, idc, dc; got 'mtt'"),
        ({"ipc": 0}, "ipc must be a positive integer, got 0"),
        ({"image_updates": 0}, "image_updates must be a positive integer, got 0"),
        (
            {"network_pool": 0},
            "network_pool must be a positive integer or None, got 0",
        ),
        (
            {"method": "dc", "network_pool": 2},
            "network_pool needs a network trained on real data; method 'dc' "
            "trains it on 'synthetic' images",
        ),
        ({"policy": "best"}, "policy must be one of"),
        ({"alpha": 2.0}, r"alpha must be in \[0, 1\], got 2.0"),
        ({"lr_img": float("inf")}, "lr_img must be a positive number, got inf"),
        ({"cfc_weight": float("nan")}, "cfc_weight must be a number >= 0, got nan"),
    ],
)
def test_bad_settings_name_value_and_allowed(kwargs, message):
    with pytest.raises(UddError, match=message):
        DistillConfig("digits", **kwargs).resolve()


def test_dict_round_trip():
    config = DistillConfig("digits", ipc=3).resolve()
    assert DistillConfig.from_dict(config.to_dict()) == config
    with pytest.raises(UddError, match="unknown distillation settings: colour"):
        DistillConfig.from_dict({"dataset": "digits", "colour": 1})


def test_image_learning_rate_follows_idc_scaling():
    fashion = DistillConfig("fashion_mnist", ipc=1).resolve()
    assert fashion.image_lr((28, 28, 1)) == pytest.approx(1e-4 * 0.1 * (28 / 32) ** 2)
    cifar = DistillConfig("cifar10", ipc=50).resolve()
    assert cifar.image_lr((32, 32, 3)) == pytest.approx(5e-3 * 5)
    assert DistillConfig("mnist", ipc=10).resolve().image_lr((28, 28, 1)) == 1e-4
    fixed = DistillConfig("cifar10", ipc=1, lr_scaling="none").resolve()
    assert fixed.image_lr((32, 32, 3)) == 5e-3


# (method, formation, policy, P, whole image, init, fixed, mined, candidates)
METHOD_RESOLUTION = [
    ("udd", "tiles", "uniform", 4, False, "mosaic", 4, 0, 0),
    ("idc", "tiles", "uniform", 4, False, "mosaic", 4, 0, 0),
    ("dc", "original", "none", None, True, "real", 0, 0, 0),
]

# (decode, score normalization, CFC scale, crop gradient) per method, at its
# default formation (udd mines nothing there, so its crops keep IDC's sum)
METHOD_READING = {
    "udd": ("fixed", "size", "gradient", "sum"),
    "idc": ("trained", "none", "loss", "sum"),
    "dc": ("trained", "none", "loss", "sum"),
}


@pytest.mark.parametrize(
    "method, formation, policy, selected, original, init, fixed, mined, candidates",
    METHOD_RESOLUTION,
)
def test_method_default_formations(
    method, formation, policy, selected, original, init, fixed, mined, candidates
):
    config = DistillConfig("digits", method=method).resolve()
    assert (config.formation, config.policy) == (formation, policy)
    assert (config.include_original, config.init) == (original, init)
    assert (
        config.decode,
        config.score_normalization,
        config.cfc_scale,
        config.crop_gradient,
    ) == METHOD_READING[method]
    assert config.candidates_per_image == candidates
    assert config.fixed_regions_per_image == fixed
    assert config.regions_per_image == fixed + mined
    if selected is not None:
        assert config.num_selected == selected


@pytest.mark.parametrize(
    "settings, formation, policy, selected, init, regions",
    [
        # uniform = IDC's fixed tiles, whatever the method; CFC stays the method's
        ({"policy": "uniform"}, "tiles", "uniform", 4, "mosaic", 4),
        ({"method": "dc", "policy": "uniform"}, "tiles", "uniform", 4, "mosaic", 4),
        # none = the whole image only
        ({"policy": "none"}, "original", "none", None, "real", 0),
        # (the init stays the method's: only tile formations force the mosaic)
        ({"method": "idc", "policy": "none"}, "original", "none", None, "mosaic", 0),
        # a scoring policy on IDC mines regions besides the tiles
        (
            {"method": "idc", "policy": "jitter"},
            "tiles+regions",
            "jitter",
            2,
            "mosaic",
            6,
        ),
        (
            {"method": "idc", "policy": "random"},
            "tiles+regions",
            "random",
            2,
            "mosaic",
            6,
        ),
        # a scoring policy on UDD keeps its tiles + regions
        ({"policy": "jitter"}, "tiles+regions", "jitter", 2, "mosaic", 6),
        # a scoring policy with the whole image: how configs written before
        # formations existed read
        (
            {"policy": "jitter", "include_original": True},
            "original+regions",
            "jitter",
            8,
            "real",
            8,
        ),
        # a scoring policy on DC mines regions besides the whole image
        (
            {"method": "dc", "policy": "jitter"},
            "original+regions",
            "jitter",
            8,
            "real",
            8,
        ),
        # a mined formation without a policy gets the paper's jitter
        ({"formation": "tiles+regions"}, "tiles+regions", "jitter", 2, "mosaic", 6),
        (
            {"formation": "original+regions"},
            "original+regions",
            "jitter",
            8,
            "real",
            8,
        ),
        (
            {"formation": "regions-in-tiles"},
            "regions-in-tiles",
            "jitter",
            4,
            "mosaic",
            8,
        ),
        (
            {"method": "idc", "formation": "original"},
            "original",
            "none",
            None,
            "mosaic",
            0,
        ),
        # explicit values win
        (
            {"formation": "tiles+regions", "num_selected": 3, "init": "real"},
            "tiles+regions",
            "jitter",
            3,
            "real",
            7,
        ),
    ],
)
def test_policy_and_formation_resolution(
    settings, formation, policy, selected, init, regions
):
    config = DistillConfig("digits", **settings).resolve()
    assert (config.formation, config.policy, config.init) == (formation, policy, init)
    if selected is not None:  # P only matters where the formation mines
        assert config.num_selected == selected
    assert config.regions_per_image == regions
    assert config.include_original is formation.startswith("original")


def test_idc_with_a_scoring_policy_keeps_idcs_other_defaults():
    config = DistillConfig("cifar10", method="idc", policy="jitter").resolve()
    assert (config.cfc_weight, config.matched, config.net_data) == (0.0, "conv", "real")
    assert (config.candidates_per_image, config.fixed_regions_per_image) == (8, 4)
    assert DistillConfig.from_dict(config.to_dict()).resolve() == config


@pytest.mark.parametrize(
    "settings, message",
    [
        (
            {"method": "idc", "include_original": True},
            "include_original=True contradicts formation 'tiles', which does not "
            "train on the whole image; choose the formation instead",
        ),
        (
            {"formation": "original+regions", "include_original": False},
            r"include_original=False contradicts formation 'original\+regions', "
            "which trains on the whole image; choose the formation instead",
        ),
        (
            {"formation": "tiles+regions", "include_original": True},
            r"include_original=True contradicts formation 'tiles\+regions', "
            "which does not train on the whole image; choose the formation instead",
        ),
        (
            {"formation": "regions-in-tiles", "include_original": True},
            "include_original=True contradicts formation 'regions-in-tiles'",
        ),
    ],
)
def test_include_original_contradicting_the_formation(settings, message):
    with pytest.raises(UddError, match=message):
        DistillConfig("digits", **settings).resolve()


def test_include_original_agreeing_with_the_formation_is_accepted():
    whole = DistillConfig("digits", formation="original+regions", include_original=True)
    assert whole.resolve().include_original is True
    udd = DistillConfig("digits", include_original=False).resolve()
    assert (udd.formation, udd.include_original) == ("tiles", False)
    idc = DistillConfig("digits", method="idc", include_original=False).resolve()
    assert idc.include_original is False


@pytest.mark.parametrize(
    "settings, message",
    [
        (
            {"formation": "tiles+regions", "policy": "uniform"},
            r"formation 'tiles\+regions' mines regions, so the policy must be one "
            r"of jitter, activation, gradient, vote, random; got 'uniform'",
        ),
        (
            {"formation": "original+regions", "policy": "none"},
            r"formation 'original\+regions' mines regions, so the policy must be "
            r"one of .*; got 'none'",
        ),
        (
            {"formation": "tiles", "policy": "jitter"},
            r"formation 'tiles' mines no region, so the policy must be 'uniform'; "
            r"got 'jitter' \(for mined regions choose one of original\+regions, "
            r"tiles\+regions, regions-in-tiles\)",
        ),
        (
            {"formation": "original", "policy": "uniform"},
            "formation 'original' mines no region, so the policy must be 'none'; "
            "got 'uniform'",
        ),
    ],
)
def test_policy_that_does_not_fit_the_formation(settings, message):
    with pytest.raises(UddError, match=message):
        DistillConfig("digits", **settings).resolve()


@pytest.mark.parametrize(
    "settings, formation, allowed, got",
    [
        ({"formation": "tiles+regions", "num_selected": 9}, "tiles+regions", 8, 9),
        ({"formation": "tiles+regions", "num_selected": 0}, "tiles+regions", 8, 0),
        (
            {"method": "idc", "policy": "jitter", "num_selected": 9},
            "tiles+regions",
            8,
            9,
        ),
        (
            {"formation": "regions-in-tiles", "num_selected": 49},
            "regions-in-tiles",
            48,
            49,
        ),
        (
            {"formation": "original+regions", "num_regions": 4, "num_selected": 5},
            "original+regions",
            4,
            5,
        ),
        (
            {"formation": "original+regions", "num_regions": 8, "num_selected": 0},
            "original+regions",
            8,
            0,
        ),
        ({"num_regions": 8, "num_selected": 5}, "tiles+regions", 4, 5),
    ],
)
def test_selected_regions_out_of_range_name_the_allowed_range(
    settings, formation, allowed, got
):
    regions = settings.get("num_regions", 12)
    message = (
        f"selected regions P must be between 1 and {allowed} (the candidates "
        f"of formation {formation!r} with N={regions}), got {got}"
    )
    with pytest.raises(UddError, match=re.escape(message)):
        DistillConfig("digits", **settings).resolve()


def test_selected_regions_at_the_bounds_are_accepted():
    tiles = DistillConfig("digits", formation="tiles+regions", num_selected=8)
    assert tiles.resolve().regions_per_image == 12
    inside = DistillConfig("digits", formation="regions-in-tiles", num_selected=48)
    assert inside.resolve().regions_per_image == 52
    whole = DistillConfig("digits", formation="original+regions", num_selected=1)
    assert whole.resolve().regions_per_image == 1
    whole = DistillConfig("digits", formation="original+regions", num_selected=12)
    assert whole.resolve().regions_per_image == 12
    assert DistillConfig("digits", num_selected=1).resolve().regions_per_image == 5


def test_unknown_formation_without_a_policy_names_the_allowed_ones():
    with pytest.raises(UddError, match="formation must be one of original, tiles"):
        DistillConfig("digits", formation="grid").resolve()


def test_tiles_regions_with_four_regions_is_refused():
    # Every 1/2 window is a tile: nothing is left to mine.
    with pytest.raises(UddError, match=r"formation 'tiles\+regions' with N=4"):
        DistillConfig("digits", formation="tiles+regions", num_regions=4).resolve()


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"formation": "grid", "policy": "jitter"}, "formation must be one of"),
        ({"decode": "tiles"}, "decode must be one of trained, fixed; got 'tiles'"),
        (
            {"score_normalization": "area"},
            "score normalization must be one of none, size; got 'area'",
        ),
        ({"cfc_scale": "norm"}, "CFC scale must be one of loss, gradient; got 'norm'"),
        (
            {"crop_gradient": "mean"},
            "crop gradient must be one of sum, area, stop; got 'mean'",
        ),
    ],
)
def test_bad_formation_settings_name_the_allowed_values(settings, message):
    with pytest.raises(UddError, match=message):
        DistillConfig("digits", **settings).resolve()


@pytest.mark.parametrize(
    "settings, trained, fixed, default_decode",
    [
        ({"formation": "tiles+regions"}, 6, 4, "fixed"),
        ({"formation": "tiles+regions", "num_selected": 4}, 8, 4, "fixed"),
        ({"formation": "regions-in-tiles"}, 8, 4, "fixed"),
        ({"formation": "original+regions"}, 8, 0, "fixed"),
        ({"method": "idc"}, 4, 4, "trained"),
        ({"method": "udd"}, 4, 4, "fixed"),
        ({"method": "udd", "policy": "random"}, 6, 4, "fixed"),
        ({"method": "dc"}, 0, 0, "trained"),
    ],
)
def test_decoded_regions_per_image(settings, trained, fixed, default_decode):
    config = DistillConfig("digits", **settings)
    as_trained = DistillConfig("digits", decode="trained", **settings).resolve()
    as_fixed = DistillConfig("digits", decode="fixed", **settings).resolve()
    assert config.resolve().decode == default_decode
    assert as_trained.decoded_regions_per_image == trained
    assert as_fixed.decoded_regions_per_image == fixed
    assert as_fixed.regions_per_image == as_trained.regions_per_image == trained


@pytest.mark.parametrize(
    "settings, message",
    [
        (
            {"score_block": 3},
            r"score_block must be an integer in -3\.\.2 \(a block of the depth-3 "
            r"ConvNet; -1 = the last\), got 3",
        ),
        ({"score_block": -4}, r"integer in -3\.\.2 .*got -4"),
        ({"score_block": 4, "depth": 4}, r"integer in -4\.\.3 .*got 4"),
        ({"score_block": True}, "got True"),
        ({"score_block": "0"}, "got '0'"),
        (
            {"formation": "tiles+regions", "region_period": "epoch"},
            "region period must be one of step, iteration, run; got 'epoch'",
        ),
        (
            {"method": "idc", "region_period": "run"},
            r"region_period='run' needs a formation that mines regions \(one of "
            r"original\+regions, tiles\+regions, regions-in-tiles\); formation "
            r"'tiles' mines none",
        ),
    ],
)
def test_bad_region_settings_name_the_value_and_the_allowed_ones(settings, message):
    with pytest.raises(UddError, match=message):
        DistillConfig("digits", **settings).resolve()


@pytest.mark.parametrize("block, depth", [(0, 3), (2, 3), (-3, 3), (3, 4), (-1, 1)])
def test_score_blocks_of_the_network_are_accepted(block, depth):
    config = DistillConfig("digits", score_block=block, depth=depth).resolve()
    assert config.score_block == block


def test_region_settings_defaults_and_choices():
    config = DistillConfig("digits", formation="tiles+regions").resolve()
    assert (config.score_block, config.region_period) == (-1, "step")
    for period in ("step", "iteration", "run"):
        assert (
            DistillConfig("digits", formation="tiles+regions", region_period=period)
            .resolve()
            .region_period
            == period
        )
    stop = DistillConfig("digits", formation="tiles+regions", crop_gradient="stop")
    assert stop.resolve().crop_gradient == "stop"
    # Mined crops scale by area; udd's default mines nothing and keeps IDC's sum.
    assert config.crop_gradient == "area"
    assert DistillConfig("digits").resolve().crop_gradient == "sum"


def test_a_config_with_response_layer_reads_as_score_block():
    values = DistillConfig("digits", score_block=1).resolve().to_dict()
    assert values["score_block"] == 1 and "response_layer" not in values
    del values["score_block"]
    old = DistillConfig.from_dict({**values, "response_layer": 0})
    assert old.score_block == 0
    assert DistillConfig.from_dict(values).score_block == -1


def test_the_guides_settings_table_is_the_generated_one():
    from udd_keras.distillation.config import settings_table

    guide = (
        pathlib.Path(__file__).resolve().parents[2] / "docs" / "distillation.md"
    ).read_text()
    begin = guide.index("checks that it is the same. -->\n\n") + len(
        "checks that it is the same. -->\n\n"
    )
    end = guide.index("\n<!-- End of the generated settings table. -->")
    assert guide[begin:end] == settings_table(), (
        "docs/distillation.md's settings table is out of date: replace it with "
        "udd_keras.distillation.config.settings_table()"
    )


def test_every_setting_documents_itself():
    from udd_keras.distillation.config import (
        METHOD_DEFAULTS,
        SECTIONS,
        default_text,
        settings,
    )

    fields = settings()
    assert [f.name for f in fields] == list(DistillConfig("digits").to_dict())
    assert {f.metadata["section"] for f in fields} == set(SECTIONS)
    for field in fields:
        meta = field.metadata
        assert meta["help"].endswith((".", ")")), field.name
        assert meta["section"] in SECTIONS
        # A default left to the method or the dataset says what it becomes.
        if field.default is None:
            assert meta["default_text"], field.name
        if meta["choices"] is not None and field.default is not None:
            assert field.default in meta["choices"], field.name
    by_name = {f.name: f for f in fields}
    for name in METHOD_DEFAULTS["udd"]:
        text = default_text(by_name[name])
        for method, defaults in METHOD_DEFAULTS.items():
            value = defaults[name]
            value = f"{value:g}" if isinstance(value, float) else value
            assert f"{value} for {method}" in text, name
    # Run control is what a resume may change: the run's length, how often it
    # saves and logs. The seed decides the run, so it is data.
    run_control = ("iterations", "checkpoint_every", "log_every", "time_budget_minutes")
    assert settings("run control") == tuple(by_name[n] for n in run_control)
    assert by_name["seed"].metadata["section"] == "data"


# The keys of a run's config.json, in order, as written before the settings were
# grouped into sections: old run folders resume, and fingerprints do not move.
CONFIG_JSON_KEYS = (
    "dataset", "ipc", "method", "policy", "formation", "decode", "num_regions",
    "num_selected", "factor", "include_original", "score_normalization",
    "crop_gradient", "region_period", "region_weight", "mine_from", "jitters",
    "jitter_function", "jitter_amount", "score_block", "cfc_weight", "cfc_scale",
    "tau", "alpha", "metric", "matched", "iterations", "inner_steps",
    "real_batch", "max_synthetic_batch", "image_updates", "network_pool",
    "lr_img", "lr_scaling", "momentum_img", "image_optimizer", "lr_decay_at",
    "lr_decay_factor", "net_data", "net_images", "net_batch", "net_lr",
    "net_momentum", "net_weight_decay", "net_cutmix", "matching_augmentation",
    "net_augmentation", "width", "depth", "precision", "init", "init_selection",
    "clip", "seed", "checkpoint_every", "log_every", "time_budget_minutes",
)  # fmt: skip


def test_flat_settings_go_to_the_section_that_owns_them():
    from udd_keras.distillation.config import (
        SECTION_CLASSES,
        SECTIONS,
        ImageOptimizerSettings,
        RunControl,
        settings,
    )

    config = DistillConfig("digits", ipc=3, lr_img=0.01, seed=4, width=16)
    assert config.data.dataset == "digits" and config.data.ipc == 3
    assert isinstance(config.images, ImageOptimizerSettings)
    assert config.images.lr_img == 0.01 and config.lr_img == 0.01
    assert isinstance(config.run, RunControl)
    assert (config.data.seed, config.network.width) == (4, 16)
    # Every setting is declared in the section its metadata names, and reads
    # flat from it.
    by_section = {c.SECTION: (a, c) for a, c in SECTION_CLASSES.items()}
    for field in settings():
        attribute, section_class = by_section[field.metadata["section"]]
        assert field in dataclasses.fields(section_class), field.name
        owned = getattr(getattr(config, attribute), field.name)
        assert getattr(config, field.name) == owned, field.name
    assert [c.SECTION for c in SECTION_CLASSES.values()] == list(SECTIONS)
    # Whole sections are accepted, and a setting given by name wins.
    same = DistillConfig(data=config.data, images=config.images, run=config.run)
    assert same == DistillConfig("digits", ipc=3, lr_img=0.01, seed=4)
    assert DistillConfig(data=config.data, ipc=5).ipc == 5


def test_sections_and_the_config_are_frozen():
    config = DistillConfig("digits")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.lr_img = 0.01
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.images.lr_img = 0.01
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.run = None
    assert config.lr_img is None


def test_unknown_settings_and_bad_sections_name_the_allowed_ones():
    with pytest.raises(
        UddError,
        match="unknown distillation settings: colour; the "
        "settings are dataset, ipc, method, .*time_budget_minutes",
    ):
        DistillConfig("digits", colour=1)
    with pytest.raises(UddError, match="section run must be a RunControl; got 3"):
        DistillConfig("digits", run=3)
    with pytest.raises(TypeError, match="needs a dataset"):
        DistillConfig(ipc=1)


def test_replace_returns_a_changed_copy():
    config = DistillConfig("digits", ipc=1, seed=2)
    changed = config.replace(lr_img=0.01, seed=5)
    assert (changed.lr_img, changed.seed, changed.ipc) == (0.01, 5, 1)
    assert (config.lr_img, config.seed) == (None, 2)
    assert changed.network is config.network
    # `dataclasses.replace` takes flat settings too.
    assert dataclasses.replace(config, seed=5) == config.replace(seed=5)
    with pytest.raises(UddError, match="unknown distillation settings: lr_image"):
        config.replace(lr_image=0.01)


def test_to_dict_is_the_flat_config_json_and_round_trips():
    from udd_keras.distillation.config import settings

    config = DistillConfig("digits", ipc=3, formation="tiles+regions").resolve()
    values = config.to_dict()
    assert tuple(values) == CONFIG_JSON_KEYS
    assert DistillConfig.from_dict(json.loads(json.dumps(values))) == config
    assert DistillConfig(**values) == config
    algorithm = config.algorithm_dict()
    assert tuple(algorithm) == tuple(
        key
        for key in CONFIG_JSON_KEYS
        if key
        not in ("iterations", "checkpoint_every", "log_every", "time_budget_minutes")
    )
    assert set(values) - set(algorithm) == {f.name for f in settings("run control")}
    assert algorithm["lr_img"] == values["lr_img"]


def _resumed(tmp_path, saved, given):
    from udd_keras.distillation.run_directory import RunDirectory

    run = RunDirectory(tmp_path)
    run.write_config(saved.resolve(auto_precision="float32").to_dict())
    return run.resumed_config(given)


def test_resume_ignores_run_control_and_refuses_an_algorithm_change(tmp_path):
    from udd_keras.errors import RunDirectoryError

    saved = DistillConfig("digits", iterations=2, checkpoint_every=5, log_every=2)
    # Run control (the run's length, checkpoints, metric lines) may differ; the
    # run keeps its own checkpoints and metric lines, and takes the iterations
    # given.
    given = saved.replace(iterations=4, checkpoint_every=7, log_every=1)
    resumed, budget_changed = _resumed(tmp_path, saved, given)
    assert (resumed.iterations, resumed.checkpoint_every, resumed.log_every) == (
        4,
        5,
        2,
    )
    assert budget_changed is False
    resumed, budget_changed = _resumed(
        tmp_path, saved, saved.replace(time_budget_minutes=2.0)
    )
    assert (resumed.time_budget_minutes, budget_changed) == (2.0, True)
    # A setting left None keeps the run's value.
    resumed, _ = _resumed(tmp_path, saved.replace(lr_img=0.01), saved)
    assert resumed.lr_img == 0.01
    # An algorithm setting given explicitly must agree, the seed (data) too.
    for change, shown in [
        ({"lr_img": 0.01}, r"lr_img=0\.01 \(run has 0\.0001\)"),
        ({"width": 16}, r"width=16 \(run has 128\)"),
        ({"inner_steps": 3}, r"inner_steps=3 \(run has 100\)"),
        ({"seed": 1}, r"seed=1 \(run has 0\)"),
    ]:
        with pytest.raises(RunDirectoryError, match=shown):
            _resumed(tmp_path, saved, saved.replace(**change))
