"""`tunelab tune` from the command line, on tiny data."""

from __future__ import annotations

import json

from tunelab.data import make_synthetic_folder
from tunelab.knobs import Hyperparameters


def test_tune_writes_best_config_that_train_accepts(cli, tmp_path) -> None:
    data = make_synthetic_folder(tmp_path / "data", classes=2, per_class=8, size=(8, 8))
    fixes = [
        "model=mlp",
        "activation=relu",
        "dropout=0",
        "weight_decay=0",
        "optimizer=adam",
        "batch_size=8",
    ]
    args = [
        "tune",
        str(data),
        "--trials",
        "2",
        "--epochs",
        "2",
        "--threads",
        "1",
        "--study",
        "cli1",
        "--json",
    ]
    for fix in fixes:
        args += ["--fix", fix]
    code, out, err = cli(*args)
    assert code == 0, err
    result = json.loads(out)
    assert len(result["trials"]) == 2
    best = Hyperparameters.load(result["best_config"])
    assert best.learning_rate == result["best_params"]["learning_rate"]
    assert best.epochs == 2
    code, out, err = cli("train", str(data), "--config", result["best_config"], "--json")
    assert code == 0, err


def test_tune_bad_strategy_is_one_line(cli) -> None:
    code, _, err = cli("tune", "digits", "--strategy", "bayes", "--trials", "1")
    assert code == 1
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "strategy" in err


def test_piped_output_is_not_cut_at_80_columns(tmp_path) -> None:
    import os
    import subprocess
    import sys

    from tunelab.runs import RunStore

    store = RunStore(tmp_path / "runs")
    run = store.create("x", "a-run-with-a-rather-long-name-that-says-what-it-is-0001")
    (run.path / "config.yaml").write_text("learning_rate: 1.0e-05\nmodel: mlp\n")
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    code = "from tunelab.cli.main import run; run(['runs', 'list', '--runs-dir', %r])"
    out = subprocess.run(
        [sys.executable, "-c", code % str(store.root)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert "a-run-with-a-rather-long-name-that-says-what-it-is-0001" in out
    assert "1e-05" in out and "0.0000" not in out
    assert max(len(line) for line in out.splitlines()) > 80


def test_tune_starts_from_the_portfolio_unless_told_not_to(cli, tmp_path) -> None:
    from tunelab.trials.images import build_space
    from tunelab.trials.portfolio import starting_points

    data = make_synthetic_folder(tmp_path / "data", classes=2, per_class=8, size=(8, 8))
    fixes = ["model=mlp", "activation=relu", "dropout=0", "weight_decay=0", "batch_size=8"]
    first = starting_points(build_space(fixes=fixes))[0]
    args = ["tune", str(data), "--trials", "1", "--epochs", "1", "--threads", "1", "--json"]
    for fix in fixes:
        args += ["--fix", fix]
    firsts = []
    for flag in ("--portfolio", "--no-portfolio"):
        code, out, err = cli(*args, flag, "--study", flag.strip("-"), "--ensemble", "0")
        assert code == 0, err
        params = json.loads(out)["trials"][0]["params"]
        firsts.append({key: params[key] for key in first})
    assert firsts[0] == first
    assert firsts[1] != first
