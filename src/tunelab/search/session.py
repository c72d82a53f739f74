"""Running trials: one optimize loop per process, and the worker processes around it.

Each process (the caller's, or each of ``workers`` spawned ones) runs Optuna's
``study.optimize`` with :class:`TrialRunner` as the objective. Between trials a gate
decides whether to start another: it takes a ticket (so ``n_trials`` is exact across
processes), checks the deadline, and does not start a trial that the time left cannot
finish.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import socket
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import optuna
from optuna.trial import TrialState

from tunelab.search.pruners import create_pruner
from tunelab.search.reporter import Diverged, Pruned, Reporter, trial_seed
from tunelab.search.space import Dim, fixed_values, jsonable, suggest
from tunelab.search.storage import fail_own_running, open_storage
from tunelab.search.strategies import SearchContext, create_sampler

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
        seed = trial_seed(self.study_seed, trial.number)
        trial.set_user_attr("pid", os.getpid())
        trial.set_user_attr("host", self.host)
        trial.set_user_attr("seed", seed)
        fixed = fixed_values(self.space)
        if fixed:
            trial.set_user_attr("fixed_params", {k: jsonable(v) for k, v in fixed.items()})
        params = suggest(trial, self.space)
        reporter = Reporter(
            trial, seed=seed, deadline=self.deadline, max_resource=self.max_resource
        )
        try:
            value = self.objective(params, reporter)
        except optuna.TrialPruned:
            trial.set_user_attr(
                "status", "budget" if reporter.stop_reason == "budget" else "pruned"
            )
            raise
        except Diverged as exc:
            _fail(trial, "diverged", str(exc))
            raise
        except KeyboardInterrupt:
            trial.set_user_attr("status", "interrupted")
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
    trial.set_user_attr("status", status)
    trial.set_user_attr("error", message[:2000])


class Tickets(Protocol):
    def take(self) -> bool: ...


@dataclass
class LocalTickets:
    """Trials this process may still start; None means no limit."""

    left: int | None

    def take(self) -> bool:
        if self.left is None:
            return True
        if self.left <= 0:
            return False
        self.left -= 1
        return True


class SharedTickets:
    """Trials all worker processes together may still start (negative: no limit)."""

    def __init__(self, ctx: Any, left: int | None) -> None:
        self.value = ctx.Value("q", -1 if left is None else left)

    def take(self) -> bool:
        with self.value.get_lock():
            if self.value.value < 0:
                return True
            if self.value.value == 0:
                return False
            self.value.value -= 1
            return True


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


def expected_duration(study: optuna.Study) -> float | None:
    """Median wall time of the study's complete trials, or None before the first."""
    durations = [
        t.duration.total_seconds()
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.duration is not None
    ]
    return statistics.median(durations) if durations else None


