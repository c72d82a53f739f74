"""Trials as Ray tasks: each task runs the worker loop against the study's storage.

A task holds one trial's resources (``num_cpus=cpus_per_trial``,
``num_gpus=gpus_per_trial``) and runs trials one after another, exactly as a local
worker process or ``tunelab worker`` does: it asks the study for a trial, trains,
reports, and stops when the study's count or budget is used up. Ray only places the
loops; the study's storage coordinates them. So a task that dies (a lost node) costs its
running trial alone: the heartbeat fails that trial and another loop retries it, and Ray
restarts the task, which just joins the study again.

Ray is imported here, never on the path ``tunelab --help`` takes; install it with
``pip install 'tunelab[ray]'``.
"""

from __future__ import annotations

import logging
import math
import socket
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tunelab.errors import TunelabError

if TYPE_CHECKING:
    import optuna

    from tunelab.search.session import SessionPlan

#: Seconds to wait for a cluster's address to answer before giving up (Ray itself retries
#: for minutes).
CONNECT_TIMEOUT = 5.0
#: Seconds the tasks get to record their running trials as interrupted after Ctrl-C.
CANCEL_WAIT = 30.0


@dataclass(frozen=True)
class RayOptions:
    """Where the Ray cluster is, and what each trial holds while it runs.

    ``address``: None starts a local Ray instance (on this machine's cores) for the run;
    ``"auto"`` joins the cluster that ``ray start`` made on this machine; ``"HOST:PORT"``
    (e.g. ``"10.0.0.5:6379"``) or ``"ray://HOST:10001"`` joins a remote one.
    """

    address: str | None = None
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0

    def check(self) -> None:
        for what, value, allow_zero in (
            ("cpus_per_trial", self.cpus_per_trial, False),
            ("gpus_per_trial", self.gpus_per_trial, True),
        ):
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if (
                not number
                or not math.isfinite(value)
                or value < 0
                or (value == 0 and not allow_zero)
            ):
                raise TunelabError(
                    f"{what} must be a number {'>=' if allow_zero else '>'} 0 (got {value!r}); "
                    f"fractions share a device, e.g. 0.5 runs two trials per GPU."
                )
        if self.address is not None and (
            not isinstance(self.address, str) or not self.address.strip()
        ):
            raise TunelabError(
                f"ray address must be 'auto', HOST:PORT or ray://HOST:PORT (got "
                f"{self.address!r}); leave it out to start a local Ray instance."
            )


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise TunelabError(
            "backend 'ray' needs Ray, which is not installed here. Install it with: "
            "pip install 'tunelab[ray]'; or use backend 'local'."
        ) from None
    return ray


