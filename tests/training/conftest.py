import numpy as np
import pytest


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
