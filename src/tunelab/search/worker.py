"""Join a study from any machine and run its trials until its count or budget is used up.

:func:`tunelab.search.tune` records with the study what a worker needs: the space, the
strategy and pruner, ``n_trials``, the deadline of its budget and the heartbeat
settings (study user attribute ``tunelab``). A worker reads them and runs the same loop
as the process that created the study, sharing the count exactly (see
:mod:`tunelab.search.tickets`)::

    # on machine A: create the study (workers=0: run nothing here, or run trials too)
    tune(objective, space, n_trials=100, storage="postgresql://tuner@db/studies",
         study_name="cnn", workers=0)
    # on machines B, C, ...: each runs trials until the study holds 100
    join(objective, storage="postgresql://tuner@db/studies", study_name="cnn")

A worker killed mid-trial loses that trial only: after the heartbeat's grace period the
next worker to look marks it failed and queues it once more.
"""

from __future__ import annotations

import os
import socket
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import optuna

from tunelab.errors import TunelabError, did_you_mean
from tunelab.search import storage as stores
from tunelab.search.pruners import resolve_pruner
from tunelab.search.reporter import mix_seed
from tunelab.search.results import TuneResult, build_result
from tunelab.search.session import Callback, Objective, SessionPlan, load_study_for, run_session
from tunelab.search.space import space_from_dict
from tunelab.search.strategies import SearchContext


def study_settings(storage: str, study_name: str) -> dict[str, Any]:
    """What tunelab recorded with ``study_name``; one-line errors when it cannot join it."""
    url = stores.storage_url(storage)
    assert url is not None
    store = stores.open_storage(url)
    assert store is not None
    existing = stores.study_names(store)
    if study_name not in existing:
        listed = ", ".join(existing) or "none"
        raise TunelabError(
            f"no study named {study_name!r} in {stores.display_url(url)}."
            f"{did_you_mean(study_name, existing)} Studies there: {listed}. Create it first "
            f"with `tunelab tune DATA --storage URL --study {study_name}` (add --workers 0 to "
            f"run no trial there)."
        )
    study = optuna.load_study(study_name=study_name, storage=store)
    settings = study.user_attrs.get(stores.STUDY_ATTR)
    if not isinstance(settings, Mapping) or "space" not in settings or "strategy" not in settings:
        raise TunelabError(
            f"study {study_name!r} in {stores.display_url(url)} was not created by tunelab's "
            f"tune (it records no search space), so a worker cannot join it. Create one with "
            f"`tunelab tune ... --storage URL --study NAME`."
        )
    return dict(settings)


def join(
    objective: Objective,
    *,
    storage: str,
    study_name: str,
    callbacks: Sequence[Callback] | None = None,
    stop_requested: Callable[[], bool] = lambda: False,
) -> TuneResult:
    """Run trials of the existing study ``study_name`` here until its limits are reached.

    The space, strategy, pruner, ``n_trials`` and budget are the study's (as its last
    :func:`~tunelab.search.tune` call recorded them); ``objective`` must be the one that
    study tunes. Returns the whole study's :class:`TuneResult` as this worker left it;
    its ``stopped_reason`` is this worker's.
    """
    started = time.time()
    settings = study_settings(storage, study_name)
    url = stores.storage_url(storage)
    assert url is not None
    stores.check_writable(stores.open_storage(url), url)
    plan = plan_from_settings(settings, objective, callbacks)
    study = load_study_for(url, study_name, plan)
    reason = run_session(study, plan, stop_requested)
    return build_result(
        study,
        storage=url,
        stopped_reason=reason,
        elapsed_seconds=time.time() - started,
        strategy=plan.strategy,
        pruner=resolve_pruner(plan.pruner, plan.context),
    )


def plan_from_settings(
    settings: Mapping[str, Any],
    objective: Objective,
    callbacks: Sequence[Callback] | None = None,
) -> SessionPlan:
    """The session plan a worker runs, rebuilt from the study's record."""
    space = space_from_dict(settings["space"])
    study_seed = int(settings.get("seed", 0))
    context = SearchContext(
        space=space,
        seed=_own_seed(study_seed),
        n_trials=settings.get("n_trials"),
        budget_seconds=settings.get("budget_seconds"),
        max_resource=settings.get("max_resource"),
    )
    return SessionPlan(
        objective=objective,
        space=space,
        strategy=settings["strategy"],
        pruner=settings.get("pruner", "auto"),
        context=context,
        study_seed=study_seed,
        deadline=settings.get("deadline"),
        callbacks=tuple(callbacks or ()),
        n_trials=settings.get("n_trials"),
        lag=settings.get("lag"),
    )


def _own_seed(study_seed: int) -> int:
    """A sampler seed no other worker shares: workers that sampled alike would repeat points."""
    host = zlib.crc32(socket.gethostname().encode())
    entropy = [study_seed, host, os.getpid(), time.time_ns() & 0xFFFF_FFFF]
    return mix_seed(*entropy)
