"""`.pt` files of DC/DSA/DM, IDC and MTT, saved as each code base saves them."""

import numpy as np
import pytest

from udd_keras.importing import SetImportError, import_set
from udd_keras.importing.conventions import codebase_normalization
from udd_keras.importing.pt_formats import detect_pt_format, mtt_labels_path
from udd_keras.tfrecords import (
    as_tf_dataset,
    read_synthetic_set,
)

torch = pytest.importorskip("torch")

DIGITS_STATS = {"mean": [0.3], "std": [0.4]}  # DC has no digits: say the stats


def nchw_unit(rng, count, channels=1, side=8):
    return rng.random((count, channels, side, side)).astype(np.float32)


def as_unit(path):
    synthetic = read_synthetic_set(path)
    mean = np.asarray(synthetic.metadata.normalization["mean"], np.float32)
    std = np.asarray(synthetic.metadata.normalization["std"], np.float32)
    return synthetic.images * std + mean, synthetic


def test_dc_file_imports_the_last_experiment_by_default(
    tmp_path, rng, digits, save_dc, dc_labels
):
    labels = dc_labels(10, 2).numpy()
    runs = [nchw_unit(rng, 20), nchw_unit(rng, 20)]
    stored = [(run - 0.3) / 0.4 for run in runs]
    path = save_dc(tmp_path, [(s, labels) for s in stored], method="DSA")

    result = import_set(path, digits, tmp_path / "last.tfrecord", **DIGITS_STATS)

    back, synthetic = as_unit(result.path)
    np.testing.assert_allclose(back, np.transpose(runs[1], (0, 2, 3, 1)), atol=1e-5)
    np.testing.assert_array_equal(synthetic.labels, labels)
    meta = synthetic.metadata
    assert (meta.method, meta.ipc, result.source_format) == ("dsa", 2, "dc")
    assert meta.extra["imported"]["experiment"] == 1
    assert meta.extra["imported"]["experiments"] == 2

    first = import_set(
        path, digits, tmp_path / "first.tfrecord", experiment=0, **DIGITS_STATS
    )
    back, _ = as_unit(first.path)
    np.testing.assert_allclose(back, np.transpose(runs[0], (0, 2, 3, 1)), atol=1e-5)
    with pytest.raises(SetImportError, match=r"experiment 2 out of range: .* 0..1"):
        import_set(path, digits, tmp_path / "x.tfrecord", experiment=2, **DIGITS_STATS)


def test_dc_uses_its_own_constants_for_known_datasets(tmp_path, rng, save_dc, make_toy):
    # DC's CIFAR-100 stats differ from CIFAR-10's; the toy dataset is named
    # cifar100 so the file name and the table apply.
    dataset = make_toy("cifar100", shape=(4, 4, 3), num_classes=3)
    unit = nchw_unit(rng, 3, channels=3, side=4)
    norm = codebase_normalization("dc", "cifar100")
    mean = np.asarray(norm.mean, np.float32)[:, None, None]
    std = np.asarray(norm.std, np.float32)[:, None, None]
    path = save_dc(tmp_path, [((unit - mean) / std, np.arange(3))], "DM", "CIFAR100")

    back, synthetic = as_unit(import_set(path, dataset, tmp_path / "o.tfrecord").path)

    np.testing.assert_allclose(back, np.transpose(unit, (0, 2, 3, 1)), atol=1e-5)
    assert synthetic.metadata.method == "dm"
    imported = synthetic.metadata.extra["imported"]
    assert imported["source_normalization"] == norm.to_dict()


def test_dc_file_of_another_dataset_is_refused(tmp_path, rng, save_dc, make_toy):
    dataset = make_toy("fashion_mnist", shape=(8, 8, 1), num_classes=3)
    path = save_dc(tmp_path, [(nchw_unit(rng, 3), np.arange(3))], "DC", "MNIST")
    with pytest.raises(SetImportError, match="says it holds 'mnist', not 'fashion"):
        import_set(path, dataset, tmp_path / "o.tfrecord")


