"""The epoch loop. It only trains and measures; everything else is a callback."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from tunelab.training.callbacks import Callback, TrainState
from tunelab.training.device import Precision
from tunelab.training.schedules import Schedule
from tunelab.training.step import Augment, grad_scaler, train_step

# Below this many float32 bytes the whole split is converted once; above it, per batch.
_PRECONVERT_BYTES = 1 << 30


@dataclass
class Batches:
    """Images and labels held in memory as tensors, served as float batches in [0, 1]."""

    images: torch.Tensor
    labels: torch.Tensor
    scale: float = 1.0

    @classmethod
    def from_arrays(cls, images, labels, max_value: float, device: torch.device) -> Batches:
        """Keep the compact dtype on the host, or convert once when it fits comfortably."""
        array = images if images.dtype != "uint16" else images.astype("int32")
        tensor = torch.from_numpy(array)
        label_tensor = torch.as_tensor(labels, dtype=torch.long)
        if tensor.numel() * 4 <= _PRECONVERT_BYTES:
            floats = tensor.to(torch.float32).div_(float(max_value))
            return cls(floats.to(device), label_tensor.to(device), 1.0)
        return cls(tensor, label_tensor.to(device), float(max_value))

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def get(self, index: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        images = self.images[index.to(self.images.device)]
        if self.scale != 1.0 or images.dtype != torch.float32:
            images = images.to(device=device, dtype=torch.float32).div_(self.scale)
        return images, self.labels[index.to(self.labels.device)]


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
    total, correct, outputs = 0.0, 0, []
    with torch.no_grad():
        for start in range(0, len(data), batch_size):
            index = torch.arange(start, min(start + batch_size, len(data)))
            x, y = data.get(index, device)
            if precision.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with precision.autocast(device):
                logits = model(x).float()
            total += float(loss_fn(logits, y)) * len(y)
            correct += int((logits.argmax(1) == y).sum())
            outputs.append(logits.cpu())
    n = max(len(data), 1)
    logits = torch.cat(outputs) if outputs else torch.empty(0)
    return total / n, correct / n, logits


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
) -> TrainState:
    """Train for up to ``epochs`` epochs; return the state with per-batch and per-epoch records.

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
    scaler = grad_scaler(device, precision)
    for callback in callbacks:
        callback.on_train_start(state)
    try:
        _epochs(
            model,
            loss_fn,
            optimizer,
            schedule,
            train,
            val,
            state,
            usable,
            batch_size,
            device,
            precision,
            generator,
            scaler,
            gradient_clip,
            augment,
            callbacks,
        )
    except KeyboardInterrupt:
        # What finished is kept: the caller saves it, then passes the interrupt on.
        state.halt("interrupted", "stopped by the user (Ctrl-C)")
    for callback in callbacks:
        callback.on_train_end(state)
    return state


def _epochs(
    model: nn.Module,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    schedule: Schedule,
    train: Batches,
    val: Batches,
    state: TrainState,
    usable: int,
    batch_size: int,
    device: torch.device,
    precision: Precision,
    generator: torch.Generator,
    scaler: torch.amp.GradScaler | None,
    gradient_clip: float | None,
    augment: Augment | None,
    callbacks: Sequence[Callback],
) -> None:
    n = len(train)
    for epoch in range(state.epoch + 1, state.epochs + 1):
        state.epoch = epoch
        model.train()
        started = time.perf_counter()
        order = torch.randperm(n, generator=generator)[:usable]
        loss_sum, correct = 0.0, 0
        for batch, start in enumerate(range(0, usable, batch_size), start=1):
            x, y = train.get(order[start : start + batch_size], device)
            loss, logits = train_step(
                model,
                loss_fn,
                optimizer,
                x,
                y,
                device=device,
                precision=precision,
                generator=generator,
                scaler=scaler,
                gradient_clip=gradient_clip,
                augment=augment,
            )
            lr = schedule.current_lr()
            schedule.after_batch()
            state.step += 1
            value = loss.item()
            hits = int((logits.argmax(1) == y).sum())
            loss_sum += value * len(y)
            correct += hits
            record = {
                "epoch": epoch,
                "batch": batch,
                "step": state.step,
                "loss": value,
                "accuracy": hits / len(y),
                "learning_rate": lr,
            }
            state.batches.append(record)
            for callback in callbacks:
                callback.on_batch_end(state, record)
            if state.stop:
                break
        if state.stop and state.status == "diverged":
            break
        seen = min(batch * batch_size, usable)
        val_loss, val_accuracy, _ = evaluate(model, loss_fn, val, device, precision)
        lr = schedule.current_lr()
        schedule.after_epoch(val_loss)
        record = {
            "epoch": epoch,
            "train_loss": loss_sum / seen,
            "train_accuracy": correct / seen,
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
            "learning_rate": lr,
            "seconds": time.perf_counter() - started,
        }
        if not math.isfinite(val_loss) and not state.stop:
            state.halt("diverged", f"validation loss became {val_loss} at epoch {epoch}")
        state.history.append(record)
        for callback in callbacks:
            callback.on_epoch_end(state, record)
        if state.stop:
            break
