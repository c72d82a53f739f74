"""`tunelab tune` outputs from the command line: intervals, importances, report, weights
kept for the best, --cv, --retrain-best, and `tunelab tune-report`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunelab.data import make_synthetic_folder

FIXES = [
    "model=mlp",
    "activation=relu",
    "dropout=0",
    "weight_decay=0",
    "optimizer=adam",
    "batch_size=8",
]


def tune_args(data: Path, study: str, *extra: str) -> list[str]:
    args = ["tune", str(data), "--epochs", "2", "--threads", "1", "--study", study, *extra]
    for fix in FIXES:
        args += ["--fix", fix]
    return args


def test_tune_writes_report_keeps_best_weights_and_retrains(cli, tmp_path) -> None:
    data = make_synthetic_folder(tmp_path / "data", classes=2, per_class=8, size=(8, 8))
    code, out, err = cli(
        *tune_args(data, "out1", "--trials", "3", "--pruner", "none", "--keep-weights", "1"),
        "--retrain-best",
        "--json",
    )
    assert code == 0, err
    result = json.loads(out)
    runs = tmp_path / "runs"
    studies = runs / "studies"
    assert result["report"] == str(studies / "out1-report.html")
    assert Path(result["report"]).is_file()
    assert set(result["plots"]) >= {"history", "parallel", "curves"}
    assert "too few complete trials" in result["note"]
    assert json.loads((studies / "out1-importances.json").read_text())["note"] == result["note"]
    top = result["leaderboard"][0]
    assert top["value"] == result["best_value"]
    low, high = top["interval_95"]
    assert low <= top["value"] <= high and top["n_val"] == 4
    weights = sorted(p.parent.name for p in runs.glob("out1-trial-*/model.safetensors"))
    assert weights == [f"out1-trial-{top['number']:04d}"]
    assert result["retrained_run"] == "out1-best"
    assert (runs / "out1-best" / "model.safetensors").is_file()
    # resuming with --retrain-best would overwrite it: refused before any trial runs
    code, _, err = cli(*tune_args(data, "out1", "--trials", "4", "--resume", "--retrain-best"))
    assert code == 1 and "out1-best" in err and len(err.strip().splitlines()) == 1

    # the report is re-made from the stored study, and printed for a terminal
    (studies / "out1-report.html").unlink()
    code, out, err = cli("tune-report", "out1")
    assert code == 0, err
    assert (studies / "out1-report.html").is_file()
    assert "95% interval" in out and " to " in out
    assert "knob importances: too few complete trials" in out
    assert "within noise" in out and "--cv 5" in out  # 4 validation images cannot separate


def test_tune_with_cv_and_no_report(cli, tmp_path) -> None:
    data = make_synthetic_folder(tmp_path / "data", classes=2, per_class=6, size=(8, 8))
    code, out, err = cli(*tune_args(data, "cv1", "--trials", "2", "--cv", "3", "--no-report"))
    assert code == 0, err
    assert "leaderboard: cv1" in out and "(n=12)" in out
    studies = tmp_path / "runs" / "studies"
    assert not (studies / "cv1-report.html").exists()
    assert (studies / "cv1-importances.json").is_file()
    assert (tmp_path / "runs" / "cv1-trial-0000-fold-3").is_dir()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--cv", "1"], "invalid cv 1"),
        (["--cv", "7"], "from 2 to 6"),
        (["--keep-weights", "-1"], "keep_weights must be a whole number >= 0"),
    ],
)
def test_bad_output_options_are_one_line(cli, tmp_path, flags, message) -> None:
    data = make_synthetic_folder(tmp_path / "data", classes=2, per_class=6, size=(8, 8))
    code, _, err = cli(*tune_args(data, "bad", "--trials", "1", *flags))
    assert code == 1
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert message in err


def test_tune_report_of_an_unknown_study_is_one_line(cli) -> None:
    code, _, err = cli("tune-report", "nosuch")
    assert code == 1
    assert err.startswith("error: no study named 'nosuch'")
    assert len(err.strip().splitlines()) == 1
