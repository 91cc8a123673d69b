"""Shared test setup: quiet TensorFlow, deterministic seeds, small fixtures."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed_everything():
    import keras

    keras.utils.set_random_seed(1234)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def write_digits_set():
    """`fn(path, box=None, soft_labels=None) -> path`: the first real digit of
    each class as a set.

    A synthetic-set TFRecord of `digits` at IPC 1 (labels 0..9 in order), with
    one region `box` (`[top, left, bottom, right]`) per image when given, and
    with `soft_labels` (10 x 10) when given: then its method is `"relabelled"`,
    else `"random"`.
    """
    import dataclasses

    from udd_keras.data import load_dataset
    from udd_keras.tfrecords import SyntheticSetMetadata, write_synthetic_set

    digits = load_dataset("digits")
    index = np.concatenate(
        [np.flatnonzero(digits.y_train == label)[:1] for label in range(10)]
    )
    metadata = SyntheticSetMetadata(
        dataset="digits",
        image_shape=digits.image_shape,
        num_classes=digits.num_classes,
        class_names=digits.class_names,
        ipc=1,
        method="random",
        normalization=digits.normalization.to_dict(),
    )

    def write(path, box=None, soft_labels=None):
        boxes = None
        if box is not None:
            boxes = np.tile(np.array([[box]], np.int32), (10, 1, 1))
        meta = metadata
        if soft_labels is not None:
            meta = dataclasses.replace(metadata, method="relabelled")
        return write_synthetic_set(
            path,
            digits.x_train[index],
            digits.y_train[index],
            meta,
            boxes=boxes,
            soft_labels=soft_labels,
        )

    return write


@pytest.fixture
def make_metadata():
    """`fn(**fields) -> SyntheticSetMetadata`: a toy set's metadata (3 classes,
    IPC 2, `udd`, 6 x 5 x 2 images), `fields` replacing any of its values."""
    from udd_keras.tfrecords import SyntheticSetMetadata

    def make(**fields):
        config = dict(
            dataset="toy",
            image_shape=(6, 5, 2),
            num_classes=3,
            class_names=["a", "b", "c"],
            ipc=2,
            method="udd",
            normalization={"mean": [0.5, 0.25], "std": [0.2, 0.3]},
            extra={"iterations": 3, "policy": "jitter", "lrs": [0.005, 0.01]},
        )
        config.update(fields)
        return SyntheticSetMetadata(**config)

    return make


def make_images(rng, count, size, channels, num_classes):
    """Class-dependent blobs so a tiny network can learn something."""
    labels = np.arange(count) % num_classes
    images = rng.normal(0.0, 0.3, (count, size, size, channels)).astype("float32")
    for index, label in enumerate(labels):
        row = (label * size) // num_classes
        images[index, row : row + size // num_classes] += 1.5
    return images, labels.astype("int32")


@pytest.fixture
def tiny_split():
    def build(size, channels, num_classes=3, train=12, test=18):
        rng = np.random.default_rng(size)
        x_train, y_train = make_images(rng, train, size, channels, num_classes)
        x_test, y_test = make_images(rng, test, size, channels, num_classes)
        return x_train, y_train, x_test, y_test

    return build


@pytest.fixture
def interrupt_at():
    """`fn(step) -> callback` that interrupts this process when `step` ends.

    The callback sends the process SIGINT from `on_step`, as Ctrl-C would, so a
    test can check what an interrupted run leaves behind and how it resumes.
    """
    import signal

    class InterruptAt:
        def __init__(self, step):
            self.step = step

        def on_step(self, step, total, logs):
            if step == self.step:
                os.kill(os.getpid(), signal.SIGINT)

    return InterruptAt
