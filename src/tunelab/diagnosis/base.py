"""The result of a diagnosis and the few formatting helpers its texts share."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

VERDICTS = (
    "diverged",
    "too-high",
    "crawling",
    "too-short",
    "oscillating",
    "noisy-batch",
    "overfitting",
    "underfitting",
    "good-fit",
)


@dataclass
class Diagnosis:
    """What the curves show: a short ``verdict`` id, plain ``text``, numbers, next step.

    ``secondary`` lists the other problems the curves show, main one first: each a dict
    with ``verdict``, ``text`` (one clause, also appended to ``text`` as "Also: ...")
    and ``next_step``.
    """

    verdict: str
    text: str
    evidence: dict[str, Any] = field(default_factory=dict)
    next_step: dict[str, Any] = field(default_factory=dict)
    secondary: list[dict[str, Any]] = field(default_factory=list)
    #: Where on the curves it shows: the epoch to mark, and what to write there.
    at_epoch: int | None = None
    mark: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def num(value: float) -> str:
    return f"{value:.3g}"


def pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def share(value: float) -> str:
    return "less than 0.1 %" if value < 0.001 else f"only {pct(value)}"


def clean(value: Any) -> Any:
    """Finite, rounded floats for JSON (None for NaN and infinities)."""
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    return value