class RayRunner:
    """Connects to (or starts) Ray, then runs the study's worker loop in Ray tasks."""

    in_processes = True

    def __init__(self, options: RayOptions, workers: int | None) -> None:
        self.options = options
        self.workers = workers
        self.ray = import_ray()
        self.started_here = False
        self.tasks = workers or 1  # set from the cluster's size once connected

    def connect(self) -> None:
        """Join the cluster at ``options.address``, or start a local instance."""
        ray = self.ray
        address = self.options.address
        if address is not None and address != "auto":
            _check_reachable(address)
        if ray.is_initialized():  # the caller's own Ray session: use it, leave it running
            return
        quiet: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        quiet["logging_level"] = logging.WARNING
        try:
            if address is None:
                from tunelab.machine import cores

                ray.init(num_cpus=cores(), **quiet)
            else:
                ray.init(address=address, **quiet)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise TunelabError(
                f"cannot reach the Ray cluster at {address or 'a local instance'}: "
                f"{detail.rstrip('.')}. Start one with `ray start --head` and pass "
                f"--ray-address auto on that machine (HOST:6379 elsewhere), or leave "
                f"--ray-address out to start a local instance."
            ) from None
        self.started_here = True

    @property
    def parallel(self) -> int:
        return self.tasks

    def check_storage(self, url: str | None) -> None:
        """Connect; fail before the study is touched if the cluster cannot run the trials:
        too small for one trial, or several machines that cannot share a SQLite file."""
        self.connect()
        try:
            # Checked even when workers is given: a task that fits nowhere waits forever.
            fits = self.capacity()
            self.tasks = self.workers or fits
            nodes = [node for node in self.ray.nodes() if node.get("Alive")]
            if url is not None and url.startswith("sqlite") and len(nodes) > 1:
                from tunelab.search.storage import display_url

                raise TunelabError(
                    f"the Ray cluster has {len(nodes)} machines, and they cannot share the "
                    f"SQLite file {display_url(url)}. Give a storage every machine reaches: "
                    f"--storage postgresql://user@host:5432/db."
                )
        except TunelabError:
            if self.started_here:
                self.ray.shutdown()
            raise

    def capacity(self) -> int:
        """How many trials the cluster's CPUs and GPUs fit at once."""
        resources = self.ray.cluster_resources()
        cpus, gpus = self.options.cpus_per_trial, self.options.gpus_per_trial
        fits = math.floor(resources.get("CPU", 0) / cpus + 1e-9)
        if gpus > 0:
            fits = min(fits, math.floor(resources.get("GPU", 0) / gpus + 1e-9))
        if fits < 1:
            raise TunelabError(
                f"the Ray cluster cannot hold one trial: it has {resources.get('CPU', 0):g} "
                f"CPUs and {resources.get('GPU', 0):g} GPUs, and a trial asks for {cpus:g} "
                f"CPUs and {gpus:g} GPUs. Lower --cpus-per-trial / --gpus-per-trial, or add "
                f"machines to the cluster."
            )
        return fits

    def run(self, study: optuna.Study, url: str | None, plan: SessionPlan) -> str:
        from tunelab.search.processes import combine_reasons, worker_seed

        assert url is not None, "the engine gives Ray tasks a storage to share"
        ray = self.ray
        try:
            tasks = self.tasks
            if plan.n_trials is not None:
                tasks = min(tasks, plan.n_trials)
            remote = ray.remote(_task).options(
                num_cpus=self.options.cpus_per_trial,
                num_gpus=self.options.gpus_per_trial,
                name="tunelab-trials",
            )
            threads = max(1, int(self.options.cpus_per_trial))
            refs = []
            for index in range(tasks):
                # Each task samples from its own stream, or all would propose the same points.
                context = replace(
                    plan.context, seed=worker_seed(plan.context.seed, index), workers=tasks
                )
                task_plan = replace(plan, context=context)
                refs.append(remote.remote(url, study.study_name, task_plan, threads))
            try:
                ray.wait(refs, num_returns=len(refs))
            except KeyboardInterrupt:
                for ref in refs:  # raises KeyboardInterrupt in the task: it records its trial
                    ray.cancel(ref)
                ray.wait(refs, num_returns=len(refs), timeout=CANCEL_WAIT)
                return "interrupted"
            return combine_reasons([_report(ray, i, ref) for i, ref in enumerate(refs)], tasks)
        finally:
            if self.started_here:
                ray.shutdown()


def _task(url: str, study_name: str, plan: SessionPlan, threads: int) -> tuple[str, str]:
    """One Ray task: the worker loop; returns ``(where it ran, why it stopped)``."""
    import os

    from tunelab.search.processes import limit_threads
    from tunelab.search.session import load_study_for, run_session

    limit_threads(threads)
    study = load_study_for(url, study_name, plan)
    return f"{socket.gethostname()}:{os.getpid()}", run_session(study, plan)


def _report(ray: Any, index: int, ref: Any) -> tuple[str, str, str | None]:
    try:
        where, reason = ray.get(ref)
    except ray.exceptions.RayError as exc:
        cause = getattr(exc, "cause", None) or exc
        lines = [line for line in str(cause).splitlines() if line.strip()]
        return f"task {index}", "error", lines[-1] if lines else type(exc).__name__
    return f"task {index} ({where})", reason, None


def _check_reachable(address: str) -> None:
    """Fail in seconds, with one line, when nothing listens at ``HOST:PORT``."""
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise TunelabError(
            f"invalid Ray address {address!r}: give auto, HOST:PORT (e.g. 10.0.0.5:6379) or "
            f"ray://HOST:10001."
        )
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise TunelabError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}. Is `ray start "
            f"--head` running there, and is the port open? Or leave --ray-address out to "
            f"start a local instance."
        ) from None
