"""PNG plots of a tuning study: how the search went, which knobs mattered, every curve.

Each function takes the study's trials as :class:`~tunelab.search.results.TrialRecord`
(plain values, read from any storage) and writes one PNG with matplotlib's Agg canvas:

- :func:`plot_history`: each trial's value and the best so far, against the trial
  number and against the time since the study began;
- :func:`plot_parallel`: one line per trial across the searched knobs, coloured by
  value (stopped trials faded), so the good region of the space shows;
- :func:`plot_trial_curves`: validation accuracy per epoch of every trial (the values it
  reported; the mean over folds with ``--cv``), pruned trials faded, the best in bold;
- :func:`plot_importances`: each knob's share of the explained variance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from tunelab.search.results import TrialRecord

_BEST = "#d62728"
_DONE = "#1f77b4"
_FADED = "0.65"
_STOPPED = "0.45"


def _save(fig: Figure, out: str | Path) -> Path:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def _complete(trials: Sequence[TrialRecord]) -> list[TrialRecord]:
    return [t for t in trials if t.state == "complete" and t.value is not None]


def _best_so_far(values: Sequence[float], maximize: bool) -> list[float]:
    best: list[float] = []
    for value in values:
        best.append(value if not best else (max if maximize else min)(best[-1], value))
    return best


def plot_history(
    trials: Sequence[TrialRecord],
    out: str | Path,
    *,
    finished_at: Mapping[int, float] | None = None,
    direction: str = "maximize",
    title: str = "",
) -> Path:
    """Value per trial (stopped trials: their last reported value, faded) and best so far,
    against the trial number and, when ``finished_at`` (seconds since the study began,
    by trial number) is given, against time."""
    from matplotlib.figure import Figure

    maximize = direction == "maximize"
    done = sorted(_complete(trials), key=lambda t: t.number)
    stopped = [t for t in trials if t.state == "pruned" and t.intermediate_values]
    times = finished_at or {}
    axes_x: list[tuple[str, Any]] = [("trial", lambda t: t.number)]
    if times:
        axes_x.append(("seconds since the study began", lambda t: times.get(t.number)))
    fig = Figure(figsize=(5.5 * len(axes_x), 4.2), dpi=100)
    axes = fig.subplots(1, len(axes_x), squeeze=False)[0]
    for ax, (label, where) in zip(axes, axes_x, strict=True):
        shown = [t for t in done if where(t) is not None]
        if label != "trial":
            shown.sort(key=where)
        late = [t for t in stopped if where(t) is not None]
        if late:
            ax.scatter(
                [where(t) for t in late],
                [t.intermediate_values[max(t.intermediate_values)] for t in late],
                marker="x",
                color=_STOPPED,
                label="stopped early (last value)",
            )
        if shown:
            xs = [where(t) for t in shown]
            ys = [float(t.value or 0.0) for t in shown]
            ax.scatter(xs, ys, color=_DONE, zorder=3, label="complete trial")
            ax.step(xs, _best_so_far(ys, maximize), where="post", color=_BEST, label="best so far")
        ax.set_xlabel(label)
        ax.set_ylabel("value (validation accuracy)" if maximize else "value")
        ax.grid(alpha=0.3)
        if shown or late:
            ax.legend(fontsize=8, loc="best")
        else:
            ax.text(0.5, 0.5, "no trial finished yet", ha="center", transform=ax.transAxes)
    fig.suptitle(f"optimisation history{': ' + title if title else ''}", fontsize=10)
    return _save(fig, out)


def _axis_values(trials: Sequence[TrialRecord], name: str) -> tuple[list[float | None], Any]:
    """Positions in [0, 1] for one knob's values, and how to label that axis."""
    values = [t.params.get(name) for t in trials]
    present = [v for v in values if v is not None]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present)
    if numeric and len({float(v) for v in present}) > 1:
        floats = [float(v) for v in present]
        log = min(floats) > 0 and max(floats) / min(floats) >= 100
        scale = (lambda v: math.log10(v)) if log else (lambda v: v)
        low, high = scale(min(floats)), scale(max(floats))
        positions = [None if v is None else (scale(float(v)) - low) / (high - low) for v in values]
        ticks = [(0.0, f"{min(floats):.3g}"), (1.0, f"{max(floats):.3g}")]
        return positions, ticks
    labels = sorted({str(v) for v in present})
    span = max(len(labels) - 1, 1)
    index = {label: i / span for i, label in enumerate(labels)}
    positions = [None if v is None else index[str(v)] for v in values]
    return positions, [(index[label], label) for label in labels]


def _last_value(trial: TrialRecord) -> float | None:
    if trial.state == "complete" and trial.value is not None:
        return float(trial.value)
    if trial.intermediate_values:
        return float(trial.intermediate_values[max(trial.intermediate_values)])
    return None


