"""Checkpoints: what a run needs to continue exactly where it stopped.

:class:`Checkpoint` writes ``checkpoint.pt`` in the run folder after every epoch
(atomically: a temporary file, then a rename; only the last one is kept). It is a plain
``torch.save`` of a dict of tensors, numbers, strings and lists, so
``torch.load(path, weights_only=True)`` reads it. It holds the weights, the optimizer's
state, the schedule's position, the epoch and step counters, the random state (the
batch-order and augmentation generator and torch's global generators, CPU and CUDA,
which dropout draws from), the state of the stopping callbacks, the curves so far, and
the data split.

:func:`read_checkpoint` reads one back and :meth:`Restored.apply` puts it into freshly
built objects; :func:`tunelab.training.trainer.resume` is the caller. The fp16 gradient
scaler's scale is not kept: a resumed fp16 run starts it afresh (CPU runs never use it).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tunelab.errors import TunelabError
from tunelab.runs import Run
from tunelab.runs.store import usual_mode
from tunelab.training.callbacks import Callback, TrainState
from tunelab.training.schedules import Schedule

FILENAME = "checkpoint.pt"
FORMAT = 1
_PLAIN = (bool, int, float, str, type(None))


def _plain_state(callback: Callback) -> dict[str, Any]:
    """A stopping callback's counters (best loss, epochs waited, starting loss)."""
    return {k: v for k, v in vars(callback).items() if isinstance(v, _PLAIN)}


def _columns(rows: list[dict[str, float]]) -> dict[str, list[float]]:
    """Per-batch records as columns: far faster to save than a list of small dicts."""
    keys = list(rows[0]) if rows else []
    return {key: [row[key] for row in rows] for key in keys}


