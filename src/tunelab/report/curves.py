"""Learning curves: one run's loss and accuracy, or several runs overlaid.

:func:`plot_run` draws training and validation loss and accuracy per epoch, with every
batch's loss drawn faintly behind, the best epoch marked and the diagnosis in the title;
it writes ``curves.png`` into the run folder. :func:`plot_runs` overlays runs and labels
each by the knobs that differ between them, so the effect of one changed knob shows at a
glance.
"""

from __future__ import annotations

import math
import textwrap
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tunelab.runs.store import Run, from_csv
from tunelab.training.callbacks import Callback

_COLOURS = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def _batch_x(batches: list[dict[str, float]]) -> list[float]:
    """Batch positions in fractional epochs: batch b of n in epoch e sits at e - 1 + b / n."""
    per_epoch: dict[int, int] = {}
    for row in batches:
        epoch = int(row["epoch"])
        per_epoch[epoch] = max(per_epoch.get(epoch, 0), int(row["batch"]))
    return [
        row["epoch"] - 1 + row["batch"] / max(per_epoch[int(row["epoch"])], 1) for row in batches
    ]


def _loss_top(epochs: list[dict[str, float]], batches: list[dict[str, float]]) -> float | None:
    """A y-limit that keeps the curves readable when a few batches spike."""
    values = _finite([r[k] for r in epochs for k in ("train_loss", "val_loss")])
    spread = sorted(_finite([r["loss"] for r in batches]))
    if spread:
        values.append(spread[int(0.98 * (len(spread) - 1))])
    return max(values) * 1.1 if values else None


def plot_run(run_path: str | Path | Run, out: str | Path | None = None) -> Path:
    """Write the run's learning curves to ``out`` (default: ``curves.png`` in the run folder)."""
    from matplotlib.figure import Figure

    run = run_path if isinstance(run_path, Run) else Run(Path(run_path))
    epochs = from_csv(run.path / "metrics_epoch.csv")
    batches = from_csv(run.path / "metrics_batch.csv")
    summary = run.summary

    fig = Figure(figsize=(10, 4.2), dpi=100)
    loss_ax, acc_ax = fig.subplots(1, 2)
    if batches:
        loss_ax.plot(
            _batch_x(batches),
            [r["loss"] for r in batches],
            color="0.6",
            alpha=0.35,
            linewidth=0.6,
            label="training loss per batch",
            zorder=1,
        )
    x = [r["epoch"] for r in epochs]
    for ax, key, what in ((loss_ax, "loss", "loss"), (acc_ax, "accuracy", "accuracy")):
        ax.plot(
            x,
            [r[f"train_{key}"] for r in epochs],
            "o-",
            color=_COLOURS[0],
            markersize=3,
            label=f"training {what}",
            zorder=3,
        )
        ax.plot(
            x,
            [r[f"val_{key}"] for r in epochs],
            "s-",
            color=_COLOURS[1],
            markersize=3,
            label=f"validation {what}",
            zorder=3,
        )
        ax.set_xlabel("epoch")
        ax.set_ylabel(what)
        ax.grid(alpha=0.3)
    best = summary.get("best_epoch")
    if isinstance(best, int | float):
        for ax in (loss_ax, acc_ax):
            ax.axvline(best, color="0.3", linestyle=":", linewidth=1, label=f"best epoch {best:g}")
    finite = _finite([r["loss"] for r in batches] + [r["train_loss"] for r in epochs])
    positive = [v for v in finite if v > 0]
    top = _loss_top(epochs, batches)
    if positive and max(positive) > 100 * positive[0]:
        loss_ax.set_yscale("log")  # it blew up: only a log scale shows both ends
    elif top is not None and top > 0:
        loss_ax.set_ylim(0, top)
    acc_ax.set_ylim(0, 1.02)
    last = max([r["epoch"] for r in epochs + batches], default=1.0)
    for ax in (loss_ax, acc_ax):
        ax.set_xlim(0, max(last, 1.0) + 0.2)
    loss_ax.legend(fontsize=8)
    acc_ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(_title(run, epochs, batches, summary), fontsize=9)
    fig.tight_layout()
    path = Path(out) if out is not None else run.path / "curves.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def _title(
    run: Run,
    epochs: list[dict[str, float]],
    batches: list[dict[str, float]],
    summary: dict[str, Any],
) -> str:
    diagnosis = summary.get("diagnosis")
    if not isinstance(diagnosis, dict):
        from tunelab.diagnosis import diagnose

        diagnosis = diagnose(epochs, batches, summary, run.config).to_dict()
    text = str(diagnosis.get("text", ""))
    return run.name + "\n" + "\n".join(textwrap.wrap(text, 150)[:3])


