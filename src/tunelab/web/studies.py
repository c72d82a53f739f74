"""Studies and sweeps as the Sweep and tune page shows them, read from the run store.

A study is read from its SQLite file with Optuna's own API (the way optuna-dashboard
reads it), so a tune running in this server, in ``tunelab tune`` or on another machine
sharing the file all look the same.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from tunelab.errors import did_you_mean
from tunelab.knobs import Hyperparameters
from tunelab.report.leaderboard import accuracy_fields
from tunelab.runs.store import Run, RunStore, check_name, finite
from tunelab.web.security import WebError
from tunelab.web.settings import WebSettings


def _store(settings: WebSettings) -> RunStore:
    return RunStore(settings.runs_dir)


def storage_url(settings: WebSettings, study: str) -> str:
    return f"sqlite:///{_store(settings).study_db_path(study)}"


def best_config_path(settings: WebSettings, study: str) -> Path:
    return _store(settings).best_config_path(study)


def study_names(settings: WebSettings) -> list[str]:
    return _store(settings).study_names()


def study_url(settings: WebSettings, study: str) -> str:
    """The storage of an existing study, or a 404 naming the ones there are."""
    check_name(study, "study name")
    names = study_names(settings)
    if study not in names:
        raise WebError(
            404,
            f"no study {study!r} in {str(_store(settings).studies_dir)!r}."
            f"{did_you_mean(study, names)} "
            "List them with GET /api/studies.",
        )
    url = storage_url(settings, study)
    if not study_exists(url, study):
        raise WebError(
            409,
            f"the study file {str(_store(settings).study_db_path(study))!r} holds no study "
            f"named {study!r} (it is empty, or not a study file). Delete it, or tune again "
            "with this name.",
        )
    return url


def study_exists(url: str, study: str) -> bool:
    """True once ``study`` is in the SQLite file, read without creating or changing anything.

    Opening the storage with Optuna while the tuner is creating it would race it to create
    the tables, so the watcher waits for the study to exist first.
    """
    import sqlite3

    path = url.removeprefix("sqlite:///")
    if not Path(path).is_file():
        return False
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0) as connection:
            found = connection.execute(
                "SELECT 1 FROM studies WHERE study_name = ?", (study,)
            ).fetchone()
    except sqlite3.Error:
        return False
    return found is not None


def snapshot(url: str, study: str, importances: bool) -> dict[str, Any]:
    """Every trial (state, value, params, per-epoch values, run, whether it was a warm-start
    setting), the best, and importances."""
    import optuna

    from tunelab.search.reporter import INITIAL_POINT

    optuna.logging.set_verbosity(logging.WARNING)
    loaded = optuna.load_study(study_name=study, storage=url)
    trials = []
    for trial in loaded.get_trials(deepcopy=False):
        attrs = trial.user_attrs
        trials.append(
            {
                "number": trial.number,
                "state": trial.state.name.lower(),
                "status": attrs.get("status", trial.state.name.lower()),
                "value": trial.value if trial.values is not None else None,
                "params": {**attrs.get("fixed_params", {}), **trial.params},
                "curve": [[int(k), v] for k, v in sorted(trial.intermediate_values.items())],
                "run": attrs.get("run"),
                "warm_start": bool(attrs.get(INITIAL_POINT)),  # set first, not sampled
                "seconds": trial.duration.total_seconds() if trial.duration else None,
                **accuracy_fields(trial.value if trial.values else None, attrs.get("n_val")),
            }
        )
    complete = [t for t in trials if t["state"] == "complete" and _finite(t["value"])]
    maximise = loaded.direction.name.lower() == "maximize"
    best = None
    if complete:
        pick = max if maximise else min
        best = pick(complete, key=lambda t: t["value"])
    ranked = sorted(complete, key=lambda t: t["value"], reverse=maximise)
    result: dict[str, Any] = {
        "study": study,
        "direction": "maximize" if maximise else "minimize",
        "trials": trials,
        "leaderboard": [t["number"] for t in ranked],
        "best": best,
        "noise_warning": _noise_warning(loaded) if maximise else None,
        "importances": None,
    }
    if importances:  # the library's rule (MIN_TRIALS complete trials), as `tunelab tune`
        from tunelab.report.importance import param_importances

        judged = param_importances(loaded)
        if judged.values:
            result["importances"] = dict(judged.values)
        else:
            result["importances_note"] = f"importances unavailable: {judged.note}"
    return finite(result)


def _noise_warning(loaded: Any) -> str | None:
    from tunelab.report.leaderboard import leaderboard, noise_warning
    from tunelab.search.results import TrialRecord

    records = [TrialRecord.from_frozen(t) for t in loaded.get_trials(deepcopy=False)]
    cross_validated = any(r.user_attrs.get("cv_folds") for r in records)
    return noise_warning(leaderboard(records), cross_validated)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def write_best(
    settings: WebSettings, study: str, base: Hyperparameters, best: dict[str, Any] | None
) -> Path | None:
    """Every knob the best trial ran with, as ``tunelab tune`` writes them (trials.best)."""
    if not best:
        return None
    import optuna

    from tunelab.search.results import TrialRecord
    from tunelab.trials.best import write_best_config

    loaded = optuna.load_study(study_name=study, storage=storage_url(settings, study))
    record = TrialRecord.from_frozen(loaded.trials[int(best["number"])])
    return write_best_config(best_config_path(settings, study), record, base, study)


def best_config(settings: WebSettings, study: str) -> str:
    """The best knobs of a study as YAML: the saved file, else the best trial's run config."""
    url = study_url(settings, study)
    saved = best_config_path(settings, study)
    if saved.is_file():
        return saved.read_text()
    best = snapshot(url, study, importances=False)["best"]
    if best and best.get("run"):
        config = Run(settings.runs_dir / str(best["run"])).config_path
        if config.is_file():
            return config.read_text()
    raise WebError(
        404,
        f"study {study!r} has no complete trial yet, so there is no best config. Wait for a "
        "trial to complete, or run more trials.",
    )


def sweep_names(settings: WebSettings) -> list[str]:
    return _store(settings).sweep_names()


def read_sweep(settings: WebSettings, name: str) -> dict[str, Any]:
    check_name(name, "sweep name")
    names = sweep_names(settings)
    if name not in names:
        raise WebError(
            404,
            f"no sweep {name!r} in the run store.{did_you_mean(name, names)} List them with "
            "GET /api/sweeps.",
        )
    data = json.loads(_store(settings).sweep_path(name).read_text())
    return data if isinstance(data, dict) else {}
