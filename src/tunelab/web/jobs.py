"""Background jobs: a queue of training, sweep and tune jobs, run one at a time in a thread.

One job runs at a time, which keeps the machine's cores for that job and the run store
free of races; later starts wait in the queue (``position`` 1, 2, ... ; the running job
is 0) and can be cancelled before they start. Each job keeps every event it emitted
(numbered from 0): its live log. A page that connects late, or reconnects, replays the
log from where it left off (server-sent events with ``Last-Event-ID``).

Stopping: a stop reaches the training run in progress at once (:meth:`Job.on_stop`), which
ends after the batch it is on, as ``interrupted`` (saved, like Ctrl-C in the CLI); a
sweep stops with that run; a tune stops between trials
(finished trials are kept and the study can be resumed). A queued job is cancelled.
"""

from __future__ import annotations

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
FINISHED = ("completed", "stopped", "failed", "cancelled")
KEEP_JOBS = 20
MAX_QUEUED = 10


class Job:
    """One background task and everything it reported."""

    def __init__(self, kind: str, title: str, params: dict[str, Any]) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.kind = kind
        self.title = title
        self.params = params
        self.status = "queued"
        self.position: int | None = None  # 0 running, 1.. waiting, None once ended
        self.error: str | None = None
        self.result: dict[str, Any] = {}
        self.runs: list[str] = []
        self.progress: dict[str, Any] = {}  # the latest step, epoch and run index seen
        self.started = time.time()
        self.ended: float | None = None
        self.stop_requested = threading.Event()
        self._stop_hooks: list[Callable[[], None]] = []
        self.thread: threading.Thread | None = None
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def on_stop(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` when a stop is asked for (at once if one already was)."""
        with self._lock:
            self._stop_hooks.append(hook)
        if self.stop_requested.is_set():
            hook()

    def request_stop(self) -> None:
        """Raise the stop flag and tell whoever asked to hear of it."""
        self.stop_requested.set()
        with self._lock:
            hooks = list(self._stop_hooks)
        for hook in hooks:
            hook()

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
                "position": self.position,
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
    """Queues jobs, runs them one at a time in order, stops or cancels them, and remembers
    the last few."""

    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._queue: list[tuple[Job, Callable[[Job], dict[str, Any]]]] = []
        self.current: Job | None = None  # the job that runs now (or ran last)
        self._runner: threading.Thread | None = None
        self._closing = False

    def start(
        self,
        kind: str,
        title: str,
        params: dict[str, Any],
        task: Callable[[Job], dict[str, Any]],
    ) -> Job:
        """Queue ``task(job)``; it runs in the runner thread when its turn comes, and its
        return value becomes ``job.result``."""
        with self._lock:
            if len(self._queue) >= MAX_QUEUED:
                raise WebError(
                    409,
                    f"{len(self._queue)} jobs are already waiting (at most {MAX_QUEUED}); "
                    "cancel one (POST /api/jobs/ID/stop) or wait for the queue to move.",
                )
            job = Job(kind, title, params)
            self._jobs[job.id] = job
            for old in list(self._jobs)[:-KEEP_JOBS]:
                if self._jobs[old].finished:
                    del self._jobs[old]
            self._queue.append((job, task))
            self._renumber()
            job.emit("status", status="queued", title=title, kind=kind, position=job.position)
            if self._runner is None or not self._runner.is_alive():
                self._runner = threading.Thread(
                    target=self._run_queue, name="tunelab-jobs", daemon=True
                )
                self._runner.start()
        return job

    def _renumber(self) -> None:
        running = self.current is not None and self.current.status in ("starting", "running")
        for index, (job, _) in enumerate(self._queue, start=1 if running else 0):
            job.position = index

    def _run_queue(self) -> None:
        while True:
            with self._lock:
                if not self._queue or self._closing:
                    self._runner = None
                    return
                job, task = self._queue.pop(0)
                self.current = job
                job.status, job.position = "starting", 0
                job.thread = threading.current_thread()
                self._renumber()
            self._run(job, task)

    def _run(self, job: Job, task: Callable[[Job], dict[str, Any]]) -> None:
        job.started = time.time()
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
        self._end(job)

    def _end(self, job: Job) -> None:
        job.ended = time.time()
        job.position = None
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

    def queued(self) -> tuple[Job, ...]:
        """The jobs waiting their turn, next first."""
        with self._lock:
            return tuple(job for job, _ in self._queue)

    def running_runs(self) -> set[str]:
        job = self.current
        return set(job.runs) if job is not None and not job.finished else set()

    def stop(self, job_id: str) -> Job:
        """Stop the running job, or cancel a waiting one."""
        job = self.get(job_id)
        with self._lock:
            waiting = [entry for entry in self._queue if entry[0] is job]
            if waiting:
                self._queue.remove(waiting[0])
                job.status = "cancelled"
                self._renumber()
        if waiting:
            self._end(job)
            return job
        if job.finished:
            raise WebError(409, f"job {job_id} has already ended ({job.status}); nothing to stop.")
        job.request_stop()
        job.emit("status", status="stopping")
        return job

    def shutdown(self) -> None:
        """Cancel the waiting jobs, stop the running one and give it a moment to save."""
        with self._lock:
            self._closing = True
        for waiting in self.queued():
            self.stop(waiting.id)
        job = self.current
        if job is None or job.finished:
            return
        try:
            self.stop(job.id)
        except WebError:
            return
        if job.thread is not None:
            job.thread.join(timeout=30)
