"""One optimizer step on one batch: the only place tunelab turns a batch into an update.

The epoch loop (:mod:`tunelab.training.loop`) and the learning-rate range test
(:mod:`tunelab.training.lr_find`) both call :func:`train_step`, so they train alike:
augmentation, memory layout, mixed precision, gradient scaling and clipping included.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from tunelab.training.device import Precision

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def train_step(
    model: nn.Module,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    device: torch.device,
    precision: Precision,
    generator: torch.Generator,
    scaler: torch.amp.GradScaler | None = None,
    gradient_clip: float | None = None,
    augment: Augment | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward, backward and step on ``(x, y)``; return the loss and the logits (unread)."""
    if augment is not None:
        x = augment(x, generator)
    if precision.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with precision.autocast(device):
        logits = model(x)
    loss = loss_fn(logits.float(), y)
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
    else:
        loss.backward()
    if gradient_clip is not None:
        nn.utils.clip_grad_norm_(model.parameters(), gradient_clip)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    return loss, logits


def grad_scaler(device: torch.device, precision: Precision) -> torch.amp.GradScaler | None:
    """The gradient scaler fp16 needs; None for fp32 and bf16."""
    return torch.amp.GradScaler(device.type) if precision.grad_scaler else None


def augmenter(kinds: list[str]) -> Augment | None:
    """The batch augmentation the ``augment`` knob asks for; None for none."""
    if not kinds:
        return None
    from tunelab.data import augment_batch

    chosen = list(kinds)

    def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return augment_batch(x, chosen, generator)

    return augment
