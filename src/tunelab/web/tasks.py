"""The jobs the web app runs, each a thin call into the same Python API as the CLI.

* train: :func:`tunelab.train` with a callback that streams batches and epochs, then the
  run's diagnosis and its confusion matrix on the validation split;
* sweep: :func:`tunelab.sweep` in this process (one run after another, so every batch can
  be streamed), a row as each run ends;
* tune: :func:`tunelab.tune_images` (one worker); a watcher reads the study from its
  SQLite file every second and streams the leaderboard and the running trials' curves.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from pathlib import Path
from typing import Any

from tunelab.knobs import Hyperparameters
from tunelab.runs import Run, RunStore
from tunelab.training.callbacks import Callback, TrainState
from tunelab.web.jobs import Job
from tunelab.web.settings import WebSettings

STOPPED_REASON = "stopped from the web app"


class Stream(Callback):
    """Sends each batch and epoch of a run to the job's event log; honours the stop flag."""

    def __init__(self, job: Job, label: str | None = None) -> None:
        self.job = job
        self.label = label
        self.runs_started = 0

    def on_train_start(self, state: TrainState) -> None:
        self.runs_started += 1
        self.job.emit(
            "train-start",
            label=self.label,
            index=self.runs_started - 1,
            epochs=state.epochs,
            steps_per_epoch=state.steps_per_epoch,
        )
        # A stop halts the run at once, from the thread that asked (see Job.on_stop).
        self.job.on_stop(functools.partial(self._check, state))

    def on_batch_end(self, state: TrainState, record: dict[str, float]) -> None:
        self.job.emit("batch", index=self.runs_started - 1, **record)
        self.job.progress.update(run_index=self.runs_started - 1, step=int(record["step"]))

    def on_epoch_end(self, state: TrainState, record: dict[str, float]) -> None:
        self.job.emit("epoch", index=self.runs_started - 1, **record)
        self.job.progress.update(epoch=int(record["epoch"]), epochs_done=len(state.history))

    def _check(self, state: TrainState) -> None:
        if self.job.stop_requested.is_set() and not state.stop:
            state.halt("interrupted", STOPPED_REASON)


def unique_run_name(store: RunStore, data: str, hp: Hyperparameters) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(data).name).strip("-")[:30] or "data"
    base = f"{time.strftime('%Y%m%d-%H%M%S')}-{stem}-{hp.model}-{hp.optimizer}"
    for counter in range(1, 1000):
        name = f"{base}-{counter}"
        if not (store.root / name).exists():
            return name
    return f"{base}-{time.time_ns()}"


def train_task(
    job: Job, settings: WebSettings, data: str, hp: Hyperparameters, name: str | None
) -> dict[str, Any]:
    """Train with the knobs the route validated (the model itself, not re-parsed)."""
    from tunelab.training.trainer import train

    store = RunStore(settings.runs_dir)
    if hp.auto_learning_rate:
        job.emit("status", status="running", note="finding the learning rate (range test)")
    run_name = name or unique_run_name(store, data, hp)
    job.runs.append(run_name)
    job.emit("run", run=run_name, hyperparameters=hp.model_dump(mode="json"))
    try:
        run = train(data, hp, store=store, name=run_name, callbacks=[Stream(job)])
    except KeyboardInterrupt:  # stopped: train() saved the run as interrupted
        run = Run(store.root / run_name)
    return finish_run(job, run)


def finish_run(job: Job, run: Run) -> dict[str, Any]:
    """The run's summary and diagnosis, plus its confusion matrix when it has weights."""
    summary = run.summary
    result: dict[str, Any] = {
        "run": run.name,
        "status": summary.get("status", run.status),
        "reason": summary.get("reason"),
        "summary": {k: v for k, v in summary.items() if k != "diagnosis"},
        "diagnosis": summary.get("diagnosis"),
        "evaluation": None,
    }
    if run.weights_path.is_file() and summary.get("epochs_run"):
        from tunelab.evaluation import evaluate_run

        job.emit("status", status="running", note="evaluating on the validation split")
        try:
            result["evaluation"] = evaluate_run(run).to_dict()
        except Exception as err:  # noqa: BLE001 - the run is saved; the matrix is a bonus
            result["evaluation_error"] = str(err).splitlines()[0] if str(err) else repr(err)
    return result


