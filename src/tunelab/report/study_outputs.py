"""What a finished (or stopped) study leaves behind, besides its runs.

:func:`study_outputs` reads a study from its storage and writes, next to it in
``<store>/studies/``:

- ``<study>-importances.json``: the knobs' importances (or the note saying why not);
- ``<study>-plots/*.png``: optimisation history, parallel coordinates, every trial's
  learning curve and the importances;
- ``<study>-report.html``: all of it in one self-contained page.

It works from the study alone (its trials' values, per-epoch values and user
attributes), so ``tunelab tune-report STUDY`` re-makes the report any time, even for a
study that other machines filled.

>>> outputs = study_outputs(load_stored_study("mine"))  # doctest: +SKIP
>>> outputs.report  # doctest: +SKIP
PosixPath('tunelab-runs/studies/mine-report.html')
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunelab.errors import TunelabError, did_you_mean
from tunelab.report.importance import Importances, param_importances
from tunelab.report.leaderboard import Row, leaderboard, noise_warning, stopped_rows
from tunelab.search.results import TrialRecord

if TYPE_CHECKING:
    import optuna


@dataclass
class StudyOutputs:
    """The leaderboard, the noise warning, the importances and the files written."""

    study_name: str
    rows: list[Row]
    noise_warning: str | None
    importances: Importances
    importances_path: Path
    plots: dict[str, Path] = field(default_factory=dict)
    report: Path | None = None
    #: Trials stopped early (pruned or out of time), after the complete ones.
    stopped: list[Row] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "leaderboard": [row.to_dict() for row in self.rows],
            "stopped_early": [row.to_dict() for row in self.stopped],
            "noise_warning": self.noise_warning,
            **self.importances.to_dict(),
            "importances_file": str(self.importances_path),
            "plots": {key: str(path) for key, path in self.plots.items()},
            "report": str(self.report) if self.report is not None else None,
        }


def studies_folder(store: str | Path | None = None) -> Path:
    """``<store>/studies``: where study databases, best configs and reports live."""
    from tunelab.runs import RunStore

    return RunStore(store).root / "studies"


def load_stored_study(
    name: str, *, store: str | Path | None = None, storage: str | None = None
) -> optuna.Study:
    """The study ``name`` from ``storage`` (default: ``<store>/studies/<name>.db``)."""
    import optuna

    from tunelab.runs import check_name
    from tunelab.search import storage as stores

    check_name(name, "study name")
    folder = studies_folder(store)
    if storage is None:
        path = folder / f"{name}.db"
        if not path.is_file():
            found = sorted(p.stem for p in folder.glob("*.db")) if folder.is_dir() else []
            listed = ", ".join(found) if found else "none"
            raise TunelabError(
                f"no study named {name!r} in {str(folder)!r}.{did_you_mean(name, found)} "
                f"Studies there: {listed}. Give --storage URL for a study kept elsewhere."
            )
        storage = f"sqlite:///{path.resolve()}"
    url = stores.storage_url(storage)
    handle = stores.open_storage(url)
    assert handle is not None  # a URL, never in memory
    names = stores.study_names(handle)
    if name not in names:
        raise TunelabError(
            f"no study named {name!r} in storage {url!r}.{did_you_mean(name, names)} "
            f"Studies there: {', '.join(names) or 'none'}."
        )
    return optuna.load_study(study_name=name, storage=handle)


def trial_records(study: optuna.Study) -> tuple[list[TrialRecord], dict[int, float]]:
    """The trials as plain records, and when each finished (seconds after the first began)."""
    frozen = study.get_trials(deepcopy=False)
    records = [TrialRecord.from_frozen(t) for t in frozen]
    starts = [t.datetime_start for t in frozen if t.datetime_start is not None]
    finished: dict[int, float] = {}
    if starts:
        origin = min(starts)
        for trial in frozen:
            if trial.datetime_complete is not None:
                finished[trial.number] = (trial.datetime_complete - origin).total_seconds()
    return records, finished


def summary_line(study_name: str, records: list[TrialRecord], rows: list[Row]) -> str:
    counts = Counter(r.status for r in records)
    parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    text = f"study {study_name}: {len(records)} trials ({parts})."
    if not rows:
        return text + " No trial completed."
    best = rows[0]
    knobs = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.params.items()
    )
    return text + f" Best {best.value:.4f} (trial {best.number}): {knobs}."


def study_outputs(
    study: optuna.Study,
    *,
    store: str | Path | None = None,
    report: bool = True,
    evaluator: str = "fanova",
) -> StudyOutputs:
    """Rank the trials, judge the noise, rank the knobs; with ``report``, draw and write it.

    A plot that fails is left out with a warning: the study is worth more than a picture.
    """
    records, finished_at = trial_records(study)
    direction = "maximize" if study.direction.name == "MAXIMIZE" else "minimize"
    rows = leaderboard(records, direction)
    cross_validated = any(r.user_attrs.get("cv_folds") for r in records)
    warning = noise_warning(rows, cross_validated) if direction == "maximize" else None
    importances = param_importances(study, evaluator=evaluator)
    folder = studies_folder(store)
    folder.mkdir(parents=True, exist_ok=True)
    name = study.study_name
    importances_path = folder / f"{name}-importances.json"
    from tunelab.runs.store import atomic_write, finite

    atomic_write(importances_path, json.dumps(finite(importances.to_dict()), indent=2) + "\n")
    outputs = StudyOutputs(name, rows, warning, importances, importances_path)
    outputs.stopped = stopped_rows(records)
    if not report:
        return outputs
    outputs.plots = _plots(
        records, finished_at, rows, importances, folder / f"{name}-plots", direction, name
    )
    from tunelab.report.study_html import write_study_html

    outputs.report = write_study_html(
        folder / f"{name}-report.html",
        title=f"tunelab study {name}",
        summary=summary_line(name, records, rows),
        rows=rows,
        importances=importances,
        warning=warning,
        pngs=outputs.plots,
        study=study,
    )
    return outputs


def _plots(
    records: list[TrialRecord],
    finished_at: dict[int, float],
    rows: list[Row],
    importances: Importances,
    folder: Path,
    direction: str,
    name: str,
) -> dict[str, Path]:
    from tunelab.report import study as plots

    jobs: dict[str, Any] = {
        "history": lambda out: plots.plot_history(
            records, out, finished_at=finished_at, direction=direction, title=name
        ),
        "parallel": lambda out: plots.plot_parallel(records, out, direction=direction, title=name),
        "curves": lambda out: plots.plot_trial_curves(
            records, out, best_number=rows[0].number if rows else None, title=name
        ),
    }
    if importances.values:
        jobs["importances"] = lambda out: plots.plot_importances(
            importances.values, out, title=name
        )
    written: dict[str, Path] = {}
    for key, draw in jobs.items():
        try:
            written[key] = draw(folder / f"{key}.png")
        except Exception as err:  # noqa: BLE001 - the study is saved; the picture is a bonus
            warnings.warn(f"could not draw the {key} plot: {err}", stacklevel=2)
    return written
