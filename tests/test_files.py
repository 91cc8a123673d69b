import os
import stat

import pytest

from udd_keras.files import atomic_path, atomic_write_json


def test_atomic_write_leaves_no_temporary_and_is_world_readable(tmp_path):
    path = atomic_write_json(tmp_path / "sub" / "report.json", {"a": 1})
    assert path.read_text() == '{\n  "a": 1\n}\n'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]


def test_failure_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
