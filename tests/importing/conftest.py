"""Fixtures: small datasets, and `.pt` files saved the way each code base saves them.

The savers copy the calls of the code bases (read, not copied, from their
sources): DC/DSA/DM `main.py` / `main_DM.py`, IDC `condense.py`, MTT `distill.py`.
"""

import pathlib

import numpy as np
import pytest

from udd_keras.data import ImageDataset, Normalization, load_dataset


@pytest.fixture(scope="session")
def digits():
    return load_dataset("digits")


def make_toy_dataset(name="toy", shape=(4, 4, 3), num_classes=3, norm=None):
    """A tiny `ImageDataset` (no real images needed to import into it)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(num_classes * 2, *shape)).astype(np.float32)
    y = np.repeat(np.arange(num_classes), 2).astype(np.int32)
    channels = shape[2]
    norm = norm or Normalization(mean=(0.5,) * channels, std=(0.25,) * channels)
    return ImageDataset(
        name=name,
        x_train=x,
        y_train=y,
        x_test=x,
        y_test=y,
        class_names=[f"class{i}" for i in range(num_classes)],
        normalization=norm,
    )


@pytest.fixture
def toy():
    return make_toy_dataset()


@pytest.fixture
def make_toy():
    """`make_toy_dataset`, for tests that need a dataset of a given name."""
    return make_toy_dataset


@pytest.fixture
def dc_labels():
    """DC's `label_syn` as built in its main.py: `[0]*ipc + [1]*ipc + ...`, int64."""
    torch = pytest.importorskip("torch")

    def labels(num_classes, ipc):
        return torch.tensor(
            np.array([np.ones(ipc) * i for i in range(num_classes)]), dtype=torch.long
        ).view(-1)

    return labels


@pytest.fixture
def save_dc():
    """Saves `res_<method>_<dataset>_ConvNet_<ipc>ipc.pt` like DC/DSA/DM do.

    Returns a function `(folder, experiments, method, dataset) -> path`, where
    `experiments` is a list of `(images NCHW numpy, labels numpy)`.
    """
    torch = pytest.importorskip("torch")

    def save(folder, experiments, method="DSA", dataset="digits"):
        data_save = []
        accs_all_exps = {"ConvNet": []}
        for images, labels in experiments:
            image_syn = torch.tensor(images, dtype=torch.float, requires_grad=True)
            label_syn = torch.as_tensor(labels)
            data_save.append([image_syn.detach().cpu(), label_syn.cpu()])
            # DC's accuracies are numpy float64 (utils.epoch divides numpy sums).
            accs_all_exps["ConvNet"] += [np.float64(0.25), np.float64(0.5)]
        ipc = len(experiments[0][1]) // len(np.unique(experiments[0][1]))
        path = pathlib.Path(folder) / f"res_{method}_{dataset}_ConvNet_{ipc}ipc.pt"
        torch.save({"data": data_save, "accs_all_exps": accs_all_exps}, path)
        return path

    return save


@pytest.fixture
def save_idc():
    """Saves `<save_dir>/data.pt` like IDC's `condense.py`; returns its path."""
    torch = pytest.importorskip("torch")

    def save(folder, images, labels, tag="_factor2"):
        save_dir = (
            pathlib.Path(folder) / f"conv3in_grad_mse_nd2000_cut{tag}_lr0.005_mix"
        )
        save_dir.mkdir(parents=True, exist_ok=True)
        data = torch.tensor(images, dtype=torch.float, requires_grad=True)
        targets = torch.as_tensor(labels, dtype=torch.long)
        torch.save([data.detach().cpu(), targets.cpu()], save_dir / "data.pt")
        return save_dir / "data.pt"

    return save


@pytest.fixture
def save_mtt():
    """Saves `logged_files/<dataset>/<run>/images_<tag>.pt` and `labels_<tag>.pt`.

    Like MTT's `distill.py`; `zca_images` are also saved as `images_zca_<tag>.pt`
    (MTT's un-whitened copy). Returns the images path.
    """
    torch = pytest.importorskip("torch")

    def save(folder, images, labels, dataset="CIFAR10", tag="best", zca_images=None):
        run = pathlib.Path(folder) / "logged_files" / dataset / "fluent-sun-1"
        run.mkdir(parents=True, exist_ok=True)
        image_syn = torch.tensor(images, dtype=torch.float, requires_grad=True)
        with torch.no_grad():
            torch.save(image_syn.cpu(), run / f"images_{tag}.pt")
            torch.save(torch.as_tensor(labels).cpu(), run / f"labels_{tag}.pt")
            if zca_images is not None:
                torch.save(torch.tensor(zca_images), run / f"images_zca_{tag}.pt")
        return run / f"images_{tag}.pt"

    return save
