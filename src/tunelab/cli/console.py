"""Shared CLI pieces: one console, one-line errors, JSON output, the --runs-dir option."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

#: ``--runs-dir``, the same in every command that reads or writes runs.
RUNS_DIR = typer.Option(
    None,
    "--runs-dir",
    envvar="TUNELAB_RUNS",
    help="Run store folder (default: ./tunelab-runs).",
    show_default=False,
)


def print_json(data: Any) -> None:
    from tunelab.runs.store import finite

    sys.stdout.write(json.dumps(finite(data), indent=2, default=str) + "\n")


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)
