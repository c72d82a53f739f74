"""What a sweep found: one row per value, the winner, and rows read from one curve."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tunelab.explore.parallel import Outcome
from tunelab.report.leaderboard import accuracy_fields, accuracy_text, interval_or_none
from tunelab.runs import Run
from tunelab.runs.store import WINNING_STATUSES


@dataclass
class SweepRow:
    """One value of the swept knob and how its run went."""

    value: Any
    run: str
    status: str
    final_val_accuracy: float | None = None
    best_val_accuracy: float | None = None
    best_val_loss: float | None = None
    best_epoch: int | None = None
    epochs_run: int = 0
    seconds: float | None = None
    verdict: str | None = None
    error: str | None = None
    from_curve: bool = False
    curve: list[dict[str, float]] = field(default_factory=list, repr=False)
    #: Validation images each accuracy was measured on.
    n_val: int | None = None

    @property
    def interval(self) -> tuple[float, float] | None:
        """95 % Wilson interval of ``best_val_accuracy`` over ``n_val`` images."""
        return interval_or_none(self.best_val_accuracy, self.n_val)

    def to_dict(self, curve: bool = True) -> dict[str, Any]:
        data = asdict(self)
        if not curve:
            data.pop("curve")
        data["interval_95"] = list(self.interval) if self.interval else None
        data["final_interval_95"] = accuracy_fields(self.final_val_accuracy, self.n_val)[
            "interval_95"
        ]
        return data


@dataclass
class SweepResult:
    """The rows (in value order), the winner, and where the summary and plot are."""

    sweep: str
    knob: str
    values: list[Any]
    rows: list[SweepRow]
    mode: str  # "separate" (a run per value) or "shared-curve" (one run, read per budget)
    workers: int
    hyperparameters: dict[str, Any]
    store: Path
    summary_path: Path | None = None
    plot_path: Path | None = None
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def winner(self) -> SweepRow | None:
        """Best validation accuracy, then lowest validation loss, among finished runs."""
        return pick_winner(self.rows)

    @property
    def noise_warning(self) -> str | None:
        """A one-line warning when the winner cannot be told from the runner-up."""
        return sweep_noise_warning(self.rows, self.knob)

    def to_dict(self) -> dict[str, Any]:
        winner = self.winner
        return {
            "noise_warning": self.noise_warning,
            "sweep": self.sweep,
            "knob": self.knob,
            "values": self.values,
            "mode": self.mode,
            "workers": self.workers,
            "interrupted": self.interrupted,
            "seconds": round(self.seconds, 3),
            "winner": None if winner is None else {"value": winner.value, "run": winner.run},
            "store": str(self.store),
            "plot": None if self.plot_path is None else str(self.plot_path),
            "hyperparameters": self.hyperparameters,
            "rows": [row.to_dict() for row in self.rows],
        }


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; ``.result`` holds the rows so far (saved like a full one)."""

    def __init__(self, result: SweepResult) -> None:
        super().__init__("sweep interrupted")
        self.result = result


def sweep_row(path: Path, outcome: Outcome, value: Any) -> SweepRow:
    run = Run(path)
    summary = run.summary if path.is_dir() else {}
    curve = run.epochs if path.is_dir() else []
    status = outcome.status
    if status not in ("error", "not-run") and summary.get("status"):
        status = str(summary["status"])
    diagnosis = summary.get("diagnosis")
    verdict = None
    if isinstance(diagnosis, dict):
        verdict = diagnosis.get("verdict") or diagnosis.get("label") or diagnosis.get("text")
    elif isinstance(diagnosis, str):
        verdict = diagnosis
    return SweepRow(
        value=value,
        run=outcome.name,
        status=status,
        final_val_accuracy=summary.get("final_val_accuracy"),
        best_val_accuracy=summary.get("best_val_accuracy"),
        best_val_loss=summary.get("best_val_loss"),
        best_epoch=summary.get("best_epoch"),
        epochs_run=int(summary.get("epochs_run") or len(curve)),
        seconds=summary.get("train_seconds"),
        verdict=None if verdict is None else str(verdict),
        error=outcome.error,
        curve=curve,
        n_val=summary.get("n_val") if isinstance(summary.get("n_val"), int) else None,
    )


