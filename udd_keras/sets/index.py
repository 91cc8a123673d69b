"""The index of shipped sets: names, files, measured accuracy, how each was made.

Shipped sets are synthetic-set TFRecords installed with the package, in
`udd_keras/sets/data/<name>.tfrecord`, beside one `index.json` that holds, per
set, its measured accuracy and the exact command that made it (written by
`udd_keras.sets.make`). This module reads that index; it imports no TensorFlow,
so that the command line resolves set names without it.

`index.json`:

```json
{
  "format": 1,
  "sets": {
    "digits-ipc1-udd": {
      "file": "digits-ipc1-udd.tfrecord",
      "sha256": "...",
      "dataset": "digits", "ipc": 1, "method": "udd", "num_classes": 10,
      "accuracy": {"mean": 0.84, "std": 0.01, "n": 5, "split": "test",
                   "epochs": 300, "model": "convnet3", "width": 128,
                   "seeds": [0, 1, 2, 3, 4], "protocol_fingerprint": "..."},
      "check": {"mean": 0.80, "std": 0.02, "n": 3, "epochs": 30, "width": 16,
                "seeds": [0, 1, 2], "range": [0.70, 0.90]},
      "command": "python -m udd_keras.sets.make digits-ipc1-udd --preset quick",
      "distillation": {...}, "made": {...}
    }
  }
}
```

Accuracies are fractions in [0, 1]. `check` is the same set measured under a
short recipe (few epochs, a narrow network), with the range a re-run of one of
its seeds is expected to land in: a fast test that the shipped file still
trains to what the index says.
"""

import dataclasses
import json
import os
import pathlib

from udd_keras.errors import UddError

# Where the shipped set files and their index live (package data).
DATA_DIR = pathlib.Path(__file__).resolve().parent / "data"
INDEX_FILE = "index.json"
INDEX_FORMAT = 1


