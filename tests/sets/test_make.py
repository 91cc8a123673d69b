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


def test_a_kept_run_of_other_settings_is_refused_before_any_work(tmp_path):
    from udd_keras.distillation import DistillConfig

    run = tmp_path / "run"
    run.mkdir()
    made = DistillConfig("digits", ipc=1, method="idc", iterations=2, width=8)
    (run / "config.json").write_text(json.dumps(made.resolve().to_dict()))
    settings = {"iterations": 3, "width": 8}
    with pytest.raises(UddError, match=r"other settings: iterations=2 \(the command"):
        make_set("digits-ipc1-idc", settings=settings, folder=tmp_path, run_dir=run)
    assert not (run / "synthetic.tfrecord").exists()
    assert not (tmp_path / "index.json").exists()


@pytest.mark.slow
def test_a_set_training_on_a_shipped_sets_data_takes_its_accuracy(tmp_path):
    protocol = ShippingProtocol(
        epochs=1, width=8, repeats=1, check_epochs=1, check_width=8, check_repeats=1
    )
    settings = {"iterations": 1, "inner_steps": 2, "width": 8, "precision": "float32"}
    run = tmp_path / "udd-run"
    udd = make_set(
        "digits-ipc1-udd", None, settings, protocol, folder=tmp_path, run_dir=run
    )
    # udd's default trains idc's objective: the same images, evaluated once.
    idc = make_set("digits-ipc1-idc", None, settings, protocol, folder=tmp_path)
    entries = json.loads((tmp_path / "index.json").read_text())["sets"]
    assert entries["digits-ipc1-idc"]["evaluation_of"] == "digits-ipc1-udd"
    assert "evaluation_of" not in entries["digits-ipc1-udd"]
    assert idc.accuracy == udd.accuracy
    assert (
        entries["digits-ipc1-idc"]["training_digest"]
        == entries["digits-ipc1-udd"]["training_digest"]
    )
    # The kept finished run is taken as it is: the same set, nothing distilled.
    before = (run / "metrics.jsonl").read_text()
    again = make_set(
        "digits-ipc1-udd", None, settings, protocol, folder=tmp_path, run_dir=run
    )
    assert (run / "metrics.jsonl").read_text() == before
    assert again.entry["sha256"] == udd.entry["sha256"]
