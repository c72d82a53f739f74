"""The Train form, derived from :class:`~tunelab.knobs.Hyperparameters`: one field per knob.

Nothing about a knob is declared here: its input type, bounds, choices, default, help and
explanation all come from the knob model and :mod:`tunelab.explain`.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from tunelab.explain import GROUPS, explain_knob
from tunelab.knobs import Hyperparameters, KnobErrors, accepts_auto, bounds

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
        for attr, value in bounds(name).items():
            field[_BOUNDS[attr]] = value
        if accepts_auto(name):
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
    if get_origin(annotation) is Annotated:  # ``Annotated[float, Field(gt=0)] | Literal[...]``
        annotation = get_args(annotation)[0]
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
    """Validate a whole form once: the knobs, or one line for every field that is wrong
    (the model's own messages, keyed by the field pydantic names)."""
    try:
        return Hyperparameters.parse(values), {}
    except KnobErrors as err:
        return None, err.errors
