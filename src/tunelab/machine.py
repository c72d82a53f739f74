"""What this machine offers a run: the CPU cores this process may use; who else runs."""

from __future__ import annotations

import os


def cores() -> int:
    """CPU cores this process may use (its affinity mask on Linux)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (this one included)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's: it exists
    except (OverflowError, ValueError):
        return False
    return True
