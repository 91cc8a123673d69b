import pytest

from udd_keras.data import load_dataset
from udd_keras.errors import DatasetNotFoundError, UddError


@pytest.mark.parametrize(
    "name, suggestion",
    [("cifar", "'cifar10'"), ("fashion-mnist", "'fashion_mnist'"), ("svhn", "svhn")],
)
def test_unknown_name_suggests_closest(name, suggestion):
    with pytest.raises(DatasetNotFoundError) as error:
        load_dataset(name)
    message = str(error.value)
    assert f"unknown dataset {name!r}" in message
    assert "Did you mean" in message
    assert suggestion in message.split("Did you mean")[1]
    assert "digits" in message  # lists the allowed names


def test_unknown_name_without_close_match():
    with pytest.raises(DatasetNotFoundError) as error:
        load_dataset("imagenet-xyz")
    assert "Did you mean" not in str(error.value)


def test_missing_npz_file(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        load_dataset(str(tmp_path / "nope.npz"))


def test_errors_are_udd_errors():
    assert issubclass(DatasetNotFoundError, UddError)
