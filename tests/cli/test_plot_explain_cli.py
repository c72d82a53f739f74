"""`tunelab plot` and `tunelab explain`, through the real app (the `cli` fixture)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from tunelab.knobs import Hyperparameters


def test_explain_lists_every_knob_by_group(cli) -> None:
    code, out, _ = cli("explain")
    assert code == 0
    for field in Hyperparameters.model_fields:
        assert field in out
    assert "optimizer knobs" in out and "runtime knobs" in out


def test_explain_one_knob(cli) -> None:
    code, out, _ = cli("explain", "learning-rate")
    assert code == 0
    assert "too high looks like" in out and "how to step it" in out and "0.003" in out
    code, out, _ = cli("explain", "batch_size", "--json")
    data = json.loads(out)
    assert data["name"] == "batch_size" and data["default"] == 32 and data["too_low"]


def test_plot_one_run_and_an_overlay(cli, tmp_path: Path, monkeypatch) -> None:
    from tunelab.training.trainer import train

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lr in (0.01, 0.001):
            train(
                "digits",
                store=tmp_path / "runs",
                name=f"lr{lr}",
                epochs=1,
                learning_rate=lr,
                threads=1,
            )
    code, out, _ = cli("plot", "lr0.01")
    assert code == 0 and (tmp_path / "runs" / "lr0.01" / "curves.png").is_file()
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli("plot", "lr0.01", "lr0.001")
    assert code == 0 and (tmp_path / "curves-compare.png").is_file()
    code, out, _ = cli("plot", "lr0.01", "lr0.001", "--out", str(tmp_path / "x.png"))
    assert code == 0 and (tmp_path / "x.png").is_file()