@dataclasses.dataclass(frozen=True)
class ShippedSet:
    """One shipped set, as its index entry describes it.

    Attributes:
        name: str, e.g. `"digits-ipc1-udd"` (`<dataset>-ipc<N>-<method>`).
        path: `pathlib.Path` of its TFRecord file.
        dataset: str, the source dataset (`udd_keras.data.load_dataset` name).
        ipc: int, stored images per class.
        method: str, how it was made (`"udd"`, `"idc"`, ...).
        num_classes: int.
        accuracy: dict, the measured test accuracy: `mean`, `std` (fractions),
            `n` (runs), `split`, `epochs`, `model`, `width`, `seeds`, and
            `protocol_fingerprint` (12 hex digits) when it was recorded.
        check: dict, the accuracy under a short recipe (`mean`, `std`, `n`,
            `epochs`, `width`, `seeds`) and the `range` `[low, high]` a re-run
            of one of its seeds is expected in; empty when none was measured.
        command: str, the command that made the set and its index entry.
        entry: dict, the whole index entry (distillation settings, versions,
            date, the file's SHA-256).
    """

    name: str
    path: pathlib.Path
    dataset: str
    ipc: int
    method: str
    num_classes: int
    accuracy: dict
    check: dict
    command: str
    entry: dict

    @classmethod
    def from_entry(cls, name, entry, folder=DATA_DIR):
        """The `ShippedSet` of index entry `entry` of set `name` in `folder`."""
        try:
            return cls(
                name=name,
                path=pathlib.Path(folder) / entry["file"],
                dataset=entry["dataset"],
                ipc=int(entry["ipc"]),
                method=entry["method"],
                num_classes=int(entry["num_classes"]),
                accuracy=dict(entry.get("accuracy") or {}),
                check=dict(entry.get("check") or {}),
                command=entry.get("command", ""),
                entry=dict(entry),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise UddError(
                f"{pathlib.Path(folder) / INDEX_FILE}: entry {name!r} is missing or "
                f"has a bad value for {error}; remake it with "
                f"`python -m udd_keras.sets.make {name}`."
            ) from None


def read_index(folder=DATA_DIR):
    """The index of the sets in `folder`: `{"format": 1, "sets": {name: entry}}`.

    Args:
        folder: str or path-like, the folder of the set files and `index.json`
            (default: the package's). A folder without an index holds no set.

    Returns:
        dict; `sets` maps each name to its entry (see the module).

    Raises:
        UddError: the index is not valid JSON or not an index.
    """
    path = pathlib.Path(folder) / INDEX_FILE
    if not path.is_file():
        return {"format": INDEX_FORMAT, "sets": {}}
    try:
        index = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UddError(f"{path}: not a readable set index ({error}).") from None
    if not isinstance(index, dict) or not isinstance(index.get("sets"), dict):
        raise UddError(f"{path}: not a set index (no `sets` object).")
    return index


def names(folder=DATA_DIR):
    """The names of the shipped sets, sorted.

    Example:
    >>> "digits-ipc1-udd" in names()
    True
    """
    return sorted(read_index(folder)["sets"])


def list_sets(folder=DATA_DIR):
    """Every shipped set with its accuracy and the command that made it.

    Exported as `udd_keras.sets.list`.

    Args:
        folder: the folder of the sets (default: the package's).

    Returns:
        list of `ShippedSet`, sorted by name.

    Example:
    >>> from udd_keras import sets
    >>> [(s.name, round(100 * s.accuracy["mean"], 2)) for s in sets.list()][:1]
    ... # doctest: +SKIP
    [('digits-ipc1-udd', 84.5)]
    """
    entries = read_index(folder)["sets"]
    return [
        ShippedSet.from_entry(name, entries[name], folder) for name in sorted(entries)
    ]


def _unknown(source, folder):
    known = names(folder)
    listed = ", ".join(known) if known else "none"
    return UddError(
        f"{source!r}: file not found, nor a shipped set's name; shipped sets: "
        f"{listed} (`udd-keras sets` lists them)."
    )


def info(name, folder=DATA_DIR):
    """The `ShippedSet` of shipped set `name`.

    Raises:
        UddError: no shipped set has that name (the message lists the names).
    """
    entries = read_index(folder)["sets"]
    if name not in entries:
        raise _unknown(name, folder)
    return ShippedSet.from_entry(name, entries[name], folder)


def path(name, folder=DATA_DIR):
    """The TFRecord file of shipped set `name`.

    Args:
        name: str, a shipped set's name, e.g. `"digits-ipc1-udd"`.
        folder: the folder of the sets (default: the package's).

    Returns:
        `pathlib.Path` of an existing file.

    Raises:
        UddError: no shipped set has that name, or its file is missing.

    Example:
    >>> path("digits-ipc1-udd").name
    'digits-ipc1-udd.tfrecord'
    """
    shipped = info(name, folder)
    if not shipped.path.is_file():
        raise UddError(
            f"Shipped set {name!r}: its file {shipped.path} is missing; reinstall "
            f"udd-keras or remake it with `{shipped.command}`."
        )
    return shipped.path


def resolve(source, folder=DATA_DIR):
    """A set file or a shipped set's name, as the path of a set file.

    An existing file wins over a shipped set of the same name. Every command
    that takes a set resolves its argument with this.

    Args:
        source: str or path-like, a synthetic-set file or a shipped set name.
        folder: the folder of the shipped sets (default: the package's).

    Returns:
        `pathlib.Path` of the file.

    Raises:
        UddError: `source` is a directory, or neither an existing file nor a
            shipped set's name (one line listing the names).

    Example:
    >>> resolve("digits-ipc1-udd").name
    'digits-ipc1-udd.tfrecord'
    """
    candidate = pathlib.Path(os.fspath(source))
    if candidate.is_file():
        return candidate
    if str(source) in read_index(folder)["sets"]:
        return path(str(source), folder)
    if candidate.is_dir():
        raise UddError(f"{candidate}: is a directory, not a file (a set file or name)")
    raise _unknown(os.fspath(source), folder)


def is_shipped(file, folder=DATA_DIR):
    """Whether `file` is one of the shipped set files (inside the package).

    Commands that write next to their input (reports, figures) write elsewhere
    for a shipped set.
    """
    try:
        return pathlib.Path(file).resolve().parent == pathlib.Path(folder).resolve()
    except OSError:
        return False
