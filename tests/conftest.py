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
    """`fn(path, box=None) -> path`: the first real digit of each class as a set.

    A synthetic-set TFRecord of `digits` at IPC 1 (method `"random"`), with one
    region `box` (`[top, left, bottom, right]`) per image when given.
    """
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

    def write(path, box=None):
        boxes = None
        if box is not None:
            boxes = np.tile(np.array([[box]], np.int32), (10, 1, 1))
        return write_synthetic_set(
            path, digits.x_train[index], digits.y_train[index], metadata, boxes=boxes
        )

    return write
