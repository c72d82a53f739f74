"""`tunelab plot` and `tunelab explain` through a Typer app that registers them as main does."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import click
import pytest
import typer

from tunelab.cli.explain import explain_command
from tunelab.cli.plot import plot_command
from tunelab.errors import TunelabError
from tunelab.knobs import Hyperparameters

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command("plot")(plot_command)
app.command("explain")(explain_command)


@pytest.fixture
def cli(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TUNELAB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("COLUMNS", "200")

    def invoke(*args: str) -> tuple[int, str, str]:
        try:
            app(args=list(args), prog_name="tunelab", standalone_mode=False)
            code = 0
        except click.exceptions.Exit as stop:
            code = stop.exit_code
        except TunelabError as err:
            click.echo(f"error: {err}", err=True)
            code = 1
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


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
