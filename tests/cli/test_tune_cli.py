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
