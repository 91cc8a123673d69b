"""What every benchmark records about the machine and the software versions."""

import json
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


# The CPU flags that decide how fast TF's kernels run (vector width, bf16).
SIMD_FLAGS = (
    "avx",
    "avx2",
    "fma",
    "avx512f",
    "avx512_bf16",
    "avx512_vnni",
    "avx512_fp16",
    "amx_bf16",
    "amx_tile",
)


def cpu_flags():
    """The SIMD flags of `SIMD_FLAGS` that /proc/cpuinfo lists, in that order."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                present = set(line.split(":", 1)[1].split())
                return [flag for flag in SIMD_FLAGS if flag in present]
    except OSError:
        pass
    return []


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
            "cpu_flags": cpu_flags(),
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


def versions_text(versions):
    """`"python 3.11.7, tensorflow 2.21.0, ..."` for a results table's footer."""
    return ", ".join(f"{name} {version}" for name, version in versions.items())


def machine_text(machine):
    """`"AMD EPYC, 2 CPUs, flags avx avx2 fma; 0 GPUs"` for a results table's footer."""
    # Results written before flags and GPUs were recorded lack those keys.
    return (
        f"{machine['processor']}, {machine['cpu_count']} CPUs, flags "
        f"{' '.join(machine.get('cpu_flags', []))}; {machine.get('gpus', 0)} GPUs"
    )


def write_results(stem, data, text):
    """Writes `<stem>.json` (`data`) and `<stem>.md` (`text`), creating the folder.

    Args:
        stem: `pathlib.Path` without suffix, e.g. `results/speed-after`.
        data: a JSON-serialisable dict.
        text: the markdown report.
    """
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(data, indent=2) + "\n")
    stem.with_suffix(".md").write_text(text)
