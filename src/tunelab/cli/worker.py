"""`tunelab worker DATA --study NAME --storage URL`: run trials of a study from any machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from tunelab.cli.console import RUNS_DIR, console, fmt, print_json


def worker_command(
    data: str = typer.Argument(
        ..., help="This machine's path to the study's data (the same images): folder, CSV."
    ),
    study: str = typer.Option(
        ..., "--study", help="The study to join, made by `tunelab tune --study NAME`."
    ),
    storage: str | None = typer.Option(
        None,
        "--storage",
        help="Where the study lives, e.g. postgresql://user@host:5432/db. Default: the "
        "SQLite file `tunelab tune` keeps in the run store (same machine only).",
    ),
    artifacts: Path | None = typer.Option(
        None,
        "--artifacts",
        help="Folder for this worker's trial runs. Default: the folder the study recorded.",
    ),
    runs_dir: Path | None = RUNS_DIR,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Join a study and run its trials until its trial count or budget is used up."""
    import optuna

    from tunelab.runs import check_name
    from tunelab.search.storage import display_url, storage_url
    from tunelab.trials.join import join_images

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    check_name(study, "study name")
    url = storage_url(storage) if storage is not None else _local_study(study, runs_dir)
    assert url is not None
    if not as_json:
        console.print(f"joining study {study} in {display_url(url)}...")
    ran: list[int] = []
    result = join_images(
        data,
        storage=url,
        study_name=study,
        artifacts=artifacts,
        callbacks=[lambda _, trial: ran.append(trial.number)],
    )
    mine = [t for t in result.trials if t.number in ran]
    counted = sum(t.counted for t in result.trials)
    if as_json:
        print_json(
            {
                "study": result.study_name,
                "storage": display_url(url),
                "stopped": result.stopped_reason,
                "ran_here": [_row(t) for t in mine],
                "counted": counted,
                "best_value": result.best_value,
                "best_params": result.best_params,
            }
        )
        return
    statuses = ", ".join(f"{t.number}: {t.status} {fmt(t.value)}" for t in mine) or "none"
    console.print(f"this worker ran {len(mine)} trial(s) ({statuses}).")
    console.print(result.summary())


def _local_study(study: str, runs_dir: Path | None) -> str:
    from tunelab.errors import TunelabError
    from tunelab.runs import RunStore

    path = RunStore(runs_dir).study_db_path(study).resolve()
    if not path.is_file():
        raise TunelabError(
            f"no study {study!r} in the run store ({path} does not exist). Pass --storage with "
            f"the URL `tunelab tune --study {study}` used, e.g. postgresql://user@host/db."
        )
    return f"sqlite:///{path}"


def _row(trial: Any) -> dict[str, Any]:
    return {
        "number": trial.number,
        "status": trial.status,
        "value": trial.value,
        "params": trial.params,
        "run": trial.user_attrs.get("run"),
    }