def test_dc_without_known_constants_asks_for_mean_and_std(
    tmp_path, rng, digits, save_dc
):
    path = save_dc(tmp_path, [(nchw_unit(rng, 10), np.arange(10))])
    with pytest.raises(
        SetImportError, match="no known dc normalisation for dataset 'digits'; pass"
    ):
        import_set(path, digits, tmp_path / "o.tfrecord")


def test_idc_raw_tiles_with_factor_from_its_folder_name(
    tmp_path, rng, digits, save_idc
):
    unit = rng.uniform(-0.05, 1.05, (10, 1, 8, 8)).astype(np.float32)  # unclamped
    path = save_idc(tmp_path, unit, np.arange(10), tag="_factor2")

    result = import_set(path, digits, tmp_path / "idc.tfrecord")

    back, synthetic = as_unit(result.path)
    np.testing.assert_allclose(back, np.transpose(unit, (0, 2, 3, 1)), atol=1e-5)
    meta = synthetic.metadata
    assert (meta.method, meta.include_original) == ("idc", False)
    assert meta.extra["factor"] == 2 and meta.extra["decode_type"] == "single"
    assert synthetic.boxes.shape == (10, 4, 4)
    assert result.decoded_images == 40
    assert len(list(as_tf_dataset(result.path, decode_regions=True))) == 40


def test_idc_multi_tag_and_explicit_factor(tmp_path, rng, digits, save_idc):
    path = save_idc(tmp_path, nchw_unit(rng, 10), np.arange(10), tag="_factor2_multi")
    result = import_set(path, digits, tmp_path / "m.tfrecord")
    meta = read_synthetic_set(result.path).metadata
    assert meta.include_original and meta.extra["decode_type"] == "multi"
    assert result.decoded_images == 10 * 5
    with pytest.raises(SetImportError, match="factor 3 contradicts 2 in the folder"):
        import_set(path, digits, tmp_path / "x.tfrecord", factor=3)


def test_idc_without_a_factor_asks_for_it(tmp_path, rng, digits, save_idc):
    path = save_idc(tmp_path, nchw_unit(rng, 10), np.arange(10), tag="")
    out = tmp_path / "o.tfrecord"
    with pytest.raises(
        SetImportError, match="needs its multi-formation factor.*--factor"
    ):
        import_set(path, digits, out)
    assert not out.exists()
    result = import_set(path, digits, out, factor=1)
    assert result.decoded_images == 10 and result.metadata.include_original


def test_idc_bound_decoding_is_refused(tmp_path, rng, digits, save_idc):
    path = save_idc(tmp_path, nchw_unit(rng, 10), np.arange(10), tag="_factor2_bound")
    with pytest.raises(SetImportError, match="decode type 'bound' is not supported"):
        import_set(path, digits, tmp_path / "o.tfrecord")


def test_mtt_images_and_labels_best(tmp_path, rng, save_mtt, make_toy, dc_labels):
    dataset = make_toy("cifar100", shape=(4, 4, 3), num_classes=3)
    unit = nchw_unit(rng, 6, channels=3, side=4)
    # MTT normalises CIFAR-100 with CIFAR-10's statistics.
    norm = codebase_normalization("mtt", "cifar100")
    assert norm == codebase_normalization("dc", "cifar10")
    mean = np.asarray(norm.mean, np.float32)[:, None, None]
    std = np.asarray(norm.std, np.float32)[:, None, None]
    labels = dc_labels(3, 2)
    path = save_mtt(tmp_path, (unit - mean) / std, labels, dataset="CIFAR100")

    result = import_set(path, dataset, tmp_path / "mtt.tfrecord", zca=False)

    back, synthetic = as_unit(result.path)
    np.testing.assert_allclose(back, np.transpose(unit, (0, 2, 3, 1)), atol=1e-5)
    np.testing.assert_array_equal(synthetic.labels, labels.numpy())
    assert synthetic.metadata.method == "mtt" and result.source_format == "mtt"
    assert synthetic.metadata.extra["imported"]["labels_file"].endswith(
        "labels_best.pt"
    )


