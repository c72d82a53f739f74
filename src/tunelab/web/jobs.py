"""Background jobs: one training, sweep or tune at a time, in a thread, with an event log.

One job at a time keeps the machine's cores for that job and the run store free of
races; a second start is refused (409) until the first ends or is stopped. Each job keeps
every event it emitted (numbered from 0), so a page that connects late, or reconnects,
replays the log from where it left off (server-sent events with ``Last-Event-ID``).

Stopping: training and sweeps check the job's stop flag after every batch and end the
run as ``interrupted`` (saved, like Ctrl-C in the CLI); a tune is interrupted the way
Ctrl-C interrupts it (finished trials are kept and the study can be resumed).
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from tunelab.errors import TunelabError
from tunelab.runs.store import finite
from tunelab.web.security import WebError
from tunelab.web.settings import WebSettings

_log = logging.getLogger(__name__)
FINISHED = ("completed", "stopped", "failed")
KEEP_JOBS = 20


class Job:
    """One background task and everything it reported."""

    def __init__(self, kind: str, title: str, params: dict[str, Any]) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.kind = kind
        self.title = title
        self.params = params
        self.status = "starting"
        self.error: str | None = None
        self.result: dict[str, Any] = {}
        self.runs: list[str] = []
        self.progress: dict[str, Any] = {}  # the latest step, epoch and run index seen
        self.started = time.time()
        self.ended: float | None = None
        self.stop_requested = threading.Event()
        self.on_stop: Callable[[], None] | None = None
        self.thread: threading.Thread | None = None
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def emit(self, event_type: str, /, **data: Any) -> None:
        with self._lock:
            event = {"id": len(self._events), "type": event_type, "data": finite(data)}
            self._events.append(event)

    def events_after(self, last_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return self._events[last_id + 1 :]

    def to_dict(self) -> dict[str, Any]:
        return finite(
            {
                "id": self.id,
                "kind": self.kind,
                "title": self.title,
                "status": self.status,
                "error": self.error,
                "params": self.params,
                "runs": list(self.runs),
                "progress": dict(self.progress),
                "result": self.result,
                "started": self.started,
                "ended": self.ended,
                "events": len(self._events),
            }
        )


class JobManager:
    """Starts jobs (one at a time), stops them, and remembers the last few."""

    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self.current: Job | None = None

    def start(
        self,
        kind: str,
        title: str,
        params: dict[str, Any],
        task: Callable[[Job], dict[str, Any]],
    ) -> Job:
        """Run ``task(job)`` in a thread; its return value becomes ``job.result``."""
        with self._lock:
            busy = self.current
            if busy is not None and not busy.finished:
                raise WebError(
                    409,
                    f"a {busy.kind} job is already running ({busy.title!r}, job {busy.id}); "
                    "this server runs one job at a time. Stop it first "
                    f"(POST /api/jobs/{busy.id}/stop) or wait for it to end.",
                )
            job = Job(kind, title, params)
            self._jobs[job.id] = job
            for old in list(self._jobs)[:-KEEP_JOBS]:
                if self._jobs[old].finished:
                    del self._jobs[old]
            self.current = job
        job.thread = threading.Thread(
            target=self._run, args=(job, task), name=f"tunelab-{kind}-{job.id}", daemon=True
        )
        job.emit("status", status="starting", title=title, kind=kind)
        job.thread.start()
        return job

    def _run(self, job: Job, task: Callable[[Job], dict[str, Any]]) -> None:
        job.status = "running"
        job.emit("status", status="running")
        try:
            job.result = task(job)
            job.status = "stopped" if job.stop_requested.is_set() else "completed"
        except KeyboardInterrupt:
            job.status = "stopped"
        except TunelabError as err:
            job.status, job.error = "failed", str(err)
        except Exception as err:  # noqa: BLE001 - a failed job must not take the server down
            _log.exception("job %s failed", job.id)
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            job.status, job.error = "failed", f"internal error ({type(err).__name__}: {first})"
        job.ended = time.time()
        job.emit("end", status=job.status, error=job.error, result=job.result, runs=job.runs)

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            known = ", ".join(self._jobs) or "none"
            raise WebError(
                404, f"no job {job_id!r} (known jobs: {known}). List them with GET /api/jobs."
            )
        return job

    def list(self) -> list[Job]:
        return list(self._jobs.values())

    def running_runs(self) -> set[str]:
        job = self.current
        return set(job.runs) if job is not None and not job.finished else set()

    def stop(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job.finished:
            raise WebError(409, f"job {job_id} has already ended ({job.status}); nothing to stop.")
        job.stop_requested.set()
        job.emit("status", status="stopping")
        if job.on_stop is not None:
            job.on_stop()
        return job

    def shutdown(self) -> None:
        """Stop the running job and give it a moment to save its run."""
        job = self.current
        if job is None or job.finished:
            return
        try:
            self.stop(job.id)
        except WebError:
            return
        if job.thread is not None:
            job.thread.join(timeout=30)


def interrupt_thread(thread: threading.Thread) -> None:
    """Raise KeyboardInterrupt inside ``thread``: what Ctrl-C does to the main thread.

    Used for tuning, whose engine already treats Ctrl-C as "keep the finished trials,
    save the running one as interrupted".
    """
    if thread.ident is None or not thread.is_alive():
        return
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread.ident), ctypes.py_object(KeyboardInterrupt)
    )
