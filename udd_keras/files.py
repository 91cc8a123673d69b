"""Writing files so that a crash never leaves a half-written output.

Every output of udd-keras (TFRecords, PNGs, JSON reports, run configs) is written
to a temporary name in the target folder and renamed into place with `os.replace`,
which is atomic on POSIX file systems: readers see the old file or the new one,
never a part of it.
"""

import contextlib
import json
import os
import pathlib
import tempfile


@contextlib.contextmanager
def atomic_path(path, mode=0o644):
    """Yields a temporary path beside `path`; renames it onto `path` on success.

    Missing parent folders are created. If the block raises, the temporary file
    is removed and `path` is left as it was.

    Args:
        path: str or path-like, the final file.
        mode: permission bits of the final file (`mkstemp` creates 0600).

    Yields:
        `pathlib.Path` of the temporary file (it exists, empty).

    Example:
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(target) as temporary:
    ...     _ = temporary.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    os.close(handle)
    temporary = pathlib.Path(name)
    try:
        yield temporary
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def atomic_write_text(path, text):
    """Writes `text` to `path` atomically; returns the path."""
    with atomic_path(path) as temporary:
        temporary.write_text(text)
    return pathlib.Path(path)


def atomic_write_json(path, data):
    """Writes `data` as indented JSON (with a final newline) atomically."""
    return atomic_write_text(path, json.dumps(data, indent=2) + "\n")
