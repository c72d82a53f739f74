"""Parallel trials that give the same study on every run: trial *n* learns only from
trials ``0 .. n - lag``.

With ``lag`` workers, several trials run at once, and which of them have finished when
the next one is sampled (or pruned) depends on timing; so does the study. Here, trial
``n`` first waits until every trial numbered ``n - lag`` or lower has finished, then:

- its parameters come from a sampler seeded with ``(study seed, n)`` that sees those
  trials only, told in trial-number order (grid search instead waits until every earlier
  trial has its grid point, and takes the next free one);
- its pruning decisions compare it with those same trials only.

Trial numbers are handed out by the storage, one at a time, so the history of trial
``n`` is the same on every run, whichever process runs it and whenever; with trials that
are themselves deterministic (seeded, fixed thread counts) the study is too. The cost is
the wait: a worker whose trial ``n - lag`` is still running idles
(``benchmarks/seeded_workers.py`` measures it).

A trial that waits records its host, pid and a heartbeat first, so a process killed
while waiting leaves a trial that the next resume (or the heartbeat) recovers.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import os
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from tunelab.search.reporter import mix_seed

#: Seconds between looks at the study while an earlier trial runs: short at first (the
#: trial may be about to end), growing to at most POLL_MAX.
POLL_FIRST = 0.02
POLL_MAX = 0.5


class _History:
    """A storage that shows a study's trials numbered ``last`` or lower, and no others."""

    def __init__(self, storage: Any, last: int) -> None:
        self._storage = storage
        self._last = last

    def get_all_trials(
        self, study_id: int, deepcopy: bool = True, states: Any = None
    ) -> list[FrozenTrial]:
        trials = self._storage.get_all_trials(study_id, deepcopy=deepcopy, states=states)
        return [t for t in trials if t.number <= self._last]

    def get_n_trials(self, study_id: int, state: Any = None) -> int:
        states = None if state is None else (state,)
        return len(self.get_all_trials(study_id, deepcopy=False, states=states))

    def get_best_trial(self, study_id: int) -> FrozenTrial:
        complete = self.get_all_trials(study_id, deepcopy=False, states=(TrialState.COMPLETE,))
        if not complete:
            raise ValueError("no trial is complete yet")
        minimise = self._storage.get_study_directions(study_id)[0].name == "MINIMIZE"
        values = [float(t.value or 0.0) for t in complete]
        best = int(np.argmin(values) if minimise else np.argmax(values))
        return copy.deepcopy(complete[best])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)


def history(study: optuna.Study, last: int) -> optuna.Study:
    """``study`` as it looks to a trial that may see trials ``0 .. last`` only."""
    view = copy.copy(study)
    view._storage = _History(study._storage, last)  # type: ignore[assignment]
    view._thread_local = type(study._thread_local)()  # no trials cached from the real one
    return view


