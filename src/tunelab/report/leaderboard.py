"""The leaderboard, with how sure each number is.

On a small validation set the winner is partly luck: 0.92 on 50 images is 46 right, and
one image more or less moves it by 0.02. Each complete trial's validation accuracy is
shown with its 95 % Wilson score interval from the number of validation images
(user attribute ``n_val``; with ``--cv K``, every labelled image is validated once, so
``n_val`` is all of them). The interval treats the accuracy as a binomial proportion;
it ignores that the best trial is picked after the fact, so read it as a lower bound on
the noise. When the best trials' intervals overlap, :func:`noise_warning`
says so.

>>> [round(bound, 3) for bound in wilson_interval(0.9, 50)]
[0.786, 0.957]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tunelab.search.results import TrialRecord, ranked

#: z for a two-sided 95 % interval.
Z95 = 1.959963984540054


def wilson_interval(accuracy: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``accuracy`` measured on ``n`` items.

    Unlike ``p +- z * sqrt(p(1-p)/n)`` it stays inside [0, 1] and does not collapse to a
    point at 0 or 1, which matters at the accuracies a good classifier reaches.
    """
    if n < 1 or not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"need n >= 1 and 0 <= accuracy <= 1 (got n={n}, {accuracy})")
    z2 = z * z
    centre = (accuracy + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(accuracy * (1 - accuracy) / n + z2 / (4 * n * n))
    # the bounds hold the accuracy itself (rounding at 0 and 1 would leave it outside)
    return max(0.0, min(accuracy, centre - half)), min(1.0, max(accuracy, centre + half))


def interval_or_none(accuracy: Any, n: Any) -> tuple[float, float] | None:
    """:func:`wilson_interval` when ``accuracy`` and ``n`` allow one, else None."""
    if (
        isinstance(n, bool)
        or not isinstance(n, int)
        or n < 1
        or isinstance(accuracy, bool)
        or not isinstance(accuracy, (int, float))
        or not 0.0 <= accuracy <= 1.0
    ):
        return None
    return wilson_interval(float(accuracy), n)


def accuracy_text(accuracy: Any, n: Any, digits: int = 4) -> str:
    """An accuracy as every screen shows it: with its 95 % interval and image count.

    >>> accuracy_text(0.9, 50)
    '0.9000 (95% 0.786-0.957, n=50)'
    """
    if not isinstance(accuracy, (int, float)) or isinstance(accuracy, bool):
        return "-"
    bounds = interval_or_none(accuracy, n)
    if bounds is None:
        return f"{accuracy:.{digits}f}" + (f" (n={n})" if isinstance(n, int) else "")
    return f"{accuracy:.{digits}f} (95% {bounds[0]:.3f}-{bounds[1]:.3f}, n={n})"


def accuracy_fields(accuracy: Any, n: Any) -> dict[str, Any]:
    """The JSON form: ``{"interval_95": [low, high] | None, "n": n}`` for API payloads."""
    bounds = interval_or_none(accuracy, n)
    return {"interval_95": list(bounds) if bounds else None, "n": n}


@dataclass(frozen=True)
class Row:
    """One complete trial on the leaderboard; ``low``/``high`` bound its value (95 %)."""

    rank: int
    number: int
    value: float
    low: float | None
    high: float | None
    n_val: int | None
    status: str
    duration: float | None
    params: dict[str, Any] = field(default_factory=dict)
    #: The epoch the value was measured at (the kept weights'; a stopped trial's last).
    epoch: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "number": self.number,
            "value": self.value,
            "interval_95": [self.low, self.high] if self.low is not None else None,
            "n_val": self.n_val,
            "status": self.status,
            "epoch": self.epoch,
            "duration": self.duration,
            "params": dict(self.params),
        }


def leaderboard(records: Iterable[TrialRecord], direction: str = "maximize") -> list[Row]:
    """Complete trials, best first, each with its 95 % interval where it can be had."""
    rows = []
    for rank, record in enumerate(ranked(records, direction == "maximize"), start=1):
        value = float(record.value or 0.0)
        n_val = record.user_attrs.get("n_val")
        bounds = interval_or_none(value, n_val)
        low, high = bounds if bounds else (None, None)
        rows.append(
            Row(
                rank=rank,
                number=record.number,
                value=value,
                low=low,
                high=high,
                n_val=n_val if isinstance(n_val, int) else None,
                status=record.status,
                duration=record.duration,
                params=dict(record.params),
                epoch=_int_or_none(record.user_attrs.get("value_epoch")),
            )
        )
    return rows


def stopped_rows(records: Iterable[TrialRecord]) -> list[Row]:
    """Trials stopped early (pruned, or out of time), each with its last reported value;
    ranked after the complete ones (rank 0: not in the running), best value first."""
    rows = []
    for record in records:
        if record.status not in ("pruned", "budget") or not record.intermediate_values:
            continue
        epoch = max(record.intermediate_values)
        value = float(record.intermediate_values[epoch])
        n_val = record.user_attrs.get("n_val")
        bounds = interval_or_none(value, n_val)
        rows.append(
            Row(
                rank=0,
                number=record.number,
                value=value,
                low=bounds[0] if bounds else None,
                high=bounds[1] if bounds else None,
                n_val=n_val if isinstance(n_val, int) else None,
                status=record.status,
                duration=record.duration,
                params=dict(record.params),
                epoch=epoch,
            )
        )
    return sorted(rows, key=lambda row: (-row.value, row.number))


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def within_noise(rows: Sequence[Row]) -> list[Row]:
    """The top trials whose intervals overlap the best one's (the best included)."""
    if not rows or rows[0].low is None:
        return []
    best = rows[0]
    close = [best]
    for row in rows[1:]:
        if row.high is None or row.high < (best.low or 0.0):
            break
        close.append(row)
    return close


def noise_warning(rows: Sequence[Row], cross_validated: bool = False) -> str | None:
    """A one-line warning when the best trials cannot be told apart; None when they can."""
    close = within_noise(rows)
    if len(close) < 2:
        return None
    best = rows[0]
    advice = (
        "more labelled images (or more folds) would separate them"
        if cross_validated
        else "consider --cv 5"
    )
    return (
        f"the top {len(close)} are within noise: their 95% intervals overlap the best's "
        f"({best.low:.3f} to {best.high:.3f} from {best.n_val} validation images); {advice}."
    )
