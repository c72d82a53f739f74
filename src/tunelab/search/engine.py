"""``tune``: search a space with any objective that reports a value per epoch.

The engine knows nothing about training; the objective does the work::

    from tunelab.search import Float, tune

    def objective(params, reporter):
        for epoch in range(1, 11):
            reporter.report(epoch, accuracy_after(epoch, params))
        return accuracy_after(10, params)

    result = tune(objective, {"learning_rate": Float(1e-4, 1e-1, log=True)}, n_trials=30)
    print(result.summary())
"""

from __future__ import annotations

import json
import logging
import math
import pickle
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import optuna

from tunelab.errors import TunelabError, unknown_choice
from tunelab.search import backends
from tunelab.search import storage as stores
from tunelab.search.ordered import search_parts
from tunelab.search.pruners import PRUNERS, resolve_pruner
from tunelab.search.ray_backend import RayOptions
from tunelab.search.reporter import INITIAL_POINT, UNPRUNED, mix_seed
from tunelab.search.results import TuneResult, build_result
from tunelab.search.session import Callback, Objective, SessionPlan
from tunelab.search.space import check_point, jsonable, space_to_dict, validate_space
from tunelab.search.strategies import (
    STRATEGIES,
    SearchContext,
    resolve_strategy,
)
from tunelab.search.tickets import count

_log = logging.getLogger(__name__)


