"""`tunelab train --init-from / --freeze-epochs / --backbone-lr-factor / --resume`."""

from __future__ import annotations

import json

import pytest


def test_flags_are_generated_from_the_knobs(cli) -> None:
    code, out, _ = cli("train", "--help")
    assert code == 0
    for flag in ("--init-from", "--freeze-epochs", "--backbone-lr-factor", "--resume"):
        assert flag in out


def test_resume_continues_the_same_run(cli, tmp_path) -> None:
    code, _, err = cli("train", "digits", "--epochs", "1", "--threads", "1", "--name", "a", "-q")
    assert code == 0, err
    code, out, err = cli("train", "--resume", "a", "--epochs", "2", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["run"] == "a" and summary["epochs_run"] == 2
    assert summary["resumed_from_epoch"] == 1


def test_init_from_a_run_with_frozen_epochs(cli) -> None:
    assert cli("train", "digits", "--epochs", "1", "--threads", "1", "--name", "base", "-q")[0] == 0
    code, out, err = cli(
        "train", "digits", "--epochs", "2", "--threads", "1", "--init-from", "base",
        "--freeze-epochs", "1", "--backbone-lr-factor", "0.1", "--json",
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["init_from"] == {"source": "base", "notes": []}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--init-from", "nothing-here"], "invalid init_from: 'nothing-here' is not a run"),
        (["--init-from", "w/none.pth"], "file not found"),
        (["--freeze-epochs", "-1"], "invalid freeze_epochs: got -1"),
        (["--backbone-lr-factor", "2"], "invalid backbone_lr_factor: got 2"),
    ],
)
def test_bad_transfer_flags_give_one_line(cli, args, expected) -> None:
    code, out, err = cli("train", "digits", "--epochs", "1", *args)
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], err
    assert "Traceback" not in out + err


def test_resume_refuses_other_knobs_and_unknown_runs(cli) -> None:
    assert cli("train", "digits", "--epochs", "1", "--threads", "1", "--name", "r", "-q")[0] == 0
    code, _, err = cli("train", "--resume", "r", "--epochs", "3", "--learning-rate", "0.1")
    assert code != 0 and "--learning-rate cannot change" in err and "--init-from r" in err
    code, _, err = cli("train", "--resume", "nope")
    assert code != 0 and "no run named 'nope'" in err
    code, _, err = cli("train", "--resume", "r")
    assert code != 0 and "give --epochs above 1" in err


def test_resume_finds_a_folder_given_relative_from_another_folder(cli, tmp_path, monkeypatch):
    from tunelab.data import make_synthetic_folder

    monkeypatch.chdir(tmp_path)
    make_synthetic_folder(tmp_path / "imgs", classes=2, per_class=8, size=(8, 8))
    code, _, err = cli("train", "imgs", "--epochs", "1", "--threads", "1", "--name", "rel", "-q")
    assert code == 0, err
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, err = cli("train", "--resume", "rel", "--epochs", "2", "--json")
    assert code == 0, err
    assert json.loads(out)["epochs_run"] == 2
