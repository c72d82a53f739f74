"""Runs: list and filter, one run's summary and curves, its confusion matrix, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from tunelab.errors import did_you_mean
from tunelab.report.leaderboard import accuracy_fields
from tunelab.runs import Run, RunStore
from tunelab.runs.store import check_name, finite
from tunelab.web.routes.deps import jobs_of, settings_of
from tunelab.web.security import WebError

router = APIRouter(tags=["runs"])
MAX_BATCH_POINTS = 2000


def get_run(request: Request, name: str) -> Run:
    """The run called ``name``, or a 404 naming the closest ones."""
    check_name(name)
    store = RunStore(settings_of(request).runs_dir)
    names = store.names()
    if name not in names:
        raise WebError(
            404,
            f"no run named {name!r}.{did_you_mean(name, names)} List the runs with GET /api/runs.",
        )
    return Run(store.root / name)


def run_row(run: Run, running: set[str]) -> dict[str, Any]:
    """One line of the runs table."""
    summary = run.summary
    config = run.config
    diagnosis = summary.get("diagnosis")
    return {
        "name": run.name,
        "status": "running" if run.name in running else summary.get("status", "unfinished"),
        "data": summary.get("data") or run.model_info.get("data"),
        "model": run.model_name,
        "optimizer": config.get("optimizer"),
        "learning_rate": config.get("learning_rate"),
        "batch_size": config.get("batch_size"),
        "epochs_run": summary.get("epochs_run"),
        "epochs_planned": config.get("epochs"),
        "best_val_accuracy": summary.get("best_val_accuracy"),
        "final_val_accuracy": summary.get("final_val_accuracy"),
        # the 95 % interval of best_val_accuracy over its n validation images
        **accuracy_fields(summary.get("best_val_accuracy"), summary.get("n_val")),
        "best_val_loss": summary.get("best_val_loss"),
        "seconds": summary.get("train_seconds"),
        "verdict": diagnosis.get("verdict") if isinstance(diagnosis, dict) else None,
        "modified": run.path.stat().st_mtime,
    }


@router.get("/runs")
def list_runs(
    request: Request,
    status: str | None = Query(None, max_length=40),
    q: str | None = Query(None, max_length=200),
    limit: int = Query(500, ge=1, le=5000),
) -> dict[str, Any]:
    """Runs, newest first; ``status`` keeps one status, ``q`` a substring of name, data or model."""
    store = RunStore(settings_of(request).runs_dir)
    running = jobs_of(request).running_runs()
    rows = [run_row(run, running) for run in store.list()]
    if status:
        rows = [row for row in rows if row["status"] == status]
    if q:
        needle = q.lower()
        rows = [
            row
            for row in rows
            if any(
                needle in str(row[key]).lower() for key in ("name", "data", "model", "optimizer")
            )
        ]
    rows.sort(key=lambda row: row["modified"], reverse=True)
    return finite({"runs": rows[:limit], "total": len(rows), "root": str(store.root)})


@router.get("/runs/{name}")
def show_run(request: Request, name: str) -> dict[str, Any]:
    run = get_run(request, name)
    info = {k: v for k, v in run.model_info.items() if not k.endswith("_indices")}
    return finite(
        {
            **run_row(run, jobs_of(request).running_runs()),
            "summary": run.summary,
            "config": run.config,
            "model_info": info,
            "epochs": run.epochs,
        }
    )


@router.get("/runs/{name}/metrics")
def run_metrics(request: Request, name: str, batches: bool = True) -> dict[str, Any]:
    """Per-epoch rows and (thinned to at most 2000 points) per-batch rows."""
    run = get_run(request, name)
    rows = run.batches if batches else []
    step = max(1, -(-len(rows) // MAX_BATCH_POINTS))
    return finite({"name": run.name, "epochs": run.epochs, "batches": rows[::step]})


@router.get("/runs/{name}/evaluation")
async def run_evaluation(request: Request, name: str) -> dict[str, Any]:
    """Accuracy, per-class scores and the confusion matrix on the run's validation split."""
    from tunelab.evaluation import evaluate_run

    run = get_run(request, name)
    if name in jobs_of(request).running_runs():
        raise WebError(409, f"run {name!r} is still training. Evaluate it when it has ended.")
    await run_in_threadpool(_check_run_data, request, run)
    result = await run_in_threadpool(evaluate_run, run)
    return finite(result.to_dict())


