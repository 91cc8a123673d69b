"""Synthetic sets shipped with udd-keras, by name, and exporting sets to TFDS.

Shipped sets are small distilled sets installed with the package, each with its
measured accuracy and the command that made it (`udd_keras.sets.make`):

```python
from udd_keras import sets

for shipped in sets.list():  # name, accuracy, command
    print(shipped.name, shipped.accuracy["mean"], shipped.command)
train, metadata = sets.load("digits-ipc10-udd")  # tf.data, no network
sets.path("digits-ipc10-udd")  # the TFRecord file
sets.resolve("runs/digits/synthetic.tfrecord")  # a file or a shipped name -> path
sets.export_tfds("digits-ipc10-udd", "tfds")  # a TFDS dataset plain tfds loads
```

Every command that takes a set file takes a shipped set's name too
(`udd-keras evaluate digits-ipc1-udd`). Only `load`, `export_tfds` and
`make_set` import TensorFlow, on first use.
"""

from udd_keras._lazy import lazy_exports
from udd_keras.sets.index import (
    ShippedSet,
    info,
    is_shipped,
    list_sets,
    names,
    path,
    resolve,
)

list = list_sets  # noqa: A001 (the package's `sets.list()`)

_EXPORTS = {
    "loading": ["load"],
    "tfds_export": ["export_tfds"],
    "make": ["make_set"],
}
__all__ = [
    "ShippedSet",
    "info",
    "is_shipped",
    "list",
    "list_sets",
    "names",
    "path",
    "resolve",
    *(name for names_ in _EXPORTS.values() for name in names_),
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
