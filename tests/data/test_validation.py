import numpy as np
import pytest

from udd_keras.data import load_dataset, split_validation
from udd_keras.errors import UddError


def test_split_validation_is_stratified_disjoint_and_seeded():
    ds = load_dataset("digits", seed=0)
    val = split_validation(ds, fraction=0.2, seed=5)
    assert len(val.x_train) + len(val.x_test) == len(ds.x_train)
    assert len(val.x_test) == int(np.ceil(0.2 * len(ds.x_train)))
    # Disjoint: no training image appears in the validation split.
    train_rows = {row.tobytes() for row in val.x_train}
    assert not any(row.tobytes() in train_rows for row in val.x_test)
    # Stratified: each class keeps its share.
    np.testing.assert_allclose(
        np.bincount(val.y_test) / len(val.y_test),
        np.bincount(ds.y_train) / len(ds.y_train),
        atol=0.01,
    )
    # The real test set is not used; everything else is kept.
    assert val.normalization == ds.normalization
    assert val.class_names == ds.class_names and val.name == ds.name
    again = split_validation(ds, fraction=0.2, seed=5)
    np.testing.assert_array_equal(val.y_test, again.y_test)
    np.testing.assert_array_equal(val.x_test, again.x_test)
    other = split_validation(ds, fraction=0.2, seed=6)
    assert not np.array_equal(val.x_test, other.x_test)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_split_validation_rejects_bad_fraction(fraction):
    ds = load_dataset("digits")
    with pytest.raises(UddError, match=f"got {fraction}"):
        split_validation(ds, fraction=fraction, seed=0)


def test_split_validation_needs_two_per_class():
    ds = load_dataset("digits")
    ds.y_train = ds.y_train.copy()
    ds.y_train[0] = 11  # a class with a single example
    with pytest.raises(UddError, match="smallest class: 1"):
        split_validation(ds, fraction=0.1, seed=0)
