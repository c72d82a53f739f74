"""`tunelab tune-report STUDY`: re-make a study's leaderboard, importances, plots and HTML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from tunelab.cli.console import RUNS_DIR


def tune_report_command(
    study: str = typer.Argument(..., help="The study's name (as given to --study)."),
    storage: str | None = typer.Option(
        None, "--storage", help="Optuna storage URL (default: SQLite in the run store)."
    ),
    evaluator: str = typer.Option(
        "fanova", "--importance", help="Importance evaluator: fanova, mdi or ped-anova."
    ),
    runs_dir: Path | None = RUNS_DIR,
    as_json: bool = typer.Option(False, "--json", help="Print the outputs as JSON."),
) -> None:
    """Write a stored study's report (<study>-report.html, PNGs, importances) again."""
    import optuna

    from tunelab.cli.console import print_json
    from tunelab.cli.tune_outputs import show_outputs
    from tunelab.report.study_outputs import load_stored_study, study_outputs

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    loaded = load_stored_study(study, store=runs_dir, storage=storage)
    try:
        outputs = study_outputs(loaded, store=runs_dir, evaluator=evaluator)
    except OSError as err:  # a read-only store, a full disk
        raise _cannot_write(study, storage, runs_dir, err) from None
    if as_json:
        print_json({"study": study, **outputs.to_dict()})
        return
    show_outputs(outputs)


def _cannot_write(study: str, storage: str | None, runs_dir: Path | None, err: OSError) -> Any:
    from tunelab.errors import TunelabError
    from tunelab.report.study_outputs import studies_folder

    folder = studies_folder(runs_dir)
    url = storage or f"sqlite:///{(folder / f'{study}.db').resolve()}"
    return TunelabError(
        f"cannot write the report of study {study!r} in {folder}: "
        f"{err.strerror or err} ({err.filename or folder}). tune-report writes "
        f"<study>-report.html, its plots and importances there: make that folder writable, "
        f"or read the study from where it is and write elsewhere: "
        f"--storage {url} --runs-dir ANOTHER_FOLDER."
    )
