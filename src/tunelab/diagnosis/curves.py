"""Reading a run's curves once: the series every check reads, and what they add up to.

The starting loss is the first batch's loss, or the median of the first few batches when
that is lower, so that a loss that blew up within the first batches does not pass for
the starting level (it did: Adam at 0.1 "fell" from 20 to 2.3 and was told to train
longer, sitting at chance all along).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Calibrated thresholds (fractions of the starting loss unless said otherwise).
CRAWL_DROP = 0.10  # the loss fell less than this share of its start: "stuck"
SPIKE_OF_START = 1.25  # a batch this many times the start, in a stuck run, means it blew up
AT_CHANCE = 0.05  # validation accuracy within this of chance ...
AT_CHANCE_TRAIN = 0.10  # ... and training accuracy within this: the run learned nothing


def series(rows: Sequence[Mapping[str, Any]], key: str) -> list[float]:
    values = []
    for row in rows:
        value = row.get(key)
        values.append(float(value) if isinstance(value, int | float) else math.nan)
    return values


def rising_steps(values: Sequence[float], rel: float, abs_: float) -> list[int]:
    """Indices i where values[i] rose above values[i-1] by more than rel and abs_."""
    return [
        i
        for i in range(1, len(values))
        if values[i] - values[i - 1] > max(rel * values[i - 1], abs_)
    ]


@dataclass
class Curves:
    """The numbers every check reads, computed once."""

    start: float  # the loss at the start (see the module docstring)
    end: float  # the training loss now: last epoch's mean or the last batches
    batches: list[float]
    train: list[float]
    val: list[float]
    train_acc: list[float]
    val_acc: list[float]
    epochs: list[int]
    classes: int | None  # the number of classes, when known

    @property
    def n(self) -> int:
        return len(self.train)

    @property
    def drop(self) -> float:
        return (self.start - self.end) / self.start if self.start > 0 else 0.0

    @property
    def best(self) -> int:
        """Index of the epoch with the lowest validation loss."""
        return min(range(self.n), key=lambda i: self.val[i])

    @property
    def third(self) -> int:
        """Index of the epoch where the last third of training begins."""
        return max(0, self.n - 1 - max(1, math.ceil(self.n / 3)))

    @property
    def chance(self) -> float | None:
        return 1.0 / self.classes if self.classes else None

    @property
    def at_chance(self) -> bool:
        """Both accuracies still at the level of guessing at the end."""
        chance = self.chance
        return (
            chance is not None
            and self.n > 0
            and self.val_acc[-1] <= chance + AT_CHANCE
            and self.train_acc[-1] <= chance + AT_CHANCE_TRAIN
        )

    @property
    def above_chance(self) -> bool:
        """Validation accuracy clearly above guessing (true when the classes are unknown)."""
        chance = self.chance
        return chance is None or (self.n > 0 and self.val_acc[-1] > chance + 0.1)

    @property
    def stuck(self) -> bool:
        """The run learned nothing: the loss is near its start, or it is still guessing."""
        return self.n > 0 and (self.drop < CRAWL_DROP or self.at_chance)

    @property
    def steady(self) -> bool:
        """The loss fell steadily: no jump above the start, no epoch that rose."""
        jumped = any(x > SPIKE_OF_START * self.start for x in self.batches[5:])
        rose = any(self.train[i] > self.train[i - 1] for i in range(1, self.n))
        return not jumped and not rose and not (self.n >= 2 and self.val[-1] > self.val[0])

    @property
    def train_fall(self) -> float:
        """How much the training loss fell over the last third of the epochs (a fraction)."""
        t = self.third
        return (self.train[t] - self.train[-1]) / self.train[t] if self.train[t] > 0 else 0.0

    @property
    def batch_noise(self) -> float:
        """Standard deviation / mean of the second half's batch losses (0 when too few)."""
        half = self.batches[len(self.batches) // 2 :]
        if len(half) < 4 or statistics.fmean(half) <= 0:
            return 0.0
        return statistics.pstdev(half) / statistics.fmean(half)


def read_curves(
    epochs: Sequence[Mapping[str, Any]],
    batches: Sequence[Mapping[str, Any]],
    summary: Mapping[str, Any],
    hp: Mapping[str, Any],
) -> Curves:
    losses = series(batches, "loss")
    train = series(epochs, "train_loss")
    k = max(1, min(5, len(losses) // 10))
    if losses:
        start = min(losses[0], statistics.median(losses[:k]))
        if not math.isfinite(start):
            start = statistics.median(losses[:k])
    else:
        start = train[0] if train else math.nan
    recent = list(losses[-k:]) if losses else []
    end = train[-1] if train else (sum(recent) / len(recent) if recent else start)
    if train and recent and len(epochs) == 1:
        # After one epoch the epoch mean still holds the first batches; use the latest.
        end = min(end, sum(recent) / len(recent))
    return Curves(
        start=start,
        end=end,
        batches=losses,
        train=train,
        val=series(epochs, "val_loss"),
        train_acc=series(epochs, "train_accuracy"),
        val_acc=series(epochs, "val_accuracy"),
        epochs=[int(e.get("epoch", i + 1)) for i, e in enumerate(epochs)],
        classes=_classes(summary, losses, str(hp.get("loss") or "cross-entropy")),
    )


def _classes(summary: Mapping[str, Any], losses: Sequence[float], loss: str) -> int | None:
    """From the summary; else from a fresh model's loss (cross-entropy of guessing, ln K)."""
    named = summary.get("classes")
    if isinstance(named, list | tuple) and len(named) >= 2:
        return len(named)
    count = summary.get("num_classes")
    if isinstance(count, int) and count >= 2:
        return count
    if loss == "cross-entropy" and losses and math.isfinite(losses[0]) and 0.6 < losses[0] < 7:
        return max(2, round(math.exp(losses[0])))
    return None
