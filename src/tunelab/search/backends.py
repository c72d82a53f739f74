"""Where trials run: this machine's processes, or Ray tasks on a cluster. Made by name.

Every backend runs the same worker loop (:func:`tunelab.search.session.run_session`)
against the study's storage; they differ only in where the loops run:

- ``local``: in this process, or in ``workers`` spawned processes on this machine;
- ``ray``: as Ray tasks, each holding one trial's resources (``cpus_per_trial``,
  ``gpus_per_trial``), on a local Ray instance or a cluster (``ray start --head``).

``tunelab worker`` on another machine runs the loop too: backends and workers mix freely
on one study.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from tunelab.errors import TunelabError, unknown_choice
from tunelab.search.ray_backend import RayOptions, RayRunner

if TYPE_CHECKING:
    import optuna

    from tunelab.search.session import SessionPlan

#: Backend name -> what it does.
BACKENDS = {
    "local": "trials in this process, or in --workers processes on this machine",
    "ray": "trials as Ray tasks with per-trial resources, on a local instance or a cluster",
}


class Runner(Protocol):
    """Runs a study's trials somewhere; made by :func:`prepare`."""

    @property
    def in_processes(self) -> bool:
        """Whether the objective travels to other processes (so it must pickle)."""
        ...

    @property
    def parallel(self) -> int:
        """How many trials run at once here (known once :meth:`check_storage` ran)."""
        ...

    def check_storage(self, url: str | None) -> None:
        """Fail early when the trials' processes could not reach ``url``."""
        ...

    def run(self, study: optuna.Study, url: str | None, plan: SessionPlan) -> str:
        """Run trials until the plan's limits; returns the stop reason."""
        ...


class LocalRunner:
    """Trials in this process (``workers == 1``), in spawned processes, or none (0)."""

    def __init__(self, workers: int | None) -> None:
        self.workers = 1 if workers is None else workers

    @property
    def in_processes(self) -> bool:
        return self.workers > 1

    @property
    def parallel(self) -> int:
        return self.workers

    def check_storage(self, url: str | None) -> None:
        pass

    def run(self, study: optuna.Study, url: str | None, plan: SessionPlan) -> str:
        from tunelab.search.processes import run_workers
        from tunelab.search.session import run_session

        if self.workers == 0:
            return "no-workers"
        if self.workers > 1:
            assert url is not None
            return run_workers(url, study.study_name, plan)
        return run_session(study, plan)


def prepare(backend: str, ray: RayOptions | None, workers: int | None) -> Runner:
    """The runner for ``backend``; options are checked before any study is touched."""
    if backend not in BACKENDS:
        raise unknown_choice("backend", backend, BACKENDS)
    if backend == "local":
        if ray is not None:
            raise TunelabError(
                "Ray options (ray address, cpus/gpus per trial) apply to backend 'ray' only "
                "(got backend 'local'). Pass backend='ray' (--backend ray), or drop them."
            )
        return LocalRunner(workers)
    options = ray or RayOptions()
    options.check()
    if workers == 0:  # nothing runs here, so no cluster is needed
        return LocalRunner(0)
    return RayRunner(options, workers)
