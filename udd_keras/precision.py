"""Which arithmetic the distillation network runs in: `float32` or bfloat16.

`"auto"` (the default) chooses `"mixed_bfloat16"` only where bfloat16 runs
natively: on a GPU, or on a CPU whose flags include `avx512_bf16` or `amx_bf16`
(read from `/proc/cpuinfo` on Linux; other systems are taken to have neither).
Elsewhere bfloat16 is emulated and slower than float32, so `"auto"` chooses
`"float32"`. The decision (`choose_precision`) takes the CPU flags and the GPU
count as arguments; `detect_precision` reads them from this machine.

This module imports TensorFlow only to count GPUs, so the command line can read
`PRECISIONS` without it.

Example:
>>> choose_precision("auto", cpu_flags={"avx2"}, num_gpus=0).precision
'float32'
>>> choose_precision("auto", cpu_flags={"avx512_bf16"}, num_gpus=0).precision
'mixed_bfloat16'
"""

import dataclasses
import pathlib
import platform

from udd_keras.errors import UddError

AUTO = "auto"
FLOAT32 = "float32"
MIXED_BFLOAT16 = "mixed_bfloat16"
# What `DistillConfig.precision` accepts; `AUTO` resolves to one of the others.
PRECISIONS = (AUTO, FLOAT32, MIXED_BFLOAT16)
DEFAULT_PRECISION = AUTO
# The precision of runs written before `auto` existed (their default).
LEGACY_PRECISION = FLOAT32
# CPU flags (as Linux names them) of native bfloat16 arithmetic.
BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@dataclasses.dataclass(frozen=True)
class PrecisionChoice:
    """The precision a run uses and why.

    Attributes:
        requested: the precision asked for, one of `PRECISIONS`.
        precision: the one used, `"float32"` or `"mixed_bfloat16"`.
        reason: str, why (what was found on the machine).
        warning: str or None, set when `mixed_bfloat16` was asked for
            explicitly on a machine without native bfloat16.
    """

    requested: str
    precision: str
    reason: str
    warning: str | None = None

    @property
    def message(self):
        """One line saying the precision chosen, e.g. for the command line."""
        how = "auto: " if self.requested == AUTO else ""
        return f"precision: {self.precision} ({how}{self.reason})"


def native_bfloat16(cpu_flags, num_gpus):
    """Why bfloat16 is native here, or None where it is not.

    Args:
        cpu_flags: iterable of CPU flag names (e.g. `{"avx2", "amx_bf16"}`).
        num_gpus: int, GPUs visible to TensorFlow.

    Returns:
        str naming the GPU(s) or CPU flag(s), or None.
    """
    if num_gpus > 0:
        return f"{num_gpus} GPU{'s' if num_gpus > 1 else ''}"
    found = [flag for flag in BFLOAT16_CPU_FLAGS if flag in set(cpu_flags)]
    if found:
        return "CPU with " + " and ".join(found)
    return None


def choose_precision(requested, cpu_flags, num_gpus):
    """The precision of a run given the hardware.

    Args:
        requested: one of `PRECISIONS`.
        cpu_flags: iterable of CPU flag names (see `read_cpu_flags`).
        num_gpus: int, GPUs visible to TensorFlow.

    Returns:
        A `PrecisionChoice`.

    Raises:
        UddError: `requested` is not one of `PRECISIONS`.

    Example:
    >>> choose_precision("auto", cpu_flags=(), num_gpus=1).precision
    'mixed_bfloat16'
    """
    if requested not in PRECISIONS:
        raise UddError(
            f"precision must be one of {', '.join(PRECISIONS)}; got {requested!r}"
        )
    native = native_bfloat16(cpu_flags, num_gpus)
    if requested == FLOAT32:
        return PrecisionChoice(requested, FLOAT32, "as requested")
    if requested == MIXED_BFLOAT16:
        warning = None
        if native is None:
            warning = (
                "mixed_bfloat16 on a CPU without native bfloat16 (no "
                f"{' or '.join(BFLOAT16_CPU_FLAGS)} flag, no GPU) is emulated "
                "and may be slower than float32"
            )
        return PrecisionChoice(requested, MIXED_BFLOAT16, "as requested", warning)
    if native is None:
        return PrecisionChoice(
            requested, FLOAT32, "no GPU and no native bfloat16 on the CPU"
        )
    return PrecisionChoice(requested, MIXED_BFLOAT16, f"native bfloat16: {native}")


def read_cpu_flags(cpuinfo="/proc/cpuinfo", system=None):
    """The CPU's flags, read from `cpuinfo` on Linux; empty elsewhere.

    Args:
        cpuinfo: path of Linux's CPU description.
        system: `platform.system()`'s answer (None: this machine's).

    Returns:
        frozenset of flag names (empty when unknown).
    """
    system = platform.system() if system is None else system
    if system != "Linux":
        return frozenset()
    try:
        text = pathlib.Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return frozenset()
    flags = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags.update(value.split())
    return frozenset(flags)


def count_gpus():
    """GPUs visible to TensorFlow (imports TensorFlow)."""
    import tensorflow as tf

    return len(tf.config.list_physical_devices("GPU"))


def detect_precision(requested=DEFAULT_PRECISION):
    """`choose_precision` with this machine's CPU flags and GPU count.

    Only `"auto"` and `"mixed_bfloat16"` look at the machine.

    Example:
    >>> detect_precision("float32").precision
    'float32'
    """
    if requested == FLOAT32:
        return choose_precision(requested, (), 0)
    return choose_precision(requested, read_cpu_flags(), count_gpus())
