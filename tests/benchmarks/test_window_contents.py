"""The window-contents measure on a tiny configuration (digits, width 8, 2 steps)."""

import math
import types

import numpy as np
import pytest

from benchmarks import spec, window_contents


def test_background_fractions_count_dark_pixels_per_box():
    images = np.ones((1, 4, 4, 1))
    images[0, :2, :2] = 0.0  # the top-left quarter is black
    fractions = window_contents.background_fractions(
        images, [[0, 0, 2, 2], [0, 0, 4, 4], [2, 2, 4, 4]], 0.05
    )
    assert fractions.tolist() == [[1.0, 0.25, 0.0]]


def test_spearman_ranks_and_is_nan_for_a_constant():
    assert window_contents.spearman([1, 2, 3], [10, 20, 40]) == pytest.approx(1.0)
    assert window_contents.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(window_contents.spearman([1, 1, 1], [1, 2, 3]))


def test_lowest_choice_is_the_engines_selection():
    import tensorflow as tf

    from udd_keras.data import load_dataset
    from udd_keras.distillation import DistillConfig, Distiller

    config = DistillConfig(
        "digits", ipc=1, formation="tiles+regions", width=4, iterations=1
    )
    engine = Distiller(config, dataset=load_dataset("digits")).engine
    key = tf.constant([0, 3], tf.int32)
    fixed = len(engine.formation.fixed)
    picks = window_contents.chosen(
        engine.region_scores(key).numpy(), engine.config.num_selected, "lowest"
    )
    boxes = engine.select_regions(key).numpy()[:, fixed:]
    assert (engine.candidate_boxes[picks] == boxes).all()


@pytest.mark.parametrize("formation", ["tiles+regions", "original+regions"])
def test_measure_gives_fractions_and_correlations_in_range(formation, tmp_path):
    args = types.SimpleNamespace(
        dataset="digits",
        formation=formation,
        width=8,
        inner_steps=2,
        every=1,
        threshold=0.05,
        reference_images=4,
        figure=str(tmp_path / "boxes-{formation}.png"),
        figure_classes=[0, 1, 2],
        config={"precision": "float32"},
        seed=0,
    )
    values = window_contents.measure(args)
    count, candidates = values["selected_P"], values["candidates_N"]
    assert values["steps_analysed"] == [0, 1, 2]
    assert (count, candidates) == ((2, 8) if formation == "tiles+regions" else (8, 12))
    fractions = [v for k, v in values.items() if "background" in k]
    assert len(fractions) == 2 + 2 * len(window_contents.MODES)
    assert all(0.0 <= f <= 1.0 for f in fractions)
    for mode in window_contents.MODES:
        assert 0.0 < values[f"{mode}_area"] <= 1.0
        assert sum(values[f"{mode}_size_shares"].values()) == pytest.approx(1.0)
    for name in ("spearman", "spearman_raw", "spearman_per_image"):
        assert -1.0 <= values[f"{name}_jitter_activation"] <= 1.0
    for record in values["per_step"]:
        for mode in window_contents.MODES:
            boxes = np.array(record[mode]["boxes"])
            assert boxes.shape == (10, count, len(window_contents.BOX_FIELDS))
            assert ((boxes[..., 4:] >= 0) & (boxes[..., 4:] <= 1)).all()
            assert (boxes[..., 2] > boxes[..., 0]).all()
    assert tmp_path.joinpath(f"boxes-{formation}.png").stat().st_size > 0


def test_spec_loads():
    experiment = spec.experiments()["window-contents"]
    assert experiment.kind == "timing"
    assert [v.name for v in experiment.variants] == [
        "tiles+regions",
        "original+regions",
    ]
