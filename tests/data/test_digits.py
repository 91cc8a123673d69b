import numpy as np

from udd_keras.data import load_dataset


def test_digits_shapes_labels_and_normalisation():
    ds = load_dataset("digits", seed=0)
    assert ds.x_train.shape == (1437, 8, 8, 1)
    assert ds.x_test.shape == (360, 8, 8, 1)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    assert ds.class_names == [str(d) for d in range(10)]
    assert set(np.unique(ds.y_train)) == set(range(10))
    # Normalisation is the train split's own statistics, rounded to 4 decimals.
    assert abs(float(ds.x_train.mean())) < 1e-3
    assert abs(float(ds.x_train.std()) - 1.0) < 1e-3
    assert ds.normalization.mean == (round(ds.normalization.mean[0], 4),)
    raw = ds.normalization.denormalize(np.concatenate([ds.x_train, ds.x_test]))
    assert raw.min() > -1e-5 and raw.max() < 1 + 1e-5


def test_digits_split_is_stratified():
    ds = load_dataset("digits", seed=0)
    train_share = np.bincount(ds.y_train) / len(ds.y_train)
    test_share = np.bincount(ds.y_test) / len(ds.y_test)
    np.testing.assert_allclose(train_share, test_share, atol=0.01)


def test_digits_same_seed_same_split_other_seed_other_split():
    a, b = load_dataset("digits", seed=3), load_dataset("digits", seed=3)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert a.normalization == b.normalization
    c = load_dataset("digits", seed=4)
    assert not np.array_equal(a.y_test, c.y_test)
