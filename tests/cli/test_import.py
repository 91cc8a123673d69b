"""`udd-keras import`: every source kind round-trips through evaluate and mue."""

import json
import sys

import numpy as np
import pytest
import tensorflow as tf

from udd_keras.cli.main import main
from udd_keras.tfrecords import as_tf_dataset, read_metadata

EVALUATE_FAST = ["--epochs", "1", "--repeats", "1", "--width", "4", "--no-augment"]
MUE_FAST = ["--epochs", "1", "--width", "8"]
DIGITS_STATS = ["--mean", "0.3", "--std", "0.4"]  # what the .pt sets below use


def run(argv, capsys):
    """Runs the CLI; returns (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def unit_nchw(seed=0, ipc=1):
    rng = np.random.default_rng(seed)
    return rng.random((10 * ipc, 1, 8, 8)).astype(np.float32)


def class_ids(ipc=1):
    return np.repeat(np.arange(10), ipc)


def npz_source(folder):
    path = folder / "set.npz"
    np.savez(path, images=unit_nchw(), labels=class_ids())
    return path, []


def folder_source(folder):
    root = folder / "images"
    for label, image in zip(class_ids(), unit_nchw(), strict=True):
        (root / str(label)).mkdir(parents=True)
        pixels = np.round(np.transpose(image, (1, 2, 0)) * 255).astype(np.uint8)
        (root / str(label) / "0.png").write_bytes(tf.io.encode_png(pixels).numpy())
    return root, []


def dc_source(folder):
    """`res_DSA_<dataset>_ConvNet_1ipc.pt` as DC/DSA/DM's main.py saves it."""
    torch = pytest.importorskip("torch")
    images = torch.tensor((unit_nchw() - 0.3) / 0.4)
    labels = torch.tensor(class_ids(), dtype=torch.long)
    path = folder / "res_DSA_digits_ConvNet_1ipc.pt"
    accs = {"ConvNet": [np.float64(0.5)]}
    torch.save({"data": [[images, labels]], "accs_all_exps": accs}, path)
    return path, DIGITS_STATS


def idc_source(folder):
    """`<save_dir>/data.pt` as IDC's condense.py saves it (raw pixels, factor 2)."""
    torch = pytest.importorskip("torch")
    save_dir = folder / "conv3in_grad_mse_nd500_factor2_lr0.005_mix_ipc1"
    save_dir.mkdir()
    data = [torch.tensor(unit_nchw()), torch.tensor(class_ids(), dtype=torch.long)]
    torch.save(data, save_dir / "data.pt")
    return save_dir / "data.pt", []


def mtt_source(folder):
    """`images_best.pt` and `labels_best.pt` as MTT's distill.py saves them."""
    torch = pytest.importorskip("torch")
    run_dir = folder / "logged_files" / "digits" / "run-1"
    run_dir.mkdir(parents=True)
    torch.save(torch.tensor((unit_nchw() - 0.3) / 0.4), run_dir / "images_best.pt")
    torch.save(torch.tensor(class_ids(), dtype=torch.long), run_dir / "labels_best.pt")
    return run_dir / "images_best.pt", ["--no-zca", *DIGITS_STATS]


SOURCES = {
    "npz": (npz_source, 10),
    "folder": (folder_source, 10),
    "dc": (dc_source, 10),
    "idc": (idc_source, 40),
    "mtt": (mtt_source, 10),
}