def tune(
    objective: Objective,
    space: Mapping[str, Any],
    *,
    strategy: str = "auto",
    pruner: str = "auto",
    n_trials: int | None = None,
    budget_seconds: float | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    workers: int | None = 1,
    seed: int = 0,
    resume: bool = False,
    direction: str = "maximize",
    max_resource: int | None = None,
    initial_points: Sequence[Mapping[str, Any]] | None = None,
    prune_initial_points: bool = True,
    callbacks: Sequence[Callback] | None = None,
    backend: str = "local",
    ray: RayOptions | None = None,
    record: Mapping[str, Any] | None = None,
    reproducible: bool = True,
) -> TuneResult:
    """Search ``space`` for the parameters that maximise (or minimise) ``objective``.

    Args:
        objective: ``objective(params, reporter) -> float``. It calls
            ``reporter.report(epoch, value)`` once per epoch (this is where pruning and
            the time budget stop it) and returns the final value. Exceptions and NaN/inf
            values fail that trial only. With ``workers > 1`` it must be picklable: a
            function defined at the top level of a module, or a ``functools.partial``
            of one.
        space: name -> :class:`Float` / :class:`Int` / :class:`Categorical` /
            :class:`Fixed` (a bare value means fixed).
        strategy: grid | random | tpe | gp | cmaes | auto (see ``STRATEGIES``).
        pruner: asha | hyperband | median | none | auto (see ``PRUNERS``).
        n_trials: stop when the study holds this many counted trials, *including* those
            of earlier runs when resuming and those run by other processes or machines
            (a trial counts once its objective ran to an end: complete, pruned, stopped,
            diverged or failed with an error; trials cut off by Ctrl-C or a dead process
            are re-run instead).
        budget_seconds: wall-clock limit for this call. A running trial is stopped at
            its next report after the deadline, and no trial is started that the time
            left cannot finish (judged by the median duration of complete trials).
        storage: ``sqlite:///path`` (or a file path), ``postgresql://user@host/db`` (to
            share the study between machines), or any Optuna RDB URL. None keeps the
            study in memory; with ``workers != 1`` or ``backend="ray"`` a temporary
            SQLite file is made and its URL returned in ``TuneResult.storage``.
        study_name: the study's name in ``storage``; generated when None. It must not
            exist yet unless ``resume=True``.
        workers: how many trials run at once. With the local backend: trials run in this
            many processes (spawned; each joins the study through storage and uses
            ``cores // workers`` torch threads). With Ray: this many Ray tasks; None fits
            the cluster (its CPUs / ``cpus_per_trial``). 0 runs no trial here: the study
            and its limits are recorded for workers elsewhere
            (:func:`tunelab.search.worker.join`, ``tunelab worker``).
        seed: seeds the strategy (as given, so with one worker the first random settings
            are those of Optuna's ``RandomSampler(seed)``; parallel workers each draw
            from a stream of their own; see :func:`strategy_seed`) and, per trial,
            ``reporter.seed`` (see :func:`trial_seed`); a resumed study keeps its original
            seed. A whole number from 0 to 2**32 - 1.
        reproducible: with trials running at once (``workers > 1``), trial *n* is
            sampled and pruned from trials ``0 .. n - workers`` only, waiting for them,
            so the same call gives the same study (see :mod:`tunelab.search.ordered`;
            it costs trials per minute). False: each trial learns from whatever has
            finished, faster but dependent on timing. ``workers=0`` records no order.
        resume: continue the existing study ``study_name`` in ``storage``.
        direction: "maximize" (accuracy) or "minimize" (loss).
        max_resource: the last step (epoch) a trial reports, when known; used by
            hyperband and by ``pruner="auto"``.
        initial_points: settings to try first, before any sampling (e.g. a warm-start
            portfolio); each may set a subset of the searched names.
        prune_initial_points: False runs every initial point to its last step (unless
            the time budget ends first or it diverges): the pruner still sees their
            values but does not stop them, so settings chosen for their full-length
            result are judged on it.
        callbacks: Optuna callbacks ``(study, frozen_trial)`` run after each trial (in
            the worker processes when ``workers > 1``). One that calls ``study.stop()``
            ends the run with ``stopped_reason="callback"``.
        backend: "local" (this machine's processes) or "ray" (Ray tasks on a local
            instance or a cluster; see :class:`~tunelab.search.ray_backend.RayOptions`).
        ray: where the Ray cluster is and what each trial needs (``backend="ray"``).
        record: JSON-serialisable settings stored with the study (user attribute
            ``tunelab``), for workers that join it to rebuild the objective.

    Returns:
        A :class:`TuneResult`; ``stopped_reason`` is "n_trials", "budget",
        "interrupted" (Ctrl-C: finished trials are kept and the study can be resumed),
        "exhausted" (grid search tried everything), "callback" or "no-workers"
        (``workers=0``).
    """
    started = time.time()
    checked_space = validate_space(space)
    _check_limits(n_trials, budget_seconds, workers, strategy, max_resource, seed)
    seed = int(seed)
    if strategy not in STRATEGIES:
        raise unknown_choice("strategy", strategy, STRATEGIES)
    if pruner not in PRUNERS:
        raise unknown_choice("pruner", pruner, PRUNERS)
    if direction not in ("maximize", "minimize"):
        raise unknown_choice("direction", direction, ("maximize", "minimize"))
    points = [
        check_point(checked_space, point, f"initial point {i + 1}")
        for i, point in enumerate(initial_points or ())
    ]
    runner = backends.prepare(backend, ray, workers)
    if runner.in_processes:
        _check_picklable(objective, callbacks)

    url = stores.storage_url(storage)
    if url is None and workers == 0:
        raise TunelabError(
            "workers must be >= 1 for a study kept in memory (got 0): workers=0 records the "
            "study for workers elsewhere, so give a storage they reach, e.g. "
            "storage='postgresql://user@host/db'."
        )
    if url is None and runner.in_processes:
        url = stores.temporary_sqlite()
    runner.check_storage(url)
    store = stores.open_storage(url)
    stores.check_writable(store, url)
    name = stores.choose_study_name(study_name, stores.study_names(store), resume=resume, url=url)
    settings: dict[str, Any] = {"seed": seed, "direction": direction}
    study, settings = stores.create_or_load(
        store, name, resume=resume, direction=direction, settings=settings
    )
    if resume:
        _check_same_search(name, settings, checked_space, max_resource)
    study_seed = int(settings.get("seed", seed))

    trials = study.get_trials(deepcopy=False)
    context = SearchContext(
        space=checked_space,
        seed=strategy_seed(study_seed, len(trials)),
        n_trials=n_trials,
        budget_seconds=budget_seconds,
        workers=max(1, workers or 1),
        max_resource=max_resource,
    )
    strategy_name = resolve_strategy(strategy, context)
    lag = runner.parallel if reproducible and runner.parallel > 1 else None
    study.sampler, study.pruner = search_parts(strategy_name, pruner, context, lag, study_seed)
    deadline = None if budget_seconds is None else started + budget_seconds
    interval, grace = stores.heartbeat_settings()
    study.set_user_attr(
        stores.STUDY_ATTR,
        {
            **settings,
            **(record or {}),
            "space": _jsonable_space(checked_space),
            "strategy": strategy_name,
            "pruner": pruner,
            "max_resource": max_resource,
            "n_trials": n_trials,
            "budget_seconds": budget_seconds,
            "deadline": deadline,
            "heartbeat": {"interval": interval, "grace": grace},
            "lag": lag,
        },
    )
    _queue(study, store, points, resume=resume, n_trials=n_trials,
           unpruned=not prune_initial_points)  # fmt: skip

    plan = SessionPlan(
        objective=objective,
        space=checked_space,
        strategy=strategy_name,
        pruner=pruner,
        context=context,
        study_seed=study_seed,
        deadline=deadline,
        callbacks=tuple(callbacks or ()),
        n_trials=n_trials,
        lag=lag,
    )
    reason = runner.run(study, url, plan)
    if reason == "failing":
        from tunelab.search.session import MAX_CONSECUTIVE_FAILURES, failing_streak

        first = " ".join(str(failing_streak(study.get_trials(deepcopy=False))).split())
        raise TunelabError(
            f"stopped study {name!r}: its last {MAX_CONSECUTIVE_FAILURES} trials failed one "
            f"after another; the first error: {first[:400]}. Fix that cause, then resume the "
            "study."
        )
    return build_result(
        study,
        storage=url,
        stopped_reason=reason,
        elapsed_seconds=time.time() - started,
        strategy=strategy_name,
        pruner=resolve_pruner(pruner, context),
    )


