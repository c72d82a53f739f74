"""The local worker processes of ``tune(workers=N)``: each runs :func:`run_session`.

They are spawned (not forked: torch and threads), share the study through its storage,
and stop as the tune does: with a Ctrl-C in the terminal, when the parent asks, and when
the parent dies, even by ``kill -9`` (each then notes its running trial ``interrupted``,
so that a resume runs it again, and exits instead of running on as an orphan).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import optuna

from tunelab.errors import TunelabError, keep_interrupts
from tunelab.machine import cores
from tunelab.search.reporter import mix_seed
from tunelab.search.session import SessionPlan, load_study_for, run_session
from tunelab.search.storage import fail_own_running


def limit_threads(threads: int) -> None:
    """Make PyTorch (and the BLAS under NumPy) use ``threads`` threads in this process."""
    threads = max(1, threads)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)  # read by torch when the objective imports it later
    torch = sys.modules.get("torch")  # already imported with the objective's module
    if torch is not None:
        torch.set_num_threads(threads)


#: The signal a worker gets when its parent dies (Linux); SIGINT stays the user's Ctrl-C.
PARENT_DEATH = getattr(signal, "SIGUSR1", None)


def _parent_died(signum: int, frame: Any) -> None:
    # Once: Linux sends the parent-death signal again each time the orphan is handed on (once
    # per thread of the dying parent: workers got two, 7 to 12 ms apart), and a repeat landing
    # while the cut trial is noted interrupted would cut that note short.
    signal.signal(signum, signal.SIG_IGN)
    raise KeyboardInterrupt


def die_with_parent(parent: int | None = None) -> None:
    """Stop as after a Ctrl-C when the parent process dies (a kill -9 of the tune): the
    worker then records its trial as interrupted and exits, instead of running on as an orphan.

    Linux's ``PR_SET_PDEATHSIG`` with :data:`PARENT_DEATH` (heard once) stops it at once;
    a thread watching the parent's pid stops it on other systems, and again and again for
    as long as it outlives its parent (see :func:`_watch_parent`). ``parent``: the pid
    that started this process (default: its parent now), so that a parent that died before
    this call is noticed too."""
    if parent is None:
        parent = os.getppid()
    told = False  # whether the system signals the parent's death
    if PARENT_DEATH is not None:
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            signal.signal(PARENT_DEATH, _parent_died)  # listening before asking for it
            told = libc.prctl(1, PARENT_DEATH, 0, 0, 0) == 0  # 1 = PR_SET_PDEATHSIG
            if told and os.getppid() != parent:  # the parent died before the call
                os.kill(os.getpid(), PARENT_DEATH)
    threading.Thread(
        target=_watch_parent, args=(parent, told), name="tunelab-parent-watch", daemon=True
    ).start()


#: Seconds between the interrupts of a worker that outlives its parent.
ORPHAN_REMINDER = 3.0


def _watch_parent(parent: int, told: bool) -> None:
    """Interrupt the main thread as a Ctrl-C would while this process outlives its parent.

    Once suffices nearly always; but the interrupt can be lost (1 kill in 100 under load: a
    worker trained its trial to the end after its parent died), so it comes again every
    :data:`ORPHAN_REMINDER` s; a worker done with its bookkeeping no longer listens."""
    import _thread

    while os.getppid() == parent:
        time.sleep(1.0)
    if not told:  # no parent-death signal on this system: this is the first
        _thread.interrupt_main()
    while True:
        time.sleep(ORPHAN_REMINDER)  # first, the parent-death signal's own stop
        _thread.interrupt_main()


def _worker_main(
    index: int,
    url: str,
    study_name: str,
    plan: SessionPlan,
    stop_event: Any,
    results: Any,
) -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)  # started deaf: see run_workers
    keep_interrupts()
    limit_threads(cores() // plan.context.workers)
    study: optuna.Study | None = None
    report: tuple[int, str, str | None]
    try:
        parent = multiprocessing.parent_process()
        die_with_parent(parent.pid if parent is not None else None)
        study = load_study_for(url, study_name, plan)
        report = (index, run_session(study, plan, stop_event.is_set), None)
    except KeyboardInterrupt:
        _stop_listening()  # stopping: a further interrupt would only cut the marking short
        # one landed before run_session's bookkeeping held them off: mark the trial here
        if study is not None:
            with contextlib.suppress(Exception):  # the report below must still go out
                fail_own_running(study)
        report = (index, "interrupted", None)
    except BaseException as exc:  # reported to the parent, which decides
        report = (index, "error", f"{type(exc).__name__}: {exc}")
    # Done: a late Ctrl-C or parent-death signal could only cut the report short, or break
    # off the exit while it waits for the queue's writer thread to send the report.
    _stop_listening()
    results.put(report)


def _stop_listening() -> None:
    for signum in (signal.SIGINT, PARENT_DEATH):
        if signum is not None:
            signal.signal(signum, signal.SIG_IGN)


def run_workers(url: str, study_name: str, plan: SessionPlan) -> str:
    """Run ``plan.context.workers`` spawned processes on the study; returns why they stopped.

    Ctrl-C in the parent tells every worker to stop: each records its running trial as
    interrupted and exits.
    """
    workers = plan.context.workers
    ctx = multiprocessing.get_context("spawn")
    stop_event = ctx.Event()
    results = ctx.Queue()
    processes = []
    # A worker starts deaf to Ctrl-C (an ignored signal stays ignored across exec) until
    # _worker_main listens: one arriving while it still imports torch would print a
    # traceback. A worker that never gets to listen is terminated by _stop_workers.
    deaf = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if deaf else None
    try:
        for index in range(workers):
            # Each worker samples from its own stream, or they would all propose the same
            # points (a reproducible study seeds each trial by its number instead).
            seed = worker_seed(plan.context.seed, index)
            worker_plan = replace(plan, context=replace(plan.context, seed=seed))
            process = ctx.Process(
                target=_worker_main,
                args=(index, url, study_name, worker_plan, stop_event, results),
                name=f"tunelab-worker-{index}",
            )
            process.start()
            processes.append(process)
    finally:
        if deaf:
            signal.signal(signal.SIGINT, previous)
    interrupted = False
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:
        interrupted = True
        _stop_workers(processes, stop_event)
    return combine_reasons(list(_drain(results, processes)), workers, interrupted)


def _drain(results: Any, processes: list[Any]) -> Iterator[tuple[int, str, str | None]]:
    """What each worker reported; one that died before reporting gets an error."""
    reported: set[int] = set()
    while len(reported) < len(processes):
        try:
            index, reason, error = results.get(timeout=1.0)
        except Exception:  # queue.Empty: a worker died before reporting
            break
        reported.add(index)
        yield index, reason, error
    for index, process in enumerate(processes):
        if index not in reported:
            yield (
                index,
                "error",
                (
                    f"exited with code {process.exitcode} before reporting; is the "
                    f"objective importable from a module (not defined in an interactive session)?"
                ),
            )


def combine_reasons(
    reports: Sequence[tuple[Any, str, str | None]], workers: int, interrupted: bool = False
) -> str:
    """One stop reason for several workers' ``(who, reason, error)`` reports.

    Raises when every worker failed; warns for each that failed while others ran.
    """
    reasons: dict[Any, str] = {}
    errors: list[str] = []
    for who, reason, error in reports:
        reasons[who] = reason
        if error:
            errors.append(f"worker {who}: {error}")
    if errors and len(errors) >= workers:
        raise TunelabError(
            f"every worker process of the tune stopped ({'; '.join(errors)[:600]}). The trials "
            "they finished are kept in the study; resume it with the same command and --resume."
        )
    for error in errors:
        warnings.warn(error, RuntimeWarning, stacklevel=3)
    if interrupted or "interrupted" in reasons.values():
        return "interrupted"
    for reason in ("failing", "n_trials", "budget", "exhausted", "callback"):
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


def worker_seed(seed: int, index: int) -> int:
    return mix_seed(seed, 1 + index)
