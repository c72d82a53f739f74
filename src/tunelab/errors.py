"""Errors caused by what the user gave us.

A :class:`TunelabError` carries one line that says what was wrong, the value given,
what is allowed and how to fix it. The CLI and the web app print that line and exit
non-zero; they never show a traceback for it.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterable, Iterator


class TunelabError(ValueError):
    """A problem with the user's input, explained in one line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


def did_you_mean(given: str, choices: Iterable[str]) -> str:
    """Return ' Did you mean "x"?' for the closest choice, or '' when none is close."""
    match = closest(given, choices)
    return f' Did you mean "{match}"?' if match else ""


def closest(given: str, choices: Iterable[str]) -> str | None:
    """The choice a typo most likely meant: fewest edits (a swap counts as one), else difflib."""
    options = list(choices)
    key = given.lower().replace("_", "-")
    scored = sorted((_edits(key, option.lower().replace("_", "-")), option) for option in options)
    if scored and scored[0][0] <= max(1, len(given) // 3):
        return scored[0][1]
    matches = difflib.get_close_matches(given, options, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _edits(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions, swaps."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def unknown_choice(what: str, given: str, choices: Iterable[str]) -> TunelabError:
    """The error for a name that is not one of ``choices``, listing the valid ones."""
    options = sorted(choices)
    return TunelabError(
        f"unknown {what} {given!r}.{did_you_mean(given, options)} Allowed: {', '.join(options)}."
    )


#: Seconds between an interrupt lost in a callback and its raising again in the main thread.
INTERRUPT_DELAY = 0.05


def keep_interrupts() -> None:
    """A Ctrl-C that lands in a weakref or ``__del__`` callback is "ignored" by Python, which
    prints a traceback and loses the interrupt; raise it again in the main thread instead."""
    import _thread
    import sys
    import time

    default = sys.unraisablehook

    def interrupt_soon() -> None:
        time.sleep(INTERRUPT_DELAY)
        _thread.interrupt_main()

    def hook(unraisable: sys.UnraisableHookArgs) -> None:
        if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
            # Raised while the hook runs, it would be ignored again; so a thread raises it
            # in the main thread a moment after the hook returned. The hook must not wait
            # (threading.Thread.start does): a Ctrl-C landing there escapes as a traceback.
            _thread.start_new_thread(interrupt_soon, ())
            return
        default(unraisable)

    sys.unraisablehook = hook


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Let the bookkeeping after a Ctrl-C run to its end: a further SIGINT meanwhile is
    dropped (the run is stopping already): a quick second Ctrl-C, or a Ctrl-C on top of the
    parent's death in a worker. Only the main thread can hold them; elsewhere this does
    nothing."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