def test_mtt_zca_needs_the_unwhitened_file(tmp_path, rng, save_mtt, make_toy):
    dataset = make_toy("cifar10", shape=(4, 4, 3), num_classes=3)
    whitened = rng.normal(size=(3, 3, 4, 4)).astype(np.float32)
    unit = nchw_unit(rng, 3, channels=3, side=4)
    path = save_mtt(tmp_path, whitened, np.arange(3), tag="5000", zca_images=unit)
    out = tmp_path / "o.tfrecord"
    with pytest.raises(SetImportError, match="pass --no-zca .* images_zca_<iter"):
        import_set(path, dataset, out)
    with pytest.raises(SetImportError, match="cannot be recovered; .* images_zca_5000"):
        import_set(path, dataset, out, zca=True)
    assert not out.exists()

    result = import_set(path.with_name("images_zca_5000.pt"), dataset, out)

    back, synthetic = as_unit(result.path)
    np.testing.assert_allclose(back, np.transpose(unit, (0, 2, 3, 1)), atol=1e-5)
    assert synthetic.metadata.extra["imported"]["unwhitened"] is True


def test_mtt_labels_file_must_exist_or_be_given(tmp_path, rng, digits, save_mtt):
    path = save_mtt(tmp_path, nchw_unit(rng, 10), np.arange(10))
    moved = path.rename(tmp_path / "synthetic.pt")
    with pytest.raises(SetImportError, match="labels file is unknown; pass .*--labels"):
        import_set(moved, digits, tmp_path / "o.tfrecord", zca=False, **DIGITS_STATS)
    result = import_set(
        moved,
        digits,
        tmp_path / "o.tfrecord",
        labels=path.with_name("labels_best.pt"),
        **DIGITS_STATS,
    )
    assert result.metadata.ipc == 1
    assert mtt_labels_path("x/images_zca_7.pt").name == "labels_7.pt"


def test_a_2d_float_label_tensor_is_soft_labels(tmp_path, rng, digits, save_mtt):
    soft = rng.dirichlet(np.ones(10) * 0.1, size=10).astype(np.float32)
    soft[np.arange(10), np.arange(10)] += 5
    soft /= soft.sum(axis=1, keepdims=True)
    path = save_mtt(tmp_path, nchw_unit(rng, 10), torch.tensor(soft))
    result = import_set(path, digits, tmp_path / "s.tfrecord", **DIGITS_STATS)
    synthetic = read_synthetic_set(result.path)
    np.testing.assert_array_equal(synthetic.labels, np.arange(10))
    np.testing.assert_allclose(synthetic.soft_labels, soft, rtol=1e-6)


def test_detection_and_forced_formats(tmp_path, rng, digits, save_idc, save_dc):
    idc = save_idc(tmp_path, nchw_unit(rng, 10), np.arange(10))
    dc = save_dc(tmp_path, [(nchw_unit(rng, 10), np.arange(10))])
    assert detect_pt_format({"data": []}, "p") == "dc"
    assert detect_pt_format([torch.zeros(1), torch.zeros(1)], "p") == "idc"
    assert detect_pt_format(torch.zeros(1, 1, 1, 1), "p") == "mtt"
    with pytest.raises(SetImportError, match=r"a tensor of shape \(3,\) is no layout"):
        detect_pt_format(torch.zeros(3), "p")
    with pytest.raises(
        SetImportError, match="a dict with keys 'data', 'accs_all_exps'; an IDC data.pt"
    ):
        import_set(dc, digits, tmp_path / "o.tfrecord", source_format="idc")
    with pytest.raises(SetImportError, match=r"'data' list of \[images, labels\]"):
        import_set(idc, digits, tmp_path / "o.tfrecord", source_format="dc")
