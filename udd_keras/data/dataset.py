"""`ImageDataset` and `Normalization`: what every data source returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from udd_keras.errors import UddError


class DatasetFormatError(UddError):
    """A bring-your-own dataset (`.npz` or image folder) has the wrong layout."""


@dataclass(frozen=True)
class Normalization:
    """Per-channel mean and standard deviation of pixels scaled to [0, 1].

    Args:
        mean: tuple of floats, one per channel.
        std: tuple of floats, one per channel, all positive.

    Example:
    >>> norm = Normalization(mean=(0.5,), std=(0.25,))
    >>> norm.normalize(np.array([[[[1.0]]]], dtype="float32"))[0, 0, 0, 0]
    2.0
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __post_init__(self):
        object.__setattr__(self, "mean", tuple(float(m) for m in self.mean))
        object.__setattr__(self, "std", tuple(float(s) for s in self.std))
        if len(self.mean) != len(self.std) or not self.mean:
            raise UddError(
                f"Normalization needs one mean and one std per channel, got "
                f"mean={self.mean} and std={self.std}."
            )
        if any(s <= 0 for s in self.std):
            raise UddError(f"Normalization std must be positive, got std={self.std}.")

    @property
    def num_channels(self) -> int:
        return len(self.mean)

    def normalize(self, x):
        """Maps images in [0, 1] to `(x - mean) / std`, channels last.

        Args:
            x: array or tensor `(..., C)` with values in [0, 1].

        Returns:
            The normalised images, same shape, float32.
        """
        mean = np.asarray(self.mean, dtype="float32")
        std = np.asarray(self.std, dtype="float32")
        return (x - mean) / std

    def denormalize(self, x):
        """Maps normalised images back to [0, 1] (no clipping).

        Args:
            x: array or tensor `(..., C)` of normalised images.

        Returns:
            `x * std + mean`, same shape, float32.
        """
        mean = np.asarray(self.mean, dtype="float32")
        std = np.asarray(self.std, dtype="float32")
        return x * std + mean

    def to_dict(self) -> dict:
        return {"mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, config: dict) -> Normalization:
        return cls(mean=tuple(config["mean"]), std=tuple(config["std"]))


def compute_normalization(images: np.ndarray, decimals: int = 4) -> Normalization:
    """Per-channel mean and std of images in [0, 1], rounded for stable metadata.

    Args:
        images: `(N, H, W, C)` array with values in [0, 1].
        decimals: number of decimals kept.

    Returns:
        A `Normalization`; a channel with zero spread gets std 1.0.
    """
    pixels = images.reshape(-1, images.shape[-1]).astype("float64")
    mean = np.round(pixels.mean(axis=0), decimals)
    std = np.round(pixels.std(axis=0), decimals)
    std = np.where(std > 0, std, 1.0)
    return Normalization(mean=tuple(mean.tolist()), std=tuple(std.tolist()))


@dataclass
class ImageDataset:
    """A labelled image classification set, normalised and ready for training.

    Args:
        name: the source name (e.g. `"cifar10"`) or the path it was read from.
        x_train: `(N, H, W, C)` float32, normalised.
        y_train: `(N,)` int32 in `[0, num_classes)`.
        x_test: `(M, H, W, C)` float32, normalised.
        y_test: `(M,)` int32 in `[0, num_classes)`.
        class_names: one name per class.
        normalization: the `Normalization` applied to both splits.

    Example:
    >>> ds = load_dataset("digits")
    >>> ds.image_shape, ds.num_classes
    ((8, 8, 1), 10)
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    normalization: Normalization

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.x_train.shape[1:])


def to_unit_range(images: np.ndarray) -> np.ndarray:
    """Converts uint8 0-255 images to float32 in [0, 1]."""
    return images.astype("float32") / np.float32(255.0)


def make_dataset(
    name: str,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    class_names: list[str],
    normalization: Normalization | None = None,
) -> ImageDataset:
    """Builds an `ImageDataset` from images in [0, 1] (NHWC) and integer labels.

    Args:
        name: dataset name.
        train: `(images, labels)`, images `(N, H, W, C)` in [0, 1].
        test: `(images, labels)` for the test split.
        class_names: one name per class.
        normalization: applied to both splits; computed from the train split
            when None.

    Returns:
        The normalised `ImageDataset` (float32 images, int32 labels).
    """
    x_train, y_train = train
    x_test, y_test = test
    if normalization is None:
        normalization = compute_normalization(x_train)
    return ImageDataset(
        name=name,
        x_train=normalization.normalize(x_train).astype("float32", copy=False),
        y_train=np.asarray(y_train, dtype="int32"),
        x_test=normalization.normalize(x_test).astype("float32", copy=False),
        y_test=np.asarray(y_test, dtype="int32"),
        class_names=list(class_names),
        normalization=normalization,
    )
