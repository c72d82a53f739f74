"""The count of trials is exact across processes: the storage refuses a trial too many."""

from __future__ import annotations

import functools

import optuna
import pytest
from optuna.trial import TrialState

from tunelab.errors import TunelabError
from tunelab.search import Float, tune
from tunelab.search.storage import (
    display_url,
    heartbeat_settings,
    open_storage,
    storage_url,
)
from tunelab.search.tickets import NoTrialLeft
from tunelab.search.toy import curve
from tunelab.search.worker import join, study_settings

SPACE = {"x": Float(-1.0, 1.0)}
X = optuna.distributions.FloatDistribution(-1.0, 1.0)

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used")
def test_the_storage_creates_no_trial_beyond_n_trials(url):
    tune(functools.partial(curve), SPACE, n_trials=2, storage=url, study_name="s", workers=0)
    # Two processes' view of the study: each asks as if it alone were running.
    first = optuna.load_study(study_name="s", storage=open_storage(url))
    second = optuna.load_study(study_name="s", storage=open_storage(url))
    a = first.ask({"x": X})
    second.ask({"x": X})
    with pytest.raises(NoTrialLeft):
        first.ask()
    with pytest.raises(NoTrialLeft):
        second.ask()
    # A trial cut off (no counted status) gives its place back; a counted one keeps it.
    first.tell(a, state=TrialState.FAIL)
    third = second.ask({"x": X})
    third.set_user_attr("status", "error")
    second.tell(third, state=TrialState.FAIL)
    with pytest.raises(NoTrialLeft):
        first.ask()
    assert len(first.trials) == 3


def test_resume_raises_the_count_for_every_worker(url):
    objective = functools.partial(curve, epochs=2)
    tune(objective, SPACE, n_trials=3, storage=url, study_name="s")
    assert join(objective, storage=url, study_name="s").stopped_reason == "n_trials"
    tune(objective, SPACE, n_trials=5, storage=url, study_name="s", resume=True, workers=0)
    assert study_settings(url, "s")["n_trials"] == 5
    result = join(objective, storage=url, study_name="s")
    assert result.stopped_reason == "n_trials" and sum(t.counted for t in result.trials) == 5


def test_a_running_worker_follows_a_count_raised_elsewhere(url):
    objective = functools.partial(curve, epochs=2)
    tune(objective, SPACE, n_trials=2, storage=url, study_name="s", workers=0)

    def raise_count(study, trial):  # as if someone resumed with --trials 4 meanwhile
        if trial.number == 0:
            tune(objective, SPACE, n_trials=4, storage=url, study_name="s", resume=True,
                 workers=0)  # fmt: skip

    result = join(objective, storage=url, study_name="s", callbacks=[raise_count])
    assert result.stopped_reason == "n_trials" and sum(t.counted for t in result.trials) == 4


def test_join_needs_a_study_that_tune_made(url):
    objective = functools.partial(curve, epochs=2)
    with pytest.raises(TunelabError, match="no study named 'nope' .* Create it first"):
        join(objective, storage=url, study_name="nope")
    optuna.create_study(study_name="plain", storage=url)
    with pytest.raises(TunelabError, match="was not created by tunelab's tune"):
        join(objective, storage=url, study_name="plain")


def test_workers_zero_needs_a_storage_others_reach():
    with pytest.raises(TunelabError, match="workers must be >= 1 for a study kept in memory"):
        tune(functools.partial(curve), SPACE, n_trials=2, workers=0)


def test_storage_urls_and_errors(monkeypatch):
    assert storage_url("postgres://u@h/db") == "postgresql://u@h/db"
    assert display_url("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"
    with pytest.raises(TunelabError) as caught:
        open_storage("postgresql://postgres:secret@127.0.0.1:1/none")
    message = str(caught.value)
    assert message.startswith("cannot open storage 'postgresql://postgres:***@127.0.0.1:1/none'")
    assert "secret" not in message and "\n" not in message
    assert heartbeat_settings() == (10, 60)
    monkeypatch.setenv("TUNELAB_HEARTBEAT_GRACE", "12")
    assert heartbeat_settings() == (2, 12)
    monkeypatch.setenv("TUNELAB_HEARTBEAT_GRACE", "1")
    with pytest.raises(TunelabError, match=r"must be a whole number of seconds >= 2 \(got '1'\)"):
        heartbeat_settings()
