"""The learning-rate range test as a job: the curve, its suggestions, one click to use one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from tunelab.knobs import Hyperparameters
from tunelab.web.datasets import resolve_data
from tunelab.web.jobs import Job
from tunelab.web.routes.deps import jobs_of, settings_of
from tunelab.web.routes.jobs import checked_knobs, given_knobs

router = APIRouter(tags=["lr-find"])


class LRFindRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: str = Field(..., max_length=4096)
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    steps: int = Field(100, ge=2, le=1000)


@router.post("/lr-find", status_code=202)
def start_lr_find(request: Request, body: LRFindRequest) -> Any:
    """Queue a range test with the form's other knobs; its ``end`` event carries the curve
    and the suggestions (``valley`` is the recommended one, as ``--learning-rate auto``)."""
    settings = settings_of(request)
    data = resolve_data(settings, body.data)
    hp = checked_knobs(body.hyperparameters)  # validated once; the test ignores learning_rate
    given = {k: v for k, v in given_knobs(hp, body.hyperparameters).items() if k != "learning_rate"}
    job = jobs_of(request).start(
        "lr-find",
        f"lr-find on {data}",
        {"data": data, "hyperparameters": given, "steps": body.steps},
        lambda job: _task(job, data, hp, body.steps),
    )
    return job.to_dict()


def _task(job: Job, data: str, hp: Hyperparameters, steps: int) -> dict[str, Any]:
    from tunelab.report.lr_find import MEANINGS
    from tunelab.training.lr_find import find_lr

    job.emit("status", status="running", note="range test: the learning rate grows each step")
    result = find_lr(data, hp, steps=steps)
    return {**result.to_dict(), "explanations": dict(MEANINGS)}
