"""The learning-rate range test's picture: loss against learning rate, suggestions marked."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from tunelab.training.lr_find import RECOMMENDED, LRFinderResult

#: What each suggestion is, in words (on the plot and in ``tunelab lr-find``'s output).
MEANINGS = {
    "valley": "the middle of the longest stretch where the loss falls",
    "steep": "where the smoothed loss falls fastest",
    "minimum": "a tenth of the learning rate at the lowest loss (at the lowest point itself "
    "the loss is about to blow up)",
}


def meaning(name: str) -> str:
    """The suggestion ``name`` in words ("" for one tunelab does not know)."""
    return MEANINGS.get(name, "")


def plot_lr_find(result: LRFinderResult, path: str | Path) -> Path:
    """Write the loss against the learning rate (log axis), suggestions marked, as PNG."""
    from matplotlib.figure import Figure

    path = Path(path)
    figure = Figure(figsize=(7, 4.5), layout="constrained")
    axes = figure.add_subplot()
    axes.plot(result.lrs, result.losses, color="0.75", linewidth=0.8, label="loss (per batch)")
    axes.plot(result.lrs, result.smoothed, color="C0", linewidth=1.8, label="smoothed loss")
    markers = {"valley": ("C3", "o"), "steep": ("C2", "s"), "minimum": ("C1", "^")}
    for name, lr in result.suggestions.items():
        colour, marker = markers.get(name, ("C4", "D"))
        loss = float(np.interp(math.log(lr), np.log(result.lrs), result.smoothed))
        tag = " (recommended)" if name == RECOMMENDED else ""
        axes.axvline(lr, color=colour, linewidth=0.8, linestyle=":")
        axes.plot([lr], [loss], marker=marker, color=colour, markersize=8, linestyle="none")
        axes.plot([], [], marker=marker, color=colour, linestyle="none",
                  label=f"{name} {lr:.2g}{tag}: {_short(meaning(name))}")  # fmt: skip
    axes.set_xscale("log")
    axes.set_xlabel("learning rate")
    axes.set_ylabel("training loss")
    low = min(result.smoothed)
    top = max(result.smoothed[0], low) if result.smoothed else 1.0
    axes.set_ylim(low - 0.1 * (top - low + 1e-12), top + 0.6 * (top - low + 1e-12))
    axes.set_title("learning-rate range test")
    axes.grid(True, which="both", alpha=0.25)
    axes.legend(loc="upper left", fontsize="x-small")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path


def _short(text: str) -> str:
    """The words before any parenthesis: a legend line stays one line."""
    return text.split(" (")[0]
