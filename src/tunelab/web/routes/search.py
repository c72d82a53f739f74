"""Sweep and tune: start them as jobs; read studies and sweeps; download the best config."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from tunelab.errors import TunelabError, unknown_choice
from tunelab.runs.store import check_name
from tunelab.search.pruners import PRUNERS
from tunelab.search.strategies import STRATEGIES
from tunelab.trials.images import DEFAULT_TRIALS
from tunelab.web import studies
from tunelab.web.datasets import resolve_data
from tunelab.web.routes.deps import jobs_of, settings_of
from tunelab.web.routes.jobs import checked_knobs, given_knobs
from tunelab.web.security import WebError

router = APIRouter(tags=["search"])


class SweepRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: str = Field(..., max_length=4096)
    knob: str = Field(..., max_length=100)
    values: list[Any] | str | None = Field(None, max_length=50)
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    name: str | None = Field(None, max_length=120)


class TuneRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: str = Field(..., max_length=4096)
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    trials: int | None = Field(DEFAULT_TRIALS, ge=1, le=1000)
    budget_seconds: float | None = Field(None, gt=0, le=7 * 24 * 3600)
    strategy: str = Field("auto", max_length=100)  # a name in search.strategies.STRATEGIES
    pruner: str = Field("auto", max_length=100)  # a name in search.pruners.PRUNERS
    portfolio: bool = True  # try the warm-start portfolio first (trials.portfolio)
    study: str | None = Field(None, max_length=120)

    @field_validator("strategy", "pruner")
    @classmethod
    def _registered(cls, value: str, info: ValidationInfo) -> str:
        names: list[str] = list(STRATEGIES if info.field_name == "strategy" else PRUNERS)
        if value not in names:
            raise ValueError(str(unknown_choice(str(info.field_name), value, names)))
        return value


@router.get("/tune/options")
def tune_options() -> dict[str, Any]:
    """What the Tune form offers, from the library: its default number of trials, the
    strategies and pruners registered, and the complete trials importances need."""
    from tunelab.report.importance import MIN_TRIALS

    return {
        "trials": DEFAULT_TRIALS,
        "strategies": list(STRATEGIES),
        "pruners": list(PRUNERS),
        "importance_min_trials": MIN_TRIALS,
    }


@router.post("/sweep", status_code=202)
def start_sweep(request: Request, body: SweepRequest) -> Any:
    from tunelab.explore.ladders import knob_name
    from tunelab.explore.sweep import check_values
    from tunelab.web.tasks import sweep_task

    settings = settings_of(request)
    data = resolve_data(settings, body.data)
    base = checked_knobs(body.hyperparameters, settings)  # KnobsRefused: 422 with every bad field
    knob = knob_name(body.knob)
    check_values(knob, body.values, base)  # refuse bad values now
    taken = studies.sweep_names(settings)
    if body.name:
        name = check_name(body.name, "sweep name")
        if name in taken:
            raise WebError(409, f"a sweep named {name!r} already exists. Choose another name.")
    else:
        name = _free(f"sweep-{_stamp()}", taken)
    job = jobs_of(request).start(
        "sweep",
        f"sweep {knob} on {data}",
        {
            "data": data,
            "knob": knob,
            "values": body.values,
            "hyperparameters": given_knobs(base, body.hyperparameters),
            "name": name,
        },
        lambda job: sweep_task(job, settings, data, knob, body.values, base, name),
    )
    return job.to_dict()


@router.post("/tune", status_code=202)
def start_tune(request: Request, body: TuneRequest) -> Any:
    from tunelab.web.tasks import tune_task

    settings = settings_of(request)
    data = resolve_data(settings, body.data)
    from tunelab.trials.images import check_base, default_space

    base = checked_knobs(body.hyperparameters, settings)  # KnobsRefused: 422, every bad field
    try:
        check_base(base, default_space())
    except TunelabError as err:
        raise WebError(422, str(err)) from None
    if body.trials is None and body.budget_seconds is None:
        raise WebError(422, "give a number of trials or a time budget (budget_seconds), or both.")
    taken = studies.study_names(settings)
    if body.study:
        study = check_name(body.study, "study name")
        if study in taken:
            raise WebError(
                409, f"a study named {study!r} already exists. Choose another name for a new study."
            )
    else:
        study = _free(f"tune-{_stamp()}", taken)
    options = {
        "n_trials": body.trials,
        "budget_seconds": body.budget_seconds,
        "strategy": body.strategy,
        "pruner": body.pruner,
        "portfolio": body.portfolio,
    }
    job = jobs_of(request).start(
        "tune",
        f"tune on {data}",
        {
            "data": data,
            "hyperparameters": given_knobs(base, body.hyperparameters),
            "study": study,
            **options,
        },
        lambda job: tune_task(job, settings, data, base, options, study),
    )
    return job.to_dict()


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def _free(name: str, taken: list[str]) -> str:
    """``name``, or ``name-2``, ``name-3``... when a sweep or study already has it."""
    candidate, counter = name, 1
    while candidate in taken:
        counter += 1
        candidate = f"{name}-{counter}"
    return candidate


@router.get("/studies")
def list_studies(request: Request) -> dict[str, Any]:
    return {"studies": studies.study_names(settings_of(request))}


@router.get("/studies/{name}")
async def show_study(request: Request, name: str, importances: bool = True) -> dict[str, Any]:
    url = studies.study_url(settings_of(request), name)
    return await run_in_threadpool(studies.snapshot, url, name, importances)


@router.get("/studies/{name}/best-config")
def study_best_config(request: Request, name: str) -> Response:
    settings = settings_of(request)
    text = studies.best_config(settings, name)
    filename = studies.best_config_path(settings, name).name
    return Response(
        text,
        media_type="application/x-yaml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/sweeps")
def list_sweeps(request: Request) -> dict[str, Any]:
    return {"sweeps": studies.sweep_names(settings_of(request))}


@router.get("/sweeps/{name}")
def show_sweep(request: Request, name: str) -> dict[str, Any]:
    return studies.read_sweep(settings_of(request), name)
