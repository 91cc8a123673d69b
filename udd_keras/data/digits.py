"""scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes)."""

from __future__ import annotations

from udd_keras.data.dataset import ImageDataset, make_dataset
from udd_keras.data.splits import stratified_split

DIGITS_TEST_FRACTION = 0.2


def load_digits_source(seed: int = 0) -> ImageDataset:
    """Loads `sklearn.datasets.load_digits` as an `ImageDataset`.

    Pixel values 0..16 are divided by 16 into [0, 1]; the 1,797 images are split
    80/20 into train/test with a stratified split seeded by `seed`, and the
    normalisation is the mean/std of that train split, rounded to 4 decimals.

    Args:
        seed: seed of the train/test split; the same seed gives the same split.

    Returns:
        `ImageDataset` with images `(N, 8, 8, 1)`, classes `'0'..'9'`.

    Example:
    >>> ds = load_digits_source(seed=0)
    >>> ds.x_train.shape, ds.x_test.shape
    ((1437, 8, 8, 1), (360, 8, 8, 1))
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0).astype("float32")[..., None]
    labels = bunch.target.astype("int32")
    train_index, test_index = stratified_split(labels, DIGITS_TEST_FRACTION, seed)
    return make_dataset(
        "digits",
        train=(images[train_index], labels[train_index]),
        test=(images[test_index], labels[test_index]),
        class_names=[str(digit) for digit in range(10)],
    )
