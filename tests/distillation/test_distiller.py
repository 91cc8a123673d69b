import json

import numpy as np
import pytest
import tensorflow as tf

from udd_keras.data import load_dataset
from udd_keras.distillation import (
    DistillationInterrupted,
    DistillConfig,
    Distiller,
    distill,
)
from udd_keras.distillation.checkpoints import legacy_layouts
from udd_keras.errors import RunDirectoryError, UddError
from udd_keras.regions import uniform_boxes
from udd_keras.tfrecords import as_tf_dataset, read_synthetic_set

SMALL = dict(
    width=8,
    iterations=2,
    inner_steps=3,
    net_images=64,
    real_batch=16,
    checkpoint_every=1,
    log_every=1,
)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_udd_run_writes_outputs_with_regions(digits, tmp_path):
    result = distill(
        digits, ipc=1, out_dir=tmp_path / "run", formation="tiles+regions", **SMALL
    )
    assert result.images.shape == (10, 8, 8, 1)
    # IDC's 4 tiles, then P = 2 mined regions.
    assert result.config.formation == "tiles+regions"
    assert result.boxes.shape == (10, 6, 4)
    np.testing.assert_array_equal(
        result.boxes[:, :4], np.broadcast_to(uniform_boxes(8, 8, 2), (10, 4, 4))
    )
    assert len(result.metrics) == 6
    assert all(np.isfinite(m["matching_loss"]) for m in result.metrics)
    for name in ("synthetic.tfrecord", "synthetic.png", "config.json", "metrics.jsonl"):
        assert (tmp_path / "run" / name).stat().st_size > 0
    stored = read_synthetic_set(tmp_path / "run" / "synthetic.tfrecord")
    np.testing.assert_array_equal(stored.images, result.images)
    # The default decode is "fixed": a stored image decodes to its tiles only.
    np.testing.assert_array_equal(stored.boxes, result.boxes[:, :4])
    assert stored.metadata.method == "udd" and stored.metadata.ipc == 1
    assert stored.metadata.extra["decode"] == "fixed"
    decoded = list(
        as_tf_dataset(tmp_path / "run" / "synthetic.tfrecord", decode_regions=True)
    )
    assert len(decoded) == 10 * 4


def test_images_change_and_stay_in_pixel_range(digits):
    config = DistillConfig("digits", ipc=2, **SMALL)
    distiller = Distiller(config, dataset=digits)
    before = distiller.engine.images.numpy().copy()
    result = distiller.run()
    assert np.abs(result.images - before).max() > 0
    low = (0 - digits.normalization.mean[0]) / digits.normalization.std[0]
    high = (1 - digits.normalization.mean[0]) / digits.normalization.std[0]
    assert result.images.min() >= low - 1e-5 and result.images.max() <= high + 1e-5


@pytest.mark.parametrize("method, per_image", [("idc", 4), ("dc", 1)])
def test_other_methods_export_their_formation(digits, tmp_path, method, per_image):
    result = distill(
        digits,
        ipc=1,
        out_dir=tmp_path,
        method=method,
        **{**SMALL, "iterations": 1, "inner_steps": 1},
    )
    decoded = list(as_tf_dataset(tmp_path / "synthetic.tfrecord", decode_regions=True))
    assert len(decoded) == 10 * per_image
    assert result.config.method == method


# `vote` runs activation, gradient and jitter scoring; tests/policies scores
# each policy on its own.
@pytest.mark.parametrize(
    "policy",
    [
        pytest.param("activation", marks=pytest.mark.exhaustive),
        pytest.param("gradient", marks=pytest.mark.exhaustive),
        "vote",
        "random",
    ],
)
def test_every_policy_runs_a_step(digits, policy):
    result = distill(
        digits, ipc=1, policy=policy, **{**SMALL, "iterations": 1, "inner_steps": 1}
    )
    assert result.config.policy == policy
    # udd's tiles + regions: 4 tiles, then P = 2 regions mined by the policy.
    assert result.boxes.shape == (10, 6, 4)
    tiles = uniform_boxes(8, 8, 2)
    np.testing.assert_array_equal(
        result.boxes[:, :4], np.broadcast_to(tiles, (10, 4, 4))
    )
    mined = result.boxes[:, 4:].reshape(-1, 1, 4)
    assert not (mined == tiles[None]).all(axis=-1).any()  # no tile mined twice


