"""Trials as Ray tasks on a real local Ray instance (one per test session)."""

from __future__ import annotations

import functools
import json
import os
import sys

import optuna
import pytest

from tunelab.data import make_synthetic_folder
from tunelab.errors import TunelabError
from tunelab.search import Float, tune
from tunelab.search.backends import RayOptions
from tunelab.search.toy import curve

SPACE = {"x": Float(-1.0, 1.0), "y": Float(-1.0, 1.0)}

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_ray_tasks_run_a_study_end_to_end(ray_instance, postgres_url):
    result = tune(
        functools.partial(curve, epochs=3, sleep=0.01),
        SPACE,
        n_trials=8,
        storage=postgres_url,
        study_name="r",
        backend="ray",
        ray=RayOptions(cpus_per_trial=1),
    )
    assert result.stopped_reason == "n_trials"
    assert len(result.trials) == 8 and all(t.counted for t in result.trials)
    pids = {t.user_attrs["pid"] for t in result.trials}
    assert os.getpid() not in pids  # every trial ran in a Ray worker process
    assert result.best_value == max(t.value for t in result.trials if t.state == "complete")
    assert ray_instance.is_initialized()  # a Ray session the caller started is left running


def test_tune_cli_runs_image_trials_as_ray_tasks(ray_instance, cli, tmp_path):
    data = make_synthetic_folder(tmp_path / "data", classes=2, per_class=8, size=(8, 8))
    args = ["tune", str(data), "--trials", "2", "--epochs", "2", "--threads", "1"]
    args += ["--study", "ray1", "--backend", "ray", "--cpus-per-trial", "1", "--json"]
    for fix in ("model=mlp", "optimizer=adam", "batch_size=8", "dropout=0", "weight_decay=0"):
        args += ["--fix", fix]
    code, out, err = cli(*args)
    assert code == 0, err
    result = json.loads(out)
    assert result["storage"].endswith("/runs/studies/ray1.db")  # the SQLite file tune makes
    assert len(result["trials"]) == 2
    study = optuna.load_study(
        study_name="ray1", storage=f"sqlite:///{tmp_path}/runs/studies/ray1.db"
    )
    assert {t.user_attrs["pid"] for t in study.trials}.isdisjoint({os.getpid()})
    for trial in study.trials:  # each trial's run folder landed in the run store
        assert (tmp_path / "runs" / trial.user_attrs["run"] / "summary.json").is_file()


def test_ray_errors_are_one_line_and_come_before_the_study(cli, tmp_path, monkeypatch):
    data = make_synthetic_folder(tmp_path / "data", classes=2, per_class=8, size=(8, 8))
    base = ["tune", str(data), "--trials", "1", "--study", "e", "--backend", "ray"]
    code, _, err = cli(*base, "--ray-address", "127.0.0.1:1")
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "cannot reach the Ray cluster at 127.0.0.1:1" in err and "ray start --head" in err
    code, _, err = cli(*base, "--cpus-per-trial", "0")
    assert code == 1 and "cpus_per_trial must be a number > 0 (got 0.0)" in err
    assert not (tmp_path / "runs" / "studies" / "e.db").exists()
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(TunelabError, match=r"pip install 'tunelab\[ray\]'"):
        tune(functools.partial(curve, epochs=2), SPACE, n_trials=1, backend="ray")


def test_a_cluster_too_small_for_one_trial_is_refused(ray_instance):
    with pytest.raises(TunelabError, match="cannot hold one trial: it has 2 CPUs and 0 GPUs"):
        tune(
            functools.partial(curve, epochs=2),
            SPACE,
            n_trials=1,
            backend="ray",
            ray=RayOptions(gpus_per_trial=1),
        )


def test_two_ray_tasks_at_once_with_a_seed_give_the_same_study_twice(ray_instance, tmp_path):
    """Reproducible order (the default) holds for Ray tasks as for local processes."""

    def study(name: str) -> list[tuple]:
        result = tune(
            functools.partial(curve, epochs=4, sleep=0.01),
            SPACE,
            strategy="tpe",
            pruner="asha",
            n_trials=10,
            seed=11,
            storage=f"sqlite:///{tmp_path / name}.db",
            study_name="s",
            backend="ray",
            workers=2,
            ray=RayOptions(cpus_per_trial=1),  # two at once on the two-CPU instance
        )
        assert len({t.user_attrs["pid"] for t in result.trials}) >= 2
        return [(t.number, t.state, t.params, t.value, t.intermediate_values)
                for t in result.trials]  # fmt: skip

    first, second = study("a"), study("b")
    assert len(first) == 10 and first == second
    recorded = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'a'}.db")
    assert recorded.user_attrs["tunelab"]["lag"] == 2  # ordered: trial n waited for n-2