def differing_knobs(configs: Sequence[dict[str, Any]]) -> list[str]:
    """The knob names whose values are not the same in every config."""
    keys: list[str] = []
    for config in configs:
        keys.extend(k for k in config if k not in keys)
    return [k for k in keys if len({repr(c.get(k)) for c in configs}) > 1]


def run_labels(runs: Sequence[Run]) -> list[str]:
    """A label per run naming the knobs that differ (``learning_rate=0.01``), else its name."""
    configs = [run.config for run in runs]
    knobs = differing_knobs(configs)
    if not knobs:
        return [run.name for run in runs]
    labels = []
    for config in configs:
        parts = [f"{k}={_value(config.get(k))}" for k in knobs[:3]]
        if len(knobs) > 3:
            parts.append(f"+{len(knobs) - 3} more")
        labels.append(", ".join(parts))
    if len(set(labels)) < len(labels):  # differences beyond the first three knobs
        labels = [f"{label} ({run.name})" for label, run in zip(labels, runs, strict=True)]
    return labels


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value)) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def plot_runs(
    runs: Sequence[str | Path | Run], out: str | Path, labels: Sequence[str] | None = None
) -> Path:
    """Overlay several runs' curves in one PNG at ``out``: validation solid, training dashed,
    one colour per run, labelled by the knobs that differ between the runs."""
    from matplotlib.figure import Figure

    resolved = [r if isinstance(r, Run) else Run(Path(r)) for r in runs]
    names = list(labels) if labels is not None else run_labels(resolved)
    fig = Figure(figsize=(11, 4.5), dpi=100)
    loss_ax, acc_ax = fig.subplots(1, 2)
    tops = []
    for i, (run, label) in enumerate(zip(resolved, names, strict=True)):
        epochs = from_csv(run.path / "metrics_epoch.csv")
        colour = _COLOURS[i % len(_COLOURS)]
        x = [r["epoch"] for r in epochs]
        for ax, key in ((loss_ax, "loss"), (acc_ax, "accuracy")):
            ax.plot(
                x, [r[f"val_{key}"] for r in epochs], "-", color=colour, linewidth=1.6, label=label
            )
            ax.plot(
                x, [r[f"train_{key}"] for r in epochs], "--", color=colour, linewidth=1, alpha=0.8
            )
        top = _loss_top(epochs, [])
        if top is not None:
            tops.append(top)
    for ax, what in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(what)
        ax.grid(alpha=0.3)
    if tops:
        loss_ax.set_ylim(0, max(tops))
    acc_ax.set_ylim(0, 1.02)
    loss_ax.legend(fontsize=8, title="validation solid, training dashed", title_fontsize=8)
    knobs = differing_knobs([run.config for run in resolved])
    title = "runs compared" + (f" by {', '.join(knobs[:5])}" if knobs else "")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


class PlotCurves(Callback):
    """Draws ``curves.png`` once the run is stored; a plotting problem never costs the run."""

    def on_run_saved(self, run: Any) -> None:
        try:
            plot_run(run)
        except Exception as err:  # noqa: BLE001 - the run is saved; the picture is a bonus
            warnings.warn(f"could not draw the learning curves: {err}", stacklevel=2)
