"""Running trials: one optimize loop per process (see :mod:`tunelab.search.processes`
for the local worker processes around it).

Each process (the caller's, each of ``workers`` spawned ones, each Ray task, each
``tunelab worker``) runs Optuna's ``study.optimize`` with :class:`TrialRunner` as the
objective. Between trials a gate decides whether to start another: it checks the
deadline, does not start a trial that the time left cannot finish, and counts the
study's trials against ``n_trials`` (exact across processes and machines; see
:mod:`tunelab.search.tickets`). When the rest of the count is held by trials running
elsewhere, the process waits for them: one may die, and its retry must still run.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import TrialState

from tunelab.errors import interrupts_held
from tunelab.search.attrs import set_user_attrs
from tunelab.search.reporter import (
    SHORT_TRIAL_FAILURES,
    Diverged,
    Pruned,
    Reporter,
    trial_seed,
)
from tunelab.search.space import Dim, fixed_values, jsonable, suggest
from tunelab.search.storage import (
    STUDY_ATTR,
    fail_lost,
    fail_own_running,
    fresh_connections,
    open_storage,
    storage_url,
    use_heartbeat,
)
from tunelab.search.strategies import SearchContext
from tunelab.search.tickets import NoTrialLeft, count

Objective = Callable[[dict[str, Any], Reporter], float]
Callback = Callable[[optuna.Study, optuna.trial.FrozenTrial], None]


class TrialRunner:
    """Optuna's objective: suggest, call the user's objective, record how it ended."""

    def __init__(
        self,
        objective: Objective,
        space: Mapping[str, Dim],
        study_seed: int,
        deadline: float | None,
        max_resource: int | None = None,
    ) -> None:
        self.objective = objective
        self.space = dict(space)
        self.study_seed = study_seed
        self.deadline = deadline
        self.max_resource = max_resource
        self.host = socket.gethostname()

    def __call__(self, trial: optuna.Trial) -> float:
        # A Ctrl-C (or the parent's death) may land anywhere in here, also between the
        # write that makes the trial's pid visible and the objective's start: the trial
        # is interrupted wherever it lands, never failed without a status.
        try:
            return self._run(trial)
        except KeyboardInterrupt:
            # the interrupt must go on even if its note cannot be written: Optuna would
            # catch the storage's error and start the next trial
            with interrupts_held(), contextlib.suppress(Exception):
                fresh_connections(trial.study._storage)
                trial.set_user_attr("status", "interrupted")
            raise

    def _run(self, trial: optuna.Trial) -> float:
        seed = trial_seed(self.study_seed, trial.number)
        # host and pid together (in that order where they cannot be one write): a trial
        # with a pid always says where the pid lives, so a resume can tell at once that
        # its process died
        notes: dict[str, Any] = {"host": self.host, "pid": os.getpid(), "seed": seed}
        fixed = fixed_values(self.space)
        if fixed:
            notes["fixed_params"] = {k: jsonable(v) for k, v in fixed.items()}
        set_user_attrs(trial, notes)
        reporter = Reporter(
            trial, seed=seed, deadline=self.deadline, max_resource=self.max_resource
        )
        try:
            params = suggest(trial, self.space)  # a failure here is the trial's too: counted
            value = self.objective(params, reporter)
        except optuna.TrialPruned:
            trial.set_user_attr(
                "status", "budget" if reporter.stop_reason == "budget" else "pruned"
            )
            raise
        except Diverged as exc:
            _fail(trial, "diverged", str(exc))
            raise
        except Exception as exc:
            _fail(trial, "error", f"{type(exc).__name__}: {exc}")
            raise
        if reporter.stop_reason in ("pruned", "budget"):
            # The objective saw should_stop() and returned: still a trial stopped early.
            trial.set_user_attr("status", reporter.stop_reason)
            raise Pruned(f"stopped early ({reporter.stop_reason}) at the objective's request")
        try:
            number = float(value)
        except (TypeError, ValueError):
            message = f"the objective must return a number (got {value!r})"
            _fail(trial, "error", f"TypeError: {message}")
            raise TypeError(message) from None
        if not math.isfinite(number):
            message = f"the objective returned {number}: the trial diverged"
            _fail(trial, "diverged", message)
            raise Diverged(message)
        trial.set_user_attr("status", "complete")
        return number


def _fail(trial: optuna.Trial, status: str, message: str) -> None:
    set_user_attrs(trial, {"status": status, "error": message[:2000]})


@dataclass
class SessionPlan:
    """Everything one process needs to run its share of a study (picklable)."""

    objective: Objective
    space: dict[str, Dim]
    strategy: str
    pruner: str
    context: SearchContext
    study_seed: int
    deadline: float | None
    callbacks: Sequence[Callback] = field(default_factory=tuple)
    #: Counted trials the whole study may hold; None: no limit (a budget, or grid search).
    n_trials: int | None = None
    #: Optuna's log level in the caller, passed on to worker processes and Ray tasks.
    optuna_verbosity: int = field(default_factory=optuna.logging.get_verbosity)
    #: Whether failed trials are logged without a traceback (the CLI's choice), likewise.
    short_failures: bool = field(default_factory=lambda: SHORT_TRIAL_FAILURES.all_errors)
    #: Trials that run at once when the study is reproducible: trial n then learns from
    #: trials 0 .. n - lag only (see :mod:`tunelab.search.ordered`); None: from whatever
    #: has finished.
    lag: int | None = None


def expected_duration(trials: Sequence[optuna.trial.FrozenTrial]) -> float | None:
    """Median wall time of the complete ``trials``, or None before the first."""
    durations = [
        t.duration.total_seconds()
        for t in trials
        if t.state == TrialState.COMPLETE and t.duration is not None
    ]
    return statistics.median(durations) if durations else None


def run_session(
    study: optuna.Study,
    plan: SessionPlan,
    stop_requested: Callable[[], bool] = lambda: False,
) -> str:
    """Run trials in this process until a limit is reached; returns why it stopped."""
    reason: list[str] = []

    def gate(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        why = _why_stop(study, plan, stop_requested)
        if why is not None:
            reason.append(why)
            study.stop()

    runner = TrialRunner(
        plan.objective, plan.space, plan.study_seed, plan.deadline, plan.context.max_resource
    )
    try:
        while True:
            reason.clear()
            why = _why_stop(study, plan, stop_requested)
            if why == "wait":
                _wait_for_others(study)
                continue
            if why is not None:
                return why
            try:
                study.optimize(runner, catch=(Exception,), callbacks=[gate, *plan.callbacks])
            except NoTrialLeft:  # another process took the last trial a moment before us
                continue
            if reason and reason[0] == "wait":
                continue
            if reason:
                return reason[0]
            sampler = getattr(study.sampler, "grid", None) or study.sampler
            if isinstance(sampler, optuna.samplers.GridSampler) and sampler.is_exhausted(study):
                return "exhausted"
            return "callback"
    except KeyboardInterrupt:
        fail_own_running(study)
        return "interrupted"
    except UnboundLocalError as err:
        # A second Ctrl-C while Optuna records a trial: its ``finally`` then reads a name
        # it never set, and this error hides the KeyboardInterrupt (in ``__context__``).
        if not isinstance(err.__context__, KeyboardInterrupt):
            raise
        fail_own_running(study)
        return "interrupted"


def _why_stop(
    study: optuna.Study, plan: SessionPlan, stop_requested: Callable[[], bool]
) -> str | None:
    """Why no trial should start now: a stop reason, "wait" (for trials elsewhere), or None."""
    if stop_requested():
        return "interrupted"
    trials = study.get_trials(deepcopy=False)  # read once: after every trial, it adds up
    if failing_streak(trials) is not None:
        return "failing"
    n_trials, deadline = _limits(study, plan)
    if deadline is not None:
        now, need = time.time(), expected_duration(trials)
        if now >= deadline or (need is not None and now + need > deadline):
            return "budget"
    if n_trials is not None:
        counts = count(trials)
        if counts.counted + counts.running >= n_trials:
            # Trials running elsewhere hold the rest; if one dies, its retry needs a worker.
            return "wait" if counts.running else "n_trials"
    return None


#: Trials failing one after another (status "error") that stop the tune: the cause is
#: then the set-up (data, space, storage), not one unlucky point.
MAX_CONSECUTIVE_FAILURES = 5


def failing_streak(trials: Sequence[optuna.trial.FrozenTrial]) -> str | None:
    """The first error of the last :data:`MAX_CONSECUTIVE_FAILURES` finished ``trials``
    when all of them failed with an error; None otherwise."""
    finished = (TrialState.FAIL, TrialState.COMPLETE, TrialState.PRUNED)
    done = [
        t
        for t in trials
        if t.state in finished
        and t.user_attrs.get("status") not in ("interrupted", "abandoned", None)
    ]
    last = sorted(done, key=lambda t: t.number)[-MAX_CONSECUTIVE_FAILURES:]
    if len(last) < MAX_CONSECUTIVE_FAILURES:
        return None
    if all(t.user_attrs.get("status") == "error" for t in last):
        return str(last[0].user_attrs.get("error") or "unknown error")
    return None


def _limits(study: optuna.Study, plan: SessionPlan) -> tuple[int | None, float | None]:
    """The study's ``n_trials`` and deadline as last recorded: a ``tune(resume=True)``
    elsewhere may have raised them while this process runs."""
    recorded = study.user_attrs.get(STUDY_ATTR, {})
    if not isinstance(recorded, dict) or "n_trials" not in recorded:
        return plan.n_trials, plan.deadline
    return recorded.get("n_trials"), recorded.get("deadline")


#: Seconds between looks at the study while trials elsewhere hold the rest of the count.
WAIT_POLL = 1.0


def _wait_for_others(study: optuna.Study) -> None:
    """Pause, then fail the trials whose process here died, and fail (and re-queue) those
    whose heartbeat stopped."""
    time.sleep(WAIT_POLL)
    fail_lost(study)


def load_study_for(url: str, study_name: str, plan: SessionPlan) -> optuna.Study:
    """Open ``study_name`` in ``url`` from a worker, with the plan's sampler and pruner.

    The storage beats as often as the study's creator recorded (see
    :func:`tunelab.search.storage.use_heartbeat`).
    """
    optuna.logging.set_verbosity(plan.optuna_verbosity)
    SHORT_TRIAL_FAILURES.all_errors = plan.short_failures
    from tunelab.search.ordered import search_parts

    storage = open_storage(storage_url(url))
    assert storage is not None
    sampler, pruner = search_parts(
        plan.strategy, plan.pruner, plan.context, plan.lag, plan.study_seed
    )
    study = optuna.load_study(
        study_name=study_name, storage=storage, sampler=sampler, pruner=pruner
    )
    beat = study.user_attrs.get(STUDY_ATTR, {}).get("heartbeat")
    if isinstance(beat, dict):
        use_heartbeat(storage, int(beat["interval"]), int(beat["grace"]))
    return study