def test_resume_after_interrupt_gives_the_same_images(digits, tmp_path, interrupt_at):
    reference = distill(digits, ipc=1, out_dir=tmp_path / "a", **SMALL)
    with pytest.raises(DistillationInterrupted, match="resume with --resume"):
        distill(
            digits, ipc=1, out_dir=tmp_path / "b", callbacks=[interrupt_at(4)], **SMALL
        )
    assert not (tmp_path / "b" / "synthetic.tfrecord").exists()
    resumed = distill(digits, ipc=1, out_dir=tmp_path / "b", resume=True, **SMALL)
    np.testing.assert_allclose(resumed.images, reference.images, atol=1e-6)
    np.testing.assert_array_equal(resumed.boxes, reference.boxes)
    assert [m["step"] for m in resumed.metrics] == list(range(1, 7))


def test_a_second_run_in_the_same_directory_is_refused(digits, tmp_path):
    distill(
        digits, ipc=1, out_dir=tmp_path, **{**SMALL, "iterations": 1, "inner_steps": 1}
    )
    with pytest.raises(RunDirectoryError, match="already holds a run"):
        distill(digits, ipc=1, out_dir=tmp_path, **SMALL)


def test_matching_loss_falls_over_a_longer_run(digits):
    result = distill(
        digits,
        ipc=1,
        width=16,
        iterations=1,
        inner_steps=40,
        net_images=32,
        real_batch=32,
        log_every=1,
        cfc_weight=0.0,
        lr_img=1e-3,
        lr_scaling="none",
        seed=1,
    )
    losses = [m["matching_loss"] for m in result.metrics]
    assert np.mean(losses[-10:]) < np.mean(losses[:10])


def test_tensorboard_summaries_are_written(digits, tmp_path):
    import tensorflow as tf

    distill(
        digits,
        ipc=1,
        logdir=str(tmp_path / "tb"),
        **{**SMALL, "iterations": 1, "inner_steps": 2},
    )
    (events,) = (tmp_path / "tb").glob("events.out.tfevents.*")
    tags = {
        value.tag
        for event in tf.compat.v1.train.summary_iterator(str(events))
        for value in event.summary.value
    }
    assert {"distill/matching_loss", "distill/cfc_loss", "distill/loss"} <= tags


def test_adam_moves_each_pixel_by_about_the_learning_rate(digits):
    steps, lr = 3, 0.01
    config = DistillConfig(
        "digits",
        ipc=1,
        image_optimizer="adam",
        lr_img=lr,
        clip=False,
        **{**SMALL, "iterations": 1, "inner_steps": steps},
    )
    distiller = Distiller(config, dataset=digits)
    before = distiller.engine.images.numpy().copy()
    result = distiller.run()
    # Pixel units: normalised change times std; Adam's step is at most ~lr.
    change = np.abs(result.images - before) * digits.normalization.std[0]
    assert change.max() <= steps * lr * 1.01
    assert change.max() >= 0.5 * lr
    assert float(distiller.engine.image_optimizer.iterations.numpy()) == steps


def test_unknown_image_optimizer_is_refused():
    with pytest.raises(UddError, match="image optimizer must be one of sgd, adam"):
        DistillConfig("digits", image_optimizer="rmsprop").resolve()


