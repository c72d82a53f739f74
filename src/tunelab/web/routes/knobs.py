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
    """A YAML or JSON config file (the raw body) as validated knobs, to fill the form."""
    import yaml

    from tunelab.knobs import Hyperparameters

    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WebError(
            400, "the config file is not UTF-8 text. Upload a .yaml or .json config file."
        ) from None
    if text.count("\n") > MAX_CONFIG_LINES:
        raise WebError(
            413,
            f"the config file has {text.count(chr(10))} lines; at most {MAX_CONFIG_LINES} "
            "are allowed. Upload a config with one `knob: value` per line.",
        )
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise WebError(
            400,
            f"the config file is not valid YAML or JSON{where}. Write one `knob: value` per "
            "line, e.g. `learning_rate: 0.01`.",
        ) from None
    if not isinstance(data, dict):
        raise WebError(
            400,
            f"the config file must hold a mapping of knob names to values (got a "
            f"{type(data).__name__}). Write one `knob: value` per line.",
        )
    hp = Hyperparameters.parse({str(key): value for key, value in data.items()})
    return {"ok": True, "hyperparameters": hp.model_dump(mode="json")}
