"""Where a study lives: storage URLs, creating or resuming a study, recovering dead trials.

A study in ``sqlite:///path/to/study.db`` or ``postgresql://user@host/db`` persists,
resumes and opens with Optuna's own API (``optuna.load_study(study_name=...,
storage=...)``). PostgreSQL (through psycopg 3) is what several machines share to tune
one study. Without a storage a study lives in memory and ends with the process.

Each running trial sends a heartbeat; a trial silent for longer than the grace period
(its process was killed, its machine lost) is marked failed and queued once more, by
whichever process of the study looks next. ``$TUNELAB_HEARTBEAT_GRACE`` sets the grace
period in seconds (default 60); the study records the value its creator used, and every
worker that joins it uses the same.
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
import time
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RDBStorage
from optuna.trial import TrialState
from sqlalchemy.exc import SQLAlchemyError

from tunelab.errors import TunelabError, did_you_mean
from tunelab.search.tickets import STUDY_ATTR, TicketedStorage, count

#: Seconds between heartbeats of a running trial, and how long a silent trial lives on.
#: A trial whose process died is marked failed (and re-queued once) after the grace period;
#: generous, because a heartbeat thread can stall while SQLite waits for a lock.
HEARTBEAT_INTERVAL = 10
GRACE_PERIOD = 60
#: Environment variable overriding :data:`GRACE_PERIOD` (whole seconds, at least 2).
GRACE_ENV = "TUNELAB_HEARTBEAT_GRACE"
#: Seconds a process waits for SQLite's write lock before "database is locked".
SQLITE_TIMEOUT = 30
#: Seconds to wait for a PostgreSQL server to answer before giving up.
CONNECT_TIMEOUT = 10

__all__ = ["STUDY_ATTR"]  # re-exported: the study attribute's name lives in tickets.py


def storage_url(storage: str | os.PathLike[str] | None) -> str | None:
    """A database URL; a bare file path means SQLite (``runs/study.db`` -> ``sqlite:///...``)."""
    if storage is None:
        return None
    text = os.fspath(storage)
    if text.startswith("postgres://"):  # the scheme Heroku and others print; SQLAlchemy wants
        text = "postgresql://" + text.removeprefix("postgres://")
    if "://" not in text:
        path = Path(text).expanduser().resolve()
        if path.is_dir():
            raise TunelabError(
                f"storage {text!r} is a folder; give a file such as {text.rstrip('/')}/study.db "
                f"or a URL such as sqlite:///study.db."
            )
        _make_folder(path.parent, text)
        return f"sqlite:///{path}"
    if text.startswith("sqlite:") and text != "sqlite:///:memory:":
        file = text.removeprefix("sqlite:///") if text.startswith("sqlite:///") else ""
        if file.startswith("file:"):  # an SQLite URI (?mode=ro&uri=true): the path inside
            file = file.removeprefix("file:").split("?", 1)[0]
        if not file.strip() or file.endswith("/"):
            raise TunelabError(
                f"storage {text!r} names no database file. Give one after the three slashes, "
                "e.g. sqlite:///study.db (relative) or sqlite:////abs/path/study.db."
            )
        path = Path(file).expanduser()
        if path.is_dir():
            raise TunelabError(
                f"storage {text!r} is a folder; give a file such as "
                f"sqlite:///{file.rstrip('/')}/study.db."
            )
        _make_folder(path.parent, text)
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


def display_url(url: str | None) -> str:
    """``url`` fit to print: a password in it is replaced by ``***``."""
    if url is None:
        return "memory"
    try:
        from urllib.parse import unquote

        from sqlalchemy.engine import make_url

        # unquoted: an SQLite URI's "file:" would read "file%3A"; a password is *** anyway
        return unquote(make_url(url).render_as_string(hide_password=True))
    except Exception:  # not a URL SQLAlchemy can parse: hide everything before the host
        return re.sub(r"//[^/@]*@", "//***@", url)


def heartbeat_settings() -> tuple[int, int]:
    """``(interval, grace)`` in seconds: the grace period from ``$TUNELAB_HEARTBEAT_GRACE``.

    The interval is a sixth of the grace period (at most 10 s), so a trial misses several
    heartbeats before it is declared dead.
    """
    text = os.environ.get(GRACE_ENV)
    grace = GRACE_PERIOD
    if text is not None and text.strip():
        try:
            grace = int(text)
        except ValueError:
            grace = 0
        if grace < 2:
            raise TunelabError(
                f"{GRACE_ENV} must be a whole number of seconds >= 2 (got {text!r}); the "
                f"default is {GRACE_PERIOD}. Unset it, or set e.g. {GRACE_ENV}=60."
            )
    return max(1, min(HEARTBEAT_INTERVAL, grace // 6)), grace


def use_heartbeat(storage: optuna.storages.BaseStorage | None, interval: int, grace: int) -> None:
    """Make ``storage`` beat every ``interval`` s and call a trial dead after ``grace`` s.

    Workers adopt the values their study was created with, so that no process declares
    dead a trial that beats more slowly than it expects.
    """
    # None: open_storage turned the heartbeat off (a database in memory), so it stays off
    if isinstance(storage, RDBStorage) and storage.heartbeat_interval is not None:
        storage.heartbeat_interval = interval
        storage.grace_period = grace


def open_storage(url: str | None) -> optuna.storages.BaseStorage | None:
    """The Optuna storage for ``url``: None means in memory."""
    if url is None:
        return None
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": SQLITE_TIMEOUT}
    elif url.startswith("postgresql"):
        # Without a timeout a firewalled host hangs the command; pre-ping replaces
        # connections the server closed while a long trial ran.
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
        kwargs["pool_pre_ping"] = True
    interval, grace = heartbeat_settings()
    with warnings.catch_warnings():
        # The heartbeat is marked experimental in Optuna; it is what lets a dead worker's
        # trial be noticed and retried, so we use it deliberately.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            storage = TicketedStorage(
                url,
                engine_kwargs=kwargs,
                heartbeat_interval=interval,
                grace_period=grace,
                heartbeat_stale_trial_callback=_retry_stale,
            )
        except (ImportError, ValueError, SQLAlchemyError) as exc:
            raise TunelabError(
                f"cannot open storage {display_url(url)!r}: {_reason(exc, url)}. Use a URL "
                f"such as sqlite:///study.db or postgresql://user@host:5432/db."
            ) from None
    if _in_memory(storage.engine.url):
        # no other process sees it, and Optuna's heartbeat thread, on a connection of its
        # own, would find an empty database there and die with a traceback
        storage.heartbeat_interval = None
    elif url.startswith("sqlite:///"):
        from tunelab.search.sqlite_wal import use_wal

        use_wal(storage.engine, url.removeprefix("sqlite:///"))
    return storage


def check_writable(storage: optuna.storages.BaseStorage | None, url: str | None) -> None:
    """Fail with one line when ``storage`` refuses writes (a read-only file, folder, mount or
    database user): a tune records every trial there, so it must fail before it starts."""
    backend = getattr(storage, "_backend", storage)  # under Optuna's cache, if any
    if not isinstance(backend, RDBStorage):
        return
    from sqlalchemy import text

    try:
        with backend.engine.begin() as connection:  # a write that changes nothing
            connection.execute(
                text("UPDATE version_info SET schema_version = schema_version WHERE 1 = 0")
            )
    except SQLAlchemyError as exc:
        raise TunelabError(
            f"cannot write to storage {display_url(url)!r}: {_reason(exc, url or '')}. A tune "
            "records its trials there: make the database file and its folder writable (or "
            "grant the database user writes), or give another --storage."
        ) from None


def _reason(exc: Exception, url: str) -> str:
    """The useful part of a driver's error, on one line."""
    if url.startswith("postgres") and isinstance(exc, ImportError):
        return "the PostgreSQL driver is missing; pip install 'tunelab[postgres]'"
    cause = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return "; ".join(lines[:2]).rstrip(".") if lines else type(exc).__name__


def study_names(storage: optuna.storages.BaseStorage | None) -> list[str]:
    return [] if storage is None else optuna.get_all_study_names(storage)


def choose_study_name(
    study_name: str | None, existing: list[str], *, resume: bool, url: str | None
) -> str:
    """The study to create or resume; errors say what exists and what to pass instead."""
    shown = display_url(url)
    if study_name is None and resume:
        if len(existing) == 1:
            return existing[0]
        listed = ", ".join(existing) or "none"
        raise TunelabError(
            f"resume needs a study name: the storage {shown} holds {len(existing)} studies "
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
            f"no study named {study_name!r} to resume in {shown}."
            f"{did_you_mean(study_name, existing)} Studies there: {listed}. "
            f"Drop resume to start it."
        )
    if not resume and study_name in existing:
        raise TunelabError(
            f"a study named {study_name!r} already exists in {shown}. Pass resume=True "
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
        try:
            study = optuna.create_study(
                storage=storage,
                study_name=study_name,
                direction=optuna.study.StudyDirection[direction.upper()],
            )
        except optuna.exceptions.DuplicatedStudyError:  # another tune made it a moment ago
            raise TunelabError(
                f"a study named {study_name!r} was created by another tune running at the same "
                "time. Let that one run (join it with `tunelab worker`), resume it later with "
                "--resume, or choose another study name."
            ) from None
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
    return count(trials).counted


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs on this host (and is not this process)."""
    if pid == os.getpid():
        return False  # a trial of ours from an earlier, finished call in this process
    from tunelab.machine import pid_alive

    return pid_alive(pid)


def fail_trial(
    storage: optuna.storages.BaseStorage, trial: optuna.trial.FrozenTrial, status: str
) -> bool:
    """Mark a RUNNING trial failed with ``status`` (through the storage, not ``tell``,
    which would run sampler hooks meant for the optimize loop); False when another
    process finished it first."""
    trial_id = trial._trial_id
    try:
        storage.set_trial_user_attr(trial_id, "status", status)
        return storage.set_trial_state_values(trial_id, TrialState.FAIL)
    except optuna.exceptions.UpdateFinishedTrialError:
        return False


def recover(
    study: optuna.Study, storage: optuna.storages.BaseStorage | None, room: int | None = None
) -> int:
    """Before resuming: fail trials whose process on this host died, re-queue lost trials.

    A trial cut off by Ctrl-C (status interrupted) or by its process dying (abandoned) is
    queued once more with the same parameters, so resuming picks up where the run stopped;
    at most ``room`` of them (the trials ``n_trials`` still allows; None: no limit).
    Returns the number re-queued.
    """
    if storage is None:
        return 0
    fail_dead_here(study, retry=False)  # queued below, within ``room``
    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get("retry_of") for t in trials}
    # Retries that Optuna's own callback queued (studies of earlier tunelab versions).
    retried |= {t.system_attrs.get("failed_trial") for t in trials}
    queued = 0
    for trial in trials:
        if room is not None and queued >= room:
            break
        lost = trial.state == TrialState.FAIL and trial.user_attrs.get("status") in (
            "interrupted",
            "abandoned",
        )
        if lost and trial.number not in retried:
            queued += retry_lost(study, trial)
    return queued


def retry_lost(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
    """Queue a lost trial (interrupted, or its process dead) once more with its parameters,
    marked ``retry_of`` (a warm-start point stays one, pruned or not as before); a retry
    that is lost in turn is not queued again. The storage's heartbeat calls this on a trial
    it found stale. Returns whether it queued one."""
    from tunelab.search.reporter import INITIAL_POINT, UNPRUNED

    if "retry_of" in trial.user_attrs:
        return False
    kept = {k: v for k, v in trial.user_attrs.items() if k in (INITIAL_POINT, UNPRUNED)}
    study.enqueue_trial(dict(trial.params), user_attrs={"retry_of": trial.number, **kept})
    return True


def _retry_stale(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """The heartbeat's callback on a trial it found stale."""
    retry_lost(study, trial)


def fail_dead_here(
    study: optuna.Study,
    trials: Iterable[optuna.trial.FrozenTrial] | None = None,
    retry: bool = True,
) -> int:
    """Mark abandoned the RUNNING trials (of ``trials``, default all) whose process on this
    host is gone, at once rather than after the heartbeat's grace period; returns how many.

    Each is queued once more (:func:`retry_lost`; ``retry=False``: left to the caller), as
    the heartbeat would have done: a trial is retried once, whichever process noticed it
    first.
    """
    host = socket.gethostname()
    if trials is None:
        trials = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    failed = 0
    for trial in trials:
        pid = trial.user_attrs.get("pid")
        if trial.state != TrialState.RUNNING or trial.user_attrs.get("host") != host:
            continue
        if isinstance(pid, int) and not process_alive(pid):
            if fail_trial(study._storage, trial, "abandoned"):
                if retry:
                    retry_lost(study, trial)
                failed += 1
    return failed


def fail_lost(
    study: optuna.Study, trials: Iterable[optuna.trial.FrozenTrial] | None = None
) -> None:
    """Fail (and queue once more) the trials that will not finish: those of ``trials``
    (default all) whose process on this host died, at once; those whose heartbeat stopped,
    after the grace period."""
    fail_dead_here(study, trials)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def fail_own_running(study: optuna.Study) -> None:
    """After Ctrl-C: a trial this process left RUNNING is marked interrupted, with any
    further interrupt held off until it is (cut short, it would stay RUNNING until a resume
    or another worker found its process gone, and be retried as abandoned); then any
    heartbeat of a finished trial is stopped (:func:`stop_stray_heartbeats`)."""
    from tunelab.errors import interrupts_held

    pid = os.getpid()
    with interrupts_held():
        fresh_connections(study._storage)
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if trial.user_attrs.get("pid") == pid:
                fail_trial(study._storage, trial, "interrupted")
        stop_stray_heartbeats(study._storage)


def fresh_connections(storage: optuna.storages.BaseStorage | None) -> None:
    """Close this process's connections to ``storage``: the next query opens a new one.

    Called before the writes that follow an interrupt. One landing while a query's rows
    were read leaves that query open on its connection (the interrupt's traceback holds
    its cursor). On SQLite in WAL mode the connection then stays on its old snapshot, and
    its next write fails at once with "database is locked" whenever another process has
    written since: a killed tune's worker could not note its trial interrupted, which
    stayed RUNNING with no status (1 kill in about 130)."""
    backend = getattr(storage, "_backend", storage)  # under Optuna's cache
    if isinstance(backend, RDBStorage) and not _in_memory(backend.engine.url):
        backend.scoped_session.remove()
        backend.engine.dispose()


def _in_memory(url: Any) -> bool:
    """Whether SQLAlchemy ``url`` is an SQLite database in memory (it lives as long as its
    connection: closing it would lose the study)."""
    database = url.database or ""
    return url.get_backend_name() == "sqlite" and (
        database in ("", ":memory:") or database.startswith("file::memory:")
        or url.query.get("mode") == "memory"
    )  # fmt: skip


def stop_stray_heartbeats(storage: optuna.storages.BaseStorage) -> None:
    """Stop this process's Optuna heartbeat threads whose trial on ``storage`` is over.

    Optuna beats for a running trial from a thread it starts in a ``with``, and that thread
    is not a daemon. An interrupt landing while it starts (``Thread.start`` waits for the
    thread to run) escapes before the ``with`` holds it: nothing tells the thread to stop,
    and the process cannot exit (seen: a tune's worker still alive minutes after the tune
    was killed, waiting in ``threading._shutdown`` for a heartbeat thread)."""
    import threading

    from optuna.storages._heartbeat import HeartbeatThread

    for thread in threading.enumerate():
        if getattr(thread, "_target", None) is not HeartbeatThread._record_heartbeat:
            continue
        args: tuple[Any, ...] = getattr(thread, "_args", ())  # deleted as the thread ends
        if len(args) != 3 or args[1] is not storage:
            continue
        trial_id, _, stop = args
        if storage.get_trial(trial_id).state.is_finished():
            stop.set()
