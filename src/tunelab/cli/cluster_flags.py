"""Flags for tuning beyond one process: the backend, the Ray cluster, the artifacts folder.

Declared once here and added to a command's signature by :func:`with_cluster_flags`
(like the knob flags), so ``tunelab tune --help`` lists them in their own panel.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

PANEL = "Distributed"


def cluster_parameters() -> list[inspect.Parameter]:
    def option(name: str, annotation: Any, default: Any, flag: str, text: str) -> Any:
        return inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(default, flag, help=text, rich_help_panel=PANEL),
            annotation=annotation,
        )

    return [
        option(
            "backend",
            str,
            "local",
            "--backend",
            "Where trials run: local (this machine's processes) or ray (Ray tasks).",
        ),
        option(
            "ray_address",
            str | None,
            None,
            "--ray-address",
            "With --backend ray: auto (the cluster `ray start` made here) or HOST:PORT. "
            "Default: start a local Ray instance for this run.",
        ),
        option(
            "cpus_per_trial",
            float,
            1.0,
            "--cpus-per-trial",
            "With --backend ray: CPUs each trial holds (and its torch threads).",
        ),
        option(
            "gpus_per_trial",
            float,
            0.0,
            "--gpus-per-trial",
            "With --backend ray: GPUs each trial holds; 0.5 runs two trials per GPU.",
        ),
        option(
            "artifacts",
            Path | None,
            None,
            "--artifacts",
            "Folder for every trial's run (curves, weights): a shared path when workers on "
            "several machines join. Default: the run store.",
        ),
    ]


@dataclass(frozen=True)
class ClusterFlags:
    backend: str = "local"
    ray_address: str | None = None
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    artifacts: Path | None = None

    def tune_options(self) -> dict[str, Any]:
        """Keyword arguments for :func:`tunelab.trials.images.tune_images`."""
        from tunelab.errors import TunelabError
        from tunelab.search.ray_backend import RayOptions

        ray_given = (
            self.ray_address is not None or self.cpus_per_trial != 1.0 or self.gpus_per_trial
        )
        if self.backend != "ray" and ray_given:
            raise TunelabError(
                f"--ray-address, --cpus-per-trial and --gpus-per-trial apply to --backend ray "
                f"(got --backend {self.backend}). Add --backend ray, or drop them."
            )
        ray = None
        if self.backend == "ray":
            ray = RayOptions(self.ray_address, self.cpus_per_trial, self.gpus_per_trial)
        return {"backend": self.backend, "ray": ray, "artifacts": self.artifacts}


def with_cluster_flags(func: Callable[..., Any]) -> Callable[..., Any]:
    """Give ``func`` (which takes ``**kwargs``) the distributed flags; read them back with
    :func:`pop_cluster_flags`."""
    signature = inspect.signature(func)
    params = list(signature.parameters.values())
    rest = [p for p in params if p.kind == inspect.Parameter.VAR_KEYWORD]
    fixed = [p for p in params if p.kind != inspect.Parameter.VAR_KEYWORD]
    params = fixed + cluster_parameters() + rest
    func.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    func.__annotations__ = {p.name: p.annotation for p in params}
    return func


def pop_cluster_flags(values: dict[str, Any]) -> ClusterFlags:
    """Take the distributed flags out of a command's ``**kwargs``."""
    names = [p.name for p in cluster_parameters()]
    return ClusterFlags(**{name: values.pop(name) for name in names if name in values})