def _rows(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(columns)
    count = len(columns[keys[0]]) if keys else 0
    return [{key: columns[key][i] for key in keys} for i in range(count)]


class Checkpoint(Callback):
    """Writes the run's checkpoint after each epoch that did not diverge (with
    ``every_epoch=False``: only after the last epoch, or the epoch where training was
    already told to stop; a tuning trial cut off mid-way is retried from scratch, so the
    writes in between would only cost time).

    ``stoppers`` are the callbacks whose counters decide when training ends (best
    weights, early stopping, divergence); ``split`` and ``data`` say what the run
    trained on, so a run killed before it saved anything else can still resume.
    """

    def __init__(
        self,
        run: Run,
        optimizer: torch.optim.Optimizer,
        schedule: Schedule,
        generator: torch.Generator,
        stoppers: Sequence[Callback],
        *,
        data: str,
        split: tuple[Any, Any],
        class_names: list[str],
        keep_best: bool,
        every_epoch: bool = True,
    ) -> None:
        self.path = run.path / FILENAME
        self.every_epoch = every_epoch
        self.optimizer, self.schedule, self.generator = optimizer, schedule, generator
        self.stoppers = list(stoppers)
        self.data = data
        self.split = ([int(i) for i in split[0]], [int(i) for i in split[1]])
        self.class_names = list(class_names)
        self.keep_best = keep_best

    def on_epoch_end(self, state: TrainState, record: dict[str, float]) -> None:
        if state.status == "diverged":
            return  # the last good checkpoint stays
        if not (self.every_epoch or state.stop or state.epoch >= state.epochs):
            return
        content = {
            "format": FORMAT,
            "epoch": state.epoch,
            "step": state.step,
            "model": {k: v.detach().cpu() for k, v in state.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
            "stoppers": [_plain_state(callback) for callback in self.stoppers],
            "best_epoch": state.best_epoch,
            "best_state": state.best_state if self.keep_best else None,
            "history": state.history,
            "batches": _columns(state.batches),
            "data": self.data,
            "train_indices": self.split[0],
            "val_indices": self.split[1],
            "class_names": self.class_names,
        }
        save_atomically(content, self.path)


def save_atomically(content: dict[str, Any], path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(content, tmp)
        usual_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class Restored:
    """A checkpoint read back, ready to be put into freshly built training objects."""

    content: dict[str, Any]

    @property
    def epoch(self) -> int:
        return int(self.content["epoch"])

    @property
    def data(self) -> str:
        return str(self.content["data"])

    @property
    def split(self) -> tuple[list[int], list[int]]:
        return list(self.content["train_indices"]), list(self.content["val_indices"])

    @property
    def class_names(self) -> list[str]:
        return [str(name) for name in self.content["class_names"]]

    def apply(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        schedule: Schedule,
        generator: torch.Generator,
        stoppers: Sequence[Callback],
        epochs: int,
    ) -> TrainState:
        """Load every saved state; return the loop state to continue from."""
        c = self.content
        model.load_state_dict(c["model"])
        optimizer.load_state_dict(c["optimizer"])
        schedule.load_state_dict(c["schedule"])
        generator.set_state(c["generator"])
        torch.set_rng_state(c["torch_rng"])
        cuda = c.get("cuda_rng") or []
        if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
        for callback, saved in zip(stoppers, c["stoppers"], strict=False):
            for key, value in saved.items():
                setattr(callback, key, value)
        state = TrainState(epochs=epochs, steps_per_epoch=0, model=model)
        state.epoch, state.step = int(c["epoch"]), int(c["step"])
        state.history = [dict(row) for row in c["history"]]
        state.batches = _rows(c["batches"])
        state.best_epoch = c["best_epoch"]
        state.best_state = c["best_state"]
        return state


def read_checkpoint(run: Run) -> Restored:
    """The run's last checkpoint, or a one-line error saying why there is none."""
    path = run.path / FILENAME
    if not path.is_file():
        raise TunelabError(
            f"run {run.name!r} has no checkpoint to resume from ({FILENAME} is written after "
            "each epoch; this run was stopped before its first epoch ended, diverged in it, "
            f"or was trained by an older tunelab). Start a new run, or one from its weights "
            f"with --init-from {run.name}."
        )
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise TunelabError(
            f"the checkpoint of run {run.name!r} cannot be read ({type(err).__name__}); it is "
            f"damaged. Start a new run from its weights with --init-from {run.name}."
        ) from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise TunelabError(
            f"the checkpoint of run {run.name!r} is not in the format this tunelab writes "
            f"(format {FORMAT}). Start a new run from its weights with --init-from {run.name}."
        )
    return Restored(content)


def resume_knobs(
    run: Run, restored: Restored, epochs: int | None, threads: int | None = None
) -> Any:
    """The run's own knobs, with ``epochs`` (the new total) and ``threads`` changed."""
    hp = run.hyperparameters
    done = restored.epoch
    total = hp.epochs if epochs is None else epochs
    if total <= done:
        raise TunelabError(
            f"run {run.name!r} has already trained {done} of its {hp.epochs} planned epochs; "
            f"give --epochs above {done} (the new total) to train it further."
        )
    if total > hp.epochs and hp.schedule in ("cosine", "one-cycle"):
        raise TunelabError(
            f"run {run.name!r} uses the {hp.schedule} schedule planned for {hp.epochs} epochs, "
            f"so it cannot run to {total} (the schedule would have been another). Resume it "
            f"with --epochs {hp.epochs} at most, or start a new run from its weights with "
            f"--init-from {run.name}."
        )
    changes: dict[str, Any] = {"epochs": total}
    if threads is not None:
        changes["threads"] = threads
    return hp.replace(**changes)


def check_resumable(run: Run, restored: Restored, dataset: Any) -> None:
    """The data must be what the run trained on: same classes, every split index there."""
    names = [str(name) for name in dataset.class_names]
    if names != restored.class_names:
        raise TunelabError(
            f"the data {dataset.source!r} does not match run {run.name!r}: its classes are "
            f"{names[:6]}, the run's {restored.class_names[:6]}. Resume with the data the run "
            f"was trained on ({restored.data!r})."
        )
    largest = max(max(part, default=-1) for part in restored.split)
    if largest >= len(dataset.labels):
        raise TunelabError(
            f"the data {dataset.source!r} has {len(dataset.labels)} images, fewer than run "
            f"{run.name!r} trained on. Resume with the data the run was trained on "
            f"({restored.data!r})."
        )
