"""One study shared by several worker processes through PostgreSQL, crash included."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tunelab.search import Float, tune
from tunelab.search.results import TrialRecord
from tunelab.search.toy import curve

SPACE = {"x": Float(-1.0, 1.0), "y": Float(-1.0, 1.0)}
SCRIPT = Path(__file__).with_name("worker_process.py")

optuna.logging.set_verbosity(optuna.logging.WARNING)


def create(url: str, n_trials: int, **kwargs) -> None:
    """Record the study, running no trial here (workers=0)."""
    result = tune(
        functools.partial(curve, epochs=3),
        SPACE,
        n_trials=n_trials,
        storage=url,
        study_name="shared",
        workers=0,
        **kwargs,
    )
    assert result.stopped_reason == "no-workers" and result.trials == []


class Workers:
    """Worker processes started together (each waits for a line on stdin)."""

    def __init__(self, url: str, count: int, *args: str) -> None:
        command = [sys.executable, str(SCRIPT), url, "shared", *args]
        self.processes = [
            subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for _ in range(count)
        ]

    def start(self) -> None:
        for process in self.processes:
            assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()

    def finish(self, timeout: float = 240) -> list[dict[str, str]]:
        outcomes = []
        for process in self.processes:
            out, _ = process.communicate(timeout=timeout)
            if process.returncode == -signal.SIGKILL:
                continue
            assert process.returncode == 0, out
            outcomes.append(json.loads(out.strip().splitlines()[-1]))
        return outcomes

    def kill_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def workers() -> Iterator[list[Workers]]:
    made: list[Workers] = []
    yield made
    for group in made:
        group.kill_all()


def records(url: str) -> list[TrialRecord]:
    study = optuna.load_study(study_name="shared", storage=url)
    return [TrialRecord.from_frozen(t) for t in study.get_trials()]


def test_three_workers_run_one_study_with_no_trial_lost_or_repeated(postgres_url, workers):
    create(postgres_url, n_trials=60)
    group = Workers(postgres_url, 3, "--sleep", "0.01")
    workers.append(group)
    group.start()
    outcomes = group.finish()

    assert [o["stopped"] for o in outcomes] == ["n_trials"] * 3
    trials = records(postgres_url)
    assert len(trials) == 60  # no trial beyond the count, none left running or queued
    assert all(t.counted and t.state in ("complete", "pruned") for t in trials)
    assert sorted(t.number for t in trials) == list(range(60))
    assert len({(t.params["x"], t.params["y"]) for t in trials}) == 60  # none proposed twice
    pids = {t.user_attrs["pid"] for t in trials}
    assert pids <= {p.pid for p in group.processes} and len(pids) == 3
    study = optuna.load_study(study_name="shared", storage=postgres_url)
    complete = [t for t in trials if t.state == "complete"]
    assert study.best_value == max(t.value for t in complete if t.value is not None)


def test_a_worker_killed_mid_trial_loses_only_that_trial_which_is_retried(
    postgres_url, workers, monkeypatch
):
    # A short grace period, recorded with the study, so the test need not wait 60 s.
    monkeypatch.setenv("TUNELAB_HEARTBEAT_GRACE", "4")
    create(postgres_url, n_trials=8, pruner="none")
    study = optuna.load_study(study_name="shared", storage=postgres_url)
    assert study.user_attrs["tunelab"]["heartbeat"] == {"interval": 1, "grace": 4}
    group = Workers(postgres_url, 3, "--sleep", "0.3", "--epochs", "4")
    workers.append(group)
    group.start()
    victim = group.processes[0]

    cut = _running_trial_of(postgres_url, victim.pid)
    finished_before = {t.number: t.value for t in records(postgres_url) if t.state == "complete"}
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    outcomes = group.finish()

    assert [o["stopped"] for o in outcomes] == ["n_trials"] * 2
    trials = {t.number: t for t in records(postgres_url)}
    killed = trials[cut]
    assert killed.state == "fail" and killed.status == "abandoned"
    assert killed.user_attrs["pid"] == victim.pid and not killed.counted
    retries = [t for t in trials.values() if t.user_attrs.get("retry_of") == cut]
    assert len(retries) == 1
    retry = retries[0]
    assert retry.params == killed.params and retry.status == "complete"
    assert retry.user_attrs["pid"] in {p.pid for p in group.processes[1:]}
    assert sum(t.counted for t in trials.values()) == 8
    assert all(t.state in ("complete", "fail") for t in trials.values())  # none left running
    for number, value in finished_before.items():  # nothing finished is lost
        assert trials[number].state == "complete" and trials[number].value == value


def _running_trial_of(url: str, pid: int | None) -> int:
    """Wait until process ``pid`` is in the middle of a trial; return the trial's number."""
    study = optuna.load_study(study_name="shared", storage=url)
    for _ in range(600):
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if trial.user_attrs.get("pid") == pid and trial.intermediate_values:
                return trial.number
        time.sleep(0.1)
    raise AssertionError(f"worker {pid} never ran a trial")