@pytest.mark.parametrize("kind", list(SOURCES))
def test_imported_set_is_read_by_evaluate_mue_and_tf_data(kind, tmp_path, capsys):
    make_source, decoded = SOURCES[kind]
    source, options = make_source(tmp_path)
    out = tmp_path / f"{kind}.tfrecord"

    code, stdout, stderr = run(
        ["import", str(source), "--dataset", "digits", "--out", str(out), *options],
        capsys,
    )

    assert code == 0, stderr
    assert stdout.startswith(f"Imported 10 images of digits (1 per class; {kind}")
    assert f"decoding to {decoded} training images: {out}" in stdout
    meta = read_metadata(out)
    assert (meta.dataset, meta.ipc, meta.num_images) == ("digits", 1, 10)
    pixels = np.stack([image for image, _ in as_tf_dataset(out)]) * np.float32(
        meta.normalization["std"][0]
    ) + np.float32(meta.normalization["mean"][0])
    expected = np.transpose(unit_nchw(), (0, 2, 3, 1))
    np.testing.assert_allclose(
        pixels, expected, atol=1 / 255 if kind == "folder" else 1e-5
    )
    assert len(list(as_tf_dataset(out, decode_regions=True))) == decoded

    report = tmp_path / "eval.json"
    code, _, stderr = run(
        ["evaluate", str(out), *EVALUATE_FAST, "--json", str(report)]
        + ["--png", str(tmp_path / "eval.png")],
        capsys,
    )
    assert code == 0, stderr
    data = json.loads(report.read_text())
    assert (data["dataset"], data["ipc"]) == ("digits", 1)
    assert data["settings"]["training_images"] == decoded

    report = tmp_path / "mue.json"
    code, _, stderr = run(["mue", str(out), *MUE_FAST, "--json", str(report)], capsys)
    assert code == 0, stderr
    entry = json.loads(report.read_text())["sets"][0]
    assert len(entry["per_image_mue"]) == 10


def test_dc_experiment_and_method_options(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    runs = [
        [torch.tensor(unit_nchw(seed)), torch.tensor(class_ids())] for seed in (0, 1)
    ]
    path = tmp_path / "res_DM_digits_ConvNet_1ipc.pt"
    torch.save({"data": runs, "accs_all_exps": {}}, path)
    out = tmp_path / "dm.tfrecord"
    argv = ["import", str(path), "--dataset", "digits", "--out", str(out)]
    code, stdout, stderr = run(
        [
            *argv,
            "--experiment",
            "0",
            "--method",
            "dm-run0",
            "--mean",
            "0",
            "--std",
            "1",
        ],
        capsys,
    )
    assert code == 0, stderr
    assert "dc, normalised (--mean/--std), experiment 0 of 0..1)" in stdout
    meta = read_metadata(out)
    assert meta.method == "dm-run0" and meta.extra["imported"]["experiment"] == 0


def assert_one_line_error(code, stderr, message):
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: ") and message in lines[0], stderr


@pytest.mark.parametrize(
    "arrays, options, message",
    [
        ({}, ["--dataset", "digitz"], "unknown dataset 'digitz'"),
        (
            {"images": np.zeros((10, 3, 32, 32), np.float32)},
            [],
            "do not fit the dataset's 8x8 images with 1 channel(s); expected "
            "(N, 8, 8, 1) (NHWC) or (N, 1, 8, 8) (NCHW)",
        ),
        (
            {"images": np.full((10, 8, 8), np.inf, np.float32)},
            [],
            "images hold 640 NaN or infinite value(s)",
        ),
        (
            {"labels": np.arange(1, 11)},
            [],
            "label 10 outside the dataset's classes 0..9",
        ),
        ({"labels": np.zeros(10, int)}, [], "class 1 ('1') has no images"),
        (
            {},
            ["--mean", "0.5,x", "--std", "1"],
            "--mean: '0.5,x' is not a comma-separated list of numbers",
        ),
        ({}, ["--format", "folder"], "format 'folder' needs a folder"),
    ],
)
def test_mistakes_are_one_line_errors_and_write_nothing(
    tmp_path, capsys, arrays, options, message
):
    source = tmp_path / "set.npz"
    np.savez(source, **{"images": unit_nchw(), "labels": class_ids(), **arrays})
    out = tmp_path / "out" / "set.tfrecord"
    argv = ["import", str(source), "--out", str(out)]
    if "--dataset" not in options:
        argv += ["--dataset", "digits"]
    code, _, stderr = run([*argv, *options], capsys)
    assert_one_line_error(code, stderr, message)
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_pt_without_torch_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    path = tmp_path / "data.pt"
    path.write_bytes(b"\x80\x02")
    monkeypatch.setitem(sys.modules, "torch", None)
    out = tmp_path / "set.tfrecord"
    code, _, stderr = run(
        ["import", str(path), "--dataset", "digits", "--out", str(out)], capsys
    )
    assert_one_line_error(code, stderr, "pip install 'udd-keras[torch]'")
    assert not out.exists()
