"""Making a shipped set: name, settings, the recorded command, the index entry."""

import json

import pytest

from udd_keras.errors import UddError
from udd_keras.sets import index
from udd_keras.sets.make import (
    ShippingProtocol,
    check_settings,
    command_line,
    main,
    make_set,
    parse_name,
    parse_setting,
)
from udd_keras.tfrecords import read_metadata


def test_the_name_says_dataset_ipc_and_method():
    assert parse_name("digits-ipc10-udd") == ("digits", 10, "udd")
    for bad in ("digits-udd", "digits-ipc0-udd", "Digits-ipc1-udd"):
        with pytest.raises(UddError, match="<dataset>-ipc<N>-<method>"):
            parse_name(bad)


def test_settings_are_distill_config_fields_and_agree_with_the_name():
    assert check_settings({"lr_img": 0.01}, "udd") == {"lr_img": 0.01}
    with pytest.raises(UddError, match="'lr_image'; allowed: .*lr_img"):
        check_settings({"lr_image": 0.01}, "udd")
    with pytest.raises(UddError, match="contradicts the name's method 'udd'"):
        check_settings({"method": "idc"}, "udd")
    with pytest.raises(UddError, match="--set takes KEY=VALUE"):
        parse_setting("lr_img")
    assert parse_setting("clip=false") == ("clip", False)


def test_the_command_spells_out_what_differs_from_the_defaults():
    protocol = ShippingProtocol(repeats=3, check_epochs=10, check_width=128)
    assert command_line(
        "fashion_mnist-ipc1-idc", "cpu-hour", {"formation": "tiles"}, protocol
    ) == (
        "python -m udd_keras.sets.make fashion_mnist-ipc1-idc --preset cpu-hour "
        "--set formation=tiles --repeats 3 --check-epochs 10 --check-width 128"
    )


@pytest.mark.slow
def test_make_writes_the_set_and_its_entry_beside_the_others(tmp_path):
    protocol = ShippingProtocol(
        epochs=1, width=8, repeats=2, check_epochs=1, check_width=8, check_repeats=1
    )
    settings = {"iterations": 1, "inner_steps": 1, "width": 8}
    (tmp_path / "index.json").write_text(
        json.dumps({"format": 1, "sets": {"other-ipc1-udd": {"file": "x"}}})
    )
    shipped = make_set("digits-ipc1-udd", "quick", settings, protocol, folder=tmp_path)
    assert shipped.path == tmp_path / "digits-ipc1-udd.tfrecord"
    saved = json.loads((tmp_path / "index.json").read_text())["sets"]
    assert sorted(saved) == ["digits-ipc1-udd", "other-ipc1-udd"]
    entry = saved["digits-ipc1-udd"]
    assert entry["command"] == command_line(
        "digits-ipc1-udd", "quick", settings, protocol
    )
    assert entry["accuracy"]["n"] == 2 and entry["accuracy"]["split"] == "test"
    low, high = entry["check"]["range"]
    assert low <= entry["check"]["mean"] <= high
    meta = read_metadata(shipped.path)
    assert meta.ipc == 1 and meta.num_classes == 10 and meta.method == "udd"
    assert meta.extra["accuracy"] == entry["accuracy"]
    assert index.resolve("digits-ipc1-udd", tmp_path) == shipped.path


def test_the_module_command_turns_mistakes_into_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["digits-ipc1-udd", "--set", "nope=1", "--out", "/nonexistent"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("Error: Unknown distillation setting 'nope'")
    assert error.count("\n") == 1
