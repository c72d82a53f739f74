"""The Train form's layout (essentials first, knobs shown when they apply) and its ladders."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from tunelab.errors import TunelabError
from tunelab.web.security import WebError

router = APIRouter(tags=["knobs"])


@router.get("/form")
def form_layout() -> dict[str, Any]:
    from tunelab.web.form_layout import layout

    return layout()


@router.get("/ladder")
def ladder_step(
    knob: str = Query(..., max_length=64), value: str = Query(..., max_length=64)
) -> dict[str, Any]:
    """The rungs of the recommended ladder next to ``value`` (learning rate x3 and /3,
    batch size x2 and /2): what the buttons beside the field step to."""
    from tunelab.explore.ladders import ladder
    from tunelab.knobs import Hyperparameters, parse_value

    try:
        current = getattr(Hyperparameters.parse({knob: parse_value(value)}), knob)
        rungs = ladder(knob, current)
    except TunelabError as err:
        raise WebError(400, str(err)) from None
    below = [v for v in rungs if v < current]
    above = [v for v in rungs if v > current]
    return {
        "knob": knob,
        "value": current,
        "down": below[-1] if below else None,
        "up": above[0] if above else None,
    }
