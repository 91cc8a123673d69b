"""The `.pt` files of DC/DSA/DM, IDC and MTT, read into `SourceArrays`.

What each code base saves (read from their sources):

- `dc`, VICO-UoE/DatasetCondensation (`main.py` for DC and DSA, `main_DM.py`
  for DM): `res_<method>_<dataset>_<model>_<ipc>ipc.pt` holding
  `{'data': [[image_syn, label_syn], ...], 'accs_all_exps': {...}}`, one pair
  per experiment, images `(N, C, H, W)` float normalised with the code base's
  mean/std, labels `(N,)` int64 class ids. The last experiment is imported by
  default (as IDC's `test.py` does), `experiment=` picks another.
- `idc`, snu-mllab/Efficient-Dataset-Condensation (`condense.py`): `data.pt`
  holding `[data, target]`, images `(N, C, H, W)` raw in [0, 1] (IDC
  normalises only when it loads them for training), labels `(N,)` int64. Each
  stored image holds `factor x factor` tiles that are decoded at load time;
  the factor is not in the file but in the folder name IDC saves to
  (`..._factor2[_multi]_...`) or must be given.
- `mtt`, GeorgeCazenavette/mtt-distillation (`distill.py`):
  `images_best.pt` / `images_<it>.pt` holding one `(N, C, H, W)` tensor,
  labels in `labels_best.pt` / `labels_<it>.pt` beside it. Pixels are
  normalised with MTT's mean/std, or, for runs with `--zca`, ZCA-whitened raw
  pixels; the ZCA matrix is not saved, so a whitened set cannot be brought back
  to pixels. MTT also saves `images_zca_<it>.pt`, the same images un-whitened
  (raw [0, 1] pixels), for runs with ipc < 50 or `--force_save`: import that.

A label tensor that is 2-D float holds soft labels (one probability row per
image); the hard labels are then their argmax.
"""

from __future__ import annotations

import pathlib
import re

import numpy as np

from udd_keras.importing.conventions import CODEBASE_DATASET_NAMES
from udd_keras.importing.source import SetImportError, SourceArrays
from udd_keras.importing.torch_files import is_tensor, load_pt, to_numpy

PT_FORMATS = ("dc", "idc", "mtt")
IDC_DECODE_TYPES = ("single", "multi")

# DC/DSA/DM: 'res_%s_%s_%s_%dipc.pt' % (method, dataset, model, ipc).
_DC_NAME = re.compile(r"^res_(?P<method>[^_]+)_(?P<dataset>[^_]+)_.+_\d+ipc\.pt$")
# IDC's save_dir tag: '..._factor{f}' then '_{decode_type}' unless 'single'.
_IDC_FACTOR_TAG = re.compile(r"_factor(?P<factor>\d+)(?:_(?P<decode>multi|bound))?")
# MTT: images_best.pt, images_<it>.pt, images_zca_<it>.pt.
_MTT_NAME = re.compile(r"^images_(?P<zca>zca_)?(?P<tag>best|\d+)\.pt$")


def detect_pt_format(content, path):
    """Which code base saved `content`, the object a `.pt` file holds.

    Args:
        content: what `load_pt` returned.
        path: the file, for messages.

    Returns:
        `"dc"` for a dict with a `'data'` list, `"idc"` for a `[data, target]`
        pair of tensors, `"mtt"` for a single 4-D tensor.

    Raises:
        SetImportError: none of these shapes.
    """
    if isinstance(content, dict) and "data" in content:
        return "dc"
    if (
        isinstance(content, (list, tuple))
        and len(content) == 2
        and all(is_tensor(part) for part in content)
    ):
        return "idc"
    if is_tensor(content) and content.dim() == 4:
        return "mtt"
    raise SetImportError(
        f"{path}: {_describe(content)} is no layout udd-keras knows; expected a "
        "DC/DSA/DM result ({'data': [[images, labels], ...]}), an IDC data.pt "
        "([images, labels]) or an MTT images_*.pt (one 4-D tensor)"
    )


def _describe(content):
    if is_tensor(content):
        return f"a tensor of shape {tuple(content.shape)}"
    if isinstance(content, dict):
        keys = ", ".join(repr(key) for key in list(content)[:5])
        return f"a dict with keys {keys or 'none'}"
    if isinstance(content, (list, tuple)):
        return f"a {type(content).__name__} of {len(content)} items"
    return f"a {type(content).__name__}"


def _tensor(value, what, path):
    if not is_tensor(value):
        raise SetImportError(f"{path}: {what} is {_describe(value)}, not a tensor")
    return to_numpy(value)


def split_labels(labels, path):
    """`(hard labels or None, soft labels or None)` from a label tensor's array.

    A 1-D integer array holds class ids; a 2-D float array holds soft labels.
    """
    if labels.ndim == 2 and np.issubdtype(labels.dtype, np.floating):
        return None, labels
    if labels.ndim == 1 and np.issubdtype(labels.dtype, np.integer):
        return labels, None
    raise SetImportError(
        f"{path}: labels of shape {labels.shape} and dtype {labels.dtype}; "
        "expected integer class ids (N,) or float soft labels (N, num_classes)"
    )


