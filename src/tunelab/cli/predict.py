"""`tunelab predict RUN|MODEL.onnx IMAGES [--out predictions.csv] [--top-k K]`."""

from __future__ import annotations

from pathlib import Path

import typer

from tunelab.cli.console import RUNS_DIR, console, err_console, print_json


def predict_command(
    model: str = typer.Argument(
        ...,
        help="Run name, 'latest', a run folder, or a model file from `tunelab export` "
        "(.onnx or .pt).",
        show_default=False,
    ),
    images: Path = typer.Argument(
        ...,
        help="An image, a folder of images (unlabelled is fine), or a CSV manifest (its "
        "unlabelled rows; all rows when every row has a label).",
        show_default=False,
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write the predictions to this CSV file.", show_default=False
    ),
    top_k: int = typer.Option(1, "--top-k", "-k", help="Also list the K most likely classes."),
    runs_dir: Path | None = RUNS_DIR,
    skip_bad: bool = typer.Option(
        False, "--skip-bad", help="Skip unreadable images (and list them) instead of stopping."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the predictions as JSON."),
) -> None:
    """Classify images with a trained run or an exported model: one row per image."""
    from tunelab.errors import TunelabError
    from tunelab.evaluation.predict import predict, resolve_predictor, write_predictions
    from tunelab.runs.store import check_output_file

    if top_k < 1:
        raise TunelabError(f"--top-k must be at least 1 (got {top_k}). Try --top-k 3.")
    if out is not None:
        check_output_file(out, "--out", "predictions.csv")
    predictor = resolve_predictor(model, runs_dir)
    rows, skipped = predict(predictor, images, top_k=top_k, skip_bad=skip_bad)
    if out is not None:
        write_predictions(rows, out, top_k)
    if skipped:
        _show_skipped(skipped, out)
    if as_json:
        print_json([row.to_dict() for row in rows])
        return
    if out is not None:
        console.print(f"{len(rows)} predictions by {predictor.name} written to {out}")
        return
    from rich.table import Table

    table = Table(title=f"predictions by {predictor.name}")
    table.add_column("image")
    table.add_column("predicted")
    table.add_column("probability", justify="right")
    if top_k > 1:
        table.add_column(f"top {min(top_k, len(predictor.class_names))}")
    base = Path(images)
    for row in rows:
        shown = _relative(Path(row.path), base)
        cells = [shown, row.predicted, f"{row.probability:.3f}"]
        if top_k > 1:
            cells.append(", ".join(f"{c} {p:.3f}" for c, p in row.top))
        table.add_row(*cells)
    console.print(table)


def _show_skipped(skipped: list[tuple[str, str]], out: Path | None) -> None:
    """One line for the skipped images; the full list beside ``--out`` when there is one."""
    from tunelab.data.problems import skipped_summary

    where = None
    if out is not None:
        from tunelab.evaluation.predict import write_skipped

        where = str(write_skipped(skipped, out))
    elif len(skipped) > 3:
        where = "give --out FILE.csv to keep it (written to FILE.skipped.csv)"
    err_console.print(skipped_summary(skipped, where), markup=False, soft_wrap=True)


def _relative(path: Path, base: Path) -> str:
    if base.is_file() and base.suffix.lower() == ".csv":
        base = base.parent  # a manifest's rows, shown as the manifest names them
    try:
        return str(path.relative_to(base)) if base.is_dir() else str(path)
    except ValueError:
        return str(path)