class OrderedSampler(optuna.samplers.BaseSampler):
    """A fresh sampler per trial, seeded by its number, that sees trials ``<= n - lag``."""

    def __init__(
        self,
        make: Callable[[int], optuna.samplers.BaseSampler],
        lag: int,
        seed: int,
        pruner: optuna.pruners.BasePruner | None = None,
    ) -> None:
        self._make = make
        self.lag = lag
        self._seed = seed
        self._pruner = pruner
        self._host = socket.gethostname()
        #: The grid sampler itself (grid search only), for ``is_exhausted``.
        self.grid: optuna.samplers.GridSampler | None = None
        probe = make(seed)
        if isinstance(probe, optuna.samplers.GridSampler):
            self.grid = probe
        self._samplers: dict[int, tuple[optuna.samplers.BaseSampler, optuna.Study]] = {}

    def _seed_of(self, number: int) -> int:
        return mix_seed(self._seed, number)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._mark(study, trial)
        number = trial.number
        if self.grid is not None:
            last = number - 1
            wait_for(study, trial, lambda t: t.number < number and not _has_grid_point(t))
        else:
            last = number - self.lag
            wait_for(study, trial, lambda t: t.number <= last)
        view = history(study, last)
        if self._pruner is not None:
            view.pruner = self._pruner
            view = optuna.pruners._filter_study(view, trial)  # hyperband: the trial's bracket
        # The grid's order of points is shuffled by its seed: one seed for every trial.
        sampler = self.grid if self.grid is not None else self._make(self._seed_of(number))
        self._samplers[number] = (sampler, view)
        sampler.before_trial(view, trial)

    def _mark(self, study: optuna.Study, trial: FrozenTrial) -> None:
        """Say where the trial runs before waiting, so that its process's death is seen."""
        storage = study._storage
        storage.set_trial_user_attr(trial._trial_id, "host", self._host)
        storage.set_trial_user_attr(trial._trial_id, "pid", os.getpid())
        _beat(storage, trial)

    def _own(self, trial: FrozenTrial) -> tuple[optuna.samplers.BaseSampler, optuna.Study]:
        return self._samplers[trial.number]

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, optuna.distributions.BaseDistribution]:
        sampler, view = self._own(trial)
        return sampler.infer_relative_search_space(view, trial)

    def sample_relative(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        search_space: dict[str, optuna.distributions.BaseDistribution],
    ) -> dict[str, Any]:
        sampler, view = self._own(trial)
        return sampler.sample_relative(view, trial, search_space)

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: optuna.distributions.BaseDistribution,
    ) -> Any:
        sampler, view = self._own(trial)
        return sampler.sample_independent(view, trial, param_name, param_distribution)

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        own = self._samplers.pop(trial.number, None)
        if own is not None:
            # The real study: grid search stops it when every point is taken.
            own[0].after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        pass  # every trial's sampler is seeded by its number


class OrderedPruner(optuna.pruners.BasePruner):
    """``pruner``, judging trial ``n`` against trials ``<= n - lag`` only (all finished)."""

    def __init__(self, pruner: optuna.pruners.BasePruner, lag: int) -> None:
        self.pruner = pruner
        self.lag = lag

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        return self.pruner.prune(history(study, trial.number - self.lag), trial)


def _has_grid_point(trial: FrozenTrial) -> bool:
    return trial.state != TrialState.RUNNING or "grid_id" in trial.system_attrs


def wait_for(
    study: optuna.Study, own: FrozenTrial, blocking: Callable[[FrozenTrial], bool]
) -> None:
    """Wait while a trial matching ``blocking`` has not finished.

    A blocking trial whose process on this host is gone is marked abandoned at once (the
    next resume queues it again); one elsewhere, after the heartbeat's grace period.
    """
    from tunelab.search.storage import fail_lost

    pause = POLL_FIRST
    while True:
        pending = [
            t
            for t in study._storage.get_all_trials(study._study_id, deepcopy=False)
            if t.number != own.number and not t.state.is_finished() and blocking(t)
        ]
        if not pending:
            return
        _beat(study._storage, own)
        fail_lost(study, pending)
        time.sleep(pause)
        pause = min(POLL_MAX, pause * 1.5)


def _beat(storage: Any, trial: FrozenTrial) -> None:
    """Record a heartbeat of ``trial`` (where the storage keeps them)."""
    from optuna.storages._heartbeat import is_heartbeat_enabled

    if is_heartbeat_enabled(storage):
        storage.record_heartbeat(trial._trial_id)


def search_parts(
    strategy: str, pruner: str, context: Any, lag: int | None, study_seed: int
) -> tuple[optuna.samplers.BaseSampler, optuna.pruners.BasePruner]:
    """The sampler and pruner of a study: ordered by trial number when ``lag`` >= 2."""
    from tunelab.search.pruners import create_pruner
    from tunelab.search.strategies import create_sampler

    made = create_pruner(pruner, context)
    if strategy == "grid":  # its seed orders the points: all processes must share one
        context = dataclasses.replace(context, seed=study_seed)
    if lag is None or lag < 2:
        return create_sampler(strategy, context), made
    make = functools.partial(_sampler_seeded, strategy, context)
    return OrderedSampler(make, lag, study_seed, made), OrderedPruner(made, lag)


def _sampler_seeded(strategy: str, context: Any, seed: int) -> optuna.samplers.BaseSampler:
    from tunelab.search.strategies import create_sampler

    return create_sampler(strategy, dataclasses.replace(context, seed=seed))
