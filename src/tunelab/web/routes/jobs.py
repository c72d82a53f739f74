"""Jobs: start a training run, follow any job (server-sent events), stop it.

Sweeps and tunes start from :mod:`tunelab.web.routes.search`; they are jobs like this one.
One job runs at a time; later ones wait in the queue (``position``) and can be cancelled.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from tunelab.knobs import Hyperparameters
from tunelab.runs.store import check_new_name
from tunelab.web import forms
from tunelab.web.datasets import resolve_data
from tunelab.web.jobs import Job
from tunelab.web.routes.deps import jobs_of, settings_of
from tunelab.web.security import WebError

router = APIRouter(tags=["jobs"])
KEEP_ALIVE_SECONDS = 15.0
POLL_SECONDS = 0.2


class TrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: str = Field(..., max_length=4096)
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    name: str | None = Field(None, max_length=120)


def checked_knobs(values: dict[str, Any], settings: Any = None) -> Hyperparameters:
    """The form's values validated once into the model that the job is given, else a 422
    naming every bad field.

    With ``settings``, ``init_from`` is confined: a run of this server's store (made the
    path of its weights, so sweeps and trials find it too) or a file under the data roots.
    """
    hp, errors = forms.validate(values)
    if hp is None:
        raise KnobsRefused(errors)
    if settings is not None and hp.init_from:
        hp = hp.model_copy(update={"init_from": _init_path(settings, hp.init_from)})
    return hp


def _init_path(settings: Any, text: str) -> str:
    from tunelab.web.security import confine

    run = settings.runs_dir / text
    if "/" not in text and (run / "model.safetensors").is_file():
        return str(run / "model.safetensors")
    try:
        path = confine(text, settings.data_roots)
    except WebError as err:
        raise WebError(err.status, f"invalid init_from: {err.message}") from None
    if not path.is_file():
        raise WebError(
            404,
            f"invalid init_from: {text!r} is neither a run with weights in this server's run "
            "store nor a weights file under the data roots. Choose a run from the Runs page.",
        )
    return str(path)


def given_knobs(hp: Hyperparameters, values: dict[str, Any]) -> dict[str, Any]:
    """The knobs the form set, as the model validated them (for the job's record)."""
    return hp.model_dump(mode="json", include=set(values) & set(Hyperparameters.model_fields))


class KnobsRefused(WebError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(422, next(iter(errors.values())), errors=errors)


@router.post("/train", status_code=202)
def start_train(request: Request, body: TrainRequest) -> Any:
    from tunelab.web.tasks import train_task

    settings = settings_of(request)
    if body.name is not None:
        check_new_name(body.name)  # `latest` and `all` are refused before any work starts
    data = resolve_data(settings, body.data)
    hp = checked_knobs(body.hyperparameters, settings)  # KnobsRefused: 422, every bad field
    if body.name is not None:
        if (settings.runs_dir / body.name).exists():
            raise WebError(
                409,
                f"a run named {body.name!r} already exists. Choose another name, or leave the "
                "name empty for a generated one.",
            )
    job = jobs_of(request).start(
        "train",
        f"train on {data}",
        {"data": data, "hyperparameters": given_knobs(hp, body.hyperparameters), "name": body.name},
        lambda job: train_task(job, settings, data, hp, body.name),
    )
    return job.to_dict()


@router.get("/jobs")
def list_jobs(request: Request) -> dict[str, Any]:
    manager = jobs_of(request)
    current = manager.current
    return {
        "jobs": [job.to_dict() for job in reversed(manager.list())],
        "current": None if current is None else current.to_dict(),
        "queue": [job.to_dict() for job in manager.queued()],
        "one_at_a_time": True,
    }


@router.get("/jobs/current")
def current_job(request: Request) -> dict[str, Any]:
    current = jobs_of(request).current
    return {"job": None if current is None else current.to_dict()}


@router.get("/jobs/{job_id}")
def get_job(request: Request, job_id: str) -> dict[str, Any]:
    return jobs_of(request).get(job_id).to_dict()


@router.post("/jobs/{job_id}/stop")
def stop_job(request: Request, job_id: str) -> dict[str, Any]:
    """Stop the running job (training saves its run as interrupted; a tune stops between
    trials), or cancel a job still waiting in the queue."""
    return jobs_of(request).stop(job_id).to_dict()


@router.get("/jobs/{job_id}/events")
def job_events(
    request: Request, job_id: str, after: int = Query(-1, ge=-1, le=100_000_000)
) -> StreamingResponse:
    """Server-sent events: every event of the job after ``after`` (or ``Last-Event-ID``),
    then new ones as they come; the stream ends after the job's ``end`` event."""
    job = jobs_of(request).get(job_id)
    header = request.headers.get("last-event-id", "")
    last = int(header) if header.strip().isdigit() else after
    return StreamingResponse(
        _stream(request, job, last),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(request: Request, job: Job, last: int) -> AsyncIterator[str]:
    quiet = 0.0
    yield "retry: 1000\n\n"
    while True:
        events = job.events_after(last)
        for event in events:
            last = event["id"]
            payload = json.dumps(event["data"], allow_nan=False, default=str)
            yield f"id: {event['id']}\nevent: {event['type']}\ndata: {payload}\n\n"
            if event["type"] == "end":
                return
        if events:
            quiet = 0.0
        elif quiet >= KEEP_ALIVE_SECONDS:
            quiet = 0.0
            yield ": keep-alive\n\n"
        if await request.is_disconnected():
            return
        await asyncio.sleep(POLL_SECONDS)
        quiet += POLL_SECONDS
