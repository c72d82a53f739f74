"""Knobs: the form's fields, validation as the user types, a config file read into a form."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from tunelab.explain import explain_knob
from tunelab.web import forms
from tunelab.web.security import WebError

router = APIRouter(tags=["knobs"])
MAX_CONFIG_LINES = 2000


class KnobValues(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: dict[str, Any]


@router.get("/knobs")
def knobs() -> dict[str, Any]:
    return {"groups": forms.form_groups(), "knobs": forms.form_fields()}


@router.get("/knobs/{name}")
def knob(name: str) -> dict[str, Any]:
    return explain_knob(name)


@router.post("/knobs/validate")
def validate(body: KnobValues) -> Any:
    hp, errors = forms.validate(body.values)
    if hp is None:
        raise WebError(422, next(iter(errors.values())), errors=errors)
    return {"ok": True, "hyperparameters": hp.model_dump(mode="json")}


@router.post("/config/parse")
async def parse_config(request: Request) -> dict[str, Any]:
    """A YAML or JSON config file (the raw body) as validated knobs, to fill the form.

    The body is parsed in a worker thread, so a slow file never stalls other requests."""
    from starlette.concurrency import run_in_threadpool

    raw = await request.body()
    return await run_in_threadpool(_parse_config, raw)


def _parse_config(raw: bytes) -> dict[str, Any]:
    from tunelab.knobs import Hyperparameters, parse_config_text

    lines = raw.count(b"\n")
    if lines > MAX_CONFIG_LINES:
        raise WebError(
            413,
            f"the config file has {lines} lines; at most {MAX_CONFIG_LINES} "
            "are allowed. Upload a config with one `knob: value` per line.",
        )
    hp = Hyperparameters.parse(parse_config_text(raw, "the config file"))
    return {"ok": True, "hyperparameters": hp.model_dump(mode="json")}
