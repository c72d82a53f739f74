"""What this machine offers a run: the CPU cores this process may use."""

from __future__ import annotations

import os


def cores() -> int:
    """CPU cores this process may use (its affinity mask on Linux)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1