def test_mixed_bfloat16_runs_bf16_convolutions_and_stays_close_to_float32(digits):
    def first_step_gradient(precision):
        # The whole image + regions (init "real"), where 0.94 was measured.
        config = DistillConfig(
            "digits",
            ipc=1,
            precision=precision,
            formation="original+regions",
            **{**SMALL, "width": 16},
        ).resolve()
        engine = Distiller(config, dataset=digits).engine
        engine.reset_network(0)
        key = tf.constant([0, 1], tf.int32)
        boxes = engine.select_regions(key)
        engine.fill_centers(boxes)
        gradient = engine._replica_image_gradients(key, boxes)[0]
        return engine, gradient.numpy()

    mixed, mixed_gradient = first_step_gradient("mixed_bfloat16")
    exact, exact_gradient = first_step_gradient("float32")
    assert mixed.model.convs[0].compute_dtype == "bfloat16"
    assert {v.dtype for v in mixed.model.weights} == {"float32"}
    assert mixed_gradient.dtype == np.float32
    assert np.abs(mixed_gradient).max() > 0
    # The same network (same seed), bfloat16 rounding apart.
    cosine = np.sum(mixed_gradient * exact_gradient) / (
        np.linalg.norm(mixed_gradient) * np.linalg.norm(exact_gradient)
    )
    assert cosine > 0.9  # 0.94 measured at this size


def test_unknown_precision_is_refused():
    with pytest.raises(
        UddError, match="precision must be one of auto, float32, mixed_bfloat16"
    ):
        DistillConfig("digits", precision="float16").resolve()


EXPORT_STEPS = {**SMALL, "iterations": 1, "inner_steps": 2}


@pytest.mark.parametrize(
    "settings, decode, stored, original, per_image",
    [
        ({"formation": "tiles+regions"}, "fixed", 4, False, 4),
        ({"formation": "tiles+regions"}, "trained", 6, False, 6),
        ({"formation": "original+regions"}, "fixed", 0, True, 1),
        ({"formation": "original+regions"}, "trained", 8, True, 9),
        # The same two decodes on other formations and settings.
        pytest.param(
            {"formation": "tiles+regions", "num_selected": 4},
            "trained",
            8,
            False,
            8,
            marks=pytest.mark.exhaustive,
        ),
        pytest.param(
            {"method": "idc", "policy": "jitter"},
            "fixed",
            4,
            False,
            4,
            marks=pytest.mark.exhaustive,
        ),
        pytest.param(
            {"formation": "regions-in-tiles"},
            "fixed",
            4,
            False,
            4,
            marks=pytest.mark.exhaustive,
        ),
        pytest.param(
            {"method": "udd"}, "fixed", 4, False, 4, marks=pytest.mark.exhaustive
        ),
    ],
)
def test_export_stores_what_the_decode_asks_for(
    digits, tmp_path, settings, decode, stored, original, per_image
):
    result = distill(
        digits, ipc=1, out_dir=tmp_path, decode=decode, **settings, **EXPORT_STEPS
    )
    path = tmp_path / "synthetic.tfrecord"
    synthetic = read_synthetic_set(path)
    assert synthetic.metadata.include_original is original
    assert synthetic.metadata.extra["formation"] == result.config.formation
    assert synthetic.metadata.extra["decode"] == decode
    if stored:
        assert synthetic.boxes.shape == (10, stored, 4)
        # The trained boxes, fixed (tiles) first: a fixed decode keeps the tiles.
        np.testing.assert_array_equal(synthetic.boxes, result.boxes[:, :stored])
    else:
        assert synthetic.boxes is None
    if result.config.fixed_regions_per_image:
        np.testing.assert_array_equal(
            result.boxes[:, :4], np.broadcast_to(uniform_boxes(8, 8, 2), (10, 4, 4))
        )
    assert len(list(as_tf_dataset(path, decode_regions=True))) == 10 * per_image


class _BoxSpy:
    """Records the boxes of every `update_images` call of an engine."""

    def __init__(self, engine):
        self.boxes = []
        self.update_images = engine.update_images

    def __call__(self, key, boxes):
        self.boxes.append(np.asarray(boxes))
        return self.update_images(key, boxes)


