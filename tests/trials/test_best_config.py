"""The best config trains the best trial again, to the same number; `tune` shows progress."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunelab.knobs import Hyperparameters

FIXES = ["model=mlp", "activation=relu", "dropout=0", "weight_decay=0", "batch_size=32"]


@pytest.fixture
def tuned(cli, tmp_path: Path) -> tuple[dict, str, str]:
    args = ["tune", "digits", "--trials", "3", "--epochs", "2", "--threads", "1"]
    args += ["--study", "again", "--no-report"]
    for fix in FIXES:
        args += ["--fix", fix]
    code, out, err = cli(*args)
    assert code == 0, err
    code, json_out, err = cli("tune-report", "again", "--json")
    assert code == 0, err
    return json.loads(json_out), out, err


def test_training_from_the_best_config_gives_the_best_trials_value(cli, tuned) -> None:
    report, out, _ = tuned
    best = report["leaderboard"][0]
    config = Path(out.split("best knobs written to ")[1].split(":")[0])
    hp = Hyperparameters.load(config)
    assert hp.seed != 0  # the trial's own seed, not the base one
    assert hp.split_seed == 0  # the split every trial shared
    assert hp.threads == 1 and hp.epochs == 2 and hp.model == "mlp"
    assert f"Best trial {best['number']}" in config.read_text()
    assert f"weights of epoch {best['epoch']} of 2" in config.read_text()
    code, trained, err = cli("train", "digits", "--config", str(config), "--json")
    assert code == 0, err
    summary = json.loads(trained)
    assert summary["final_val_accuracy"] == best["value"]
    assert summary["n_val"] == best["n_val"]


def test_tune_prints_a_line_per_finished_trial_before_the_leaderboard(tuned) -> None:
    _, out, _ = tuned
    lines = [line for line in out.splitlines() if line.startswith("trial ")]
    assert [line.split()[1] for line in lines] == ["0", "1", "2"]
    assert all(" after 2 epochs" in line and " of 3 trials" in line for line in lines)
    assert all("best " in line for line in lines)
    assert "95%" in lines[0] and "n=" in lines[0]
    assert out.index(lines[-1]) < out.index("leaderboard")


def test_without_a_limit_tune_runs_the_default_count_and_budget(cli) -> None:
    from tunelab.trials.images import DEFAULT_BUDGET, DEFAULT_TRIALS, default_limits

    assert default_limits(None, None, "auto") == (DEFAULT_TRIALS, DEFAULT_BUDGET)
    assert default_limits(5, None, "auto") == (5, None)
    assert default_limits(None, None, "grid") == (None, None)
    assert DEFAULT_BUDGET <= 600