def _check_run_data(request: Request, run: Run) -> None:
    """The run's data must lie inside the data roots too: evaluation reads it again."""
    from tunelab.web.datasets import resolve_data

    data = run.model_info.get("data") or run.summary.get("data")
    if not isinstance(data, str) or not data:
        raise WebError(
            409, f"run {run.name!r} does not record its data set, so it cannot be evaluated here."
        )
    try:
        resolve_data(settings_of(request), data)
    except WebError as err:
        raise WebError(
            403 if err.status == 403 else 409,
            f"run {run.name!r} was trained on {data!r}, which this server may not read "
            f"({err.message}). Evaluate it with `tunelab evaluate {run.name}` instead.",
        ) from None


@router.get("/runs/{name}/evaluation/cell")
def evaluation_cell(
    request: Request,
    name: str,
    true: str = Query(..., max_length=200),
    predicted: str = Query(..., max_length=200),
    limit: int = Query(60, ge=1, le=500),
) -> dict[str, Any]:
    """The validation images in one cell of the confusion matrix (true class, predicted
    class), most confident first, each with a thumbnail URL."""
    from urllib.parse import quote

    found = _cell_predictions(request, name)
    names = found.class_names
    for given in (true, predicted):
        if given not in names:
            raise WebError(
                404,
                f"no class {given!r} in run {name!r}.{did_you_mean(given, names)} "
                f"Classes: {', '.join(names[:20])}.",
            )
    images = found.cell(names.index(true), names.index(predicted))
    base = f"/api/runs/{quote(name, safe='')}/evaluation/image?position="
    return {
        "run": name,
        "true": true,
        "predicted": predicted,
        "count": len(images),
        "images": [
            {**image, "thumbnail": f"{base}{image['position']}"} for image in images[:limit]
        ],
    }


@router.get("/runs/{name}/evaluation/image")
def evaluation_image(request: Request, name: str, position: int = Query(..., ge=0)) -> Response:
    """Validation image number ``position`` of the run, as a PNG thumbnail."""
    from tunelab.web.datasets import to_png

    found = _cell_predictions(request, name)
    if position >= len(found.indices):
        raise WebError(
            404, f"run {name!r} has {len(found.indices)} validation images; no image {position}."
        )
    return Response(to_png(found.images[position], found.max_value), media_type="image/png")


def _cell_predictions(request: Request, name: str) -> Any:
    from tunelab.errors import TunelabError
    from tunelab.evaluation.cells import validation_predictions

    run = get_run(request, name)
    if name in jobs_of(request).running_runs():
        raise WebError(409, f"run {name!r} is still training. Evaluate it when it has ended.")
    _check_run_data(request, run)  # its images are read again: only from inside the roots
    cache: dict[Any, Any] = getattr(request.app.state, "cell_cache", None) or {}
    request.app.state.cell_cache = cache
    weights = run.weights_path
    key = (name, weights.stat().st_mtime_ns if weights.is_file() else 0)
    if key not in cache:
        try:
            cache.clear()  # one run at a time: a page looks at one matrix
            cache[key] = validation_predictions(run)
        except TunelabError as err:
            raise WebError(400, str(err)) from None
    return cache[key]


@router.get("/runs/{name}/config")
def run_config(request: Request, name: str) -> Response:
    """The run's knobs as a YAML file that `tunelab train --config` accepts."""
    run = get_run(request, name)
    return Response(
        run.config_path.read_text(),
        media_type="application/x-yaml",
        headers={"Content-Disposition": f'attachment; filename="{run.name}.yaml"'},
    )


@router.delete("/runs/{name}")
def delete_run(request: Request, name: str) -> dict[str, Any]:
    run = get_run(request, name)
    if name in jobs_of(request).running_runs():
        raise WebError(
            409, f"run {name!r} is training right now. Stop the job first, then delete it."
        )
    RunStore(settings_of(request).runs_dir).delete(run.name)
    return {"deleted": run.name}
