"""Optimizer registry: each entry is a frozen :class:`OptimizerInfo`, like timm's OptimInfo.

Only the knobs an optimizer uses reach it: ``momentum`` and ``nesterov`` go to the
SGD family only (``momentum``; plain ``sgd`` has none), ``betas`` to the Adam family.
``rmsprop`` runs without momentum (torch's default), so switching optimizer never
smuggles in the SGD momentum knob. ``weight_decay`` reaches every optimizer; for
``adamw`` it is decoupled, for the others it is L2 added to the gradient.

Example::

    from tunelab.training.optimizers import create_optimizer
    opt = create_optimizer("adamw", model.parameters(), lr=1e-3, weight_decay=0.01)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from tunelab.errors import TunelabError, unknown_choice

Params = Iterable[Tensor] | Iterable[dict[str, Any]]


@dataclass(frozen=True)
class OptimizerInfo:
    """One registered optimizer and which of the shared knobs it uses."""

    name: str
    description: str
    optimizer_class: type[torch.optim.Optimizer]
    uses_momentum: bool = False
    uses_nesterov: bool = False
    uses_betas: bool = False
    # Fixed keyword arguments, e.g. momentum=0 for plain SGD.
    defaults: tuple[tuple[str, Any], ...] = ()
    # torch has a fused update (one kernel per tensor) for it on the CPU and CUDA.
    fused: bool = False


OPTIMIZERS: dict[str, OptimizerInfo] = {
    info.name: info
    for info in (
        OptimizerInfo(
            "sgd",
            "Plain stochastic gradient descent, no momentum; needs a well-tuned lr.",
            torch.optim.SGD,
            defaults=(("momentum", 0.0),),
            fused=True,
        ),
        OptimizerInfo(
            "momentum",
            "SGD with (optionally Nesterov) momentum; strong with a schedule.",
            torch.optim.SGD,
            uses_momentum=True,
            uses_nesterov=True,
            fused=True,
        ),
        OptimizerInfo(
            "adam",
            "Adam: adaptive per-weight steps; the robust default.",
            torch.optim.Adam,
            uses_betas=True,
            fused=True,
        ),
        OptimizerInfo(
            "adamw",
            "Adam with decoupled weight decay; use it when weight_decay > 0.",
            torch.optim.AdamW,
            uses_betas=True,
            fused=True,
        ),
        OptimizerInfo(
            "adadelta",
            "Adadelta: step sizes from running averages; wants lr near 1.",
            torch.optim.Adadelta,
        ),
        OptimizerInfo(
            "adagrad",
            "Adagrad: per-weight steps that shrink as gradients accumulate.",
            torch.optim.Adagrad,
            fused=True,
        ),
        OptimizerInfo(
            "adamax",
            "Adamax: Adam with an infinity-norm; steady on sparse gradients.",
            torch.optim.Adamax,
            uses_betas=True,
        ),
        OptimizerInfo(
            "rmsprop",
            "RMSprop: steps scaled by a running mean of squared gradients (no momentum).",
            torch.optim.RMSprop,
        ),
        OptimizerInfo(
            "nadam",
            "Adam with Nesterov momentum; often a little faster.",
            torch.optim.NAdam,
            uses_betas=True,
        ),
        OptimizerInfo(
            "radam",
            "Rectified Adam: warms up its adaptive steps; less lr-sensitive early on.",
            torch.optim.RAdam,
            uses_betas=True,
        ),
    )
}


def _check(lr: float, weight_decay: float, momentum: float, betas: tuple[float, float]) -> None:
    if not lr > 0:
        raise TunelabError(
            f"learning_rate must be > 0 (got {lr}). Typical values: 0.0001 to 1; try 0.01."
        )
    if not weight_decay >= 0:
        raise TunelabError(
            f"weight_decay must be >= 0 (got {weight_decay}). Typical values: 0 to 0.1; try 0.0001."
        )
    if not 0 <= momentum < 1:
        raise TunelabError(f"momentum must be in [0, 1) (got {momentum}). Try 0.9.")
    if len(betas) != 2 or not all(0 < beta < 1 for beta in betas):
        raise TunelabError(
            f"beta1 and beta2 must be in (0, 1) (got {tuple(betas)}). Try 0.9 and 0.999."
        )


def create_optimizer(
    name: str,
    params: Params,
    *,
    lr: float,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    nesterov: bool = False,
    betas: tuple[float, float] = (0.9, 0.999),
) -> torch.optim.Optimizer:
    """Optimizer ``name`` over ``params`` (tensors or param-group dicts).

    Knobs the optimizer does not use (see :class:`OptimizerInfo`) are ignored.
    """
    try:
        info = OPTIMIZERS[name]
    except KeyError:
        raise unknown_choice("optimizer", name, OPTIMIZERS) from None
    _check(lr, weight_decay, momentum, betas)
    kwargs: dict[str, Any] = {"lr": lr, "weight_decay": weight_decay, **dict(info.defaults)}
    if info.uses_momentum:
        kwargs["momentum"] = momentum
    if info.uses_nesterov:
        if nesterov and momentum == 0:
            raise TunelabError(
                "nesterov needs momentum > 0 (got momentum=0). Set momentum to 0.9 "
                "or turn nesterov off."
            )
        kwargs["nesterov"] = nesterov
    if info.uses_betas:
        kwargs["betas"] = (float(betas[0]), float(betas[1]))
    params = _listed(params)
    if info.fused and _devices(params) <= {"cpu", "cuda"}:
        # The same update in one kernel per tensor instead of ~10 small ops: on a small
        # model the optimizer step is otherwise a large share of each batch (issue 17).
        kwargs["fused"] = True
    return info.optimizer_class(params, **kwargs)


def _listed(params: Params) -> list[Any]:
    """``params`` as a list (groups' ``params`` too), so it can be looked at, then used."""
    listed: list[Any] = []
    for item in params:
        if isinstance(item, dict):
            group = item["params"]
            item = {**item, "params": [group] if isinstance(group, Tensor) else list(group)}
        listed.append(item)
    return listed


def _devices(params: list[Any]) -> set[str]:
    tensors = [t for p in params for t in (p["params"] if isinstance(p, dict) else [p])]
    return {t.device.type for t in tensors} if tensors else {"none"}