def _nchw_arrays(images, labels, path, **fields):
    """`SourceArrays` of NCHW images and a label tensor's array.

    Args:
        images: float array (N, C, H, W).
        labels: the label tensor's array, split by `split_labels`.
        path: the file, for messages.
        **fields: the other `SourceArrays` fields (method, factor, ...).
    """
    hard, soft = split_labels(labels, path)
    return SourceArrays(
        images=images, labels=hard, soft_labels=soft, layout="nchw", **fields
    )


def read_dc(content, path, experiment=-1):
    """A DC/DSA/DM result file as `SourceArrays` (see the module docstring).

    Args:
        content: the loaded file.
        path: the file; its name gives the method (DC, DSA, DM) and dataset.
        experiment: int, which entry of `'data'` (one per experiment); -1 is
            the last.

    Returns:
        `SourceArrays` in the code base's normalisation (resolved later from
        the dataset), layout NCHW.
    """
    path = pathlib.Path(path)
    if not isinstance(content, dict) or "data" not in content:
        raise SetImportError(
            f"{path}: {_describe(content)}; a DC/DSA/DM result is a dict with a "
            "'data' list of [images, labels] pairs"
        )
    runs = content["data"]
    if not isinstance(runs, (list, tuple)) or not runs:
        raise SetImportError(
            f"{path}: 'data' is {_describe(runs)}; expected a non-empty list of "
            "[images, labels] pairs, one per experiment"
        )
    if not -len(runs) <= experiment < len(runs):
        raise SetImportError(
            f"experiment {experiment} out of range: {path} holds {len(runs)} "
            f"experiment(s), 0..{len(runs) - 1} (or -1 for the last)"
        )
    pair = runs[experiment]
    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
        raise SetImportError(
            f"{path}: 'data'[{experiment}] is {_describe(pair)}; expected "
            "[images, labels]"
        )
    images = _tensor(pair[0], f"'data'[{experiment}][0] (images)", path)
    labels = _tensor(pair[1], f"'data'[{experiment}][1] (labels)", path)
    method, dataset = "dc", None
    match = _DC_NAME.match(path.name)
    if match:
        method = match["method"].lower()
        dataset = CODEBASE_DATASET_NAMES.get(match["dataset"])
    index = experiment % len(runs)
    return _nchw_arrays(
        images,
        labels,
        path,
        method=method,
        codebase_dataset=dataset,
        details={"experiment": index, "experiments": len(runs)},
    )


def read_idc(content, path):
    """An IDC `data.pt` as `SourceArrays` (raw [0, 1] pixels, NCHW).

    The factor and decode type come from IDC's folder-name tag when present.
    """
    path = pathlib.Path(path)
    if not (isinstance(content, (list, tuple)) and len(content) == 2):
        raise SetImportError(
            f"{path}: {_describe(content)}; an IDC data.pt is [images, labels]"
        )
    images = _tensor(content[0], "item 0 (images)", path)
    labels = _tensor(content[1], "item 1 (labels)", path)
    factor = decode_type = None
    match = _IDC_FACTOR_TAG.search(path.parent.name)
    if match:
        factor = int(match["factor"])
        decode_type = match["decode"] or "single"
    return _nchw_arrays(
        images,
        labels,
        path,
        normalization=None,
        method="idc",
        factor=factor,
        decode_type=decode_type,
    )


def mtt_labels_path(images_path):
    """The labels file MTT saves beside an images file, or None.

    `images_best.pt` -> `labels_best.pt`, `images_<it>.pt` and
    `images_zca_<it>.pt` -> `labels_<it>.pt`.
    """
    match = _MTT_NAME.match(pathlib.Path(images_path).name)
    if not match:
        return None
    return pathlib.Path(images_path).with_name(f"labels_{match['tag']}.pt")


def read_mtt(content, path, labels_path=None):
    """An MTT `images_*.pt` (and its labels file) as `SourceArrays`.

    Args:
        content: the loaded images file (one tensor).
        path: the images file.
        labels_path: the labels file; None for the one MTT saves beside it.

    Returns:
        `SourceArrays`, NCHW; `details["unwhitened"]` is True for an
        `images_zca_<it>.pt` file (raw pixels), whose normalisation is None.
    """
    path = pathlib.Path(path)
    if not (is_tensor(content) and content.dim() == 4):
        raise SetImportError(
            f"{path}: {_describe(content)}; an MTT images file is one tensor "
            "(N, C, H, W)"
        )
    images = to_numpy(content)
    if labels_path is None:
        labels_path = mtt_labels_path(path)
        if labels_path is None:
            raise SetImportError(
                f"{path}: not named like MTT's images_best.pt / images_<it>.pt, "
                "so its labels file is unknown; pass the labels file (--labels)"
            )
        if not labels_path.is_file():
            raise SetImportError(
                f"{path}: the labels file MTT saves beside it, {labels_path}, "
                "does not exist; pass the labels file (--labels)"
            )
    labels_path = pathlib.Path(labels_path)
    labels = _tensor(load_pt(labels_path), "the labels", labels_path)
    match = _MTT_NAME.match(path.name)
    unwhitened = bool(match and match["zca"])
    dataset = CODEBASE_DATASET_NAMES.get(path.parent.parent.name)
    return _nchw_arrays(
        images,
        labels,
        path,
        method="mtt",
        codebase_dataset=dataset,
        details={"labels_file": str(labels_path), "unwhitened": unwhitened},
    )
