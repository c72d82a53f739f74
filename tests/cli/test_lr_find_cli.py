"""`tunelab lr-find`: suggestions and plot; one-line errors for impossible ranges."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def tl(cli):
    """The real `tunelab` app (sweep and lr-find are registered in tunelab.cli.main)."""
    return cli


def test_lr_find_prints_suggestions_and_writes_the_plot(tl, tmp_path) -> None:
    plot = tmp_path / "lr.png"
    code, out, err = tl("lr-find", "digits", "--threads", "1", "--out", str(plot))
    assert code == 0, err
    assert "valley" in out and "steep" in out and "minimum" in out and "recommended" in out
    suggested = float(out.split("suggested learning rate: ")[1].split()[0])
    assert 1e-4 <= suggested <= 1.0
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_lr_find_json(tl, tmp_path) -> None:
    code, out, _ = tl("lr-find", "digits", "--threads", "1", "--steps", "30", "--start", "1e-5",
                      "--end", "1", "--json", "--out", str(tmp_path / "p.png"))  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert data["steps_planned"] == 30 and len(data["lrs"]) == data["steps_run"] <= 30
    assert all(1e-5 <= lr <= 1 for lr in data["suggestions"].values())
    assert data["suggested"] == data["suggestions"]["valley"]
    assert data["plot"] == str(tmp_path / "p.png")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--steps", "0"], "steps must be an integer >= 2 (got 0)"),
        (["--start", "1", "--end", "0.1"], "start must be below end"),
        (["--start", "0"], "start must be a learning rate > 0"),
        (["--steps", "many"], "'--steps'"),
        (["--optimizer", "adma"], 'Did you mean "adam"'),
        (["--batch-size", "0"], "invalid batch_size: got 0"),
    ],
)
def test_bad_lr_find_command_lines(tl, tmp_path, args: list[str], expected: str) -> None:
    code, out, err = tl("lr-find", "digits", "--out", str(tmp_path / "x.png"), *args)
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and expected in lines[0]
    assert "Traceback" not in out + err
    assert not (tmp_path / "x.png").exists()


def test_train_with_learning_rate_auto_uses_the_range_test(tl, tmp_path) -> None:
    code, out, err = tl("train", "digits", "--learning-rate", "auto", "--epochs", "1",
                        "--threads", "1", "--name", "auto")  # fmt: skip
    assert code == 0, err
    assert "learning rate (auto, from the range test):" in out
    chosen = float(out.split("from the range test): ")[1].split()[0])
    config = (tmp_path / "runs" / "auto" / "config.yaml").read_text()
    assert f"learning_rate: {chosen}" in config or f"learning_rate: {chosen:g}" in config
    assert 1e-7 <= chosen <= 10


def test_learning_rate_auto_needs_valid_other_knobs(tl) -> None:
    code, _, err = tl("train", "digits", "--learning-rate", "auto", "--optimizer", "adma")
    assert code == 1 and 'Did you mean "adam"' in err and "Traceback" not in err


def test_lr_find_says_what_each_suggestion_means_and_takes_sweeps_plot_flag(tl, tmp_path) -> None:
    plot = tmp_path / "named.png"
    code, out, err = tl("lr-find", "digits", "--threads", "1", "--steps", "30", "--plot", str(plot))
    assert code == 0, err
    assert "a tenth of the learning rate at the lowest loss" in out
    assert "falls fastest" in out and "longest stretch where the loss falls" in out
    assert plot.read_bytes()[:4] == b"\x89PNG"
    code, out, _ = tl("lr-find", "--help")
    assert "--plot" in out and "--out" not in out  # the old name still works, unlisted
