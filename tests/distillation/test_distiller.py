import os
import signal

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
from udd_keras.errors import RunDirectoryError, UddError
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
    result = distill(digits, ipc=1, out_dir=tmp_path / "run", **SMALL)
    assert result.images.shape == (10, 8, 8, 1)
    assert result.boxes.shape == (10, 8, 4)
    assert len(result.metrics) == 6
    assert all(np.isfinite(m["matching_loss"]) for m in result.metrics)
    for name in ("synthetic.tfrecord", "synthetic.png", "config.json", "metrics.jsonl"):
        assert (tmp_path / "run" / name).stat().st_size > 0
    stored = read_synthetic_set(tmp_path / "run" / "synthetic.tfrecord")
    np.testing.assert_array_equal(stored.images, result.images)
    np.testing.assert_array_equal(stored.boxes, result.boxes)
    assert stored.metadata.method == "udd" and stored.metadata.ipc == 1
    decoded = list(
        as_tf_dataset(tmp_path / "run" / "synthetic.tfrecord", decode_regions=True)
    )
    assert len(decoded) == 10 * 9


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


@pytest.mark.parametrize("policy", ["activation", "gradient", "vote", "random"])
def test_every_policy_runs_a_step(digits, policy):
    result = distill(
        digits, ipc=1, policy=policy, **{**SMALL, "iterations": 1, "inner_steps": 1}
    )
    assert result.boxes.shape == (10, 8, 4)


class _InterruptAt:
    def __init__(self, step):
        self.step = step

    def on_step(self, step, total, record):
        if step == self.step:
            os.kill(os.getpid(), signal.SIGINT)


def test_resume_after_interrupt_gives_the_same_images(digits, tmp_path):
    reference = distill(digits, ipc=1, out_dir=tmp_path / "a", **SMALL)
    with pytest.raises(DistillationInterrupted, match="resume with --resume"):
        distill(
            digits, ipc=1, out_dir=tmp_path / "b", callbacks=[_InterruptAt(4)], **SMALL
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
    assert float(distiller.engine.image_updates.numpy()) == steps


def test_unknown_image_optimizer_is_refused():
    with pytest.raises(UddError, match="image optimizer must be one of sgd, adam"):
        DistillConfig("digits", image_optimizer="rmsprop").resolve()


def test_mixed_bfloat16_runs_bf16_convolutions_and_stays_close_to_float32(digits):
    def first_step_gradient(precision):
        config = DistillConfig(
            "digits", ipc=1, precision=precision, **{**SMALL, "width": 16}
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
        UddError, match="precision must be one of float32, mixed_bfloat16"
    ):
        DistillConfig("digits", precision="float16").resolve()
