"""A live progress bar for training, fed by the loop's callbacks."""

from __future__ import annotations

from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tunelab.cli.console import err_console
from tunelab.training.callbacks import Callback, TrainState


class ProgressBar(Callback):
    """Shows the step count with the live batch loss, and the last epoch's metrics."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[acc]:.3f}"),
            TextColumn("{task.fields[val]}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
        )
        self.task: Any = None

    def on_train_start(self, state: TrainState) -> None:
        self.progress.start()
        self.task = self.progress.add_task(
            "train",
            total=state.epochs * state.steps_per_epoch,
            completed=state.step,  # a resumed run starts part-way
            epoch=state.epoch + 1,
            epochs=state.epochs,
            loss=0.0,
            acc=0.0,
            val="",
        )

    def on_batch_end(self, state: TrainState, record: dict[str, float]) -> None:
        self.progress.update(
            self.task, advance=1, epoch=state.epoch, loss=record["loss"], acc=record["accuracy"]
        )

    def on_epoch_end(self, state: TrainState, record: dict[str, float]) -> None:
        val = f"val_loss {record['val_loss']:.4f}  val_acc {record['val_accuracy']:.3f}"
        self.progress.update(self.task, val=val)

    def on_train_end(self, state: TrainState) -> None:
        self.progress.stop()
