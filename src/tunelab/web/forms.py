"""The Train form, derived from :class:`~tunelab.knobs.Hyperparameters`: one field per knob.

Nothing about a knob is declared here: its input type, bounds, choices, default, help and
explanation all come from the knob model and :mod:`tunelab.explain`.
"""

from __future__ import annotations

import re
import types
from typing import Any, Literal, Union, get_args, get_origin

from tunelab.errors import TunelabError
from tunelab.explain import GROUPS, explain_knob
from tunelab.knobs import Hyperparameters, is_auto

_BOUNDS = {"ge": "min", "gt": "min_exclusive", "le": "max", "lt": "max_exclusive"}


def form_fields() -> list[dict[str, Any]]:
    """Every knob as a form field: name, input type, bounds, choices, default and texts."""
    fields = []
    for name, info in Hyperparameters.model_fields.items():
        kind, nullable = _kind(info.annotation)
        field = {
            **explain_knob(name),
            "input": kind,
            "nullable": nullable,
            "default": info.get_default(call_default_factory=True),
        }
        for item in info.metadata:
            for attr, key in _BOUNDS.items():
                value = getattr(item, attr, None)
                if value is not None:
                    field[key] = value
        if name == "learning_rate":
            field["accepts_auto"] = True
        fields.append(field)
    return fields


def form_groups() -> list[str]:
    return list(GROUPS)


def _kind(annotation: Any) -> tuple[str, bool]:
    """``(input type, accepts None)`` for an annotation: bool, int, float, text, choice, multi."""
    nullable = False
    if get_origin(annotation) in (Union, types.UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        nullable = len(args) < len(get_args(annotation))
        annotation = args[0]
    if get_origin(annotation) is Literal:
        return "choice", nullable
    if get_origin(annotation) is list:
        return "multi", nullable
    if annotation is bool:
        return "bool", nullable
    if annotation is int:
        return "int", nullable
    if annotation is str:
        return "text", nullable
    return "float", nullable


def validate(values: dict[str, Any]) -> tuple[Hyperparameters | None, dict[str, str]]:
    """Validate a form: the knobs, or the error of each field that is wrong on its own.

    ``learning_rate: auto`` is accepted (the range test picks it when training starts).
    """
    errors: dict[str, str] = {}
    checked = dict(values)
    if is_auto(checked.get("learning_rate")):
        checked["learning_rate"] = Hyperparameters().learning_rate
    for name, value in checked.items():
        try:
            Hyperparameters.parse({name: value})
        except TunelabError as err:
            errors[name] = str(err)
    if errors:
        return None, errors
    try:
        return Hyperparameters.parse(checked), {}
    except TunelabError as err:
        return None, {_field_of(str(err)): str(err)}


def _field_of(message: str) -> str:
    found = re.match(r"invalid (\w+):", message)
    return found.group(1) if found else "hyperparameters"
