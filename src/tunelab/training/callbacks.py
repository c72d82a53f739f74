"""Callbacks: everything the epoch loop does besides training plugs in here.

Each hook has a no-op default, so a callback overrides only what it needs. Hooks may set
``state.stop`` (with ``state.status``) to end training after the current batch or epoch.
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

    def halt(self, status: str, reason: str) -> None:
        self.stop, self.status, self.reason = True, status, reason


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
    """Ends the run as ``diverged`` on a NaN/inf loss or one far above where it started."""

    def __init__(self, factor: float = 10.0, warmup: int = 3) -> None:
        self.factor = factor
        self.warmup = warmup
        self.start: float | None = None

    def on_batch_end(self, state: TrainState, record: dict[str, float]) -> None:
        loss = record["loss"]
        if not math.isfinite(loss):
            state.halt("diverged", f"loss became {loss} at step {state.step}")
            return
        if self.start is None:
            self.start = loss
        elif state.step > self.warmup and loss > self.factor * max(self.start, 1e-3):
            state.halt(
                "diverged",
                f"loss {loss:.3g} at step {state.step} is over {self.factor:g}x "
                f"its starting value {self.start:.3g}",
            )


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
    """Tracks the epoch with the lowest validation loss and keeps a copy of its weights."""

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
