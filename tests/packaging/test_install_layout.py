"""The wheel installs only `udd_keras` (with `cli` and `tfrecords` inside it)."""

import importlib.util
import pathlib
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_generic_names_are_not_importable_outside_the_repository(tmp_path):
    for name in ("cli", "tfrecords"):
        result = subprocess.run(
            [sys.executable, "-c", f"import {name}"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert result.returncode != 0
        assert f"No module named '{name}'" in result.stderr
    result = subprocess.run(
        [sys.executable, "-c", "import udd_keras.cli.main, udd_keras.tfrecords"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_built_wheel_has_a_single_top_level_package(tmp_path):
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("setuptools is needed to build the wheel without network")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("udd_keras-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert {n for n in top_level if not n.endswith(".dist-info")} == {"udd_keras"}
    assert "udd_keras/cli/main.py" in names
    assert "udd_keras/tfrecords/reader.py" in names
    assert "udd_keras/tfrecords/README.md" in names
    for init in sorted((ROOT / "udd_keras").glob("*/__init__.py")):
        assert f"udd_keras/{init.parent.name}/__init__.py" in names
    # The shipped sets are package data of `udd_keras.sets`.
    assert "udd_keras/sets/data/index.json" in names
    for shipped in sorted((ROOT / "udd_keras" / "sets" / "data").glob("*.tfrecord")):
        assert f"udd_keras/sets/data/{shipped.name}" in names
