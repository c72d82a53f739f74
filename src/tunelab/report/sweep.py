"""A sweep's picture: validation loss and accuracy per epoch, a line per value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tunelab.runs.store import WINNING_STATUSES, value_slug


def plot_sweep(result: Any, path: Path) -> Path | None:
    """Validation loss and accuracy per epoch, one line per value; None if nothing ran.

    ``result`` is a :class:`tunelab.explore.sweep_rows.SweepResult`.
    """
    rows = [row for row in result.rows if row.curve]
    if not rows:
        return None
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.2), layout="constrained")
    loss_axes, acc_axes = figure.subplots(1, 2)
    winner = result.winner
    if result.mode == "shared-curve":
        longest = max(rows, key=lambda row: len(row.curve))
        rows = [longest]
    for index, row in enumerate(rows):
        epochs = [h["epoch"] for h in row.curve]
        best = winner is not None and row.run == winner.run and result.mode == "separate"
        label = f"{result.knob}={value_slug(row.value)}" + (" (best)" if best else "")
        if row.status not in WINNING_STATUSES:
            label += f" [{row.status}]"
        style = {"linewidth": 2.6 if best else 1.4, "color": f"C{index % 10}", "label": label}
        loss_axes.plot(epochs, [h["val_loss"] for h in row.curve], marker=".", **style)
        acc_axes.plot(epochs, [h["val_accuracy"] for h in row.curve], marker=".", **style)
    if result.mode == "shared-curve":
        for budget in result.values:
            is_best = winner is not None and winner.value == budget
            for axes in (loss_axes, acc_axes):
                axes.axvline(budget, color="C3" if is_best else "0.6", linestyle=":")
    loss_axes.set_title("validation loss")
    acc_axes.set_title("validation accuracy")
    for axes in (loss_axes, acc_axes):
        axes.set_xlabel("epoch")
        axes.grid(True, alpha=0.3)
    acc_axes.legend(fontsize="small", loc="lower right")
    figure.suptitle(f"{result.sweep}: {result.knob}")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path