@pytest.mark.parametrize(
    "formation",
    [pytest.param("original+regions", marks=pytest.mark.exhaustive), "tiles+regions"],
)
def test_final_regions_are_the_boxes_of_the_last_step(digits, formation):
    config = DistillConfig("digits", ipc=1, formation=formation, **EXPORT_STEPS)
    distiller = Distiller(config, dataset=digits)
    spy = _BoxSpy(distiller.engine)
    distiller.engine.update_images = spy
    result = distiller.run()
    assert len(spy.boxes) == 2
    np.testing.assert_array_equal(distiller.final_regions(), spy.boxes[-1])
    np.testing.assert_array_equal(distiller.engine.trained_boxes, spy.boxes[-1])
    np.testing.assert_array_equal(result.boxes, spy.boxes[-1])
    assert distiller.final_regions().dtype == np.int32


def test_final_regions_before_any_step_are_the_formations_boxes(digits):
    config = DistillConfig("digits", ipc=1, method="idc", **EXPORT_STEPS)
    boxes = Distiller(config, dataset=digits).final_regions()
    np.testing.assert_array_equal(
        boxes, np.broadcast_to(uniform_boxes(8, 8, 2), (10, 4, 4))
    )


def test_metric_records_hold_the_cfc_gradient_ratio(digits, tmp_path):
    result = distill(digits, ipc=1, out_dir=tmp_path, cfc_weight=0.1, **EXPORT_STEPS)
    for record in result.metrics:
        assert {"loss", "matching_loss", "cfc_loss", "cfc_gradient_ratio"} <= set(
            record
        )
        assert np.isfinite(record["cfc_gradient_ratio"])
        assert record["cfc_gradient_ratio"] > 0


def test_resuming_a_finished_run_exports_the_same_boxes(digits, tmp_path):
    settings = {**EXPORT_STEPS, "checkpoint_every": 1}
    reference = distill(digits, ipc=1, out_dir=tmp_path, **settings)
    again = distill(digits, ipc=1, out_dir=tmp_path, resume=True, **settings)
    np.testing.assert_array_equal(again.images, reference.images)
    np.testing.assert_array_equal(again.boxes, reference.boxes)


def test_resume_reads_a_checkpoint_written_without_trained_boxes(digits, tmp_path):
    """Checkpoints from before the boxes were recorded still resume."""
    settings = {**EXPORT_STEPS, "iterations": 2, "checkpoint_every": 1}
    reference = distill(digits, ipc=1, out_dir=tmp_path / "a", **settings)
    half = {**settings, "iterations": 1}
    distiller = Distiller(
        DistillConfig("digits", ipc=1, **half), dataset=digits, out_dir=tmp_path / "b"
    )
    distiller.run()
    checkpoints = tmp_path / "b" / "checkpoints"
    for path in checkpoints.iterdir():
        path.unlink()
    # The layout before the image optimizers had classes, without the boxes.
    (_, _), (without_boxes, restores_boxes) = legacy_layouts(
        distiller.step, distiller.engine
    )
    assert not restores_boxes
    legacy = tf.train.CheckpointManager(without_boxes, str(checkpoints), max_to_keep=2)
    legacy.save(checkpoint_number=int(distiller.step.numpy()))
    resumed = distill(digits, ipc=1, out_dir=tmp_path / "b", resume=True, **settings)
    np.testing.assert_allclose(resumed.images, reference.images, atol=1e-6)
    np.testing.assert_array_equal(resumed.boxes, reference.boxes)


RESUME_STEPS = {**SMALL, "iterations": 1, "inner_steps": 1}

# The fields a config written before formations lacks.
FORMATION_FIELDS = (
    "formation",
    "decode",
    "score_normalization",
    "crop_gradient",
    "cfc_scale",
)

