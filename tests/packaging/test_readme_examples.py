"""Every Python example in the README and the guides runs from a clone's root.

A new user clones the repository, installs it (`pip install .` or
`pip install -e .`) and runs the README's examples from the clone's folder, where
the local `udd_keras/` shadows the installed package. Each test builds a fresh
virtual environment whose only new package is udd-keras (its dependencies are
borrowed from this environment through a `.pth` line, so nothing is downloaded),
copies the repository's source layout to a temporary "clone", and runs the
README's Python blocks, then those of the guides that hold examples (they use the
set the README's examples distil), in order, as one script from that clone's root.
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import venv

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCE_LAYOUT = ("udd_keras", "cli", "tfrecords", "docs", "README.md", "pyproject.toml")
# The guides whose ```python blocks are examples to run (the others show signatures).
GUIDES_WITH_EXAMPLES = ("docs/distillation.md", "docs/evaluation.md")
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def readme_python_examples(readme=ROOT / "README.md"):
    """The README's ```python blocks, in order."""
    return PYTHON_BLOCK.findall(readme.read_text())


def python_examples(root=ROOT):
    """The README's ```python blocks, then the guides', in order."""
    blocks = readme_python_examples(root / "README.md")
    for guide in GUIDES_WITH_EXAMPLES:
        blocks += PYTHON_BLOCK.findall((root / guide).read_text())
    return blocks


def make_clone(destination):
    """Copies the files a clone has that the install and the examples use."""
    destination.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in SOURCE_LAYOUT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=ignore)
        else:
            shutil.copy2(source, destination / name)
    return destination


def fresh_venv(directory):
    """A venv without udd-keras; this environment's packages are visible to it."""
    venv.EnvBuilder(with_pip=False).create(directory)
    python = directory / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # A path line in a .pth file is appended to sys.path but is not a site dir, so
    # this environment's own editable install of udd-keras is not activated there.
    dependencies = sysconfig.get_paths()["purelib"]
    pathlib.Path(purelib, "dependencies.pth").write_text(dependencies + "\n")
    return python


def pip_install(python, *args):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            *args,
        ],
        check=True,
        capture_output=True,
    )


def run_examples(python, clone):
    script = "\n\n".join(python_examples(clone))
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    environment.pop("PYTHONPATH", None)
    result = subprocess.run(
        [python, "-c", script],
        cwd=clone,
        capture_output=True,
        text=True,
        env=environment,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_readme_has_python_examples():
    blocks = readme_python_examples()
    assert len(blocks) >= 2
    assert any("udd_keras.tfrecords" in block for block in blocks)


@pytest.mark.parametrize("guide", GUIDES_WITH_EXAMPLES)
def test_guides_have_python_examples(guide):
    assert PYTHON_BLOCK.findall((ROOT / guide).read_text())


def test_source_tree_finds_cli_and_tfrecords_without_an_install(tmp_path):
    clone = make_clone(tmp_path / "clone")
    python = fresh_venv(tmp_path / "venv")
    result = subprocess.run(
        [
            python,
            "-c",
            "import udd_keras, udd_keras.tfrecords.schema, udd_keras.cli.main;"
            "print(udd_keras.__file__); print(udd_keras.tfrecords.__file__)",
        ],
        cwd=clone,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    package, tfrecords = result.stdout.split()
    assert pathlib.Path(package).parent == clone / "udd_keras"
    assert pathlib.Path(tfrecords).parent == clone / "tfrecords"


@pytest.mark.slow
def test_readme_examples_run_from_the_clone_root_after_installing_the_wheel(
    tmp_path,
):
    clone = make_clone(tmp_path / "clone")
    wheels = tmp_path / "wheels"
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
            str(wheels),
            str(clone),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("udd_keras-*.whl")
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, str(wheel))
    run_examples(python, clone)
    assert (clone / "runs" / "digits" / "synthetic.tfrecord").is_file()


@pytest.mark.slow
@pytest.mark.exhaustive  # The same examples as above; only the install differs.
def test_readme_examples_run_from_the_clone_root_after_an_editable_install(
    tmp_path,
):
    clone = make_clone(tmp_path / "clone")
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, "-e", str(clone))
    run_examples(python, clone)
    assert (clone / "runs" / "digits" / "synthetic.tfrecord").is_file()
