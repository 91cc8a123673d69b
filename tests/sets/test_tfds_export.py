"""Exporting a set as a TFDS dataset that plain `tfds` (no udd-keras) reads."""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from udd_keras.data import Normalization
from udd_keras.errors import UddError
from udd_keras.sets import export_tfds
from udd_keras.sets.tfds_export import is_uint8_exact, tfds_name
from udd_keras.tfrecords import (
    decode_regions,
    read_synthetic_set,
    write_synthetic_set,
)

NORMALIZATION = {"mean": [0.25], "std": [0.5]}


@pytest.fixture
def write_set(make_metadata):
    """`fn(path, pixels01, boxes=None, soft_labels=None, extra=None) -> path`: a
    3-class, IPC 2 `udd` set of 8 x 8 x 1 images given in [0, 1] units."""

    def write(path, pixels01, boxes=None, soft_labels=None, extra=None):
        metadata = make_metadata(
            dataset="digits",
            image_shape=(8, 8, 1),
            class_names=["zero", "one", "two"],
            normalization=NORMALIZATION,
            extra=extra or {},
        )
        images = Normalization.from_dict(NORMALIZATION).normalize(pixels01)
        labels = np.repeat(np.arange(3), 2)
        return write_synthetic_set(
            path, images, labels, metadata, boxes=boxes, soft_labels=soft_labels
        )

    return write


# Plain TFDS and Keras only: the subprocess must never import udd_keras.
PLAIN_TFDS = textwrap.dedent(
    """
    import sys
    import keras
    import tensorflow as tf
    import tensorflow_datasets as tfds

    data_dir, name = sys.argv[1], sys.argv[2]
    builder = tfds.builder_from_directory(f"{data_dir}/{name}/1.0.0")
    info = builder.info
    train = tfds.load(name, split="train", data_dir=data_dir, as_supervised=True)
    classes = info.features["label"].num_classes
    shape = info.features["image"].shape
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape),
        keras.layers.Rescaling(1.0),
        keras.layers.Flatten(),
        keras.layers.Dense(classes),
    ])
    model.compile(
        "sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    batches = train.map(lambda x, y: (tf.cast(x, tf.float32), y)).batch(16)
    history = model.fit(batches, epochs=1, verbose=0)
    print("examples", info.splits["train"].num_examples)
    print("classes", classes, info.features["label"].names[0])
    print("method", info.metadata["method"], "ipc", info.metadata["ipc"])
    print("loss", history.history["loss"][0])
    print("udd_keras_imported", any(m.startswith("udd_keras") for m in sys.modules))
    """
)