# How udd read before formations: the whole image + P = 8 mined regions, every
# trained box decoded, unnormalised scores, bilinear crop gradients, the loss-
# weighted CFC and the jitter defaults of then.
OLD_UDD = dict(
    formation="original+regions",
    decode="trained",
    score_normalization="none",
    crop_gradient="sum",
    cfc_scale="loss",
    num_selected=8,
    cfc_weight=1.0,
    jitters=2,
    jitter_amount=0.1,
)


def _write_old_config(run_dir, **old_values):
    """Rewrites `config.json` as a run from before formations would have."""
    path = run_dir / "config.json"
    saved = json.loads(path.read_text())
    for key in FORMATION_FIELDS:
        del saved[key]
    path.write_text(json.dumps({**saved, **old_values}))


def test_resume_accepts_a_udd_config_written_before_the_formation_fields(
    digits, tmp_path
):
    distill(digits, ipc=1, out_dir=tmp_path, **OLD_UDD, **RESUME_STEPS)
    _write_old_config(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert (saved["policy"], saved["include_original"], saved["init"]) == (
        "jitter",
        True,
        "real",
    )
    assert (saved["num_selected"], saved["jitters"], saved["jitter_amount"]) == (
        8,
        2,
        0.1,
    )
    # The same settings as the run (today's names for them) resume it, and the
    # run goes on as it ran.
    longer = {**RESUME_STEPS, "iterations": 2}
    resumed = distill(digits, ipc=1, out_dir=tmp_path, resume=True, **OLD_UDD, **longer)
    for key, value in OLD_UDD.items():
        assert getattr(resumed.config, key) == value, key
    assert resumed.config.include_original is True
    assert [m["step"] for m in resumed.metrics] == [1, 2]
    # The same command without those settings resumes it too: a run from
    # before formations keeps the settings it started with.
    again = distill(
        digits,
        ipc=1,
        out_dir=tmp_path,
        resume=True,
        **{**RESUME_STEPS, "iterations": 3},
    )
    assert again.config.formation == "original+regions"
    assert (again.config.num_selected, again.config.cfc_scale) == (8, "loss")
    assert [m["step"] for m in again.metrics] == [1, 2, 3]
    # A setting that did not change with formations must still agree.
    with pytest.raises(RunDirectoryError, match=r"tau=0\.5 \(run has 0\.7\)"):
        distill(
            digits,
            ipc=1,
            out_dir=tmp_path,
            resume=True,
            tau=0.5,
            **{**RESUME_STEPS, "iterations": 4},
        )


@pytest.mark.exhaustive  # the udd config above takes the same path
def test_resume_accepts_an_idc_config_written_before_the_formation_fields(
    digits, tmp_path
):
    distill(digits, ipc=1, out_dir=tmp_path, method="idc", **RESUME_STEPS)
    _write_old_config(tmp_path, num_selected=8)
    resumed = distill(
        digits,
        ipc=1,
        out_dir=tmp_path,
        resume=True,
        method="idc",
        **{**RESUME_STEPS, "iterations": 2},
    )
    assert resumed.config.formation == "tiles"


class _TrainedBoxes:
    """Records the boxes each step trained on (the engine's `trained_boxes`)."""

    def __init__(self):
        self.engine, self.boxes = None, []

    def on_step(self, step, total, logs):
        self.boxes.append(self.engine.trained_boxes.numpy())


# The random policy draws other boxes at every step (its scores are keyed by
# the step), so boxes that stay the same were kept.
PERIOD_RUN = dict(formation="tiles+regions", policy="random", **SMALL)


def _boxes_per_step(digits, period):
    recorder = _TrainedBoxes()
    config = DistillConfig("digits", ipc=1, region_period=period, **PERIOD_RUN)
    distiller = Distiller(config, dataset=digits, callbacks=[recorder])
    recorder.engine = distiller.engine
    result = distiller.run()
    return np.stack(recorder.boxes), result


def test_region_period_decides_when_the_mined_regions_change(digits):
    runs = {p: _boxes_per_step(digits, p) for p in ("step", "iteration", "run")}
    (step, stepped), (iteration, _), (run, kept) = runs.values()
    assert step.shape == (6, 10, 6, 4)
    tiles = np.broadcast_to(uniform_boxes(8, 8, 2), (6, 10, 4, 4))
    for boxes in (step, iteration, run):
        np.testing.assert_array_equal(boxes[:, :, :4], tiles)
        # The run's first step chooses the same boxes whatever the period.
        np.testing.assert_array_equal(boxes[0], step[0])
    # "step": chosen anew at every step.
    assert all((step[i] != step[i - 1]).any() for i in range(1, 6))
    # "iteration": the boxes of each outer iteration's first step (steps 0
    # and 3 of 2 x 3), kept for its other steps.
    np.testing.assert_array_equal(
        iteration[:3], np.broadcast_to(step[0], (3, 10, 6, 4))
    )
    np.testing.assert_array_equal(
        iteration[3:], np.broadcast_to(step[3], (3, 10, 6, 4))
    )
    assert (iteration[3] != iteration[0]).any()
    # "run": the first step's boxes, at every step and in the exported set.
    np.testing.assert_array_equal(run, np.broadcast_to(step[0], (6, 10, 6, 4)))
    np.testing.assert_array_equal(kept.boxes, step[0])
    np.testing.assert_array_equal(stepped.boxes, step[-1])
    # The kept boxes are the ones trained on.
    assert np.abs(kept.images - stepped.images).max() > 0


@pytest.mark.parametrize("period", ["iteration", "run"])
def test_kept_regions_survive_a_resume(digits, tmp_path, interrupt_at, period):
    settings = dict(region_period=period, **PERIOD_RUN)
    reference = distill(digits, ipc=1, **settings)
    with pytest.raises(DistillationInterrupted):
        # Stopped after step 5 of 6: inside the second outer iteration.
        distill(
            digits, ipc=1, out_dir=tmp_path, callbacks=[interrupt_at(5)], **settings
        )
    resumed = distill(digits, ipc=1, out_dir=tmp_path, resume=True, **settings)
    np.testing.assert_allclose(resumed.images, reference.images, atol=1e-6)
    np.testing.assert_array_equal(resumed.boxes, reference.boxes)
    assert [m["step"] for m in resumed.metrics] == list(range(1, 7))


REGION_SETTINGS = dict(crop_gradient="stop", score_block=0, region_period="run")


def test_region_settings_are_recorded_and_a_resume_must_keep_them(digits, tmp_path):
    settings = dict(formation="tiles+regions", **RESUME_STEPS)
    distill(digits, ipc=1, out_dir=tmp_path, **REGION_SETTINGS, **settings)
    saved = json.loads((tmp_path / "config.json").read_text())
    stored = read_synthetic_set(tmp_path / "synthetic.tfrecord").metadata.extra
    for key, value in REGION_SETTINGS.items():
        assert saved[key] == value, key
        assert stored["config"][key] == value, key
    for key, other in (
        ("crop_gradient", "area"),
        ("score_block", -1),
        ("region_period", "step"),
    ):
        changed = {**REGION_SETTINGS, key: other}
        message = rf"{key}={other!r} \(run has {REGION_SETTINGS[key]!r}\)"
        with pytest.raises(RunDirectoryError, match=message):
            distill(
                digits,
                ipc=1,
                out_dir=tmp_path,
                resume=True,
                **changed,
                **{**settings, "iterations": 2},
            )
    resumed = distill(
        digits,
        ipc=1,
        out_dir=tmp_path,
        resume=True,
        **REGION_SETTINGS,
        **{**settings, "iterations": 2},
    )
    assert [m["step"] for m in resumed.metrics] == [1, 2]
