"""Early stopping of unpromising trials, by epoch. Each is an Optuna pruner, made by name.

A trial reports one value per epoch (the *step*); a pruner compares it with other trials at
the same epoch and may stop it. ``auto`` resolves by :func:`resolve_pruner`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tunelab.errors import unknown_choice
from tunelab.search.strategies import SearchContext

if TYPE_CHECKING:
    import optuna

#: Successive halving keeps one trial in this many at each rung: epochs 1, 3, 9, 27, ...
REDUCTION_FACTOR = 3


@dataclass(frozen=True)
class Pruner:
    name: str
    description: str
    create: Callable[[SearchContext], optuna.pruners.BasePruner]


def _asha(ctx: SearchContext) -> optuna.pruners.BasePruner:
    import optuna

    return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=REDUCTION_FACTOR)


def _hyperband(ctx: SearchContext) -> optuna.pruners.BasePruner:
    import optuna

    return optuna.pruners.HyperbandPruner(
        min_resource=1,
        max_resource=ctx.max_resource if ctx.max_resource is not None else "auto",
        reduction_factor=REDUCTION_FACTOR,
    )


def _median(ctx: SearchContext) -> optuna.pruners.BasePruner:
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)


def _none(ctx: SearchContext) -> optuna.pruners.BasePruner:
    import optuna

    return optuna.pruners.NopPruner()


def auto_min_resource(max_resource: int | None) -> int:
    """The first epoch at which ``auto`` may stop a trial.

    Two rungs below the end (``max_resource / 9`` and ``/ 3``) rather than from epoch 1:
    on LCBench, stopping at epochs 1 and 3 threw away configurations that end best and
    saved little time (the first epoch carries the start-up cost), while rungs at 6 and
    18 of 52 epochs found better final models sooner than any other pruner measured.
    """
    if max_resource is None:
        return 1
    return max(1, math.ceil(max_resource / REDUCTION_FACTOR**2))


def _auto(ctx: SearchContext) -> optuna.pruners.BasePruner:
    import optuna

    if resolve_pruner("auto", ctx) == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.SuccessiveHalvingPruner(
        min_resource=auto_min_resource(ctx.max_resource), reduction_factor=REDUCTION_FACTOR
    )


PRUNERS: dict[str, Pruner] = {
    p.name: p
    for p in (
        Pruner("auto", "successive halving from epoch max/9 (asha with later rungs)", _auto),
        Pruner("asha", "successive halving at epochs 1, 3, 9, ... keeping the best third", _asha),
        Pruner(
            "hyperband", "several successive-halving brackets, from aggressive to none", _hyperband
        ),
        Pruner(
            "median", "stop a trial below the median of earlier trials at the same epoch", _median
        ),
        Pruner("none", "run every trial to the end", _none),
    )
}


def resolve_pruner(name: str, ctx: SearchContext) -> str:
    """What pruner ``name`` is, in words: itself unless it is ``auto``.

    ``auto`` is successive halving (ASHA, keeping the best third at each rung) with its
    first rung at ``ceil(max_resource / 9)`` epochs, so rungs at 6 and 18 of 52 epochs or
    2 and 6 of 10 (see :func:`auto_min_resource`); rungs at 1, 3, 9 ... when
    ``max_resource`` is unknown; and no pruning when trials run fewer than
    ``REDUCTION_FACTOR`` epochs, where there is no rung to stop at.
    """
    if name not in PRUNERS:
        raise unknown_choice("pruner", name, PRUNERS)
    if name != "auto":
        return name
    if ctx.max_resource is not None and ctx.max_resource < REDUCTION_FACTOR:
        return "none"
    start = auto_min_resource(ctx.max_resource)
    return "asha" if start == 1 else f"asha from epoch {start}"


def create_pruner(name: str, ctx: SearchContext) -> optuna.pruners.BasePruner:
    """Build the pruner ``name``."""
    if name not in PRUNERS:
        raise unknown_choice("pruner", name, PRUNERS)
    return PRUNERS[name].create(ctx)
