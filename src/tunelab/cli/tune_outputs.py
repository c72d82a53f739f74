"""What `tunelab tune` and `tunelab tune-report` print after the trials: the leaderboard
with 95 % intervals, the noise warning, the knob importances and where the report is."""

from __future__ import annotations

from typing import Any

from tunelab.cli.console import console, fmt, fmt_knob


def show_outputs(outputs: Any, top: int = 10) -> None:
    """Print a :class:`tunelab.report.study_outputs.StudyOutputs` for a terminal."""
    show_leaderboard(outputs.study_name, outputs.rows, top, outputs.stopped)
    if outputs.noise_warning:
        console.print(f"[yellow]warning:[/yellow] {outputs.noise_warning}")
    show_importances(outputs.importances)
    if outputs.report is not None:
        console.print(f"report written to {outputs.report}")


def show_leaderboard(
    study_name: str, rows: list[Any], top: int = 10, stopped: list[Any] | None = None
) -> None:
    """Complete trials best first, then (marked) those stopped early, with their epoch."""
    from rich.table import Table

    table = Table(title=f"leaderboard: {study_name}")
    columns = ("trial", "val accuracy", "95% interval", "epoch", "status", "seconds", "knobs")
    for column in columns:
        table.add_column(column)
    shown = [*rows[:top], *(stopped or [])[:top]]
    for row in shown:
        interval = "-" if row.low is None else f"{row.low:.3f} to {row.high:.3f} (n={row.n_val})"
        knobs = ", ".join(f"{k}={fmt_knob(v)}" for k, v in row.params.items())
        status = row.status if row.rank else f"{row.status} (stopped early, last epoch shown)"
        table.add_row(
            str(row.number),
            fmt(row.value),
            interval,
            fmt(row.epoch),
            status,
            fmt(row.duration, 1),
            knobs,
        )
    console.print(table)


def show_importances(importances: Any) -> None:
    if importances.values:
        parts = ", ".join(f"{k} {v:.2f}" for k, v in importances.values.items())
        console.print(
            f"knob importances ({importances.evaluator}, {importances.n_trials} complete "
            f"trials): {parts}"
        )
    if importances.note:
        console.print(f"knob importances: {importances.note}")


def retrain(
    result: Any, data: str, hp: Any, runs_dir: Any, quiet: bool, skip_bad: bool = False
) -> str | None:
    """`--retrain-best`: the best knobs trained on all labelled images; the run's name."""
    from tunelab.trials.retrain import best_epoch, retrain_best

    best = next((t for t in result.trials if t.number == result.best_trial_number), None)
    if best is None:
        if not quiet:
            console.print("no trial completed, so --retrain-best has nothing to retrain.")
        return None
    if not quiet:
        epochs = best_epoch(best) or hp.epochs
        console.print(
            f"retraining trial {best.number}'s knobs on all labelled images "
            f"for {epochs} epochs (its best epoch)..."
        )
    run = retrain_best(result, data, hp, store=runs_dir, skip_bad=skip_bad)
    if not quiet:
        console.print(f"retrained model stored as run {run.name}")
    return str(run.name)
