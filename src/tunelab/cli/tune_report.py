"""`tunelab tune-report STUDY`: re-make a study's leaderboard, importances, plots and HTML."""

from __future__ import annotations

from pathlib import Path

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
    outputs = study_outputs(loaded, store=runs_dir, evaluator=evaluator)
    if as_json:
        print_json({"study": study, **outputs.to_dict()})
        return
    show_outputs(outputs)
