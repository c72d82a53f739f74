"""The objective's side of a trial: report a value per epoch, learn when to stop.

An objective is any callable ``objective(params, reporter) -> float``::

    def objective(params, reporter):
        model = build(params, seed=reporter.seed)
        for epoch in range(1, 11):
            accuracy = train_one_epoch(model)
            reporter.report(epoch, accuracy)  # raises Pruned when the trial should stop
        return accuracy

Let :class:`Pruned` and :class:`Diverged` propagate. An objective that would rather stop
cleanly can check :meth:`Reporter.should_stop` and return; the trial is then recorded as
stopped early all the same, so a partial run never poses as a finished one.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna

from tunelab.errors import TunelabError

if TYPE_CHECKING:
    from tunelab.search.results import TrialRecord


#: User attribute of a queued trial that is a setting tried first (``tune``'s
#: ``initial_points``: the warm-start portfolio), not sampled.
INITIAL_POINT = "initial_point"
#: User attribute of a queued trial that the pruner must not stop (see ``tune``'s
#: ``prune_initial_points``).
UNPRUNED = "unpruned"


class Pruned(optuna.TrialPruned):
    """The trial was stopped early: the pruner judged it unpromising, or time ran out."""


class Diverged(Exception):
    """The trial produced a NaN or infinite value; it is recorded as failed, status diverged."""


def mix_seed(*parts: int) -> int:
    """One 32-bit seed from several whole numbers, through NumPy's SeedSequence: streams
    seeded from neighbouring parts (trial 3 and 4, worker 0 and 1) are unrelated."""
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0])


def trial_seed(study_seed: int, trial_number: int) -> int:
    """The seed of trial ``trial_number`` in a study seeded with ``study_seed``.

    Recorded with each trial (user attribute ``seed``) so one trial can be re-run alone
    with :func:`rerun`. Mixed through NumPy's SeedSequence so that neighbouring trials get
    unrelated streams; below 2**31 so every library accepts it.
    """
    return mix_seed(study_seed, trial_number) & 0x7FFF_FFFF


class Reporter:
    """Passed to the objective with each trial's parameters.

    ``trial_number`` and ``seed`` identify the trial; :meth:`report` records one value per
    step (epoch) and raises :class:`Pruned` when the trial should stop. Built with no
    trial, it records values and never stops the objective, which is how :func:`rerun`
    replays a trial outside a study.
    """

    def __init__(
        self,
        trial: optuna.Trial | None = None,
        *,
        seed: int = 0,
        trial_number: int | None = None,
        deadline: float | None = None,
        max_resource: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._trial = trial
        self._deadline = deadline
        self._max_resource = max_resource
        self._clock = clock
        self.seed = seed
        self.trial_number = trial.number if trial is not None else trial_number
        self.values: dict[int, float] = {}
        # an initial point run to its last step: read once (user_attrs is a fresh copy)
        self._unpruned = bool(trial is not None and trial.user_attrs.get(UNPRUNED))
        #: Why the trial was stopped early: "pruned", "budget" or "diverged"; None if not.
        self.stop_reason: str | None = None

    def report(self, step: int, value: float) -> None:
        """Record ``value`` at ``step`` (an epoch, counted from 1); maybe raise Pruned.

        A NaN or infinite value raises :class:`Diverged`. Past the time budget, or when the
        pruner says the trial is behind its peers at this step, raises :class:`Pruned`.
        """
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
            raise TunelabError(f"report step must be a whole number >= 0 (got {step!r}).")
        step = int(step)
        value = float(value)
        self.values[step] = value
        if not math.isfinite(value):
            self.stop_reason = "diverged"
            raise Diverged(f"value {value} at step {step} is not finite: the trial diverged")
        if self._trial is not None:
            self._trial.report(value, step)
        if self.should_stop():
            if self.stop_reason == "budget":
                raise Pruned(f"stopped at step {step}: the time budget is spent")
            raise Pruned(f"pruned at step {step} (value {value:.6g})")

    def should_stop(self) -> bool:
        """True when the trial should end now: out of time, or pruned at the last step."""
        if self.stop_reason is not None:
            return True
        if self._deadline is not None and self._clock() >= self._deadline:
            self.stop_reason = "budget"
        elif self._trial is not None and self.values and self._may_prune():
            self.stop_reason = "pruned"
        return self.stop_reason is not None

    def _may_prune(self) -> bool:
        # At the last step the trial has finished: pruning it there would only relabel a
        # complete run as stopped early.
        if self._max_resource is not None and max(self.values) >= self._max_resource:
            return False
        assert self._trial is not None
        if self._unpruned:
            return False
        return self._trial.should_prune()

    def set_user_attr(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable note with the trial (e.g. the run folder it wrote)."""
        self.set_user_attrs({key: value})

    def set_user_attrs(self, attrs: dict[str, Any]) -> None:
        """Store several notes at once (one write to the study's storage)."""
        if self._trial is not None:
            from tunelab.search.attrs import set_user_attrs

            set_user_attrs(self._trial, attrs)


def rerun(objective: Callable[[dict[str, Any], Reporter], float], record: TrialRecord) -> float:
    """Run one recorded trial again, alone: same parameters, same seed, no pruning."""
    reporter = Reporter(seed=record.seed or 0, trial_number=record.number)
    return objective(dict(record.params), reporter)


class _ShortTrialFailures(logging.Filter):
    """Optuna logs a failed trial with its traceback; a diverged trial is an outcome, not a
    bug, so it gets Optuna's one line only. With ``all_errors`` (the CLI) every failed
    trial does: the leaderboard shows its error, and a CLI never prints a traceback."""

    all_errors = False

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and (self.all_errors or isinstance(error, Diverged)):
            record.exc_info = None
        return True


SHORT_TRIAL_FAILURES = _ShortTrialFailures()
logging.getLogger("optuna.study._optimize").addFilter(SHORT_TRIAL_FAILURES)
