"""`.pt` files are read with weights_only=True: no pickled code ever runs."""

import sys
import zipfile

import numpy as np
import pytest

from udd_keras.importing import SetImportError
from udd_keras.importing.torch_files import INSTALL_HINT, load_pt


def test_without_torch_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` fails
    with pytest.raises(SetImportError) as error:
        load_pt(tmp_path / "data.pt")
    assert str(error.value) == (
        "reading .pt files needs PyTorch, which is not installed: "
        "pip install 'udd-keras[torch]'"
    )
    assert INSTALL_HINT == "pip install 'udd-keras[torch]'"


class _Payload:
    """Unpickling this would create `marker`: what a malicious file could do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_code_is_refused_and_never_runs(tmp_path):
    torch = pytest.importorskip("torch")
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pt"
    torch.save({"data": [[torch.zeros(1, 1, 2, 2), _Payload(marker)]]}, path)
    with pytest.raises(SetImportError, match=r"evil.pt: holds Python objects .*open"):
        load_pt(path)
    assert not marker.exists()


def _rename_global(path, old, new):
    """Rewrites a pickled global's name inside a torch zip file (protocol 2)."""
    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info.filename)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as target:
        for info, data in entries:
            if info.filename.endswith("data.pkl"):
                assert old in data
                data = data.replace(old, new)
            target.writestr(info, data)


def test_numpy_scalars_of_numpy_1_and_2_load(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "res.pt"
    accs = {"ConvNet": [np.float64(0.5), np.float32(0.25), np.int64(3)]}
    torch.save({"data": [], "accs_all_exps": accs}, path)
    assert load_pt(path)["accs_all_exps"] == accs
    # Files written under numpy 1.x name numpy.core.multiarray.scalar.
    if b"numpy._core" in zipfile.ZipFile(path).read("res/data.pkl"):
        _rename_global(
            path,
            b"cnumpy._core.multiarray\nscalar",
            b"cnumpy.core.multiarray\nscalar",
        )
        assert load_pt(path)["accs_all_exps"] == accs


def test_a_file_that_is_not_a_pt_file(tmp_path):
    pytest.importorskip("torch")
    path = tmp_path / "data.pt"
    path.write_bytes(b"not a zip file and not a pickle either")
    with pytest.raises(SetImportError, match="data.pt: not a readable PyTorch .pt"):
        load_pt(path)