def strategy_seed(study_seed: int, trials_so_far: int) -> int:
    """The seed of the strategy (the sampler) of a run that starts after ``trials_so_far``.

    A new study's strategy takes the study's seed as given, as Optuna's samplers take it:
    with one worker ``tune(seed=s)`` draws its first random settings exactly as
    ``TPESampler(seed=s)`` and ``RandomSampler(seed=s)`` do over the same space (parallel
    workers mix it with their index, see ``worker_seed``), so a comparison with Optuna compares
    the methods rather than two random streams (on LCBench the streams alone moved the
    mean regret at 2 % of the budget by 0.065 over 68 runs). A resumed run takes a seed
    mixed with the number of trials so far: it must not replay the first run's stream.
    """
    if trials_so_far == 0:
        return study_seed
    return mix_seed(study_seed, trials_so_far)


def _queue(
    study: optuna.Study,
    store: optuna.storages.BaseStorage | None,
    points: Sequence[Mapping[str, Any]],
    *,
    resume: bool,
    n_trials: int | None,
    unpruned: bool = False,
) -> None:
    """Queue trials cut off in an earlier run, then the initial points, within ``n_trials``
    (``unpruned``: marked so that the pruner does not stop them).

    Queued trials hold their place in the count (see :mod:`tunelab.search.tickets`), so
    no more are queued than the count has room for.
    """

    def room() -> int | None:
        if n_trials is None:
            return None
        return max(0, n_trials - count(study.get_trials(deepcopy=False)).holders)

    if resume:
        requeued = stores.recover(study, store, room())
        if requeued:
            _log.info("re-queued %d trial(s) cut off in an earlier run", requeued)
    left = room()
    for point in points if left is None else points[:left]:
        attrs = {INITIAL_POINT: True, **({UNPRUNED: True} if unpruned else {})}
        study.enqueue_trial(dict(point), user_attrs=attrs, skip_if_exists=True)


