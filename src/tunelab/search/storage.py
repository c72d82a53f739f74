"""Where a study lives: storage URLs, creating or resuming a study, recovering dead trials.

A study in ``sqlite:///path/to/study.db`` persists, resumes and opens with Optuna's own
API (``optuna.load_study(study_name=..., storage=...)``). Without a storage a study lives
in memory and ends with the process.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState
from sqlalchemy.exc import SQLAlchemyError

from tunelab.errors import TunelabError, did_you_mean
from tunelab.search.results import COUNTED_STATUSES

#: Seconds between heartbeats of a running trial, and how long a silent trial lives on.
#: A trial whose process died is marked failed (and re-queued once) after the grace period;
#: generous, because a heartbeat thread can stall while SQLite waits for a lock.
HEARTBEAT_INTERVAL = 10
GRACE_PERIOD = 60
#: Seconds a process waits for SQLite's write lock before "database is locked".
SQLITE_TIMEOUT = 30

#: Study user attribute holding tunelab's own settings (seed, space, direction).
STUDY_ATTR = "tunelab"


def storage_url(storage: str | os.PathLike[str] | None) -> str | None:
    """A database URL; a bare file path means SQLite (``runs/study.db`` -> ``sqlite:///...``)."""
    if storage is None:
        return None
    text = os.fspath(storage)
    if "://" not in text:
        path = Path(text).expanduser().resolve()
        if path.is_dir():
            raise TunelabError(
                f"storage {text!r} is a folder; give a file such as {text.rstrip('/')}/study.db "
                f"or a URL such as sqlite:///study.db."
            )
        _make_folder(path.parent, text)
        return f"sqlite:///{path}"
    if text.startswith("sqlite:///") and text != "sqlite:///:memory:":
        _make_folder(Path(text.removeprefix("sqlite:///")).expanduser().parent, text)
    return text


def _make_folder(folder: Path, storage: str) -> None:
    """A SQLite file's folder is created like the run store's (``mkdir -p``)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TunelabError(
            f"cannot create the folder for storage {storage!r}: {exc.strerror or exc}. "
            f"Give a path in a folder you can write."
        ) from None


def temporary_sqlite() -> str:
    """A fresh SQLite file for worker processes to share when the caller gave no storage."""
    folder = tempfile.mkdtemp(prefix="tunelab-study-")
    return f"sqlite:///{Path(folder) / 'study.db'}"


def open_storage(url: str | None) -> optuna.storages.BaseStorage | None:
    """The Optuna storage for ``url``: None means in memory."""
    if url is None:
        return None
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": SQLITE_TIMEOUT}
    with warnings.catch_warnings():
        # The heartbeat is marked experimental in Optuna; it is what lets a dead worker's
        # trial be noticed and retried, so we use it deliberately.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            return RDBStorage(
                url,
                engine_kwargs=kwargs,
                heartbeat_interval=HEARTBEAT_INTERVAL,
                grace_period=GRACE_PERIOD,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
            )
        except (ImportError, ValueError, SQLAlchemyError) as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if url.startswith("postgres") and "import" in detail.lower():
                detail = "the PostgreSQL driver is missing; pip install 'tunelab[postgres]'"
            raise TunelabError(
                f"cannot open storage {url!r}: {detail}. Use a URL such as "
                f"sqlite:///study.db or postgresql://user@host/db."
            ) from exc


def study_names(storage: optuna.storages.BaseStorage | None) -> list[str]:
    return [] if storage is None else optuna.get_all_study_names(storage)


def choose_study_name(
    study_name: str | None, existing: list[str], *, resume: bool, url: str | None
) -> str:
    """The study to create or resume; errors say what exists and what to pass instead."""
    if study_name is None and resume:
        if len(existing) == 1:
            return existing[0]
        listed = ", ".join(existing) or "none"
        raise TunelabError(
            f"resume needs a study name: the storage {url} holds {len(existing)} studies "
            f"({listed}). Pass study_name (--study-name)."
        )
    if study_name is None:
        return f"tune-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid() % 10000:04d}"
    if resume and study_name not in existing:
        if url is None:
            raise TunelabError(
                "resume needs a storage that outlives the process, such as "
                "storage='sqlite:///study.db'."
            )
        listed = ", ".join(existing) or "none"
        raise TunelabError(
            f"no study named {study_name!r} to resume in {url}."
            f"{did_you_mean(study_name, existing)} Studies there: {listed}. "
            f"Drop resume to start it."
        )
    if not resume and study_name in existing:
        raise TunelabError(
            f"a study named {study_name!r} already exists in {url}. Pass resume=True "
            f"(--resume) to continue it, or choose a new study name."
        )
    return study_name


def create_or_load(
    storage: optuna.storages.BaseStorage | None,
    study_name: str,
    *,
    resume: bool,
    direction: str,
    settings: Mapping[str, Any],
) -> tuple[optuna.Study, dict[str, Any]]:
    """Create the study (recording ``settings``) or load it; returns it and its settings."""
    if not resume:
        study = optuna.create_study(
            storage=storage,
            study_name=study_name,
            direction=optuna.study.StudyDirection[direction.upper()],
        )
        study.set_user_attr(STUDY_ATTR, dict(settings))
        return study, dict(settings)
    assert storage is not None, "choose_study_name refuses to resume an in-memory study"
    study = optuna.load_study(study_name=study_name, storage=storage)
    stored_direction = study.direction.name.lower()
    if stored_direction != direction:
        raise TunelabError(
            f"study {study_name!r} was created to {stored_direction} its value, but this run "
            f"asks to {direction}. Pass direction={stored_direction!r} to resume it."
        )
    return study, {**settings, **study.user_attrs.get(STUDY_ATTR, {})}


def counted_trials(trials: Iterable[optuna.trial.FrozenTrial]) -> int:
    """Trials that count towards ``n_trials``: those whose objective ran to an end."""
    finished = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    return sum(
        1 for t in trials if t.state in finished and t.user_attrs.get("status") in COUNTED_STATUSES
    )


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a trial of ours from an earlier, finished call in this process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_trial(
    storage: optuna.storages.BaseStorage, trial: optuna.trial.FrozenTrial, status: str
) -> None:
    """Mark a RUNNING trial failed with ``status`` (through the storage, not ``tell``,
    which would run sampler hooks meant for the optimize loop)."""
    trial_id = trial._trial_id
    storage.set_trial_user_attr(trial_id, "status", status)
    storage.set_trial_state_values(trial_id, TrialState.FAIL)


def recover(study: optuna.Study, storage: optuna.storages.BaseStorage | None) -> int:
    """Before resuming: fail trials whose process on this host died, re-queue lost trials.

    A trial cut off by Ctrl-C (status interrupted) or by its process dying (abandoned) is
    queued once more with the same parameters, so resuming picks up where the run stopped.
    Returns the number re-queued.
    """
    if storage is None:
        return 0
    host = socket.gethostname()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        attrs = trial.user_attrs
        pid = attrs.get("pid")
        if attrs.get("host") == host and isinstance(pid, int) and not _process_alive(pid):
            fail_trial(storage, trial, "abandoned")
    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get("retry_of") for t in trials}
    retried |= {t.system_attrs.get("failed_trial") for t in trials}
    queued = 0
    for trial in trials:
        lost = trial.state == TrialState.FAIL and trial.user_attrs.get("status") in (
            "interrupted",
            "abandoned",
        )
        if lost and trial.number not in retried and "retry_of" not in trial.user_attrs:
            study.enqueue_trial(dict(trial.params), user_attrs={"retry_of": trial.number})
            queued += 1
    return queued


def fail_own_running(study: optuna.Study, storage: optuna.storages.BaseStorage | None) -> None:
    """After Ctrl-C: a trial this process left RUNNING is marked interrupted."""
    pid = os.getpid()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.user_attrs.get("pid") == pid:
            if storage is None:
                storage = study._storage
            fail_trial(storage, trial, "interrupted")
