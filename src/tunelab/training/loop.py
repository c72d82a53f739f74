"""The epoch loop. It only trains and measures; everything else is a callback.

Why it is shaped as it is (issue 17, speed on small images):

- A data set that fits in memory is one float tensor, in the model's memory layout; each
  epoch gathers it once in shuffled order and the batches are slices (views) of that.
- Each batch's loss and correct count stay on the device and are read back in one go every
  ``read_every`` batches and at each epoch's end (:class:`_Meter`), so a GPU never waits
  on a per-batch ``.item()``. Every batch still gets its record and its ``on_batch_end``
  call, in order: a callback that stops training from ``on_batch_end`` (divergence)
  acts at the end of that group, at most ``read_every - 1`` batches late; a stop set on
  the state from elsewhere (the web app's stop button) acts after the batch in progress.
- One validation pass per epoch, in large batches, under ``torch.inference_mode``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from tunelab.training.callbacks import Callback, TrainState
from tunelab.training.device import Precision
from tunelab.training.schedules import Schedule
from tunelab.training.step import Augment, grad_scaler, train_step

# Below this many float32 bytes the whole split is converted once; above it, per batch.
_PRECONVERT_BYTES = 1 << 30
# Per-batch records are read back from the device every this many batches.
READ_EVERY = 16


@dataclass
class Batches:
    """Images and labels held in memory as tensors, served as float batches in [0, 1]."""

    images: torch.Tensor
    labels: torch.Tensor
    scale: float = 1.0

    @classmethod
    def from_arrays(
        cls, images, labels, max_value: float, device: torch.device, channels_last: bool = False
    ) -> Batches:
        """Keep the compact dtype on the host, or convert once when it fits comfortably."""
        array = images if images.dtype != "uint16" else images.astype("int32")
        tensor = torch.from_numpy(array)
        label_tensor = torch.as_tensor(labels, dtype=torch.long)
        if tensor.numel() * 4 <= _PRECONVERT_BYTES:
            floats = tensor.to(torch.float32).div_(float(max_value)).to(device)
            if channels_last and floats.ndim == 4:
                floats = floats.contiguous(memory_format=torch.channels_last)
            return cls(floats, label_tensor.to(device), 1.0)
        return cls(tensor, label_tensor.to(device), float(max_value))

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def ready(self) -> bool:
        """Whether the images already are float batches in [0, 1] (no conversion per batch)."""
        return self.scale == 1.0 and self.images.dtype == torch.float32

    def get(self, index: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        images = self.images[index.to(self.images.device)]
        if not self.ready:
            images = images.to(device=device, dtype=torch.float32).div_(self.scale)
        return images, self.labels[index.to(self.labels.device)]

    def batches(
        self, order: torch.Tensor, batch_size: int, device: torch.device
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """``(x, y)`` batches in ``order``: slices of one gathered copy when it is ready."""
        if self.ready:
            index = order.to(self.images.device)
            images, labels = self.images[index], self.labels[order.to(self.labels.device)]
            for start in range(0, len(order), batch_size):
                yield images[start : start + batch_size], labels[start : start + batch_size]
            return
        for start in range(0, len(order), batch_size):
            yield self.get(order[start : start + batch_size], device)


def evaluate(
    model: nn.Module,
    loss_fn: nn.Module,
    data: Batches,
    device: torch.device,
    precision: Precision,
    batch_size: int = 512,
) -> tuple[float, float, torch.Tensor]:
    """Mean loss, accuracy and the logits of every image, in evaluation mode."""
    model.eval()
    losses, hits, sizes, outputs = [], [], [], []
    with torch.inference_mode():
        for x, y in data.batches(torch.arange(len(data)), batch_size, device):
            if precision.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with precision.autocast(device):
                logits = model(x).float()
            losses.append(loss_fn(logits, y))
            hits.append((logits.argmax(1) == y).sum())
            sizes.append(len(y))
            outputs.append(logits)
    if not outputs:
        return 0.0, 0.0, torch.empty(0)
    # One read-back; the mean is taken in Python, batch by batch.
    values = torch.stack(losses).tolist()
    total = sum(value * size for value, size in zip(values, sizes, strict=True))
    correct = int(torch.stack(hits).sum())
    return total / len(data), correct / len(data), torch.cat(outputs).cpu()


class _Meter:
    """Per-batch loss and hits kept on the device, read back every ``every`` batches into
    ``state.batches``; then ``on_batch_end`` runs for each of those records in order."""

    def __init__(self, state: TrainState, callbacks: Sequence[Callback], every: int) -> None:
        self.state, self.callbacks, self.every = state, callbacks, max(1, every)
        self.pending: list[tuple[torch.Tensor, torch.Tensor, int, float]] = []
        self.start_epoch()

    def start_epoch(self) -> None:
        self.batch, self.loss_sum, self.correct, self.seen = 0, 0.0, 0, 0

    def add(self, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor, lr: float) -> None:
        self.pending.append((loss.detach(), (logits.argmax(1) == y).sum(), len(y), lr))
        if len(self.pending) >= self.every:
            self.read()

    def read(self, deliver: bool = True) -> None:
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        losses = torch.stack([p[0] for p in pending]).tolist()
        hits = torch.stack([p[1] for p in pending]).tolist()
        state, first = self.state, len(self.state.batches)
        for value, hit, (_, _, size, lr) in zip(losses, hits, pending, strict=True):
            self.batch += 1
            self.loss_sum += value * size
            self.correct += hit
            self.seen += size
            state.step += 1
            state.batches.append(
                {
                    "epoch": state.epoch,
                    "batch": self.batch,
                    "step": state.step,
                    "loss": value,
                    "accuracy": hit / size,
                    "learning_rate": lr,
                }
            )
        for record in state.batches[first:] if deliver else ():
            state.step = int(record["step"])
            for callback in self.callbacks:
                callback.on_batch_end(state, record)

    def means(self) -> dict[str, float]:
        seen = max(self.seen, 1)
        return {"train_loss": self.loss_sum / seen, "train_accuracy": self.correct / seen}


def fit(
    model: nn.Module,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    schedule: Schedule,
    train: Batches,
    val: Batches,
    *,
    epochs: int,
    batch_size: int,
    device: torch.device,
    precision: Precision,
    seed: int,
    gradient_clip: float | None = None,
    augment: Augment | None = None,
    callbacks: Sequence[Callback] = (),
    generator: torch.Generator | None = None,
    state: TrainState | None = None,
    read_every: int = READ_EVERY,
) -> TrainState:
    """Train for up to ``epochs`` epochs; return the state with per-batch and per-epoch
    records and the final model's validation loss and accuracy (unless it diverged).

    A resumed run passes the ``state`` and batch-order ``generator`` its checkpoint
    restored (:mod:`tunelab.training.checkpoint`); training goes on after ``state.epoch``.
    """
    n = len(train)
    # A final batch of one image breaks batch norm and says little: it is left out that epoch.
    usable = n - 1 if n > batch_size and n % batch_size == 1 else n
    steps = math.ceil(usable / batch_size)
    if state is None:
        state = TrainState(epochs=epochs, steps_per_epoch=steps, model=model)
    state.epochs, state.steps_per_epoch = epochs, steps
    if generator is None:
        generator = torch.Generator().manual_seed(seed)
    step = partial(
        train_step,
        model,
        loss_fn,
        optimizer,
        device=device,
        precision=precision,
        generator=generator,
        scaler=grad_scaler(device, precision),
        gradient_clip=gradient_clip,
        augment=augment,
    )
    meter = _Meter(state, callbacks, read_every)
    for callback in callbacks:
        callback.on_train_start(state)
    try:
        for epoch in range(state.epoch + 1, epochs + 1):
            state.epoch, started = epoch, time.perf_counter()
            meter.start_epoch()
            model.train()
            order = torch.randperm(n, generator=generator)[:usable]
            for x, y in train.batches(order, batch_size, device):
                loss, logits = step(x, y)
                meter.add(loss, logits, y, schedule.current_lr())
                schedule.after_batch()
                if state.stop:
                    break
            meter.read()
            if state.stop and not state.finish_epoch:
                break
            val_loss, val_accuracy, _ = evaluate(model, loss_fn, val, device, precision)
            record = {"epoch": epoch, **meter.means(), "val_loss": val_loss}
            record.update(val_accuracy=val_accuracy, learning_rate=schedule.current_lr())
            schedule.after_epoch(val_loss)
            record["seconds"] = time.perf_counter() - started
            state.history.append(record)
            for callback in callbacks:
                callback.on_epoch_end(state, record)
            if state.stop:
                break
    except KeyboardInterrupt:
        # What finished is kept: the caller saves it, then passes the interrupt on.
        meter.read(deliver=False)
        state.halt("interrupted", "stopped by the user (Ctrl-C)")
    for callback in callbacks:
        callback.on_train_end(state)
    if state.status != "diverged" and state.history:
        final = evaluate(model, loss_fn, val, device, precision)
        state.final_val_loss, state.final_val_accuracy = final[0], final[1]
    return state