def _check_limits(
    n_trials: int | None,
    budget_seconds: float | None,
    workers: int | None,
    strategy: str,
    max_resource: int | None,
    seed: int,
) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise TunelabError(
            f"seed must be a whole number from 0 to 2**32 - 1 (got {seed!r}), as the "
            "strategies' random generators take it; e.g. seed=0."
        )
    for what, value in (("n_trials", n_trials), ("max_resource", max_resource)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise TunelabError(f"{what} must be a whole number >= 1 (got {value!r}).")
    if budget_seconds is not None and (
        isinstance(budget_seconds, bool)
        or not isinstance(budget_seconds, (int, float))
        or not math.isfinite(budget_seconds)
        or budget_seconds <= 0
    ):
        raise TunelabError(
            f"budget_seconds must be a number of seconds > 0 (got {budget_seconds!r}); "
            f"e.g. 3600 for an hour."
        )
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 0
    ):
        raise TunelabError(
            f"workers must be a whole number >= 0 (got {workers!r}): the trials run at once; "
            f"0 runs none here, for workers elsewhere."
        )
    if n_trials is None and budget_seconds is None and strategy != "grid":
        raise TunelabError(
            "give n_trials or budget_seconds (or both), e.g. n_trials=50 or "
            "budget_seconds=3600; only grid search stops by itself."
        )


def _check_picklable(objective: Objective, callbacks: Sequence[Callback] | None) -> None:
    for what, thing in (("objective", objective), ("callbacks", list(callbacks or ()))):
        try:
            pickle.dumps(thing)
        except Exception as exc:
            raise TunelabError(
                f"with workers > 1 the {what} must be picklable, to reach the worker "
                f"processes ({type(exc).__name__}: {exc}). Define it at the top level of a "
                f"module (not a lambda or a nested function), or use functools.partial."
            ) from None


def _check_same_search(
    name: str, stored: Mapping[str, Any], space: Mapping[str, Any], max_resource: Any
) -> None:
    """A resumed study keeps its space and budget: mixing them would mix incomparable
    trials (and Optuna refuses a knob whose distribution changed, trial after trial)."""
    before = stored.get("space")
    if isinstance(before, dict):
        now = _jsonable_space(space)

        def same(key: str) -> bool:
            return json.dumps(before.get(key), sort_keys=True) == json.dumps(
                now.get(key), sort_keys=True
            )

        differ = [key for key in sorted(set(before) | set(now)) if not same(key)]
        if differ:
            shown = "; ".join(
                f"{key}: {_brief(before.get(key))} then, {_brief(now.get(key))} now"
                for key in differ[:4]
            )
            raise TunelabError(
                f"study {name!r} was searched over another space ({len(differ)} knob(s) "
                f"differ: {', '.join(differ)}; {shown}). Resume it with the same --space, "
                "--range and --fix, or start a new study with another --study name."
            )
    if "max_resource" in stored and stored.get("max_resource") != max_resource:
        raise TunelabError(
            f"study {name!r} gave each trial at most {stored.get('max_resource')} epochs; this "
            f"run asks for {max_resource}. Resume with --epochs {stored.get('max_resource')} "
            "(trials with other budgets do not compare), or start a new study."
        )


def _brief(entry: Any) -> str:
    if entry is None:
        return "not searched"
    text = json.dumps(entry, sort_keys=True) if not isinstance(entry, str) else entry
    return text if len(text) <= 60 else text[:57] + "..."


def _jsonable_space(space: Mapping[str, Any]) -> dict[str, Any]:
    return {name: jsonable(entry) for name, entry in space_to_dict(space).items()}
