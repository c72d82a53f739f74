"""Hyperparameter search: the generic tuning engine and its search spaces.

``tune(objective, space, ...)`` tunes any objective that reports a value per epoch, with
a choice of strategies (grid, random, tpe, gp, cmaes, auto), early stopping (asha,
hyperband, median, none, auto), a wall-clock budget, SQLite persistence with resume, and
local worker processes. Built on Optuna; see :mod:`tunelab.search.engine`.

Names load on first use, so importing this package (say, for the search space parsers)
does not import Optuna.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "tune": "tunelab.search.engine",
    "TuneResult": "tunelab.search.results",
    "TrialRecord": "tunelab.search.results",
    "Reporter": "tunelab.search.reporter",
    "Pruned": "tunelab.search.reporter",
    "Diverged": "tunelab.search.reporter",
    "rerun": "tunelab.search.reporter",
    "trial_seed": "tunelab.search.reporter",
    "Float": "tunelab.search.space",
    "Int": "tunelab.search.space",
    "Categorical": "tunelab.search.space",
    "PowerOfTwo": "tunelab.search.space",
    "Fixed": "tunelab.search.space",
    "Space": "tunelab.search.space",
    "parse_range": "tunelab.search.space",
    "parse_fix": "tunelab.search.space",
    "parse_space": "tunelab.search.space",
    "space_from_dict": "tunelab.search.space",
    "grid_points": "tunelab.search.space",
    "STRATEGIES": "tunelab.search.strategies",
    "PRUNERS": "tunelab.search.pruners",
}

__all__ = [
    "Categorical",
    "Diverged",
    "Fixed",
    "Float",
    "Int",
    "PRUNERS",
    "PowerOfTwo",
    "Pruned",
    "Reporter",
    "STRATEGIES",
    "Space",
    "TrialRecord",
    "TuneResult",
    "grid_points",
    "parse_fix",
    "parse_range",
    "parse_space",
    "rerun",
    "space_from_dict",
    "trial_seed",
    "tune",
]

if TYPE_CHECKING:
    from tunelab.search.engine import tune
    from tunelab.search.pruners import PRUNERS
    from tunelab.search.reporter import Diverged, Pruned, Reporter, rerun, trial_seed
    from tunelab.search.results import TrialRecord, TuneResult
    from tunelab.search.space import (
        Categorical,
        Fixed,
        Float,
        Int,
        PowerOfTwo,
        Space,
        grid_points,
        parse_fix,
        parse_range,
        parse_space,
        space_from_dict,
    )
    from tunelab.search.strategies import STRATEGIES


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tunelab.search' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
