"""Which arithmetic the distillation network runs in: `float32` or bfloat16.

`"auto"` (the default) chooses `"mixed_bfloat16"` only where bfloat16 runs
natively. With GPUs visible, that is when every one of them is a CUDA GPU of
compute capability 8.0 or more (A100, RTX 30xx, H100 and later); a T4 (7.5), a
V100 (7.0), or a GPU that reports no compute capability (e.g. a non-CUDA one)
gets `"float32"`. Without a GPU, it is a CPU whose flags include `avx512_bf16`
or `amx_bf16` (read from `/proc/cpuinfo` on Linux; other systems are taken to
have neither). Elsewhere bfloat16 is emulated (or unsupported) and slower than
float32, so `"auto"` chooses `"float32"`. The decision (`choose_precision`)
takes the CPU flags and each GPU's device details as arguments;
`detect_precision` reads them from this machine.

This module imports TensorFlow only to list the GPUs, so the command line can
read `PRECISIONS` without it.

Example:
>>> choose_precision("auto", cpu_flags={"avx2"}, gpu_details=()).precision
'float32'
>>> choose_precision("auto", cpu_flags={"avx512_bf16"}, gpu_details=()).precision
'mixed_bfloat16'
>>> t4 = {"device_name": "Tesla T4", "compute_capability": (7, 5)}
>>> choose_precision("auto", cpu_flags=(), gpu_details=[t4]).precision
'float32'
"""

import collections
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
# The CUDA compute capability (major, minor) from which bfloat16 is native.
BFLOAT16_COMPUTE_CAPABILITY = (8, 0)


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


def compute_capability(details):
    """A GPU's CUDA compute capability, read from its device details.

    Args:
        details: dict, as `tf.config.experimental.get_device_details` returns
            for a GPU (`"compute_capability"` is only there for NVIDIA GPUs).

    Returns:
        `(major, minor)` tuple of ints, or None when the details have none.

    Example:
    >>> compute_capability({"compute_capability": (8, 6)})
    (8, 6)
    >>> compute_capability({"device_name": "AMD Instinct MI250X"}) is None
    True
    """
    try:
        major, minor = (int(part) for part in details.get("compute_capability"))
    except (TypeError, ValueError):
        return None
    return major, minor


def describe_gpus(gpu_details):
    """The GPUs, by name and compute capability, identical ones counted.

    Args:
        gpu_details: sequence of dicts, one per GPU (see `read_gpu_details`).

    Returns:
        str, e.g. `"2 GPUs, 2 x NVIDIA A100-SXM4-40GB with compute capability
        8.0"`.
    """
    groups = collections.Counter()
    for details in gpu_details:
        name = details.get("device_name") or "unnamed GPU"
        capability = compute_capability(details)
        if capability is None:
            groups[f"{name} with no compute capability"] += 1
        else:
            major, minor = capability
            groups[f"{name} with compute capability {major}.{minor}"] += 1
    described = ", ".join(
        group if count == 1 else f"{count} x {group}" for group, count in groups.items()
    )
    count = len(gpu_details)
    return f"{count} GPU{'s' if count > 1 else ''}, {described}"


def native_bfloat16(cpu_flags, gpu_details):
    """Where bfloat16 is native here, or None where it is not.

    With GPUs, bfloat16 is native when every GPU has a compute capability of
    at least `BFLOAT16_COMPUTE_CAPABILITY` (the CPU flags then do not count);
    without one, when the CPU has one of `BFLOAT16_CPU_FLAGS`.

    Args:
        cpu_flags: iterable of CPU flag names (e.g. `{"avx2", "amx_bf16"}`).
        gpu_details: sequence of dicts, the device details of each GPU visible
            to TensorFlow (see `read_gpu_details`); empty without a GPU.

    Returns:
        str naming the GPU(s) or CPU flag(s), or None.

    Example:
    >>> a100 = {"device_name": "NVIDIA A100", "compute_capability": (8, 0)}
    >>> native_bfloat16((), [a100])
    '1 GPU, NVIDIA A100 with compute capability 8.0'
    """
    if gpu_details:
        capabilities = [compute_capability(details) for details in gpu_details]
        if all(
            capability is not None and capability >= BFLOAT16_COMPUTE_CAPABILITY
            for capability in capabilities
        ):
            return describe_gpus(gpu_details)
        return None
    found = [flag for flag in BFLOAT16_CPU_FLAGS if flag in set(cpu_flags)]
    if found:
        return "CPU with " + " and ".join(found)
    return None


