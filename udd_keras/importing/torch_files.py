"""Reading PyTorch `.pt` files without running any code stored in them.

`torch.load(path, weights_only=True)` unpickles tensors, plain containers and
numbers only; any other Python object in the file is refused instead of built.
DC's files also hold numpy float64 accuracies (`accs_all_exps`), so numpy's
scalar and dtype constructors are allowed too: they rebuild a number from its
bytes and nothing else. PyTorch is an optional dependency
(`pip install 'udd-keras[torch]'`).
"""

from __future__ import annotations

import pathlib
import pickle
import zipfile

import numpy as np

from udd_keras.importing.source import SetImportError

INSTALL_HINT = "pip install 'udd-keras[torch]'"

# Names numpy's scalar constructor is pickled under: numpy >= 2, numpy 1.x.
_NUMPY_SCALAR_NAMES = ("numpy._core.multiarray.scalar", "numpy.core.multiarray.scalar")
# The numeric dtypes a scalar in such a file may have (never object dtypes).
_NUMPY_DTYPE_CODES = ("?", "b", "B", "h", "H", "i", "I", "l", "L", "q", "Q")
_NUMPY_DTYPE_CODES += ("e", "f", "d", "g")


def import_torch():
    """Imports torch; `SetImportError` with the install command when missing."""
    try:
        import torch
    except ImportError:
        raise SetImportError(
            f"reading .pt files needs PyTorch, which is not installed: {INSTALL_HINT}"
        ) from None
    return torch


# What PyTorch's weights-only unpickler says when it meets an object it refuses
# to build (as opposed to bytes that are no pickle at all).
_UNSAFE_MARKERS = ("Unsupported global", "Can only build", "allowlist")


def _numpy_safe_globals(torch):
    """numpy's scalar and dtype constructors, as `safe_globals` entries."""
    try:
        from numpy._core.multiarray import scalar
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import scalar
    # numpy >= 1.25 pickles a dtype with its class, e.g. `numpy.dtypes.Float64DType`.
    dtype_classes = {type(np.dtype(code)) for code in _NUMPY_DTYPE_CODES} - {np.dtype}
    version = tuple(int(part) for part in torch.__version__.split(".")[:2])
    if version >= (2, 6):  # (object, "pickled name") pairs are accepted
        scalars = [(scalar, name) for name in _NUMPY_SCALAR_NAMES]
    else:
        scalars = [scalar]
    return [np.dtype, *sorted(dtype_classes, key=str), *scalars]


def load_pt(path):
    """Loads a `.pt` file with `weights_only=True`, onto the CPU.

    Args:
        path: str or path-like.

    Returns:
        What the file holds: tensors, lists, tuples, dicts, numbers.

    Raises:
        SetImportError: torch is not installed, the file is not a `.pt` file,
            or it holds objects other than tensors and plain data.

    Example:
    >>> data, target = load_pt("results/cifar10/idc/data.pt")  # doctest: +SKIP
    """
    torch = import_torch()
    path = pathlib.Path(path)
    safe_globals = getattr(torch.serialization, "safe_globals", None)
    try:
        if safe_globals is None:
            return torch.load(path, map_location="cpu", weights_only=True)
        with safe_globals(_numpy_safe_globals(torch)):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        message = str(error)
        if not any(marker in message for marker in _UNSAFE_MARKERS):
            raise SetImportError(
                f"{path}: not a readable PyTorch .pt file ({_unpickler_reason(error)})"
            ) from None
        detail = _unsafe_detail(message)
        raise SetImportError(
            f"{path}: holds Python objects other than tensors and plain data"
            f"{detail}; udd-keras reads .pt files with torch.load(weights_only=True) "
            "and never runs pickled code. Save the images and labels as tensors "
            "(or as an .npz) and import that"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as error:
        if isinstance(error, (FileNotFoundError, IsADirectoryError)):
            raise
        raise SetImportError(
            f"{path}: not a readable PyTorch .pt file ({_first_line(error)})"
        ) from None


def _unpickler_reason(error):
    """The weights-only unpickler's own reason, e.g. `Unsupported operand 110`."""
    message = str(error)
    marker = "WeightsUnpickler error:"
    if marker in message:
        reason = message.split(marker, 1)[1].strip().splitlines()
        if reason:
            return reason[0]
    return _first_line(error)


def _first_line(error):
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _unsafe_detail(message):
    """` (GLOBAL name)` from PyTorch's weights-only error message, or ``."""
    marker = "Unsupported global: GLOBAL "
    if marker in message:
        name = message.split(marker, 1)[1].split()[0]
        return f" ({name})"
    return ""


def is_tensor(value):
    """True for a torch tensor (without importing torch when it is absent)."""
    return type(value).__module__.startswith("torch") and hasattr(value, "numpy")


def to_numpy(tensor):
    """A tensor as a numpy array: floats as float32, integers as int64.

    Args:
        tensor: a `torch.Tensor` on any device, with or without grad.

    Returns:
        numpy array of the same shape.
    """
    tensor = tensor.detach().cpu()
    if tensor.is_floating_point():
        return tensor.float().numpy()
    if tensor.dtype.is_complex:
        raise SetImportError(f"complex tensor of dtype {tensor.dtype} is no image")
    return tensor.long().numpy()
