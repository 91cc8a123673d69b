"""`precision="auto"`: bfloat16 only where the hardware runs it natively."""

import pytest

from udd_keras.distillation.config import DistillConfig
from udd_keras.errors import UddError
from udd_keras.precision import (
    choose_precision,
    detect_precision,
    read_cpu_flags,
    read_gpu_details,
)

AVX2_ONLY = {"sse4_2", "avx2", "fma"}
# Device details as `tf.config.experimental.get_device_details` gives them.
A100 = {"device_name": "NVIDIA A100-SXM4-40GB", "compute_capability": (8, 0)}
H100 = {"device_name": "NVIDIA H100 80GB HBM3", "compute_capability": (9, 0)}
T4 = {"device_name": "Tesla T4", "compute_capability": (7, 5)}
V100 = {"device_name": "Tesla V100-SXM2-16GB", "compute_capability": (7, 0)}
NO_CAPABILITY = {"device_name": "AMD Instinct MI250X"}


@pytest.mark.parametrize(
    "flags, gpus, expected",
    [
        (AVX2_ONLY, [], "float32"),
        (set(), [], "float32"),
        (AVX2_ONLY | {"avx512_bf16"}, [], "mixed_bfloat16"),
        (AVX2_ONLY | {"amx_bf16"}, [], "mixed_bfloat16"),
        (AVX2_ONLY, [A100], "mixed_bfloat16"),
        (AVX2_ONLY, [H100], "mixed_bfloat16"),
        (set(), [A100, H100], "mixed_bfloat16"),
        (AVX2_ONLY, [T4], "float32"),
        (AVX2_ONLY, [V100], "float32"),
        (AVX2_ONLY, [A100, T4], "float32"),
        (AVX2_ONLY, [NO_CAPABILITY], "float32"),
        (AVX2_ONLY, [{}], "float32"),
        # With a GPU the GPU decides, whatever the CPU has.
        ({"amx_bf16"}, [T4], "float32"),
    ],
)
def test_auto_follows_the_cpu_flags_and_each_gpus_compute_capability(
    flags, gpus, expected
):
    choice = choose_precision("auto", flags, gpus)
    assert choice.precision == expected
    assert choice.warning is None
    assert choice.message.startswith(f"precision: {expected} (auto: ")
    assert "\n" not in choice.message


def test_auto_names_what_it_found():
    assert "amx_bf16" in choose_precision("auto", {"amx_bf16"}, []).message
    assert "no native bfloat16" in choose_precision("auto", AVX2_ONLY, []).message
    assert choose_precision("auto", set(), [A100, A100]).reason == (
        "native bfloat16: 2 GPUs, 2 x NVIDIA A100-SXM4-40GB with compute capability 8.0"
    )
    assert choose_precision("auto", set(), [A100, T4]).reason == (
        "no native bfloat16, which needs compute capability 8.0 or more on every "
        "GPU: 2 GPUs, NVIDIA A100-SXM4-40GB with compute capability 8.0, Tesla "
        "T4 with compute capability 7.5"
    )
    missing = choose_precision("auto", set(), [NO_CAPABILITY, {}]).reason
    assert "AMD Instinct MI250X with no compute capability" in missing
    assert "unnamed GPU with no compute capability" in missing


def test_explicit_bfloat16_warns_only_without_native_support():
    emulated = choose_precision("mixed_bfloat16", AVX2_ONLY, [])
    assert emulated.precision == "mixed_bfloat16"
    assert "avx512_bf16 or amx_bf16" in emulated.warning
    assert "\n" not in emulated.warning
    assert choose_precision("mixed_bfloat16", {"avx512_bf16"}, []).warning is None
    assert choose_precision("mixed_bfloat16", set(), [A100]).warning is None


def test_explicit_bfloat16_on_an_older_gpu_warns_with_its_compute_capability():
    choice = choose_precision("mixed_bfloat16", {"amx_bf16"}, [T4])
    assert choice.precision == "mixed_bfloat16"
    assert "compute capability 8.0 or more" in choice.warning
    assert "Tesla T4 with compute capability 7.5" in choice.warning
    assert "\n" not in choice.warning


def test_explicit_float32_is_kept_on_any_hardware():
    choice = choose_precision("float32", {"amx_bf16"}, [A100] * 4)
    assert (choice.precision, choice.warning) == ("float32", None)


def test_unknown_precision_names_the_allowed_values():
    with pytest.raises(UddError, match="auto, float32, mixed_bfloat16; got 'fp16'"):
        choose_precision("fp16", set(), [])


def test_cpu_flags_are_read_from_cpuinfo_on_linux_only(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nflags\t\t: fpu avx2 amx_bf16\n\n"
        "processor\t: 1\nflags\t\t: fpu avx2 amx_bf16\n"
    )
    assert read_cpu_flags(cpuinfo, system="Linux") == {"fpu", "avx2", "amx_bf16"}
    assert read_cpu_flags(cpuinfo, system="Darwin") == frozenset()
    assert read_cpu_flags(tmp_path / "missing", system="Linux") == frozenset()


def test_gpu_details_are_read_for_each_visible_gpu(monkeypatch):
    import tensorflow as tf

    # Two fake GPUs: no GPU code runs.
    gpus = {"gpu:0": A100, "gpu:1": T4}
    monkeypatch.setattr(
        tf.config,
        "list_physical_devices",
        lambda kind=None: list(gpus) if kind == "GPU" else [],
    )
    monkeypatch.setattr(tf.config.experimental, "get_device_details", gpus.get)
    assert read_gpu_details() == [A100, T4]
    assert detect_precision("auto").precision == "float32"
    assert "Tesla T4 with compute capability 7.5" in detect_precision("auto").reason


def test_config_resolves_auto_to_this_machines_choice():
    resolved = DistillConfig("digits").resolve()
    assert resolved.precision == detect_precision("auto").precision
    assert resolved.precision in ("float32", "mixed_bfloat16")


def test_config_resolves_auto_to_a_given_precision_and_keeps_explicit_ones():
    config = DistillConfig("digits")
    assert config.precision == "auto"
    assert config.resolve(auto_precision="float32").precision == "float32"
    explicit = DistillConfig("digits", precision="mixed_bfloat16")
    assert explicit.resolve(auto_precision="float32").precision == "mixed_bfloat16"


def test_configs_written_before_auto_resolve_to_float32():
    values = DistillConfig("digits").resolve(auto_precision="float32").to_dict()
    del values["precision"]
    assert DistillConfig.from_dict(values).resolve().precision == "float32"