def sweep_task(
    job: Job,
    settings: WebSettings,
    data: str,
    knob: str,
    values: list[Any] | str | None,
    base: Hyperparameters,
    name: str,
) -> dict[str, Any]:
    from tunelab.explore.sweep import sweep
    from tunelab.explore.sweep_rows import SweepInterrupted, SweepRow

    def on_row(row: SweepRow) -> None:
        job.runs.append(row.run)
        job.emit("row", **row.to_dict(curve=False))

    try:
        result = sweep(
            data,
            knob,
            values,
            base,
            store=settings.runs_dir,
            workers=1,
            name=name,
            callbacks=[Stream(job)],
            on_row=on_row,
        )
    except SweepInterrupted as stop:
        result = stop.result
    summary = result.to_dict()
    for row in summary["rows"]:
        row.pop("curve", None)
    winner = result.winner
    summary["best_run"] = None if winner is None else winner.run
    return summary


def tune_task(
    job: Job,
    settings: WebSettings,
    data: str,
    hp: Hyperparameters,
    options: dict[str, Any],
    study: str,
) -> dict[str, Any]:
    from tunelab.trials.images import tune_images
    from tunelab.web.studies import (
        best_config_path,
        snapshot,
        storage_url,
        study_exists,
        write_best,
    )

    url = storage_url(settings, study)

    def stop_between_trials(tuned_study: Any, _trial: Any) -> None:
        # the stop button: the running trial finishes, then the study stops cleanly
        if job.stop_requested.is_set():
            tuned_study.stop()

    done = threading.Event()

    def watch() -> None:
        last: Any = None
        while not done.wait(1.0):
            last = _send_snapshot(job, url, study, last)

    watcher = threading.Thread(target=watch, name=f"tunelab-watch-{job.id}", daemon=True)
    watcher.start()
    try:
        result = tune_images(
            data,
            hp,
            store=settings.runs_dir,
            study_name=study,
            callbacks=[stop_between_trials],
            progress=False,  # the page shows each trial; the server's log stays quiet
            **options,
        )
    finally:
        done.set()
        watcher.join()
    if not study_exists(url, study):  # stopped before the study was created
        return {"study": study, "stopped_reason": "interrupted", "best": None, "n_trials": 0}
    final = snapshot(url, study, importances=True)
    job.runs.extend(t["run"] for t in final["trials"] if t.get("run"))
    job.emit("study", **final)
    best = write_best(settings, study, hp, final.get("best"))
    if result.ensemble is not None:
        job.runs.append(result.ensemble)
    return {
        "study": study,
        "stopped_reason": "stopped" if job.stop_requested.is_set() else result.stopped_reason,
        "best": final.get("best"),
        "best_config": None if best is None else str(best_config_path(settings, study)),
        "n_trials": len(final["trials"]),
        "ensemble": result.ensemble,
        "ensemble_line": result.ensemble_note,
    }


def _send_snapshot(job: Job, url: str, study: str, last: Any) -> Any:
    from tunelab.web.studies import snapshot, study_exists

    if not study_exists(url, study):
        return last
    try:
        current = snapshot(url, study, importances=False)
    except Exception:  # noqa: BLE001 - not created yet, or busy being written: next second
        return last
    if current != last:
        job.emit("study", **current)
        states = [trial["state"] for trial in current["trials"]]
        done = sum(state in ("complete", "pruned", "fail") for state in states)
        job.progress.update(trials=len(states), trials_done=done)
    return current
