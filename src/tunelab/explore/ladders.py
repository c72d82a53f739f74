"""Recommended sweep values ("ladders") for each knob, around its current value.

A ladder is a short list of values worth comparing for one knob, centred on the value
you have now, so a sweep answers "should this go up or down?":

- ``learning_rate``: the 1-3-10 ladder (steps of about x3), two rungs each side:
  0.001, 0.003, 0.01, 0.03, 0.1 around 0.01; 0.0003 ... 0.03 around 0.003.
- ``batch_size``: steps of x2, two each side: 8, 16, 32, 64, 128 around 32.
- ``epochs``, ``schedule_step_epochs``: steps of x2, one below and two above: 5, 10, 20,
  40 around 10.
- ``weight_decay``: steps of x10 plus 0 (no decay) as the baseline: 0, 1e-5, 1e-4, 1e-3.
- ``gradient_clip``: the 1-3-10 ladder around the value (1 when unset) plus unset.
- ``dropout``, ``validation_fraction``, ``momentum``, ``beta1``, ``beta2``,
  ``label_smoothing``, ``focal_gamma``, ``schedule_gamma``, ``plateau_patience``,
  ``early_stopping_patience``: a fixed list of typical values (see ``GRIDS``), windowed
  around the current value (inserted when it is not on the list).
- ``seed``: the current seed and the next four (how much of a difference is luck?).
- categorical knobs (``model``, ``optimizer``, ``loss``, ``activation``, ``schedule``):
  every choice; booleans: false and true; ``augment``: none, each one alone, and the
  current combination.
- ``precision``, ``device``, ``threads``, ``input_height``, ``input_width`` have no
  ladder: give the values to compare yourself.

Values are clipped to each knob's allowed range; the current value is always included.

>>> ladder("learning_rate")
[0.001, 0.003, 0.01, 0.03, 0.1]
>>> ladder("batch_size", 16)
[4, 8, 16, 32, 64]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tunelab.errors import TunelabError
from tunelab.knobs import Hyperparameters, choices, knob_info, unknown_knob

_CURRENT = object()


@dataclass(frozen=True)
class Ladder:
    """How to pick the values of one knob: ``build(current) -> values``."""

    description: str
    build: Callable[[Any], list[Any]]


def one_three_ten(low: float, high: float) -> list[float]:
    """1, 3, 10, 30, ... times powers of ten, from ``low`` to ``high`` inclusive."""
    rungs = []
    for exponent in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1):
        for mantissa in (1, 3):
            value = float(f"{mantissa}e{exponent}")
            if low * (1 - 1e-9) <= value <= high * (1 + 1e-9):
                rungs.append(value)
    return rungs


def doubling(current: int, low: int, high: int) -> list[int]:
    """``current`` times powers of two, rounded half up, clipped to ``[low, high]``."""
    values = {min(high, max(low, math.floor(current * 2.0**k + 0.5))) for k in range(-20, 21)}
    return sorted(values)


def window(grid: Sequence[Any], current: Any, size: int, below: int) -> list[Any]:
    """``size`` values of ``grid`` (with ``current`` inserted) around ``current``.

    ``below`` of them lie under ``current`` where the grid allows; at either end of the
    grid the window slides inwards, so it keeps its size while the grid is long enough.
    """
    values = sorted({*grid, current} if not _on_grid(grid, current) else set(grid))
    index = next(i for i, value in enumerate(values) if _same(value, current))
    first = min(max(0, index - below), max(0, len(values) - size))
    return values[first : first + size]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15)
    return bool(a == b)


def _on_grid(grid: Sequence[Any], value: Any) -> bool:
    return any(_same(point, value) for point in grid)


def _snap(grid: Sequence[Any], values: list[Any]) -> list[Any]:
    """Grid points come back as written on the grid (0.003, not 0.0030000000000000001)."""
    return [next((p for p in grid if _same(p, v)), v) for v in values]


def _grid_ladder(grid: Sequence[float], size: int, below: int) -> Callable[[Any], list[Any]]:
    def build(current: Any) -> list[Any]:
        return _snap(grid, window(grid, current, size, below))

    return build


def _learning_rate(current: Any) -> list[Any]:
    grid = one_three_ten(1e-7, 10.0)
    return _snap(grid, window(grid, float(current), 5, 2))


def _batch_size(current: Any) -> list[Any]:
    return window(doubling(int(current), 1, 65536), int(current), 5, 2)


def _epochs_like(high: int) -> Callable[[Any], list[Any]]:
    def build(current: Any) -> list[Any]:
        return window(doubling(int(current), 1, high), int(current), 4, 1)

    return build


def _weight_decay(current: Any) -> list[Any]:
    grid = [0.0, *(float(f"1e{k}") for k in range(-5, 1))]
    values = _snap(grid, window(grid, float(current), 4, 1))
    return values if 0.0 in values else [0.0, *values]


def _gradient_clip(current: Any) -> list[Any]:
    grid = one_three_ten(0.01, 100.0)
    centre = 1.0 if current is None else float(current)
    return [None, *_snap(grid, window(grid, centre, 3, 1))]


def _seed(current: Any) -> list[Any]:
    return [int(current) + k for k in range(5) if int(current) + k < 2**32]


def _augment(current: Any) -> list[Any]:
    options: list[list[str]] = [[], *([name] for name in choices("augment"))]
    if list(current) not in options:
        options.append(list(current))
    return options


def _every_choice(field: str) -> Callable[[Any], list[Any]]:
    def build(current: Any) -> list[Any]:
        return list(choices(field))

    return build


def _booleans(current: Any) -> list[Any]:
    return [False, True]


GRIDS: dict[str, tuple[list[float], int, int]] = {
    # knob: (typical values, window size, values below the current one)
    "dropout": ([0.0, 0.1, 0.25, 0.5, 0.75], 4, 1),
    "validation_fraction": ([0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5], 5, 2),
    "momentum": ([0.0, 0.5, 0.8, 0.9, 0.95, 0.99], 5, 2),
    "beta1": ([0.0, 0.5, 0.8, 0.9, 0.95, 0.99], 5, 2),
    "beta2": ([0.9, 0.99, 0.995, 0.999, 0.9999], 5, 2),
    "label_smoothing": ([0.0, 0.05, 0.1, 0.2, 0.3], 5, 2),
    "focal_gamma": ([0.0, 0.5, 1.0, 2.0, 3.0, 5.0], 5, 2),
    "schedule_gamma": ([0.05, 0.1, 0.2, 0.3, 0.5, 1.0], 5, 2),
    "plateau_patience": ([0, 1, 2, 3, 5, 8], 4, 1),
    "early_stopping_patience": ([0, 3, 5, 10, 20], 4, 1),
}

LADDERS: dict[str, Ladder] = {
    "learning_rate": Ladder("1-3-10 ladder (steps of about x3), two each side", _learning_rate),
    "batch_size": Ladder("steps of x2, two each side", _batch_size),
    "epochs": Ladder("steps of x2, one below and two above", _epochs_like(10000)),
    "schedule_step_epochs": Ladder("steps of x2, one below and two above", _epochs_like(10000)),
    "weight_decay": Ladder("0, then steps of x10 around the value", _weight_decay),
    "gradient_clip": Ladder("unset, then the 1-3-10 ladder around the value", _gradient_clip),
    "seed": Ladder("this seed and the next four", _seed),
    "augment": Ladder("none, each augmentation alone, and the current set", _augment),
    **{
        field: Ladder(f"typical values {grid}, around the value", _grid_ladder(grid, size, below))
        for field, (grid, size, below) in GRIDS.items()
    },
    **{
        field: Ladder("every choice", _every_choice(field))
        for field in ("model", "optimizer", "loss", "activation", "schedule")
    },
    **{
        field: Ladder("false and true", _booleans) for field in ("nesterov", "restore_best_weights")
    },
}


def ladder(knob: str, current: Any = _CURRENT) -> list[Any]:
    """The recommended values of ``knob`` around ``current`` (default: the knob's default).

    >>> ladder("learning_rate", 0.003)
    [0.0003, 0.001, 0.003, 0.01, 0.03]
    >>> ladder("epochs")
    [5, 10, 20, 40]
    """
    field = knob_name(knob)
    entry = LADDERS.get(field)
    if entry is None:
        example = knob_info(field)["typical"]
        raise TunelabError(
            f"there is no recommended ladder of values for {field}; give the values to "
            f"compare with --values v1,v2,... (typical: {example})."
        )
    value = Hyperparameters.model_fields[field].default if current is _CURRENT else current
    return entry.build(value)


def ladder_around(knob: str, hyperparameters: Hyperparameters) -> list[Any]:
    """The recommended values of ``knob`` around its value in ``hyperparameters``."""
    field = knob_name(knob)
    return ladder(field, getattr(hyperparameters, field))


def knob_name(knob: str) -> str:
    """``knob`` as a field name (``learning-rate`` -> ``learning_rate``), or a did-you-mean."""
    field = knob.strip().replace("-", "_").lower()
    if field not in Hyperparameters.model_fields:
        raise unknown_knob(knob)
    return field
