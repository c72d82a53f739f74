"""Learning-rate schedule registry.

A :class:`Schedule` wraps a ``torch.optim.lr_scheduler`` and knows when to step it: the
training loop calls :meth:`Schedule.after_batch` after every optimizer step and
:meth:`Schedule.after_epoch` after every epoch's validation; each schedule steps only on
the hook it belongs to.

Example::

    schedule = create_schedule("cosine", optimizer, epochs=10, steps_per_epoch=50)
    for epoch in range(10):
        for batch in batches:
            ...; optimizer.step(); schedule.after_batch()
        schedule.after_epoch(val_loss)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch.optim import lr_scheduler

from tunelab.errors import TunelabError, unknown_choice


class Schedule:
    """The ``constant`` schedule, and the base of the others: the lr never changes."""

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = optimizer

    def after_batch(self) -> None:
        """Called after every optimizer step."""

    def after_epoch(self, val_loss: float | None = None) -> None:
        """Called after every epoch, with the validation loss when there is one."""

    def current_lr(self) -> float:
        """The learning rate of the first parameter group."""
        return float(self.optimizer.param_groups[0]["lr"])

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


class EpochSchedule(Schedule):
    """Steps a torch scheduler once per epoch (``step``, ``cosine``)."""

    def __init__(
        self, optimizer: torch.optim.Optimizer, scheduler: lr_scheduler.LRScheduler
    ) -> None:
        super().__init__(optimizer)
        self.scheduler = scheduler

    def after_epoch(self, val_loss: float | None = None) -> None:
        self.scheduler.step()

    def state_dict(self) -> dict[str, Any]:
        return self.scheduler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scheduler.load_state_dict(state)


class BatchSchedule(EpochSchedule):
    """Steps a torch scheduler once per batch (``one-cycle``), at most ``total_steps`` times.

    Extra batches (say, a loop that ran one more than planned) keep the final lr instead
    of raising, as ``OneCycleLR`` would.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        scheduler: lr_scheduler.LRScheduler,
        total_steps: int,
    ) -> None:
        super().__init__(optimizer, scheduler)
        self.total_steps = total_steps

    def after_batch(self) -> None:
        if self.scheduler.last_epoch < self.total_steps - 1:
            self.scheduler.step()

    def after_epoch(self, val_loss: float | None = None) -> None:
        pass


class PlateauSchedule(Schedule):
    """Multiplies the lr by ``gamma`` when the validation loss stops improving.

    Epochs without a validation loss (``None``) leave the schedule untouched.
    """

    def __init__(
        self, optimizer: torch.optim.Optimizer, scheduler: lr_scheduler.ReduceLROnPlateau
    ) -> None:
        super().__init__(optimizer)
        self.scheduler = scheduler

    def after_epoch(self, val_loss: float | None = None) -> None:
        if val_loss is not None:
            self.scheduler.step(val_loss)

    def state_dict(self) -> dict[str, Any]:
        return self.scheduler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scheduler.load_state_dict(state)


@dataclass(frozen=True)
class ScheduleSettings:
    """Everything a schedule factory may use, already validated."""

    epochs: int
    steps_per_epoch: int
    step_epochs: int
    gamma: float
    plateau_patience: int
    max_lr: float | None


def _constant(optimizer: torch.optim.Optimizer, s: ScheduleSettings) -> Schedule:
    return Schedule(optimizer)


def _step(optimizer: torch.optim.Optimizer, s: ScheduleSettings) -> Schedule:
    return EpochSchedule(
        optimizer, lr_scheduler.StepLR(optimizer, step_size=s.step_epochs, gamma=s.gamma)
    )


def _cosine(optimizer: torch.optim.Optimizer, s: ScheduleSettings) -> Schedule:
    return EpochSchedule(optimizer, lr_scheduler.CosineAnnealingLR(optimizer, T_max=s.epochs))


def _one_cycle(optimizer: torch.optim.Optimizer, s: ScheduleSettings) -> Schedule:
    total = s.epochs * s.steps_per_epoch
    max_lr = s.max_lr if s.max_lr is not None else [g["lr"] for g in optimizer.param_groups]
    # cycle_momentum is off so the momentum/beta1 knobs keep the values the user chose
    # (and optimizers without momentum, such as adagrad, work at all).
    scheduler = lr_scheduler.OneCycleLR(
        optimizer, max_lr=max_lr, total_steps=total, cycle_momentum=False
    )
    return BatchSchedule(optimizer, scheduler, total)


def _plateau(optimizer: torch.optim.Optimizer, s: ScheduleSettings) -> Schedule:
    if s.gamma >= 1.0:  # a factor of 1 never reduces; torch rejects it
        return Schedule(optimizer)
    return PlateauSchedule(
        optimizer,
        lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=s.gamma, patience=s.plateau_patience
        ),
    )


@dataclass(frozen=True)
class ScheduleInfo:
    """One registered schedule; ``steps`` says which hook moves the lr."""

    name: str
    description: str
    factory: Callable[[torch.optim.Optimizer, ScheduleSettings], Schedule]
    steps: Literal["never", "batch", "epoch"]


SCHEDULES: dict[str, ScheduleInfo] = {
    info.name: info
    for info in (
        ScheduleInfo("constant", "The learning rate never changes.", _constant, "never"),
        ScheduleInfo(
            "step",
            "Multiply the lr by schedule_gamma every schedule_step_epochs epochs.",
            _step,
            "epoch",
        ),
        ScheduleInfo(
            "cosine", "Cosine decay from the lr towards 0 over the epochs.", _cosine, "epoch"
        ),
        ScheduleInfo(
            "one-cycle",
            "Warm up to the lr over the first 30% of batches, then anneal far below it.",
            _one_cycle,
            "batch",
        ),
        ScheduleInfo(
            "reduce-on-plateau",
            "Multiply the lr by schedule_gamma when validation loss stalls for "
            "plateau_patience epochs.",
            _plateau,
            "epoch",
        ),
    )
}


def create_schedule(
    name: str,
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    steps_per_epoch: int,
    step_epochs: int = 3,
    gamma: float = 0.1,
    plateau_patience: int = 2,
    max_lr: float | None = None,
) -> Schedule:
    """Schedule ``name`` driving ``optimizer``'s learning rate.

    ``max_lr`` is the one-cycle peak; by default the optimizer's own lr is the peak.
    """
    try:
        info = SCHEDULES[name]
    except KeyError:
        raise unknown_choice("schedule", name, SCHEDULES) from None
    if epochs < 1:
        raise TunelabError(f"epochs must be >= 1 (got {epochs}).")
    if steps_per_epoch < 1:
        raise TunelabError(f"steps_per_epoch must be >= 1 (got {steps_per_epoch}).")
    if step_epochs < 1:
        raise TunelabError(f"schedule_step_epochs must be >= 1 (got {step_epochs}). Try 3.")
    if not 0.0 < gamma <= 1.0:
        raise TunelabError(f"schedule_gamma must be in (0, 1] (got {gamma}). Try 0.1.")
    if plateau_patience < 0:
        raise TunelabError(f"plateau_patience must be >= 0 (got {plateau_patience}). Try 2.")
    if max_lr is not None and not (max_lr > 0 and math.isfinite(max_lr)):
        raise TunelabError(f"max_lr must be > 0 (got {max_lr}).")
    settings = ScheduleSettings(
        epochs, steps_per_epoch, step_epochs, gamma, plateau_patience, max_lr
    )
    return info.factory(optimizer, settings)
