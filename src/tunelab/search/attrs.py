"""Several notes on a trial written in one transaction.

Optuna writes each ``trial.set_user_attr`` in a transaction of its own (a few ms of CPU each
on SQLite, in a profile of small trials), and a tunelab image trial writes about ten (where
its process runs, its seed, its run folder, its status, ...). Notes written at the same
moment go in together here, on Optuna's relational storage; any other storage gets them
one by one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optuna
from optuna.storages import RDBStorage


def set_user_attrs(trial: optuna.Trial, attrs: Mapping[str, Any]) -> None:
    """``trial.set_user_attr(key, value)`` for each item, in one transaction when it can."""
    storage = getattr(trial.storage, "_backend", trial.storage)  # under Optuna's cache
    cached = getattr(trial, "_cached_frozen_trial", None)
    if len(attrs) < 2 or not isinstance(storage, RDBStorage) or cached is None:
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        return
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    with _create_scoped_session(storage.scoped_session, True) as session:
        for key, value in attrs.items():
            storage._set_trial_attr_without_commit(
                session, models.TrialUserAttributeModel, trial._trial_id, key, value
            )
    cached.user_attrs.update(attrs)  # as Trial.set_user_attr keeps its copy up to date
