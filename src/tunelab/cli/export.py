"""`tunelab export RUN --format onnx|torchscript [--out PATH]`."""

from __future__ import annotations

from pathlib import Path

import typer

from tunelab.cli.console import RUNS_DIR, console, print_json


def export_command(
    run: str = typer.Argument(..., help="Run name, 'latest', or a run folder."),
    export_format: str = typer.Option(
        ..., "--format", "-f", help="onnx or torchscript.", show_default=False
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Output file (default: model.onnx or model.pt in the run "
        "folder). The metadata is also written beside it as <file>.json.",
        show_default=False,
    ),
    runs_dir: Path | None = RUNS_DIR,
    as_json: bool = typer.Option(False, "--json", help="Print the metadata as JSON."),
) -> None:
    """Export a trained model (images in, class probabilities out) with its metadata."""
    from tunelab.evaluation import export_model, resolve_run
    from tunelab.runs.store import check_output_file

    if out is not None:
        suffix = ".pt" if export_format.lower() == "torchscript" else ".onnx"
        check_output_file(out, "--out", f"model{suffix}")
        check_output_file(out.with_name(out.name + ".json"), "--out", f"model{suffix}")
    found = resolve_run(run, runs_dir)
    path = export_model(found, export_format, out)
    sidecar = path.with_name(path.name + ".json")
    if as_json:
        import json

        print_json({"path": str(path), "metadata": json.loads(sidecar.read_text())})
        return
    console.print(
        f"exported {found.name} as {export_format.lower()} to {path} (metadata: {sidecar})"
    )
    console.print(
        f"use it with: tunelab predict {path} IMAGES   (input float32 NCHW in [0, 1]; "
        "output class probabilities)"
    )
