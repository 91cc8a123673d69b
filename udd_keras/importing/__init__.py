"""Importing sets distilled by other code bases as udd-keras TFRecords.

`import_set` reads an `.npz`, a folder of class sub-folders, or the `.pt` files
of DC/DSA/DM, IDC and MTT, checks the set against a dataset and writes a
synthetic-set TFRecord that `evaluate`, `mue` and `as_tf_dataset` read like one
distilled here. Nothing here imports TensorFlow or PyTorch until it is used.

Example:
>>> from udd_keras.importing import import_set
>>> result = import_set("res_DSA_CIFAR10_ConvNet_10ipc.pt", "cifar10",
...     "dsa.tfrecord")  # doctest: +SKIP
"""

from udd_keras.importing.arrays import LAYOUTS
from udd_keras.importing.importer import (
    IMPORT_FORMATS,
    ImportOptions,
    ImportResult,
    import_set,
)
from udd_keras.importing.pt_formats import IDC_DECODE_TYPES, PT_FORMATS
from udd_keras.importing.source import SetImportError, SourceArrays

__all__ = [
    "IDC_DECODE_TYPES",
    "IMPORT_FORMATS",
    "LAYOUTS",
    "PT_FORMATS",
    "ImportOptions",
    "ImportResult",
    "SetImportError",
    "SourceArrays",
    "import_set",
]
