"""`tunelab import-piximi PROJECT OUT`: a Piximi project file -> a data set folder."""

from __future__ import annotations

from pathlib import Path

import typer

from tunelab.cli.console import console, print_json


def import_piximi_command(
    project: Path = typer.Argument(
        ...,
        help="The .zip Piximi saves with 'Save project', or an older project's .json.",
        show_default=False,
    ),
    out: Path = typer.Argument(
        ..., help="New folder to write the data set into.", show_default=False
    ),
    as_json: bool = typer.Option(False, "--json", help="Print what was imported as JSON."),
) -> None:
    """Turn a Piximi project into a folder tunelab trains on: labelled/<class>/,
    unlabelled/ and a manifest.csv with Piximi's Training/Validation/Inference partition."""
    from dataclasses import asdict

    from tunelab.data.piximi import import_piximi

    imported = import_piximi(project, out)
    if as_json:
        print_json(asdict(imported))
        return
    for line in imported.lines():
        console.print(line, markup=False, soft_wrap=True)
