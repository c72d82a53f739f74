"""The run store: names, atomic files, listing and lookup errors."""

from __future__ import annotations

import json

import pytest

from tunelab.errors import TunelabError
from tunelab.knobs import Hyperparameters
from tunelab.runs import RunStore, check_name


def test_create_list_get_delete(tmp_path) -> None:
    store = RunStore(tmp_path)
    run = store.create("digits-simple-cnn-adam")
    run.write_config(Hyperparameters(epochs=2))
    run.write_json("summary.json", {"status": "completed", "best": float("nan")})
    assert store.names() == [run.name]
    assert store.get(run.name).hyperparameters.epochs == 2
    assert json.loads((run.path / "summary.json").read_text())["best"] is None
    assert store.get("latest").name == run.name
    store.delete(run.name)
    assert store.names() == []


def test_named_run_cannot_be_created_twice(tmp_path) -> None:
    store = RunStore(tmp_path)
    store.create("x", name="mine")
    with pytest.raises(TunelabError, match="already exists"):
        store.create("x", name="mine")


@pytest.mark.parametrize(
    "name", ["../escape", "a/b", "..", ".hidden", "", "x" * 200, "a b", "semi;colon", "/abs"]
)
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(TunelabError, match="invalid run name"):
        check_name(name)


def test_reserved_name(tmp_path) -> None:
    with pytest.raises(TunelabError, match="reserved"):
        RunStore(tmp_path).create("x", name="latest")


def test_unknown_run_suggests_close_name(tmp_path) -> None:
    store = RunStore(tmp_path)
    store.create("x", name="digits-adam").write_config(Hyperparameters())
    with pytest.raises(TunelabError, match='Did you mean "digits-adam"'):
        store.get("digits-adan")


def test_latest_with_no_runs(tmp_path) -> None:
    with pytest.raises(TunelabError, match="no runs"):
        RunStore(tmp_path / "empty").get("latest")


def test_store_under_a_file_is_a_clear_error(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(TunelabError, match="cannot write to the run store"):
        RunStore(blocker / "runs").create("x")


def test_run_names_tell_runs_apart(tmp_path) -> None:
    from tunelab.knobs import Hyperparameters
    from tunelab.runs.naming import dataset_name
    from tunelab.training.trainer import _prefix

    assert dataset_name("piximi-project/labelled") == "piximi-project"
    assert dataset_name("/data/cells.csv") == "cells"
    assert dataset_name("digits") == "digits"
    assert dataset_name("cells/") == "cells"
    hp = Hyperparameters(learning_rate=1e-5, epochs=3, threads=1)
    prefix = _prefix("project/labelled", hp)
    assert prefix.startswith("project-simple-cnn-adam-")
    assert "lr1e-05" in prefix and "e3" in prefix and "threads" not in prefix


def test_runs_list_shows_what_sets_each_run_apart(cli, tmp_path) -> None:
    import json

    from tunelab.runs import RunStore

    store = RunStore(tmp_path / "runs")
    for value in ("0.001", "0.003", "1.0e-05"):
        run = store.create("x", f"sweep-20260101-000000-learning_rate-{value}")
        (run.path / "config.yaml").write_text(f"learning_rate: {value}\nmodel: mlp\nseed: 0\n")
    code, out, err = cli("runs", "list", "--runs-dir", str(store.root), "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert sorted(row["differs"]["learning_rate"] for row in rows) == [1e-05, 0.001, 0.003]
    assert all(set(row["differs"]) == {"learning_rate"} for row in rows)
    code, out, err = cli("runs", "list", "--runs-dir", str(store.root))
    assert "learning_rate=1e-05" in out and "learning_rate=0.003" in out


def test_a_run_whose_process_died_reads_interrupted_not_running(tmp_path) -> None:
    import socket
    import subprocess
    import sys

    store = RunStore(tmp_path)
    ours = store.create("x", name="ours")
    ours.mark_owner()
    assert ours.status == "running"  # this process trains it
    theirs = store.create("x", name="theirs")
    code = (
        f"from tunelab.runs import RunStore; RunStore({str(tmp_path)!r}).get('theirs').mark_owner()"
    )
    (theirs.path / "config.yaml").write_text("{}\n")
    subprocess.run([sys.executable, "-c", code], check=True)  # it marks, then exits
    assert json.loads((theirs.path / "owner.json").read_text())["pid"] != __import__("os").getpid()
    assert theirs.status == "interrupted"
    elsewhere = store.create("x", name="elsewhere")
    (elsewhere.path / "owner.json").write_text(
        json.dumps({"host": "not-" + socket.gethostname(), "pid": 1})
    )
    assert elsewhere.status == "running"  # another machine's: it may well be running
    theirs.write_json("summary.json", {"status": "completed"})
    assert theirs.status == "completed"  # what the run said wins


def test_a_killed_train_is_listed_as_interrupted(tmp_path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    runs = tmp_path / "runs"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "tunelab", "train", "digits", "--epochs", "500",
               "--threads", "1", "--quiet", "--name", "long", "--runs-dir", str(runs)]  # fmt: skip
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        # until its first epoch's checkpoint is written (torch imports first); the curves'
        # CSV comes only at the end, so waiting for it let a fast machine finish the run
        for _ in range(600):
            if (runs / "long" / "checkpoint.pt").exists() or process.poll() is not None:
                break
            time.sleep(0.1)
        assert RunStore(runs).get("long").status == "running"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert RunStore(runs).get("long").status == "interrupted"


def test_an_ensemble_is_told_apart_by_its_model_file_or_its_summary(tmp_path) -> None:
    from tunelab.runs import Run

    plain, by_model, by_summary = (tmp_path / n for n in ("plain", "by-model", "by-summary"))
    for folder in (plain, by_model, by_summary):
        folder.mkdir()
    (plain / "model.json").write_text(json.dumps({"model": "simple-cnn"}))
    (by_model / "model.json").write_text(json.dumps({"model": "ensemble", "members": []}))
    members = [{"run": "a", "weight": 0.5}, {"run": "b", "weight": 0.5}]
    (by_summary / "summary.json").write_text(
        json.dumps({"kind": "ensemble", "status": "completed", "members": members})
    )
    assert not Run(plain).is_ensemble
    assert Run(by_model).is_ensemble
    assert Run(by_summary).is_ensemble
    assert Run(by_summary).model_name == "ensemble of 2"
