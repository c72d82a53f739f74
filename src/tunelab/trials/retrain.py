"""Retrain the best trial's knobs on every labelled image (``tunelab tune --retrain-best``).

Tuning held images out to compare trials; once the knobs are chosen, those images are
better spent on training. The final model trains on *all* labelled images, with the best
trial's knobs and seed, for the epoch at which that trial's validation accuracy peaked
(with ``--cv``, where the mean over folds peaked): with no held-out images there is
nothing to stop early on, so the epoch count is taken from the study. Early stopping is
turned off for the same reason.

The run (``<study>-best``) is an ordinary run. Its "validation" metrics are measured on
its own training images, so they say how well it fits, not how well it generalises; its
``summary.json`` says so under ``retrained_from``, next to the study's held-out estimate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tunelab.errors import TunelabError
from tunelab.knobs import Hyperparameters
from tunelab.search.results import TrialRecord, TuneResult


def best_run_name(study_name: str) -> str:
    return f"{study_name}-best"


def check_retrain_target(study_name: str, store: str | Path | None = None) -> None:
    """Fail before tuning if the retrained run's name is already taken."""
    from tunelab.runs import RunStore

    name = best_run_name(study_name)
    if (RunStore(store).root / name).exists():
        raise TunelabError(
            f"a run named {name!r} already exists, so --retrain-best has nowhere to write. "
            f"Delete it with `tunelab runs delete {name}`, or leave out --retrain-best."
        )


def best_epoch(record: TrialRecord) -> int | None:
    """The first epoch at which the trial's reported value peaked."""
    values = record.intermediate_values
    if not values:
        return None
    top = max(values.values())
    return min(epoch for epoch, value in values.items() if value == top)


def retrain_best(
    result: TuneResult,
    data: str | Path,
    hyperparameters: Hyperparameters,
    *,
    store: str | Path | None = None,
    skip_bad: bool = False,
) -> Any:
    """Train the best trial's knobs on all labelled images of ``data``; return the run.

    ``hyperparameters`` are the base knobs the study was tuned with (the searched ones
    are replaced by the best trial's).
    """
    from tunelab.api import train
    from tunelab.trials.data import data_source, trial_dataset

    best = next((t for t in result.trials if t.number == result.best_trial_number), None)
    if best is None:
        raise TunelabError(
            f"study {result.study_name!r} has no complete trial, so there is nothing to "
            f"retrain. Run more trials or a longer --budget, then retrain."
        )
    from tunelab.trials.best import best_hyperparameters

    epochs = best_epoch(best) or hyperparameters.epochs
    hp = best_hyperparameters(best, hyperparameters).replace(
        epochs=epochs, early_stopping_patience=0
    )
    dataset = trial_dataset(data_source(data), hp.input_size, skip_bad)
    everything = np.arange(len(dataset.labels), dtype=np.int64)
    run = train(
        dataset,
        hp,
        store=store,
        name=best_run_name(result.study_name),
        split=(everything, everything),
    )
    summary = run.summary
    summary["retrained_from"] = {
        "study": result.study_name,
        "trial": best.number,
        "epochs": epochs,
        "images": int(len(everything)),
        "study_value": best.value,
        "note": (
            "trained on every labelled image; its validation metrics are measured on its "
            "own training images. The study's held-out estimate is study_value."
        ),
    }
    run.write_json("summary.json", summary)
    return run
