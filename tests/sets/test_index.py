"""The shipped-set index: names, paths, and resolving a file or a name."""

import json

import pytest

from udd_keras.errors import UddError
from udd_keras.sets import index


def write_index(folder, names):
    """An index of `names` in `folder`, each with an (empty) set file."""
    entries = {}
    for name in names:
        (folder / f"{name}.tfrecord").write_bytes(b"")
        entries[name] = {
            "file": f"{name}.tfrecord",
            "dataset": "digits",
            "ipc": 1,
            "method": "udd",
            "num_classes": 10,
            "accuracy": {"mean": 0.8, "std": 0.01, "n": 5, "split": "test"},
            "command": f"python -m udd_keras.sets.make {name}",
        }
    (folder / "index.json").write_text(json.dumps({"format": 1, "sets": entries}))
    return folder


def test_a_name_resolves_to_its_file(tmp_path):
    folder = write_index(tmp_path, ["digits-ipc1-udd", "digits-ipc10-udd"])
    path = index.resolve("digits-ipc10-udd", folder)
    assert path == folder / "digits-ipc10-udd.tfrecord"
    assert index.is_shipped(path, folder)


def test_an_existing_file_wins_over_a_name(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir()
    write_index(folder, ["digits-ipc1-udd"])
    monkeypatch.chdir(tmp_path)
    (tmp_path / "digits-ipc1-udd").write_bytes(b"")
    found = index.resolve("digits-ipc1-udd", folder)
    assert found.resolve() == tmp_path / "digits-ipc1-udd"
    assert not index.is_shipped(tmp_path / "digits-ipc1-udd", folder)


def test_neither_file_nor_name_is_one_line_listing_the_names(tmp_path):
    folder = write_index(tmp_path, ["digits-ipc1-udd", "digits-ipc10-udd"])
    with pytest.raises(UddError) as error:
        index.resolve("digits-ipc5-udd", folder)
    message = str(error.value)
    assert "\n" not in message
    assert "'digits-ipc5-udd'" in message
    assert "digits-ipc1-udd, digits-ipc10-udd" in message


def test_list_reads_accuracy_and_command(tmp_path):
    folder = write_index(tmp_path, ["b-ipc1-udd", "a-ipc1-udd"])
    listed = index.list_sets(folder)
    assert [s.name for s in listed] == ["a-ipc1-udd", "b-ipc1-udd"]
    assert listed[0].accuracy["mean"] == 0.8
    assert listed[0].command == "python -m udd_keras.sets.make a-ipc1-udd"
    assert listed[0].check == {}


def test_a_missing_file_names_the_command_that_remakes_it(tmp_path):
    folder = write_index(tmp_path, ["digits-ipc1-udd"])
    (folder / "digits-ipc1-udd.tfrecord").unlink()
    with pytest.raises(UddError, match="python -m udd_keras.sets.make digits-ipc1-udd"):
        index.path("digits-ipc1-udd", folder)


def test_a_folder_without_index_ships_nothing(tmp_path):
    assert index.names(tmp_path) == []
    with pytest.raises(UddError, match="shipped sets: none"):
        index.resolve("anything", tmp_path)


def test_a_broken_index_is_an_error_naming_it(tmp_path):
    (tmp_path / "index.json").write_text("{not json")
    with pytest.raises(UddError, match="index.json"):
        index.names(tmp_path)
