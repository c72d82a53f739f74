"""CLI flags generated from the hyperparameter model, so a knob is declared once.

Every field of :class:`~tunelab.knobs.Hyperparameters` becomes ``--field-name VALUE``
(booleans: ``--flag/--no-flag``). Values reach the model as given, so the model's
one-line messages are the ones the user sees.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import typer

from tunelab.knobs import Hyperparameters, knob_info, parse_value


def flag_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def knob_parameters() -> list[inspect.Parameter]:
    params = []
    for field, info in Hyperparameters.model_fields.items():
        meta = knob_info(field)
        text = f"{meta['help']}. Allowed: {meta['allowed']}. Default: {_default(info.default)}."
        panel = f"Knobs: {meta['group']}"
        if info.annotation is bool:
            option = typer.Option(
                None,
                f"{flag_name(field)}/--no-{field.replace('_', '-')}",
                help=text,
                rich_help_panel=panel,
                show_default=False,
            )
            annotation: Any = bool | None
        else:
            option = typer.Option(
                None,
                flag_name(field),
                help=text,
                rich_help_panel=panel,
                show_default=False,
                metavar="VALUE",
            )
            annotation = str | None
        params.append(
            inspect.Parameter(
                field, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation
            )
        )
    return params


def _default(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, list):
        return ",".join(value) or "none"
    return str(value).lower() if isinstance(value, bool) else str(value)


def with_knob_flags(func: Callable[..., Any]) -> Callable[..., Any]:
    """Give ``func`` (which takes ``**knobs``) one keyword parameter per knob."""
    signature = inspect.signature(func)
    fixed = [p for p in signature.parameters.values() if p.kind != inspect.Parameter.VAR_KEYWORD]
    params = fixed + knob_parameters()
    func.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    func.__annotations__ = {p.name: p.annotation for p in params}
    return func


def given_knobs(values: dict[str, Any]) -> dict[str, Any]:
    """The knobs the user set on the command line (unset flags are None)."""
    fields = Hyperparameters.model_fields
    return {key: value for key, value in values.items() if key in fields and value is not None}


def cli_knobs(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: parse_value(value) if isinstance(value, str) else value
        for key, value in given_knobs(values).items()
    }
