"""One line per finished trial, printed as the study goes (``tunelab tune``, ``tune_images``).

::

    trial 3 complete: 0.9213 (95% 0.895-0.941, n=450) after 10 epochs | best 0.9213
    (trial 3) | 4 of 20 trials, 7m12s of the budget left

(one line; wrapped here).

The line is built from the study alone (the trial's user attributes and the limits the
engine recorded), so it is the same in worker processes, which run the callbacks there.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from tunelab.report.leaderboard import accuracy_text
from tunelab.search.reporter import INITIAL_POINT
from tunelab.search.results import TrialRecord


class TrialLines:
    """An Optuna callback ``(study, trial)`` that prints :func:`trial_line` (picklable)."""

    def __init__(self, stream: str = "stderr") -> None:
        self.stream = stream

    def __call__(self, study: Any, trial: Any) -> None:
        line = trial_line(study, TrialRecord.from_frozen(trial))
        out = sys.stdout if self.stream == "stdout" else sys.stderr
        print(line, file=out, flush=True)


def trial_line(study: Any, record: TrialRecord, now: float | None = None) -> str:
    """Number, status, value (with its interval), epochs, best so far, what is left."""
    from tunelab.search.storage import STUDY_ATTR
    from tunelab.search.tickets import count

    epochs = len(record.intermediate_values)
    n_val = record.user_attrs.get("n_val")
    if record.status == "complete" and record.value is not None:
        value = accuracy_text(record.value, n_val)
    elif record.intermediate_values:
        last = record.intermediate_values[max(record.intermediate_values)]
        value = f"{last:.4f} at its last epoch"
    else:
        value = "no value"
    if record.error and record.status in ("error", "diverged"):
        value += f" ({record.error[:120]})"
    # a setting tried first (the warm-start portfolio, or initial points given), not sampled
    where = " (warm start)" if record.user_attrs.get(INITIAL_POINT) else ""
    parts = [f"trial {record.number}{where} {record.status}: {value} after {epochs} epochs"]
    try:
        best = study.best_trial
        parts.append(f"best {best.value:.4f} (trial {best.number})")
    except ValueError:  # no complete trial yet
        parts.append("no complete trial yet")
    recorded = study.user_attrs.get(STUDY_ATTR, {})
    left: list[str] = []
    n_trials = recorded.get("n_trials") if isinstance(recorded, dict) else None
    if isinstance(n_trials, int):
        done = count(study.get_trials(deepcopy=False)).counted
        left.append(f"{done} of {n_trials} trials")
    deadline = recorded.get("deadline") if isinstance(recorded, dict) else None
    if isinstance(deadline, (int, float)):
        remaining = max(0.0, deadline - (time.time() if now is None else now))
        left.append(f"{_duration(remaining)} of the budget left")
    if left:
        parts.append(", ".join(left))
    return " | ".join(parts)


def warm_start_line(count: int, shipped: bool = True, more: bool = True) -> str:
    """Says which first trials are set, not sampled (marked "(warm start)" in their lines);
    ``more``: trials follow them."""
    where = (
        "settings from tunelab's portfolio (chosen offline on four data sets; "
        "--no-portfolio skips them)"
        if shipped
        else "the settings given"
    )
    trials = "trial tries" if count == 1 else f"{count} trials try"
    then = ", then the strategy samples" if more else ""
    return f"warm start: the first {trials} {where}{then}"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