def plot_parallel(
    trials: Sequence[TrialRecord],
    out: str | Path,
    *,
    direction: str = "maximize",
    title: str = "",
) -> Path:
    """One line per finished trial through every searched knob and the value."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    finished = [t for t in trials if t.state in ("complete", "pruned") and t.params]
    names = sorted({name for t in finished for name in t.params})
    varied = [n for n in names if len({repr(t.params.get(n)) for t in finished}) > 1] or names
    fig = Figure(figsize=(max(6.0, 1.6 * (len(varied) + 1)), 4.6), dpi=100)
    ax = fig.subplots()
    done = _complete(finished)
    if not varied or not done:
        ax.text(
            0.5,
            0.5,
            "no complete trial with searched knobs yet",
            ha="center",
            transform=ax.transAxes,
        )
        ax.set_axis_off()
        return _save(fig, out)
    columns = [_axis_values(finished, name) for name in varied]
    # A stopped trial sits on the value axis at its last reported value, in grey.
    scores = [_last_value(t) for t in finished]
    known = [v for v in scores if v is not None]
    low, high = min(known), max(known)
    spread = high - low if high > low else 1.0
    done_values = [float(t.value) for t in done if t.value is not None]
    norm = Normalize(min(done_values), max(done_values))
    cmap = colormaps["viridis" if direction == "maximize" else "viridis_r"]
    xs = list(range(len(varied) + 1))
    # Stopped trials first and faded, so the complete ones are drawn on top.
    order = sorted(range(len(finished)), key=lambda i: finished[i].state == "complete")
    for i in order:
        trial, score = finished[i], scores[i]
        ys = [column[0][i] for column in columns]
        ys.append(None if score is None else (score - low) / spread)
        points = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
        is_done = trial.state == "complete"
        single = len(set(done_values)) == 1
        colour = _STOPPED if not is_done else (_DONE if single else cmap(norm(score or 0.0)))
        ax.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            "-" if is_done else "--",
            color=colour,
            alpha=0.9 if is_done else 0.5,
            linewidth=1.6 if is_done else 0.8,
        )
    columns.append(
        ([], [(0.0, f"{low:.3g}"), (1.0, f"{high:.3g}")] if high > low else [(0.0, f"{low:.3g}")])
    )
    for x, (_, ticks) in enumerate(columns):
        ax.axvline(x, color="0.3", linewidth=0.8)
        for y, label in ticks:
            ax.annotate(label, (x, y), xytext=(3, 0), textcoords="offset points", fontsize=7)
    ax.set_xticks(xs, [*varied, "value"], rotation=20, fontsize=8)
    ax.set_yticks([])
    ax.set_ylim(-0.05, 1.05)
    if len(set(done_values)) > 1:
        fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="value")
    fig.suptitle(
        f"parallel coordinates{': ' + title if title else ''} (stopped trials in grey)",
        fontsize=10,
    )
    return _save(fig, out)


def plot_trial_curves(
    trials: Sequence[TrialRecord],
    out: str | Path,
    *,
    best_number: int | None = None,
    title: str = "",
) -> Path:
    """Validation accuracy per epoch of every trial; pruned faded, the best in bold."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.6), dpi=100)
    ax = fig.subplots()
    drawn = {"complete": False, "stopped": False}
    for trial in sorted(trials, key=lambda t: t.state == "complete"):
        curve = sorted(trial.intermediate_values.items())
        if not curve or trial.number == best_number:
            continue
        done = trial.state == "complete"
        key = "complete" if done else "stopped"
        ax.plot(
            [e for e, _ in curve],
            [v for _, v in curve],
            "-" if done else "--",
            marker="." if len(curve) == 1 else None,  # a trial stopped after one epoch
            color=_DONE if done else _STOPPED,
            alpha=0.7 if done else 0.5,
            linewidth=1.2 if done else 0.8,
            label=None if drawn[key] else ("complete" if done else "stopped early / failed"),
        )
        drawn[key] = True
    best = next((t for t in trials if t.number == best_number), None)
    if best is not None and best.intermediate_values:
        curve = sorted(best.intermediate_values.items())
        ax.plot(
            [e for e, _ in curve],
            [v for _, v in curve],
            "o-",
            color=_BEST,
            linewidth=2.2,
            markersize=4,
            label=f"best (trial {best.number})",
            zorder=5,
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.grid(alpha=0.3)
    if any(drawn.values()) or best is not None:
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"learning curves of all trials{': ' + title if title else ''}", fontsize=10)
    return _save(fig, out)


def plot_importances(importances: Mapping[str, float], out: str | Path, *, title: str = "") -> Path:
    """A horizontal bar per knob, most important on top."""
    from matplotlib.figure import Figure

    items = sorted(importances.items(), key=lambda kv: kv[1])
    fig = Figure(figsize=(7, 0.5 * len(items) + 1.6), dpi=100)
    ax = fig.subplots()
    ax.barh([k for k, _ in items], [v for _, v in items], color=_DONE)
    for y, (_, value) in enumerate(items):
        ax.annotate(
            f"{value:.2f}",
            (value, y),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_xlim(0, max([v for _, v in items], default=1.0) * 1.15 or 1.0)
    ax.set_xlabel("share of the value's variance explained")
    ax.grid(alpha=0.3, axis="x")
    fig.suptitle(f"knob importances{': ' + title if title else ''}", fontsize=10)
    return _save(fig, out)
