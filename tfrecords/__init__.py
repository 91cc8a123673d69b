"""TFRecord format of synthetic sets (installed as `udd_keras.tfrecords`).

One header record of set-level metadata, then one record per stored synthetic
image (exact float32 pixels, label, optional region boxes). See `README.md`.
"""

from udd_keras.tfrecords.reader import (
    as_tf_dataset,
    decode_regions,
    read_metadata,
    read_synthetic_set,
    validate_file,
)
from udd_keras.tfrecords.schema import (
    MAGIC,
    SCHEMA_VERSION,
    SyntheticSet,
    SyntheticSetMetadata,
)
from udd_keras.tfrecords.writer import write_synthetic_set

__all__ = [
    "MAGIC",
    "SCHEMA_VERSION",
    "SyntheticSet",
    "SyntheticSetMetadata",
    "as_tf_dataset",
    "decode_regions",
    "read_metadata",
    "read_synthetic_set",
    "validate_file",
    "write_synthetic_set",
]