def choose_precision(requested, cpu_flags, gpu_details):
    """The precision of a run given the hardware.

    Args:
        requested: one of `PRECISIONS`.
        cpu_flags: iterable of CPU flag names (see `read_cpu_flags`).
        gpu_details: sequence of dicts, the device details of each GPU visible
            to TensorFlow, with `"compute_capability"` as a `(major, minor)`
            tuple and `"device_name"` (see `read_gpu_details`); empty without a
            GPU.

    Returns:
        A `PrecisionChoice`; its `reason` names the GPUs and their compute
        capabilities, or the CPU flags, that decided.

    Raises:
        UddError: `requested` is not one of `PRECISIONS`.

    Example:
    >>> a100 = {"device_name": "NVIDIA A100", "compute_capability": (8, 0)}
    >>> choose_precision("auto", cpu_flags=(), gpu_details=[a100]).reason
    'native bfloat16: 1 GPU, NVIDIA A100 with compute capability 8.0'
    """
    if requested not in PRECISIONS:
        raise UddError(
            f"precision must be one of {', '.join(PRECISIONS)}; got {requested!r}"
        )
    native = native_bfloat16(cpu_flags, gpu_details)
    needs = "{}.{}".format(*BFLOAT16_COMPUTE_CAPABILITY)
    if requested == FLOAT32:
        return PrecisionChoice(requested, FLOAT32, "as requested")
    if requested == MIXED_BFLOAT16:
        warning = None
        if native is None and gpu_details:
            warning = (
                "mixed_bfloat16 on GPUs without native bfloat16 (compute "
                f"capability {needs} or more on every GPU; found "
                f"{describe_gpus(gpu_details)}) is emulated, and may be slower "
                "than float32, or unsupported"
            )
        elif native is None:
            warning = (
                "mixed_bfloat16 on a CPU without native bfloat16 (no "
                f"{' or '.join(BFLOAT16_CPU_FLAGS)} flag, no GPU) is emulated "
                "and may be slower than float32"
            )
        return PrecisionChoice(requested, MIXED_BFLOAT16, "as requested", warning)
    if native is None and gpu_details:
        return PrecisionChoice(
            requested,
            FLOAT32,
            f"no native bfloat16, which needs compute capability {needs} or more "
            f"on every GPU: {describe_gpus(gpu_details)}",
        )
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


def read_gpu_details():
    """The device details of each GPU visible to TensorFlow (imports it).

    Returns:
        list of dicts from `tf.config.experimental.get_device_details`, one
        per GPU: `"device_name"`, and `"compute_capability"` as a
        `(major, minor)` tuple on NVIDIA GPUs. Empty without a GPU.
    """
    import tensorflow as tf

    return [
        dict(tf.config.experimental.get_device_details(gpu))
        for gpu in tf.config.list_physical_devices("GPU")
    ]


def detect_precision(requested=DEFAULT_PRECISION):
    """`choose_precision` with this machine's CPU flags and GPU details.

    Only `"auto"` and `"mixed_bfloat16"` look at the machine.

    Args:
        requested: one of `PRECISIONS`.

    Returns:
        A `PrecisionChoice`, whose `message` says what was chosen and why.

    Example:
    >>> detect_precision("float32").precision
    'float32'
    """
    if requested == FLOAT32:
        return choose_precision(requested, (), ())
    return choose_precision(requested, read_cpu_flags(), read_gpu_details())