def budget_rows(full: SweepRow, budgets: Sequence[int]) -> list[SweepRow]:
    """Rows for shorter epoch budgets read from one longer run's curve (causal schedules).

    A budget the run got through reads as completed with the curve's first epochs; a
    budget at or past where the run stopped (early stopping, divergence, Ctrl-C, an
    error) reads as the run itself, because an N-epoch run would have stopped there too.
    """
    done = full.epochs_run  # epochs fully trained by the time the run ended
    if full.status == "completed":
        done += 1
    elif full.status == "diverged" and full.curve:
        # divergence in a batch of the next epoch leaves the last recorded epoch sound
        done += int(math.isfinite(full.curve[-1].get("val_loss", math.nan)))
    rows = []
    for budget in budgets:
        if budget == full.epochs_run and full.status == "completed":
            rows.append(SweepRow(**{**asdict(full), "value": budget}))
        elif budget < done:
            rows.append(_curve_row(full, budget, full.curve[:budget]))
        else:
            rows.append(
                SweepRow(**{**asdict(full), "value": budget, "from_curve": budget != full.value})
            )
    return rows


def _curve_row(full: SweepRow, budget: int, part: list[dict[str, float]]) -> SweepRow:
    finite_rows = [h for h in part if math.isfinite(h.get("val_loss", math.nan))]
    best_loss = min(finite_rows, key=lambda h: h["val_loss"]) if finite_rows else {}
    best_acc = max(finite_rows, key=lambda h: h["val_accuracy"]) if finite_rows else {}
    seconds = sum(h.get("seconds", 0.0) for h in part)
    return SweepRow(
        value=budget,
        run=full.run,
        status="completed",
        final_val_accuracy=part[-1].get("val_accuracy") if part else None,
        best_val_accuracy=best_acc.get("val_accuracy"),
        best_val_loss=best_loss.get("val_loss"),
        best_epoch=int(best_loss["epoch"]) if best_loss else None,
        epochs_run=len(part),
        seconds=round(seconds, 3),
        from_curve=True,
        curve=part,
        n_val=full.n_val,
    )


def pick_winner(rows: Sequence[SweepRow]) -> SweepRow | None:
    """Best validation accuracy, ties broken by the lower validation loss, then order."""
    ordered = _ranked(rows)
    return ordered[0] if ordered else None


def _ranked(rows: Sequence[SweepRow]) -> list[SweepRow]:
    candidates = [
        row for row in rows if row.status in WINNING_STATUSES and row.best_val_accuracy is not None
    ]

    def key(row: SweepRow) -> tuple[float, float]:
        loss = row.best_val_loss if row.best_val_loss is not None else math.inf
        return (-float(row.best_val_accuracy or 0.0), loss)

    return sorted(candidates, key=key)


def sweep_noise_warning(rows: Sequence[SweepRow], knob: str) -> str | None:
    """Says so when the runner-up's 95 % interval overlaps the winner's; None otherwise."""
    ordered = _ranked(rows)
    if len(ordered) < 2:
        return None
    winner, second = ordered[0], ordered[1]
    mine, theirs = winner.interval, second.interval
    if mine is None or theirs is None or theirs[1] < mine[0]:
        return None
    return (
        f"the winner {knob}={winner.value} "
        f"({accuracy_text(winner.best_val_accuracy, winner.n_val)}) is within noise of "
        f"{knob}={second.value} ({accuracy_text(second.best_val_accuracy, second.n_val)}): "
        "their 95% intervals overlap, so this sweep cannot tell them apart; more "
        "validation images (or runs with other seeds) would."
    )
