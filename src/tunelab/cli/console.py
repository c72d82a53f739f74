"""Shared CLI pieces: one console, one-line errors, JSON output, the --runs-dir option."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console

#: Width of output that goes to a file or a pipe: wide enough that no table cell or line
#: is cut or wrapped (a terminal keeps its own width).
PIPE_WIDTH = 1000


def make_console(stderr: bool = False) -> Console:
    """A Rich console; when its stream is not a terminal, lines are never cut at 80
    columns: each ``print`` stays one line and tables take their natural width."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr, highlight=False)
    return Console(stderr=stderr, highlight=False, width=PIPE_WIDTH, soft_wrap=True)


console = make_console()
err_console = make_console(stderr=True)

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
    """A number for a table: ``digits`` decimals, but a small one keeps its figures
    (``1e-05``, not ``0.0000``)."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != 0 and abs(value) < 0.5 * 10**-digits:  # would print as 0.0000
            return f"{value:.3g}"
        return f"{value:.{digits}f}"
    return str(value)


def fmt_knob(value: Any) -> str:
    """A knob value as a user would type it: ``0.003``, ``1e-05``, ``0``, ``adam``."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "none"
    return "-" if value is None else str(value)
