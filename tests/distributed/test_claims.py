"""Claiming a queued trial is one transaction: many processes racing for the queue of a
study each get different trials, and every queued trial goes to exactly one of them."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tunelab.search.storage import open_storage
from tunelab.search.tickets import STUDY_ATTR

CLAIMER = Path(__file__).with_name("claim_process.py")
QUEUED = 40
CLAIMERS = 6


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _queue(url: str) -> None:
    """A study holding QUEUED waiting trials (as a resume re-queues them) and no room more."""
    study = optuna.create_study(study_name="s", storage=open_storage(url))
    study.set_user_attr(STUDY_ATTR, {"n_trials": QUEUED})
    for index in range(QUEUED):
        study.enqueue_trial({"x": float(index)}, user_attrs={"retry_of": index})


def test_every_queued_trial_is_claimed_by_exactly_one_process(url: str) -> None:
    _queue(url)
    claimers = [
        subprocess.Popen(
            [sys.executable, str(CLAIMER), url, "s"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(CLAIMERS)
    ]
    try:
        for claimer in claimers:  # all connected before any starts
            assert claimer.stdout is not None
            assert claimer.stdout.readline().strip() == "ready", claimer.stderr
        for claimer in claimers:
            assert claimer.stdin is not None
            claimer.stdin.write("go\n")
            claimer.stdin.flush()
        outputs = [claimer.communicate(timeout=120) for claimer in claimers]
    finally:
        for claimer in claimers:
            if claimer.poll() is None:
                claimer.kill()
                claimer.wait()
    for claimer, (_, err) in zip(claimers, outputs, strict=True):
        assert claimer.returncode == 0, err[-2000:]
    claims = [number for out, _ in outputs for number in json.loads(out)]
    assert sorted(claims) == list(range(QUEUED)), "a queued trial was claimed twice or lost"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trials = optuna.load_study(study_name="s", storage=open_storage(url)).trials
    assert len(trials) == QUEUED  # no trial created beyond the queue
    assert all(t.state == TrialState.RUNNING and t.datetime_start for t in trials)
    assert all(isinstance(t.user_attrs.get("pid"), int) for t in trials)  # who claimed it
    assert {t.number: t.system_attrs["fixed_params"]["x"] for t in trials} == {
        n: float(n) for n in range(QUEUED)
    }
