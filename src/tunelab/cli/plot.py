"""`tunelab plot RUN [RUN ...] [--out FILE]`: learning curves, one run or several overlaid."""

from __future__ import annotations

from pathlib import Path

import typer

from tunelab.cli.console import RUNS_DIR, console


def plot_command(
    runs: list[str] = typer.Argument(
        ...,
        help="One run (its curves) or several (overlaid, labelled by the knobs that "
        "differ). Names, 'latest', or run folders.",
        show_default=False,
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="PNG to write (default: curves.png in the run folder for one "
        "run, curves-compare.png here for several).",
        show_default=False,
    ),
    runs_dir: Path | None = RUNS_DIR,
) -> None:
    """Draw learning curves (loss and accuracy per epoch, training vs validation)."""
    from tunelab.evaluation.load import resolve_run
    from tunelab.report.curves import plot_run, plot_runs

    found = [resolve_run(name, runs_dir) for name in runs]
    if len(found) == 1:
        path = plot_run(found[0], out)
    else:
        path = plot_runs(found, out or Path("curves-compare.png"))
    console.print(f"curves written to {path}")
