"""How many trials a study may still start, exact across processes and machines.

``n_trials`` counts the whole study, however many processes (local workers, Ray tasks,
``tunelab worker`` on other machines) run its trials. A trial *holds a ticket* while it
is waiting (queued), running, or finished with a counted status (see
:data:`~tunelab.search.results.COUNTED_STATUSES`). A trial cut off by Ctrl-C or by a
dead process gives its ticket back; the heartbeat's retry of a dead trial takes it over.

Two checks keep the count exact:

- before asking for a trial, each process counts holders (:func:`count`): with
  ``counted + running >= n_trials`` it starts nothing (and waits while trials elsewhere
  may still fail and need a retry);
- :class:`TicketedStorage` creates a new trial only while ``holders <= n_trials``,
  counting inside the transaction that inserts it. Optuna serialises trial creation per
  study (a row lock on PostgreSQL, the write lock on SQLite), so two processes that pass
  the first check at the same moment cannot both get the last ticket: the second sees the
  first's trial and gets :class:`NoTrialLeft` instead of a trial beyond the count.

Claiming a queued trial (a resume's re-queued trial, a retry, a portfolio point) is one
conditional ``UPDATE ... WHERE state = WAITING``: of two processes that saw the same
waiting trial, exactly one changes the row and the other moves on to the next. The same
transaction (and the one creating a fresh trial) records the claimer's host and pid. (Optuna's
read-then-write relies on ``SELECT ... FOR UPDATE``, which SQLite ignores, so two workers
could both run one re-queued trial.)

The limit is read from the study's own record (user attribute ``tunelab``, key
``n_trials``), so every process enforces the latest one, whichever started it.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import optuna
from optuna.storages import RDBStorage
from optuna.trial import TrialState

from tunelab.search.results import COUNTED_STATUSES

#: Study user attribute holding tunelab's own settings (seed, space, limits, ...).
STUDY_ATTR = "tunelab"

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
_ACTIVE = (TrialState.RUNNING, TrialState.WAITING)


class NoTrialLeft(Exception):
    """Raised by :class:`TicketedStorage` instead of creating a trial beyond ``n_trials``."""


@dataclass(frozen=True)
class Counts:
    """A study's trials by what they mean for ``n_trials``."""

    counted: int
    running: int
    waiting: int

    @property
    def holders(self) -> int:
        return self.counted + self.running + self.waiting


def is_counted(trial: optuna.trial.FrozenTrial) -> bool:
    """Whether ``trial`` counts towards ``n_trials``: its objective ran to an end."""
    return trial.state in _FINISHED and trial.user_attrs.get("status") in COUNTED_STATUSES


def count(trials: Iterable[optuna.trial.FrozenTrial]) -> Counts:
    counted = running = waiting = 0
    for trial in trials:
        if trial.state == TrialState.RUNNING:
            running += 1
        elif trial.state == TrialState.WAITING:
            waiting += 1
        elif is_counted(trial):
            counted += 1
    return Counts(counted, running, waiting)


class TicketedStorage(RDBStorage):
    """Optuna's RDB storage that refuses to create a trial beyond the study's ``n_trials``.

    Only fresh trials (``study.ask()`` with nothing queued) are checked: queued trials
    (portfolio points, retries of dead trials) were counted when they were queued.
    """

    def _get_prepared_new_trial(
        self, study_id: int, template_trial: optuna.trial.FrozenTrial | None, session: Any
    ) -> Any:
        trial = super()._get_prepared_new_trial(study_id, template_trial, session)
        if template_trial is None:
            limit = _limit(session, study_id)
            # Counted after the insert, inside its transaction: see the module doc.
            if limit is not None and _holders(session, study_id) > limit:
                raise NoTrialLeft(f"the study's {limit} trials are all taken")
            _mark_taken(self, session, int(trial.trial_id))
        return trial

    def set_trial_state_values(
        self, trial_id: int, state: TrialState, values: Sequence[float] | None = None
    ) -> bool:
        if state != TrialState.RUNNING or values is not None:
            return super().set_trial_state_values(trial_id, state, values)
        return _claim(self, trial_id)


def _claim(storage: RDBStorage, trial_id: int) -> bool:
    """Move a WAITING trial to RUNNING in one statement; False when another process did."""
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session
    from sqlalchemy import update

    trials = models.TrialModel
    started = datetime.now(timezone.utc).replace(tzinfo=None)  # Optuna stores naive UTC
    claim = (
        update(trials)
        .where(trials.trial_id == trial_id, trials.state == TrialState.WAITING)
        .values({trials.state: TrialState.RUNNING, trials._datetime_start_utc: started})
        .execution_options(synchronize_session=False)
    )
    with _create_scoped_session(storage.scoped_session) as session:
        result: Any = session.execute(claim)  # a CursorResult: it has the rowcount
        if result.rowcount != 1:
            return False
        _mark_taken(storage, session, trial_id)
        return True


def _mark_taken(storage: RDBStorage, session: Any, trial_id: int) -> None:
    """Record who runs the trial (host, pid, a first heartbeat) in the transaction that
    makes it RUNNING: a process killed a moment later leaves a trial that a resume (or the
    heartbeat) recovers, never one RUNNING forever with no owner."""
    from optuna.storages._rdb import models

    attrs = models.TrialUserAttributeModel
    session.query(attrs).filter(attrs.trial_id == trial_id, attrs.key.in_(("host", "pid"))).delete(
        synchronize_session=False
    )
    session.add(attrs(trial_id=trial_id, key="host", value_json=json.dumps(socket.gethostname())))
    session.add(attrs(trial_id=trial_id, key="pid", value_json=json.dumps(os.getpid())))
    if storage.heartbeat_interval is not None:
        beats = models.TrialHeartbeatModel
        if session.query(beats).filter(beats.trial_id == trial_id).one_or_none() is None:
            session.add(beats(trial_id=trial_id))


def _limit(session: Any, study_id: int) -> int | None:
    from optuna.storages._rdb import models

    attr = (
        session.query(models.StudyUserAttributeModel.value_json)
        .filter(models.StudyUserAttributeModel.study_id == study_id)
        .filter(models.StudyUserAttributeModel.key == STUDY_ATTR)
        .scalar()
    )
    if attr is None:
        return None
    limit = json.loads(attr).get("n_trials")
    return limit if isinstance(limit, int) else None


def _holders(session: Any, study_id: int) -> int:
    from optuna.storages._rdb import models
    from sqlalchemy import func

    trials = models.TrialModel
    attrs = models.TrialUserAttributeModel
    active = (
        session.query(func.count(trials.trial_id))
        .filter(trials.study_id == study_id, trials.state.in_(_ACTIVE))
        .scalar()
    )
    counted = (
        session.query(func.count(trials.trial_id))
        .join(attrs, attrs.trial_id == trials.trial_id)
        .filter(trials.study_id == study_id, trials.state.in_(_FINISHED))
        .filter(attrs.key == "status")
        .filter(attrs.value_json.in_([json.dumps(status) for status in COUNTED_STATUSES]))
        .scalar()
    )
    return int(active) + int(counted)
