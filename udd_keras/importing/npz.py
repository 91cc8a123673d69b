"""A set stored as numpy arrays in an `.npz` file.

Keys: the images under `images` (or `x`), NHWC or NCHW, float in [0, 1],
float normalised with a known mean/std, or uint8 0..255; the integer class ids
under `labels` (or `y`); optionally `soft_labels`, float `(N, num_classes)`
probabilities. With soft labels only, the class ids are their argmax.
"""

from __future__ import annotations

import pathlib
import zipfile

import numpy as np

from udd_keras.importing.source import SetImportError, SourceArrays

IMAGE_KEYS = ("images", "x")
LABEL_KEYS = ("labels", "y")
SOFT_LABEL_KEY = "soft_labels"


def _pick(files, keys, what, path, required):
    found = [key for key in keys if key in files]
    if len(found) > 1:
        raise SetImportError(
            f"{path}: holds both {' and '.join(found)}; keep one array of {what}"
        )
    if not found:
        if required:
            raise SetImportError(
                f"{path}: no {what} under {' or '.join(keys)} (found: "
                f"{', '.join(files) or 'nothing'})"
            )
        return None
    return found[0]


def read_npz(path):
    """Reads an `.npz` set into `SourceArrays` (raw pixels, layout detected later).

    Pickled object arrays are refused (`allow_pickle=False`): nothing in the file
    is ever executed.

    Args:
        path: str or path-like.

    Returns:
        `SourceArrays` with `check_unit_range=True`: raw float pixels outside
        [0, 1] are refused unless a mean/std is given.

    Example:
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "set.npz")
    >>> np.savez(path, images=np.zeros((2, 8, 8, 1)), labels=[0, 1])
    >>> read_npz(path).images.shape
    (2, 8, 8, 1)
    """
    path = pathlib.Path(path)
    try:
        with np.load(path, allow_pickle=False) as file:
            files = list(file.files)
            image_key = _pick(files, IMAGE_KEYS, "images", path, required=True)
            label_key = _pick(files, LABEL_KEYS, "labels", path, required=False)
            if label_key is None and SOFT_LABEL_KEY not in files:
                raise SetImportError(
                    f"{path}: no labels under {' or '.join(LABEL_KEYS)} or "
                    f"{SOFT_LABEL_KEY} (found: {', '.join(files)})"
                )
            images = file[image_key]
            labels = None if label_key is None else file[label_key]
            soft = file[SOFT_LABEL_KEY] if SOFT_LABEL_KEY in files else None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        if isinstance(error, (FileNotFoundError, IsADirectoryError)):
            raise
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SetImportError(
            f"{path}: not a readable .npz of plain arrays ({reason}); save it with "
            f"numpy.savez(path, images=..., labels=...)"
        ) from None
    return SourceArrays(
        images=images,
        labels=labels,
        soft_labels=soft,
        check_unit_range=True,
        method="imported",
        details={"keys": sorted(files)},
    )
