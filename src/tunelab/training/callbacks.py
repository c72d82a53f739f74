"""Callbacks: everything the epoch loop does besides training plugs in here.

Each hook has a no-op default, so a callback overrides only what it needs. Hooks may call
``state.halt(status, reason)`` to end training after the current batch or epoch.

Per-batch records are read back from the device in groups (every ``read_every`` batches
and at the end of each epoch, see :func:`tunelab.training.loop.fit`), so ``on_batch_end``
runs for every batch, in order, but a few batches after that batch trained: a stop asked
for there takes effect at the end of the group.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrainState:
    """What the loop knows; callbacks read it and may ask the loop to stop."""

    epochs: int
    steps_per_epoch: int
    model: Any = None
    epoch: int = 0
    step: int = 0
    stop: bool = False
    status: str = "completed"
    reason: str = ""
    batches: list[dict[str, float]] = field(default_factory=list)
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    best_state: dict[str, Any] | None = None
    # False when the epoch in progress is not worth validating (the weights are NaN).
    finish_epoch: bool = True
    final_val_loss: float | None = None
    final_val_accuracy: float | None = None

    def halt(self, status: str, reason: str, *, finish_epoch: bool = True) -> None:
        """End training after this batch (or epoch); ``finish_epoch=False`` also skips
        validating and recording the epoch in progress."""
        self.stop, self.status, self.reason = True, status, reason
        self.finish_epoch = finish_epoch


class Callback:
    """Base class with no-op hooks, in the order the loop calls them."""

    def on_train_start(self, state: TrainState) -> None:
        pass

    def on_batch_end(self, state: TrainState, record: dict[str, float]) -> None:
        pass

    def on_epoch_end(self, state: TrainState, record: dict[str, float]) -> None:
        pass

    def on_train_end(self, state: TrainState) -> None:
        pass

    def on_run_saved(self, run: Any) -> None:
        """The run is stored (weights, metrics, summary); ``train`` returns it next."""


class DivergenceCheck(Callback):
    """The one place that decides a run ``diverged``: a NaN/inf training loss, one far
    above where it started, or a NaN/inf validation loss.

    A diverged batch ends training without validating its epoch (the weights are no
    longer numbers worth measuring). Callbacks after it see the decision on the same
    epoch (a checkpoint is then not written).
    """

    def __init__(self, factor: float = 10.0, warmup: int = 3) -> None:
        self.factor = factor
        self.warmup = warmup
        self.start: float | None = None

    def on_batch_end(self, state: TrainState, record: dict[str, float]) -> None:
        if state.stop:  # records after a stop (read back in the same group) change nothing
            return
        loss, step = record["loss"], int(record["step"])
        if not math.isfinite(loss):
            state.halt("diverged", f"loss became {loss} at step {step}", finish_epoch=False)
            return
        if self.start is None:
            self.start = loss
        elif step > self.warmup and loss > self.factor * max(self.start, 1e-3):
            state.halt(
                "diverged",
                f"loss {loss:.3g} at step {step} is over {self.factor:g}x "
                f"its starting value {self.start:.3g}",
                finish_epoch=False,
            )

    def on_epoch_end(self, state: TrainState, record: dict[str, float]) -> None:
        loss = record["val_loss"]
        if not math.isfinite(loss) and not state.stop:
            epoch = int(record["epoch"])
            state.halt("diverged", f"validation loss became {loss} at epoch {epoch}")


class EarlyStopping(Callback):
    """Stops after ``patience`` epochs without a lower validation loss."""

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.best = math.inf
        self.waited = 0

    def on_epoch_end(self, state: TrainState, record: dict[str, float]) -> None:
        loss = record.get("val_loss", math.nan)
        if loss < self.best:
            self.best, self.waited = loss, 0
            return
        self.waited += 1
        if self.waited >= self.patience:
            state.halt(
                "stopped-early",
                f"validation loss did not improve for {self.patience} epochs "
                f"(best {self.best:.4f} at epoch {state.best_epoch})",
            )


class BestWeights(Callback):
    """Tracks the epoch with the lowest validation loss and keeps a copy of its weights;
    puts them back in the model when early stopping ended the run."""

    def __init__(self, keep_weights: bool) -> None:
        self.keep_weights = keep_weights
        self.best = math.inf

    def on_epoch_end(self, state: TrainState, record: dict[str, float]) -> None:
        loss = record.get("val_loss", math.nan)
        if loss < self.best:
            self.best = loss
            state.best_epoch = int(record["epoch"])
            if self.keep_weights and state.model is not None:
                state.best_state = copy.deepcopy(state.model.state_dict())

    def on_train_end(self, state: TrainState) -> None:
        if state.status == "stopped-early" and self.keep_weights and state.best_state:
            state.model.load_state_dict(state.best_state)


def standard_callbacks(*, early_stopping_patience: int | None, keep_best: bool) -> list[Callback]:
    """The stopping callbacks every ``train()`` runs, in the order a checkpoint keeps their
    counters (:mod:`tunelab.training.checkpoint`). Early stopping before the divergence
    check: on a NaN validation loss that also ends the patience, the run stopped early."""
    callbacks: list[Callback] = [BestWeights(keep_weights=keep_best)]
    if early_stopping_patience:
        callbacks.append(EarlyStopping(early_stopping_patience))
    callbacks.append(DivergenceCheck())
    return callbacks
