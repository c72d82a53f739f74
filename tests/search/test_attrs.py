"""Several trial notes in one write: the same notes as one by one, fewer transactions."""

from __future__ import annotations

import optuna
import pytest
from sqlalchemy import event

from tunelab.search.attrs import set_user_attrs
from tunelab.search.storage import open_storage

# study.ask() outside optimize: Optuna warns that the heartbeat is not beating
pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage")

NOTES = {"host": "lab-1", "pid": 4242, "seed": 7, "fixed_params": {"epochs": 3}}


def _commits(engine) -> list[int]:
    seen: list[int] = []
    event.listen(engine, "commit", lambda connection: seen.append(1))
    return seen


def test_notes_go_in_one_transaction_on_a_database(tmp_path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path / 'study.db'}")
    study = optuna.create_study(storage=storage, study_name="s")
    trial = study.ask()
    commits = _commits(storage.engine)
    set_user_attrs(trial, NOTES)
    assert len(commits) == 1
    assert trial.user_attrs == NOTES  # the trial's own copy is kept up to date
    # and another reader of the file sees every note
    again = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'study.db'}")
    assert again.trials[0].user_attrs == NOTES


def test_one_by_one_the_same_notes_take_a_transaction_each(tmp_path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path / 'study.db'}")
    trial = optuna.create_study(storage=storage, study_name="s").ask()
    commits = _commits(storage.engine)
    for key, value in NOTES.items():
        trial.set_user_attr(key, value)
    assert len(commits) == len(NOTES)


def test_in_memory_the_notes_are_set_one_by_one(tmp_path) -> None:
    study = optuna.create_study()
    trial = study.ask()
    set_user_attrs(trial, NOTES)
    assert trial.user_attrs == NOTES
    assert study.trials[0].user_attrs == NOTES
