"""A confusion-matrix PNG: counts with row percentages, rows are the true classes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def plot_confusion(
    confusion: Sequence[Sequence[int]],
    class_names: Sequence[str],
    out: str | Path,
    *,
    title: str = "",
) -> Path:
    """Write the matrix to ``out`` as a PNG: each cell shows its count and the share of
    its row (true class); colour is the row percentage. Returns the path written."""
    from matplotlib.figure import Figure

    matrix = np.asarray(confusion, dtype=np.int64)
    totals = matrix.sum(axis=1, keepdims=True)
    percent = np.divide(
        100.0 * matrix, totals, out=np.zeros(matrix.shape, dtype=np.float64), where=totals > 0
    )
    n = len(class_names)
    side = min(2.5 + 0.6 * n, 20.0)
    fig = Figure(figsize=(side + 1.2, side), dpi=100)
    ax = fig.add_subplot()
    image = ax.imshow(percent, cmap="Blues", vmin=0, vmax=100)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="% of the true class")
    ticks = list(range(n))
    ax.set_xticks(
        ticks,
        [str(c) for c in class_names],
        rotation=45 if n > 6 else 0,
        ha="right" if n > 6 else "center",
    )
    ax.set_yticks(ticks, [str(c) for c in class_names])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title, fontsize=10)
    if n <= 30:
        size = 9 if n <= 10 else 6
        for i in range(n):
            for j in range(n):
                if matrix[i, j] == 0:
                    ax.text(j, i, "0", ha="center", va="center", fontsize=size, color="0.7")
                    continue
                colour = "white" if percent[i, j] > 60 else "black"
                ax.text(
                    j,
                    i,
                    f"{matrix[i, j]}\n{percent[i, j]:.0f}%",
                    ha="center",
                    va="center",
                    fontsize=size,
                    color=colour,
                )
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    return out
