"""`tunelab evaluate RUN [DATA]`: accuracy, loss, confusion matrix, per-class scores."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from tunelab.cli.console import RUNS_DIR, console, err_console, fmt, print_json

if TYPE_CHECKING:
    from tunelab.runs import Run


def evaluate_command(
    run: str = typer.Argument(..., help="Run name, 'latest', or a run folder."),
    data: str | None = typer.Argument(
        None,
        help="Labelled folder or CSV manifest to evaluate on, with the run's class names "
        "(default: the run's own validation split).",
        show_default=False,
    ),
    runs_dir: Path | None = RUNS_DIR,
    plot: Path | None = typer.Option(
        None,
        "--plot",
        help="Where to write the confusion-matrix PNG (default: confusion.png in the run folder).",
        show_default=False,
    ),
    no_plot: bool = typer.Option(False, "--no-plot", help="Do not write the PNG."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Score a trained run on labelled images: accuracy, loss, confusion, per-class F1.

    Without DATA it scores the run's validation split. With DATA, images the run trained
    on are found by content and counted; the rest are scored apart (the held-out part).
    """
    from tunelab.evaluation import evaluate_run, resolve_run
    from tunelab.runs.store import check_output_file

    if plot is not None and not no_plot:
        check_output_file(plot, "--plot", "confusion.png")
    found = resolve_run(run, runs_dir)
    target = (
        None
        if no_plot
        else plot
        or found.path / ("confusion.png" if data is None else f"confusion-{_slug(data)}.png")
    )
    result = evaluate_run(found, data, plot=target)
    if as_json:
        print_json(result.to_dict())
        return
    from rich.table import Table

    from tunelab.report.leaderboard import accuracy_text

    loss = "-" if result.loss is None else f"{result.loss:.4f}"
    scored = "scored: " + (
        _validation_words(found)
        if result.scored == "validation split"
        else f"{result.data}"
        + (
            f" ({result.overlap_train} of {result.n_images} images were in the run's training set)"
            if result.overlap_train is not None
            else ""
        )
    )
    console.print(scored)
    console.print(
        f"[bold]{result.run}[/] on {result.data}: accuracy "
        f"[bold]{accuracy_text(result.accuracy, result.n_images)}[/], loss {loss}"
    )
    if result.held_out is not None:
        held = result.held_out
        console.print(
            f"[yellow]held out:[/] on the {held['n_images']} images the run did not train on, "
            f"accuracy [bold]{accuracy_text(held['accuracy'], held['n_images'])}[/]"
        )
    _matrix(
        "confusion matrix: counts (rows: true class, columns: predicted)",
        result.class_names,
        [[float(v) for v in row] for row in result.confusion],
        "{:.0f}",
    )
    _matrix(
        "confusion matrix: % of each true class",
        result.class_names,
        result.row_percentages,
        "{:.0f}",
    )
    scores = Table(title="per class")
    for column in ("class", "precision", "recall", "f1", "support"):
        scores.add_column(column, justify="left" if column == "class" else "right")
    for row in result.per_class:
        scores.add_row(
            row["class"],
            fmt(row["precision"], 3),
            fmt(row["recall"], 3),
            fmt(row["f1"], 3),
            str(row["support"]),
        )
    for label, averages in (("macro avg", result.macro), ("weighted avg", result.weighted)):
        scores.add_row(
            f"[bold]{label}",
            fmt(averages["precision"], 3),
            fmt(averages["recall"], 3),
            fmt(averages["f1"], 3),
            str(result.n_images),
        )
    console.print(scores)
    for note in result.notes:
        err_console.print(f"[yellow]note:[/] {note}")
    if result.plot:
        console.print(f"confusion matrix written to {result.plot}")


def _matrix(title: str, names: list[str], rows: list[list[float]], pattern: str) -> None:
    from rich import box
    from rich.table import Table

    console.print(f"[bold]{title}[/]")
    table = Table(box=box.SIMPLE, pad_edge=False)
    table.add_column("true")
    for name in names:
        table.add_column(name, justify="right")
    for name, row in zip(names, rows, strict=True):
        table.add_row(name, *(pattern.format(v) if v else "." for v in row))
    console.print(table)


def _slug(data: str) -> str:
    import re

    name = Path(data).name or "data"
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:40] or "data"


def _validation_words(run: Run) -> str:
    if run.is_ensemble:
        return (
            "the validation split the ensemble's members were chosen on (optimistic: give "
            "images no trial saw, `tunelab evaluate RUN TEST_DATA`, for an honest figure)"
        )
    return "the run's validation split (images held out from training)"
