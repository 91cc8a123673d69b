"""`precision="auto"`: bfloat16 only where the hardware runs it natively."""

import pytest

from udd_keras.distillation.config import DistillConfig
from udd_keras.errors import UddError
from udd_keras.precision import (
    choose_precision,
    detect_precision,
    read_cpu_flags,
)

AVX2_ONLY = {"sse4_2", "avx2", "fma"}


@pytest.mark.parametrize(
    "flags, gpus, expected",
    [
        (AVX2_ONLY, 0, "float32"),
        (set(), 0, "float32"),
        (AVX2_ONLY | {"avx512_bf16"}, 0, "mixed_bfloat16"),
        (AVX2_ONLY | {"amx_bf16"}, 0, "mixed_bfloat16"),
        (AVX2_ONLY, 1, "mixed_bfloat16"),
        (set(), 2, "mixed_bfloat16"),
    ],
)
def test_auto_follows_the_cpu_flags_and_gpus(flags, gpus, expected):
    choice = choose_precision("auto", flags, gpus)
    assert choice.precision == expected
    assert choice.warning is None
    assert choice.message.startswith(f"precision: {expected} (auto: ")


def test_auto_names_what_it_found():
    assert "amx_bf16" in choose_precision("auto", {"amx_bf16"}, 0).message
    assert "2 GPUs" in choose_precision("auto", set(), 2).message
    assert "no native bfloat16" in choose_precision("auto", AVX2_ONLY, 0).message


def test_explicit_bfloat16_warns_only_without_native_support():
    emulated = choose_precision("mixed_bfloat16", AVX2_ONLY, 0)
    assert emulated.precision == "mixed_bfloat16"
    assert "avx512_bf16 or amx_bf16" in emulated.warning
    assert "\n" not in emulated.warning
    assert choose_precision("mixed_bfloat16", {"avx512_bf16"}, 0).warning is None
    assert choose_precision("mixed_bfloat16", set(), 1).warning is None


def test_explicit_float32_is_kept_on_any_hardware():
    choice = choose_precision("float32", {"amx_bf16"}, 4)
    assert (choice.precision, choice.warning) == ("float32", None)


def test_unknown_precision_names_the_allowed_values():
    with pytest.raises(UddError, match="auto, float32, mixed_bfloat16; got 'fp16'"):
        choose_precision("fp16", set(), 0)


def test_cpu_flags_are_read_from_cpuinfo_on_linux_only(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nflags\t\t: fpu avx2 amx_bf16\n\n"
        "processor\t: 1\nflags\t\t: fpu avx2 amx_bf16\n"
    )
    assert read_cpu_flags(cpuinfo, system="Linux") == {"fpu", "avx2", "amx_bf16"}
    assert read_cpu_flags(cpuinfo, system="Darwin") == frozenset()
    assert read_cpu_flags(tmp_path / "missing", system="Linux") == frozenset()


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
