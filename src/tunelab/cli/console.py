"""Shared output helpers: one console, one-line errors, JSON output."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def print_json(data: Any) -> None:
    from tunelab.runs.store import finite

    sys.stdout.write(json.dumps(finite(data), indent=2, default=str) + "\n")


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)
