"""`tunelab tune --workers 0` + `tunelab worker` on tiny images, through PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import optuna

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


def fails(cli, *args: str) -> str:
    """Run the CLI; assert it failed with a one-line error; return the error."""
    code, _, err = cli(*args)
    assert code == 1 and err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    return err


def test_worker_runs_a_study_made_by_tune_into_the_shared_folder(cli, tmp_path, postgres_url):
    data = make_synthetic_folder(tmp_path / "data", classes=2, per_class=8, size=(8, 8))
    shared = tmp_path / "shared"
    code, out, err = cli(
        *tune_args(data, "img", "--trials", "3", "--pruner", "none"),
        *("--storage", postgres_url, "--workers", "0", "--artifacts", str(shared)),
    )
    assert code == 0, err
    assert f"tunelab worker {data} --study img --storage" in out

    code, out, err = cli("worker", str(data), "--study", "img", "--storage", postgres_url, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["stopped"] == "n_trials" and result["counted"] == 3
    assert [t["number"] for t in result["ran_here"]] == [0, 1, 2]
    runs = sorted(shared.glob("img-trial-*"))
    assert [r.name for r in runs] == [t["run"] for t in result["ran_here"]]
    assert all((r / "summary.json").is_file() and (r / "metrics_epoch.csv").is_file() for r in runs)
    assert not (tmp_path / "runs" / "img-trial-0000").exists()  # trials went to --artifacts
    study = optuna.load_study(study_name="img", storage=postgres_url)
    assert result["best_value"] == study.best_value
    assert study.best_value == max(t["value"] for t in result["ran_here"])

    # The study is complete: a second worker finds nothing to do and says so.
    code, out, err = cli("worker", str(data), "--study", "img", "--storage", postgres_url)
    assert code == 0, err
    assert "this worker ran 0 trial(s)" in out and "stopped: n_trials" in out


def test_worker_errors_are_one_line(cli, tmp_path, postgres_url):
    data = make_synthetic_folder(tmp_path / "data", classes=2, per_class=8, size=(8, 8))
    code, _, err = cli(
        *tune_args(data, "img", "--trials", "2", "--storage", postgres_url, "--workers", "0")
    )
    assert code == 0, err

    err = fails(cli, "worker", str(data), "--study", "im", "--storage", postgres_url)
    assert "no study named 'im'" in err and 'Did you mean "img"' in err
    other = make_synthetic_folder(tmp_path / "other", classes=3, per_class=8, size=(8, 8))
    err = fails(cli, "worker", str(other), "--study", "img", "--storage", postgres_url)
    assert "24 images in classes class0, class1, class2" in err and "same data set" in err
    err = fails(cli, "worker", str(data), "--study", "img")
    assert "no study 'img' in the run store" in err and "--storage" in err

    secret = "postgresql://postgres:hunter2@127.0.0.1:1/none"
    err = fails(cli, "worker", str(data), "--study", "img", "--storage", secret)
    assert "cannot open storage" in err and "hunter2" not in err and "***" in err


def test_tune_distributed_flag_errors_are_one_line(cli, tmp_path, monkeypatch):
    data = make_synthetic_folder(tmp_path / "data", classes=2, per_class=8, size=(8, 8))
    err = fails(cli, *tune_args(data, "e", "--ray-address", "auto"))
    assert "apply to --backend ray" in err
    err = fails(cli, *tune_args(data, "e", "--backend", "rey"))
    assert "unknown backend 'rey'" in err and 'Did you mean "ray"' in err
    err = fails(cli, *tune_args(data, "e", "--workers", "-1"))
    assert "--workers must be at least 0" in err
    monkeypatch.setenv("TUNELAB_HEARTBEAT_GRACE", "soon")
    err = fails(cli, *tune_args(data, "e", "--trials", "1"))
    assert "TUNELAB_HEARTBEAT_GRACE must be a whole number of seconds >= 2 (got 'soon')" in err


def test_help_does_not_import_ray_or_the_database_drivers():
    import subprocess
    import sys

    code = (
        "import sys; from tunelab.cli.main import run; run(['worker', '--help']); "
        "run(['tune', '--help']); "
        "print(sorted(m for m in ('ray', 'optuna', 'sqlalchemy', 'psycopg') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "--storage" in out.stdout and "--backend" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_a_worker_skips_the_bad_files_a_tune_with_skip_bad_skipped(cli, tmp_path, postgres_url):
    data = make_synthetic_folder(tmp_path / "data", classes=2, per_class=8, size=(8, 8))
    (data / "class0" / "broken.png").write_bytes(b"not a png")
    shared = tmp_path / "shared"
    code, _, err = cli(
        *tune_args(data, "bad", "--trials", "1", "--pruner", "none", "--skip-bad"),
        *("--storage", postgres_url, "--workers", "0", "--artifacts", str(shared)),
    )
    assert code == 0, err
    code, out, err = cli("worker", str(data), "--study", "bad", "--storage", postgres_url, "--json")
    assert code == 0, err  # without the study's skip_bad the worker would stop at broken.png
    (trial,) = json.loads(out)["ran_here"]
    summary = json.loads((shared / trial["run"] / "summary.json").read_text())
    assert [Path(path).name for path, _ in summary["skipped"]] == ["broken.png"]