def run_session(
    study: optuna.Study,
    plan: SessionPlan,
    tickets: Tickets,
    stop_requested: Callable[[], bool] = lambda: False,
) -> str:
    """Run trials in this process until a limit is reached; returns why it stopped."""
    reason: list[str] = []

    def why_stop() -> str | None:
        if stop_requested():
            return "interrupted"
        if plan.deadline is not None:
            now, need = time.time(), expected_duration(study)
            if now >= plan.deadline or (need is not None and now + need > plan.deadline):
                return "budget"
        if not tickets.take():
            return "n_trials"
        return None

    def gate(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        why = why_stop()
        if why is not None:
            reason.append(why)
            study.stop()

    first = why_stop()
    if first is not None:
        return first
    runner = TrialRunner(
        plan.objective, plan.space, plan.study_seed, plan.deadline, plan.context.max_resource
    )
    try:
        study.optimize(runner, catch=(Exception,), callbacks=[gate, *plan.callbacks])
    except KeyboardInterrupt:
        fail_own_running(study, None)
        return "interrupted"
    if reason:
        return reason[0]
    sampler = study.sampler
    if isinstance(sampler, optuna.samplers.GridSampler) and sampler.is_exhausted(study):
        return "exhausted"
    return "callback"


# ---------------------------------------------------------------- worker processes


def _limit_threads(workers: int) -> None:
    """Split the machine's cores between the worker processes."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    threads = max(1, cores // workers)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)  # read by torch when the objective imports it later
    torch = sys.modules.get("torch")  # already imported with the objective's module
    if torch is not None:
        torch.set_num_threads(threads)


def _worker_main(
    index: int,
    url: str,
    study_name: str,
    plan: SessionPlan,
    tickets: SharedTickets,
    stop_event: Any,
    results: Any,
) -> None:
    _limit_threads(plan.context.workers)
    try:
        storage = open_storage(url)
        assert storage is not None
        study = optuna.load_study(
            study_name=study_name,
            storage=storage,
            sampler=create_sampler(plan.strategy, plan.context),
            pruner=create_pruner(plan.pruner, plan.context),
        )
        reason = run_session(study, plan, tickets, stop_event.is_set)
        results.put((index, reason, None))
    except KeyboardInterrupt:
        results.put((index, "interrupted", None))
    except BaseException as exc:  # reported to the parent, which decides
        results.put((index, "error", f"{type(exc).__name__}: {exc}"))


def run_workers(url: str, study_name: str, plan: SessionPlan, left: int | None) -> str:
    """Run ``plan.context.workers`` spawned processes on the study; returns why they stopped.

    Ctrl-C in the parent tells every worker to stop: each records its running trial as
    interrupted and exits.
    """
    workers = plan.context.workers
    ctx = multiprocessing.get_context("spawn")
    tickets = SharedTickets(ctx, left)
    stop_event = ctx.Event()
    results = ctx.Queue()
    processes = []
    for index in range(workers):
        # Each worker samples from its own stream, or they would all propose the same points.
        seed = _worker_seed(plan.context.seed, index)
        worker_plan = replace(plan, context=replace(plan.context, seed=seed))
        process = ctx.Process(
            target=_worker_main,
            args=(index, url, study_name, worker_plan, tickets, stop_event, results),
            name=f"tunelab-worker-{index}",
        )
        process.start()
        processes.append(process)
    interrupted = False
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:
        interrupted = True
        _stop_workers(processes, stop_event)
    reasons: dict[int, str] = {}
    errors: list[str] = []
    while len(reasons) < workers:
        try:
            index, reason, error = results.get(timeout=1.0)
        except Exception:  # queue.Empty: a worker died before reporting
            break
        reasons[index] = reason
        if error:
            errors.append(f"worker {index}: {error}")
    for index, process in enumerate(processes):
        if index not in reasons:
            errors.append(
                f"worker {index} exited with code {process.exitcode} before reporting; is the "
                f"objective importable from a module (not defined in an interactive session)?"
            )
    if errors and len(errors) >= workers:
        raise RuntimeError("every worker process failed: " + "; ".join(errors))
    for error in errors:
        warnings.warn(error, RuntimeWarning, stacklevel=3)
    if interrupted or "interrupted" in reasons.values():
        return "interrupted"
    for reason in ("n_trials", "budget", "exhausted", "callback"):
        if reason in reasons.values():
            return reason
    return "callback"


def _stop_workers(processes: list[Any], stop_event: Any) -> None:
    stop_event.set()
    for process in processes:
        process.join(timeout=2.0)
        if process.is_alive() and process.pid is not None:
            # A Ctrl-C from a terminal already reached the whole process group; a signal
            # sent to this process alone did not, so pass it on.
            os.kill(process.pid, signal.SIGINT)
    for process in processes:
        process.join(timeout=30.0)
        if process.is_alive():
            process.terminate()
            process.join()


def _worker_seed(seed: int, index: int) -> int:
    import numpy as np

    return int(np.random.SeedSequence([seed, 1 + index]).generate_state(1)[0])