def run_plain_tfds(data_dir, name):
    env = {**os.environ, "PYTHONPATH": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", PLAIN_TFDS, str(data_dir), name],
        capture_output=True,
        text=True,
        cwd=data_dir,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return dict(line.split(" ", 1) for line in result.stdout.splitlines())


@pytest.mark.slow
def test_plain_tfds_loads_a_distilled_set_and_keras_fits_it(tmp_path):
    # The shipped digits set is a distilled one (udd, IPC 1, 10 classes).
    path = export_tfds("digits-ipc1-udd", tmp_path)
    assert path == tmp_path / "digits_ipc1_udd" / "1.0.0"
    printed = run_plain_tfds(tmp_path, "digits_ipc1_udd")
    assert printed["examples"] == "10"
    assert printed["classes"] == "10 0"
    assert printed["method"] == "udd ipc 1"
    assert np.isfinite(float(printed["loss"]))
    assert printed["udd_keras_imported"] == "False"


def test_images_are_the_decoded_set_in_pixel_units_with_soft_labels(
    tmp_path, write_set
):
    import tensorflow_datasets as tfds

    rng = np.random.default_rng(0)
    pixels = rng.uniform(0, 1, (6, 8, 8, 1)).astype("float32")
    boxes = np.tile(np.array([[[0, 0, 4, 4], [2, 2, 8, 8]]], np.int32), (6, 1, 1))
    soft = rng.uniform(0.1, 1, (6, 3)).astype("float32")
    accuracy = {"mean": 0.5, "std": 0.1, "n": 2, "protocol_fingerprint": "abc"}
    source = write_set(
        tmp_path / "set.tfrecord",
        pixels,
        boxes=boxes,
        soft_labels=soft,
        extra={"formation": "tiles", "decode": "regions", "accuracy": accuracy},
    )
    path = export_tfds(source, tmp_path / "tfds", name="my_set")
    builder = tfds.builder_from_directory(path)
    info = builder.info
    assert info.splits["train"].num_examples == 6 * 3  # original + 2 regions
    assert info.features["label"].names == ["zero", "one", "two"]
    assert info.features["image"].dtype == np.float32
    assert info.metadata["formation"] == "tiles"
    assert info.metadata["normalization"] == NORMALIZATION
    assert info.metadata["accuracy"]["protocol_fingerprint"] == "abc"
    assert "50.00 ± 10.00 %" in info.description
    examples = list(tfds.as_numpy(builder.as_dataset(split="train")))
    synthetic = read_synthetic_set(source)
    expected, labels, expected_soft = decode_regions(synthetic, soft_labels=True)
    expected = Normalization.from_dict(NORMALIZATION).denormalize(expected)
    # TFDS shuffles on write: match each example to its decoded image.
    for example in examples:
        distances = np.abs(expected - example["image"]).max(axis=(1, 2, 3))
        match = int(np.argmin(distances))
        assert distances[match] < 1e-6
        assert example["label"] == labels[match]
        np.testing.assert_allclose(example["soft_label"], expected_soft[match])


def test_real_pixels_are_stored_as_uint8_images(tmp_path, write_set):
    import tensorflow_datasets as tfds

    whole = np.random.default_rng(1).integers(0, 256, (6, 8, 8, 1))
    source = write_set(tmp_path / "real.tfrecord", (whole / 255).astype("float32"))
    path = export_tfds(source, tmp_path / "tfds")
    assert path.parent.name == "digits_ipc2_udd"
    builder = tfds.builder_from_directory(path)
    assert isinstance(builder.info.features["image"], tfds.features.Image)
    stored = sorted(
        example["image"].tobytes()
        for example in tfds.as_numpy(builder.as_dataset(split="train"))
    )
    assert stored == sorted(image.astype(np.uint8).tobytes() for image in whole)
    assert is_uint8_exact(whole / 255) and not is_uint8_exact(whole / 255 + 0.001)


def test_an_existing_export_is_kept_unless_overwritten(tmp_path, write_set):
    pixels = np.full((6, 8, 8, 1), 0.5, np.float32)
    source = write_set(tmp_path / "set.tfrecord", pixels)
    path = export_tfds(source, tmp_path / "tfds", name="kept")
    before = (path / "dataset_info.json").read_text()
    with pytest.raises(UddError, match="exists"):
        export_tfds(source, tmp_path / "tfds", name="kept")
    assert (path / "dataset_info.json").read_text() == before
    export_tfds(source, tmp_path / "tfds", name="kept", dtype="uint8", overwrite=True)
    info = json.loads((path / "features.json").read_text())
    assert "Image" in json.dumps(info)
    leftovers = [p.name for p in (tmp_path / "tfds").iterdir()]
    assert leftovers == ["kept"]


def test_bad_name_dtype_and_source_are_one_line_errors(tmp_path, write_set):
    source = write_set(tmp_path / "set.tfrecord", np.zeros((6, 8, 8, 1), np.float32))
    with pytest.raises(UddError, match="got 'My-Set'"):
        export_tfds(source, tmp_path, name="My-Set")
    with pytest.raises(UddError, match="auto, uint8, float32; got 'int8'"):
        export_tfds(source, tmp_path, dtype="int8")
    with pytest.raises(UddError, match="shipped sets: .*digits-ipc1-udd"):
        export_tfds("no-such-set", tmp_path)
    assert not list(pathlib.Path(tmp_path).glob(".*tmp"))


def test_names_become_tfds_names():
    assert tfds_name("fashion_mnist-ipc1-udd") == "fashion_mnist_ipc1_udd"
    assert tfds_name("10-Classes") == "set_10_classes"
