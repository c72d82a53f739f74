"""One self-contained HTML report of a tuning study (``<study>-report.html``).

With plotly installed, the figures are Optuna's interactive ones
(``optuna.visualization``) and plotly.js is embedded once in the file; without it, the
PNGs are embedded as base64 images. Either way the file opens offline, on its own, and
also holds the leaderboard (with 95 % intervals), the noise warning and the importances.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

    from tunelab.report.importance import Importances
    from tunelab.report.leaderboard import Row

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { border-bottom: 1px solid #ddd; padding: 0.3em 0.7em; text-align: left; }
.warn { background: #fff3cd; border-left: 4px solid #e0a800; padding: 0.6em 1em; }
.note { color: #555; font-style: italic; }
img { max-width: 100%; }
"""

#: Figure id -> heading, in the order the report shows them.
FIGURES = {
    "history": "Optimisation history",
    "parallel": "Parallel coordinates",
    "curves": "Learning curves of all trials",
    "importances": "Knob importances",
}


def plotly_available() -> bool:
    try:
        import plotly  # noqa: F401
    except ImportError:
        return False
    return True


def _plotly_figures(study: optuna.Study, importances: Mapping[str, float]) -> dict[str, Any]:
    """Optuna's interactive figures; a figure Optuna cannot draw is left out (PNG instead)."""
    import optuna.visualization as vis
    import plotly.graph_objects as go

    makers: dict[str, Callable[[], Any]] = {
        "history": lambda: vis.plot_optimization_history(study),
        "parallel": lambda: vis.plot_parallel_coordinate(study),
        "curves": lambda: vis.plot_intermediate_values(study),
    }
    if importances:
        items = sorted(importances.items(), key=lambda kv: kv[1])
        makers["importances"] = lambda: go.Figure(
            go.Bar(x=[v for _, v in items], y=[k for k, _ in items], orientation="h"),
            layout={"xaxis_title": "share of the value's variance explained"},
        )
    value = "validation accuracy" if study.direction.name == "MAXIMIZE" else "value"
    # our words on every figure, not Optuna's stock titles ("Objective Value", "Trial")
    labels: dict[str, dict[str, str]] = {
        "history": {"title": f"{value} of each trial, and the best so far",
                    "xaxis_title": "trial number", "yaxis_title": value},
        "parallel": {"title": f"knob values of each trial, coloured by {value}"},
        "curves": {"title": f"{value} per epoch of every trial (stopped trials end early)",
                   "xaxis_title": "epoch", "yaxis_title": value},
        "importances": {"title": "which knobs mattered (fANOVA importances)",
                        "yaxis_title": "knob"},
    }  # fmt: skip
    figures = {}
    for key, make in makers.items():
        try:
            figure = make()
        except Exception:  # noqa: BLE001 - the PNG of the same plot stands in
            continue
        figure.update_layout(**labels.get(key, {}))
        figures[key] = _our_names(figure, value)
    return figures


_STOCK_NAMES = {"Objective Value": None, "Best Value": "best so far", "Infeasible Trial": "failed"}


def _our_names(figure: Any, value: str) -> Any:
    """The figure with Optuna's stock names ("Objective Value", in legends, axes and hover
    texts alike) replaced by ours."""
    import json

    import plotly.io as pio

    text = figure.to_json()
    for stock, ours in _STOCK_NAMES.items():
        text = text.replace(json.dumps(stock), json.dumps(ours or value))
    return pio.from_json(text)


def _png(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def _table(rows: Sequence[Row], top: int) -> str:
    knobs = sorted({k for row in rows[:top] for k in row.params})
    head = "".join(
        f"<th>{html.escape(h)}</th>"
        for h in ["rank", "trial", "value", "95% interval", "n val", "seconds", *knobs]
    )
    lines = []
    for row in rows[:top]:
        interval = "-" if row.low is None else f"{row.low:.3f} to {row.high:.3f}"
        cells = [
            str(row.rank),
            str(row.number),
            f"{row.value:.4f}",
            interval,
            "-" if row.n_val is None else str(row.n_val),
            "-" if row.duration is None else f"{row.duration:.1f}",
            *(_cell(row.params.get(k)) for k in knobs),
        ]
        lines.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(lines)}</table>"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def write_study_html(
    path: str | Path,
    *,
    title: str,
    summary: str,
    rows: Sequence[Row],
    importances: Importances,
    warning: str | None,
    pngs: Mapping[str, Path],
    study: optuna.Study | None = None,
    top: int = 20,
) -> Path:
    """Write the report to ``path``; plotly figures when plotly imports, else the PNGs."""
    interactive: dict[str, Any] = {}
    if study is not None and plotly_available():
        interactive = _plotly_figures(study, importances.values)
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p>{html.escape(summary)}</p>",
    ]
    if warning:
        parts.append(f"<p class='warn'>{html.escape(warning)}</p>")
    parts.append("<h2>Leaderboard</h2>")
    parts.append(_table(rows, top) if rows else "<p class='note'>No trial completed.</p>")
    parts.append("<h2>Knob importances</h2>")
    if importances.values:
        parts.append(
            "<table><tr><th>knob</th><th>importance</th></tr>"
            + "".join(
                f"<tr><td>{html.escape(k)}</td><td>{v:.3f}</td></tr>"
                for k, v in importances.values.items()
            )
            + f"</table><p class='note'>{html.escape(importances.evaluator)}, from "
            f"{importances.n_trials} complete trials.</p>"
        )
    if importances.note:
        parts.append(f"<p class='note'>{html.escape(importances.note)}</p>")
    plotly_js_included = False
    for key, heading in FIGURES.items():
        figure = interactive.get(key)
        if figure is not None:
            parts.append(f"<h2>{html.escape(heading)}</h2>")
            parts.append(
                figure.to_html(
                    full_html=False,
                    include_plotlyjs=not plotly_js_included,  # embedded once: works offline
                    div_id=f"figure-{key}",
                )
            )
            plotly_js_included = True
        elif key in pngs and Path(pngs[key]).is_file():
            parts.append(f"<h2>{html.escape(heading)}</h2>{_png(Path(pngs[key]))}")
    parts.append("</body></html>")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    from tunelab.runs.store import atomic_write

    atomic_write(out, "\n".join(parts) + "\n")
    return out
