"""What every benchmark records about the machine and the software versions."""

import os
import pathlib
import platform
import sys


def cpu_model():
    """The CPU's model name from /proc/cpuinfo, else `platform.processor()`."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(**machine_extra):
    """`{"machine": {...}, "versions": {...}}` for a results file.

    Args:
        **machine_extra: further machine facts a benchmark records (threads...).
    """
    import keras
    import numpy as np
    import tensorflow as tf

    import udd_keras

    return {
        "machine": {
            "platform": platform.platform(),
            "processor": cpu_model(),
            "cpu_count": os.cpu_count(),
            "gpus": len(tf.config.list_physical_devices("GPU")),
            **machine_extra,
        },
        "versions": {
            "python": sys.version.split()[0],
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
            "udd_keras": udd_keras.__version__,
        },
    }
